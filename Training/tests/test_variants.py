"""Real-shape variants, the letterbox twin, the benchmark plan, and the cache race fix."""
import json
import multiprocessing as mp
from pathlib import Path

import numpy as np
import pytest

from anatomix.letterbox import Letterbox, area_weights
from cxrgen import assets, variants
from cxrgen.dataset import generate


@pytest.fixture(scope="module")
def study(generator):
    return generator.make(13, 3)


@pytest.mark.parametrize("kind", variants.KINDS)
def test_variants_move_the_boxes_with_the_pixels(study, kind):
    image, record = study
    for k in range(5):
        derived = json.loads(json.dumps(record))
        out, info = variants.apply(kind, image, derived, np.random.default_rng([k, 1]))
        assert out.shape == (derived["height"], derived["width"])
        ratio = derived["width"] / derived["height"]
        if kind != "crop":
            assert 0.74 <= ratio <= 1.34, (kind, ratio)
        moved = info["pad"] if kind == "collimation" else info
        dx, dy = (-moved["left"], -moved["top"]) if kind == "crop" else (moved["left"], moved["top"])
        for a, b in zip(record["anatomies"], derived["anatomies"]):
            assert b["box"] == pytest.approx([a["box"][0] + dx, a["box"][1] + dy, a["box"][2] + dx, a["box"][3] + dy], abs=0.051)
        # the pixels under the content moved by the same offset (collimation only blanks outside the anatomy)
        x1, y1, x2, y2 = (int(v) for v in variants.content_box(record))
        np.testing.assert_array_equal(out[y1 + dy:y2 + dy, x1 + dx:x2 + dx], image[y1:y2, x1:x2])


def test_letterbox_twin_matches_the_swift_rule():
    box = Letterbox(width=300, height=200, canvas=100)
    assert box.side == 300 and box.offset == (0, 50) and box.scale == pytest.approx(1 / 3)
    odd = Letterbox(width=7, height=4, canvas=7)
    assert odd.offset == (0, 1)                       # whole pixels, the extra one at the bottom
    b = np.array([[10.0, 20.0, 110.0, 150.0]])
    np.testing.assert_allclose(box.to_original(box.to_canvas(b)), b, atol=1e-9)
    # area weights: every output row sums to 1; downsampling by 3 averages 3 pixels
    w = area_weights(300, 100)
    np.testing.assert_allclose(w.sum(1), 1, atol=1e-6)
    image = np.arange(300 * 200, dtype=np.float32).reshape(200, 300) / 60000
    canvas = box.apply(image)
    assert canvas.shape == (100, 100) and canvas[:16].max() == 0 and canvas[-16:].max() == 0
    # canvas pixel (50, 10) covers square rows 150-153, i.e. image rows 100-103 (50 px of padding above)
    np.testing.assert_allclose(canvas[50, 10], image[100:103, 30:33].mean(), rtol=1e-5)
    # a square canvas-sized image passes through unchanged
    square = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    np.testing.assert_allclose(Letterbox(64, 64, 64).apply(square), square, atol=1e-6)


def test_the_benchmark_plan_and_its_resume(tmp_path: Path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    generate(whole, n=6, seed=5, size=128, workers=2, quiet=True, benchmark=True)
    records = [json.loads(l) for l in (whole / "manifest.jsonl").read_text().splitlines()]
    kinds = [r.get("variant", {}).get("kind") for r in records]
    assert kinds.count("pad") == kinds.count("crop") == kinds.count("collimation") == 1 and kinds.count("hires") == 1
    plain = [r for r in records if "variant" not in r and not r["flipped"]]
    flipped = [r for r in records if r["flipped"]]
    assert len(plain) == 6 and len(flipped) == 3
    assert {r["index"] for r in flipped}.isdisjoint({r["index"] for r in plain})     # other studies, not copies
    for r in records:
        if "variant" in r:
            assert r["variant"]["of"] in {p["id"] for p in plain}
    hires = next(r for r in records if r.get("variant", {}).get("kind") == "hires")
    assert hires["width"] == 256
    # an interrupted run (a job's second line lost) resumes to the same bytes
    generate(parts, n=6, seed=5, size=128, workers=2, quiet=True, benchmark=True)
    lines = (parts / "manifest.jsonl").read_text().splitlines()
    (parts / "manifest.jsonl").write_text("\n".join(lines[:1]) + "\n")   # the pad variant's line is missing
    generate(parts, n=6, seed=5, size=128, workers=2, quiet=True, benchmark=True, resume=True)
    assert (parts / "manifest.jsonl").read_text() == (whole / "manifest.jsonl").read_text()


def _hammer(args):
    path, seed = args
    rng = np.random.default_rng(seed)
    for _ in range(15):
        assets.save_npz_atomic(Path(path), a=rng.random((256, 256)))
    return True


def test_processes_building_one_cache_at_once_do_not_collide(tmp_path: Path):
    """Workers on a fresh cache used to share one temporary name and rename each other's file away."""
    target = tmp_path / "cache" / "slabs-v1.npz"
    with mp.get_context("fork").Pool(4) as pool:
        assert all(pool.map(_hammer, [(str(target), s) for s in range(8)]))
    with np.load(target) as f:
        assert f["a"].shape == (256, 256)
    assert not list(target.parent.glob("*.tmp.npz"))
