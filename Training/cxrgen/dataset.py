"""`make dataset`: N studies -> OUT/manifest.jsonl + OUT/images/*.png, on all cores, deterministic by seed.

    python -m cxrgen.dataset --n 200 --out DIR --seed 1 --size 256 [--workers 2] [--flipped-copies] [--resume]
With --flipped-copies every study is also written flipped (the held-out benchmark, `make dataset-test`).
Manifest lines are written in order as studies finish, so an interrupted run keeps every complete
line; --resume continues after them (same seed and settings give the same dataset as one run).
"""
from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from .study import Generator

_generator: Generator | None = None


def _init(size: int, flip_fraction: float, bit_depth: int) -> None:
    global _generator
    _generator = Generator(size=size, flip_fraction=flip_fraction, bit_depth=bit_depth)


def png_bytes(image: np.ndarray, bit_depth: int) -> bytes:
    if bit_depth == 16:
        pil = Image.fromarray(np.round(image * 65535).astype(np.uint16))
    else:
        pil = Image.fromarray(np.round(image * 255).astype(np.uint8))
    buffer = io.BytesIO()
    pil.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def _make(job: tuple[int, int, bool | None]) -> list[tuple[dict, bytes]]:
    seed, index, flip = job
    image, record = _generator.make(seed, index, force_flip=flip)
    out = [(record, png_bytes(image, _generator.bit_depth))]
    return out


def jobs(seed: int, n: int, flipped_copies: bool) -> list[tuple[int, int, bool | None]]:
    if not flipped_copies:
        return [(seed, i, None) for i in range(n)]
    return [(seed, i, flip) for i in range(n) for flip in (False, True)]


def progress(done: int, total: int, start: float, first: int = 0) -> None:
    rate = (done - first) / max(time.time() - start, 1e-9) * 3600
    bar = "#" * int(30 * done / total)
    sys.stderr.write(f"\r[{bar:<30}] {done}/{total} images  {rate:,.0f}/h ")
    sys.stderr.flush()


def completed_lines(manifest: Path) -> int:
    """Complete lines of an interrupted manifest; a torn last line is cut off."""
    if not manifest.exists():
        return 0
    data = manifest.read_bytes()
    keep = data[: data.rfind(b"\n") + 1]
    if len(keep) != len(data):
        manifest.write_bytes(keep)
    return keep.count(b"\n")


def generate(out: Path, n: int, seed: int, size: int, workers: int, flip_fraction: float = 0.1,
             flipped_copies: bool = False, bit_depth: int = 8, quiet: bool = False, resume: bool = False) -> dict:
    (out / "images").mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.jsonl"
    todo = jobs(seed, n, flipped_copies)
    skip = completed_lines(manifest) if resume else 0
    start = time.time()
    args = (size, 0.0 if flipped_copies else flip_fraction, bit_depth)
    with mp.get_context("fork").Pool(workers, initializer=_init, initargs=args) as pool, \
            manifest.open("a" if resume else "w") as lines:
        for done, results in enumerate(pool.imap(_make, todo[skip:], chunksize=2), skip + 1):
            for record, png in results:
                record["image"] = f"images/{record['id']}.png"
                (out / record["image"]).write_bytes(png)
                lines.write(json.dumps(record, separators=(",", ":")) + "\n")
            lines.flush()
            if not quiet:
                progress(done, len(todo), start, skip)
    elapsed = max(time.time() - start, 1e-9)
    if not quiet:
        sys.stderr.write("\n")
    made = len(todo) - skip
    info = {"generator": "cxrgen-1", "seed": seed, "studies": n, "images": len(todo), "size": size,
            "bit_depth": bit_depth, "flipped_copies": flipped_copies, "workers": workers,
            "seconds": round(elapsed, 1), "images_per_hour": round(made / elapsed * 3600)}
    (out / "dataset.json").write_text(json.dumps(info, indent=1) + "\n")
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=mp.cpu_count())
    parser.add_argument("--flip-fraction", type=float, default=0.1)
    parser.add_argument("--flipped-copies", action="store_true")
    parser.add_argument("--bit-depth", type=int, choices=(8, 16), default=8)
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run into the same OUT")
    args = parser.parse_args()
    if args.size % 4 or args.size < 64:
        parser.error("--size must be a multiple of 4 and at least 64")
    info = generate(args.out, args.n, args.seed, args.size, args.workers, args.flip_fraction,
                    args.flipped_copies, args.bit_depth, resume=args.resume)
    print(f"dataset: {info['images']} images in {args.out} ({info['seconds']} s, {info['images_per_hour']:,}/h)")


if __name__ == "__main__":
    main()
