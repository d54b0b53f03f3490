"""`make dataset`: N studies -> OUT/manifest.jsonl + OUT/images/*.png, on all cores, deterministic by seed.

    python -m cxrgen.dataset --n 200 --out DIR --seed 1 --size 256 [--workers 2] [--flipped-copies | --benchmark] [--resume]
With --flipped-copies every study is also written flipped. With --benchmark (the held-out set,
`make dataset-test`) the N studies come with N/2 flipped *other* studies, real-shape variants of
the first N/2 (pad, crop, collimation in turn; see variants.py) and renders of the first N/6 at
twice the size (scaled down by the model's letterbox); each derived record names its original in
`variant.of`.
Manifest lines are written in order as studies finish, so an interrupted run keeps every complete
line; --resume continues after them (same seed and settings give the same dataset as one run) and
refuses an OUT made with other settings (OUT/plan.json) or whose lines are not this plan's.
"""
from __future__ import annotations

import argparse
import copy
import io
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from . import variants
from .study import GENERATOR, Generator, study_id

_generators: dict[int, Generator] = {}
_settings: tuple[int, float, int] | None = None

Job = tuple[int, int, "bool | None", int, "str | None"]   # seed, index, flip, size, variant


def _init(size: int, flip_fraction: float, bit_depth: int) -> None:
    """Build the generator (and on a fresh cache the prepared CT) once, in the parent before the
    workers fork, so they share it instead of each preparing the cache."""
    global _settings
    if _settings != (size, flip_fraction, bit_depth):
        _generators.clear()
        _settings = (size, flip_fraction, bit_depth)
        _generator_for(size)


def _generator_for(size: int) -> Generator:
    if size not in _generators:
        _, flip_fraction, bit_depth = _settings
        _generators[size] = Generator(size=size, flip_fraction=flip_fraction, bit_depth=bit_depth)
    return _generators[size]


def png_bytes(image: np.ndarray, bit_depth: int) -> bytes:
    if bit_depth == 16:
        pil = Image.fromarray(np.round(image * 65535).astype(np.uint16))
    else:
        pil = Image.fromarray(np.round(image * 255).astype(np.uint8))
    buffer = io.BytesIO()
    pil.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()


def _make(job: Job) -> list[tuple[dict, bytes]]:
    seed, index, flip, size, variant = job
    generator = _generator_for(size)
    image, record = generator.make(seed, index, force_flip=flip)
    if variant == "hires":                       # the same study rendered at a larger size
        record["id"] = study_id(seed, index, False, "hires")
        record["variant"] = {"kind": "hires", "of": study_id(seed, index, False)}
        return [(record, png_bytes(image, generator.bit_depth))]
    out = [(record, png_bytes(image, generator.bit_depth))]
    if variant is not None:
        derived = copy.deepcopy(record)
        image, info = variants.apply(variant, image, derived, np.random.default_rng([seed, index, 7]))
        derived["id"] = study_id(seed, index, bool(flip), variant)
        derived["variant"] = {"of": record["id"]} | info
        out.append((derived, png_bytes(image, generator.bit_depth)))
    return out


def jobs(seed: int, n: int, flipped_copies: bool, size: int = 256, benchmark: bool = False) -> list[Job]:
    if benchmark:
        plain = [(seed, i, False, size, variants.KINDS[i % 3] if i < n // 2 else None) for i in range(n)]
        flipped = [(seed, i, True, size, None) for i in range(n, n + n // 2)]
        hires = [(seed, i, False, 2 * size, "hires") for i in range(n // 6)]
        return plain + flipped + hires
    if not flipped_copies:
        return [(seed, i, None, size, None) for i in range(n)]
    return [(seed, i, flip, size, None) for i in range(n) for flip in (False, True)]


def progress(done: int, total: int, start: float, first: int = 0) -> None:
    rate = (done - first) / max(time.time() - start, 1e-9) * 3600
    bar = "#" * int(30 * done / total)
    sys.stderr.write(f"\r[{bar:<30}] {done}/{total} images  {rate:,.0f}/h ")
    sys.stderr.flush()


def ids_of(job: Job) -> list[set[str]]:
    """The ids each line of `job` may carry (an unforced flip is the generator's choice)."""
    seed, index, flip, _, variant = job
    if variant == "hires":
        return [{study_id(seed, index, False, "hires")}]
    flips = (False, True) if flip is None else (bool(flip),)
    out = [{study_id(seed, index, f) for f in flips}]
    if variant is not None:
        out.append({study_id(seed, index, f, variant) for f in flips})
    return out


def lines_of(job: Job) -> int:
    return len(ids_of(job))


def check_plan(out: Path, settings: dict, resume: bool) -> None:
    """On --resume, checks that OUT was made with these settings (OUT/plan.json, where one exists)."""
    plan = out / "plan.json"
    if resume and plan.exists():
        before = json.loads(plan.read_text())
        changed = {k: (before.get(k), v) for k, v in settings.items() if before.get(k) != v}
        if changed:
            detail = ", ".join(f"{k} {old!r} -> {new!r}" for k, (old, new) in changed.items())
            raise ValueError(f"--resume into {out}: it was made with other settings ({detail}); "
                             "use the same settings, or a new --out without --resume")


def completed_jobs(manifest: Path, todo: list[Job]) -> int:
    """Jobs whose every line is in an interrupted manifest; a torn last line and the lines of a
    half-written job are cut off. A line that is not the job planned at its place (another seed,
    size or plan) is an error. A folder holding more studies than asked for (a larger --n of the same
    plan) is left whole: its first n studies are the ones asked for."""
    if not manifest.exists():
        return 0
    text = manifest.read_text()
    records = text[: text.rfind("\n") + 1].splitlines()        # complete lines only
    done, kept = 0, 0
    while done < len(todo) and kept + lines_of(todo[done]) <= len(records):
        for offset, allowed in enumerate(ids_of(todo[done])):
            try:
                record = json.loads(records[kept + offset])
            except json.JSONDecodeError as error:
                raise ValueError(f"--resume: line {kept + offset + 1} of {manifest} is not JSON ({error})") from None
            if record.get("id") not in allowed or record.get("seed") != todo[done][0]:
                raise ValueError(f"--resume: line {kept + offset + 1} of {manifest} is {record.get('id')!r}, "
                                 f"but this plan has {sorted(allowed)} there; use the settings it was made with, "
                                 "or a new --out without --resume")
        kept += lines_of(todo[done])
        done += 1
    larger = done == len(todo) and len(records) > kept    # a larger dataset of the same plan: its first studies are the ones asked for
    complete = "".join(r + "\n" for r in (records if larger else records[:kept]))
    if complete != text:
        manifest.write_text(complete)
    return done


def generate(out: Path, n: int, seed: int, size: int, workers: int, flip_fraction: float = 0.1,
             flipped_copies: bool = False, bit_depth: int = 8, quiet: bool = False, resume: bool = False,
             benchmark: bool = False) -> dict:
    (out / "images").mkdir(parents=True, exist_ok=True)
    manifest = out / "manifest.jsonl"
    todo = jobs(seed, n, flipped_copies, size, benchmark)
    settings = {"generator": GENERATOR, "seed": seed, "size": size, "bit_depth": bit_depth,
                "flip_fraction": flip_fraction, "flipped_copies": flipped_copies, "benchmark": benchmark}
    check_plan(out, settings, resume)
    skip = completed_jobs(manifest, todo) if resume else 0
    (out / "plan.json").write_text(json.dumps(settings, indent=1) + "\n")     # checked by the next --resume
    if skip == len(todo) and (out / "dataset.json").exists():
        return json.loads((out / "dataset.json").read_text())   # nothing to add (no generator built): the folder's record stays
    start = time.time()
    args = (size, 0.0 if flipped_copies or benchmark else flip_fraction, bit_depth)
    _init(*args)
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
    images = sum(lines_of(job) for job in todo)
    info = {"generator": GENERATOR, "seed": seed, "studies": n, "images": images, "size": size,
            "bit_depth": bit_depth, "flipped_copies": flipped_copies, "benchmark": benchmark, "workers": workers,
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
    parser.add_argument("--benchmark", action="store_true", help="the held-out plan: flipped other studies, shape variants, 2x renders")
    parser.add_argument("--bit-depth", type=int, choices=(8, 16), default=8)
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run into the same OUT")
    args = parser.parse_args()
    if args.size % 4 or args.size < 64:
        parser.error("--size must be a multiple of 4 and at least 64")
    try:
        info = generate(args.out, args.n, args.seed, args.size, args.workers, args.flip_fraction,
                        args.flipped_copies, args.bit_depth, resume=args.resume, benchmark=args.benchmark)
    except ValueError as error:
        parser.exit(2, f"dataset: {error}\n")
    print(f"dataset: {info['images']} images in {args.out} ({info['seconds']} s, {info['images_per_hour']:,}/h)")


if __name__ == "__main__":
    main()
