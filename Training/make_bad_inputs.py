"""The bad-input corpus (Tests/Fixtures/bad/): what a hospital feed can send a perception worker.

    Training/.venv/bin/python Training/make_bad_inputs.py [--out Tests/Fixtures/bad]

Images (`images/`, each sent inline in an otherwise valid cxr.studies.v1 message): truncated, a
corrupt IDAT checksum, zero bytes, 60000x60000 and 16000x16000 headers over a few bytes of data
(decompression bombs: the side limit, the pixel limit), too small, a JPEG named .png, a GIF; and valid ones a worker must accept: 8-bit, 16-bit,
RGB, RGBA, palette, Adam7-interlaced. Messages (`messages/`, the record value as is): not UTF-8,
not JSON, schema violations (missing study id, unknown field, wrong type, bad study id), another
schema version, an unknown task, a bad task parameter, file:// URIs outside the image root, with
`..`, to a missing file. `{ROOT}` in a message is the test's image root; the symlink escaping the
root and the 10 MB message are made by the test (a symlink and 10 MB do not belong in git).
`expected.json` names each case's outcome: "accepted" or the dead-letter code. Written with the
standard library and numpy only (deterministic bytes, no encoder version in them).
"""
from __future__ import annotations

import argparse
import base64
import json
import struct
import zlib
from pathlib import Path

import numpy as np


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int, height: int, rows: list[bytes], color: int, depth: int = 8, interlace: int = 0,
        extra: list[bytes] = ()) -> bytes:
    """A PNG from already-filtered scanlines (each starting with its filter byte)."""
    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + b"".join(extra)
            + chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + chunk(b"IEND", b""))


def chest(size: int = 256) -> np.ndarray:
    """A plain radiograph-like picture: two dark lungs in a bright body (the content does not matter)."""
    y, x = np.mgrid[0:size, 0:size] / size
    body = 0.85 - 0.3 * ((x - 0.5) ** 2 + (y - 0.55) ** 2)
    lungs = np.exp(-(((x - 0.32) / 0.13) ** 2 + ((y - 0.5) / 0.25) ** 2)) + np.exp(-(((x - 0.68) / 0.13) ** 2 + ((y - 0.5) / 0.25) ** 2))
    return np.clip(body - 0.5 * lungs, 0, 1)


def gray8(a: np.ndarray) -> bytes:
    v = (a * 255).round().astype(np.uint8)
    return png(v.shape[1], v.shape[0], [b"\0" + r.tobytes() for r in v], color=0)


def adam7(a: np.ndarray) -> bytes:
    """8-bit gray, interlaced: the seven passes' sub-images one after another."""
    v = (a * 255).round().astype(np.uint8)
    rows = []
    for y0, x0, dy, dx in [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1)]:
        sub = v[y0::dy, x0::dx]
        if sub.size:
            rows += [b"\0" + r.tobytes() for r in sub]
    return png(v.shape[1], v.shape[0], rows, color=0, interlace=1)


def images(a: np.ndarray) -> dict[str, tuple[bytes, str]]:
    good = gray8(a)
    v16 = (a[::2, ::2] * 65535).round().astype(">u2")                    # 128 px: small in git, above the 64 px minimum
    v = (a * 255).round().astype(np.uint8)
    rgb = np.stack([v, v, v], -1)
    rgba = np.concatenate([rgb, np.full(v.shape + (1,), 255, np.uint8)], -1)
    levels = (a * 15).round().astype(np.uint8)                           # 16 gray levels in a palette
    palette = chunk(b"PLTE", bytes(c for i in range(16) for c in (i * 17,) * 3))
    corrupt = bytearray(good)
    corrupt[good.index(b"IDAT") + 40] ^= 0xFF                            # data no longer matches its CRC
    bomb = png(60000, 60000, [], color=0)[:33] + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(b"IEND", b"")
    pixel_bomb = png(16000, 16000, [], color=0)[:33] + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(b"IEND", b"")  # sides allowed, 256 MP not
    jpeg = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffdb004300") + bytes(64) + bytes.fromhex("ffd9")
    return {
        "gray8.png": (good, "accepted"),
        "gray16.png": (png(128, 128, [b"\0" + r.tobytes() for r in v16], color=0, depth=16), "accepted"),
        "rgb.png": (png(256, 256, [b"\0" + r.tobytes() for r in rgb], color=2), "accepted"),
        "rgba.png": (png(256, 256, [b"\0" + r.tobytes() for r in rgba], color=6), "accepted"),
        "palette.png": (png(256, 256, [b"\0" + bytes(np.repeat(r, 1)) for r in levels], color=3, extra=[palette]), "accepted"),
        "interlaced.png": (adam7(a), "accepted"),
        "truncated.png": (good[: len(good) // 2], "bad_image"),
        "corrupt-crc.png": (bytes(corrupt), "bad_image"),
        "zero-bytes.png": (b"", "schema_violation"),                   # png_base64 "" breaks the schema's minLength
        "bomb-60000x60000.png": (bomb, "bad_image"),
        "bomb-16000x16000.png": (pixel_bomb, "bad_image"),
        "tiny-16x16.png": (gray8(a[::16, ::16]), "bad_image"),
        "jpeg-named.png": (jpeg, "bad_image"),
        "gif-named.png": (b"GIF89a" + bytes(32), "bad_image"),
    }


def study(study_id: str, image: dict, tasks: list | None = None, **extra) -> dict:
    return {"schema": "cxr.studies.v1", "study_id": study_id, "image": image, "tasks": tasks or [], **extra}


def messages(good_png: bytes) -> dict[str, tuple[bytes, str]]:
    inline = {"png_base64": base64.b64encode(good_png).decode()}
    as_json = lambda m: json.dumps(m).encode()  # noqa: E731
    return {
        "not-utf8.json": (b'{"schema": "cxr.studies.v1", "study_id": "\xff\xfe"}', "bad_json"),
        "not-json.json": (b"PATIENT,IMAGE\nDoe,x.png\n", "bad_json"),
        "truncated.json": (as_json(study("bad-truncated", inline))[:80], "bad_json"),
        "missing-study-id.json": (as_json({"schema": "cxr.studies.v1", "image": inline, "tasks": []}), "schema_violation"),
        "unknown-field.json": (as_json(study("bad-unknown-field", inline, priority="stat")), "schema_violation"),
        "wrong-type.json": (as_json(study("bad-wrong-type", inline) | {"tasks": "report"}), "schema_violation"),
        "bad-study-id.json": (as_json(study("../../etc/passwd", inline)), "schema_violation"),
        "both-image-forms.json": (as_json(study("bad-both", inline | {"uri": "file:///x.png"})), "schema_violation"),
        "other-version.json": (as_json(study("bad-version", inline) | {"schema": "cxr.studies.v2"}), "unsupported_schema"),
        "unknown-task.json": (as_json(study("bad-task", inline, [{"task": "summarise"}])), "unknown_task"),
        "box-outside-image.json": (as_json(study("bad-box", inline, [{"task": "grounded-diagnosis", "box": [10, 10, 5000, 20]}])), "bad_task"),
        "uri-outside-root.json": (as_json(study("bad-uri-outside", {"uri": "file:///etc/passwd"})), "image_outside_root"),
        "uri-dotdot.json": (as_json(study("bad-uri-dotdot", {"uri": "file://{ROOT}/../secret.png"})), "image_outside_root"),
        "uri-missing.json": (as_json(study("bad-uri-missing", {"uri": "file://{ROOT}/missing.png"})), "image_not_found"),
        "uri-inside-root.json": (as_json(study("good-uri", {"uri": "file://{ROOT}/gray8.png"})), "accepted"),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("Tests/Fixtures/bad"))
    args = p.parse_args()
    expected = {}
    pictures = images(chest())
    small = gray8(chest(96))                                             # what the messages carry inline
    for folder, cases in (("images", pictures), ("messages", messages(small))):
        (args.out / folder).mkdir(parents=True, exist_ok=True)
        for name, (data, outcome) in cases.items():
            (args.out / folder / name).write_bytes(data)
            expected[f"{folder}/{name}"] = outcome
    expected["made-by-test/symlink-escaping-root"] = "image_outside_root"
    expected["made-by-test/10-mb-message"] = "oversize"
    (args.out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"{len(expected)} cases in {args.out}")


if __name__ == "__main__":
    main()
