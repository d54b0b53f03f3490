"""Real image shapes from a rendered study: other aspect ratios, black or white borders, partial
collimation and crops that keep every anatomy. Boxes move with the pixels (original-image xyxy).

Used twice: `make dataset-test` writes fixed variants of held-out studies (the record's `variant`
says which and of what), and training draws a random one per image before letterboxing it exactly
as inference does (Training/anatomix/letterbox.py).
"""
from __future__ import annotations

import numpy as np

KINDS = ("pad", "crop", "collimation")


def _shift(record: dict, dx: float, dy: float, width: int, height: int) -> None:
    def move(box):
        x1, y1, x2, y2 = box
        return [round(float(np.clip(x1 + dx, 0, width)), 1), round(float(np.clip(y1 + dy, 0, height)), 1),
                round(float(np.clip(x2 + dx, 0, width)), 1), round(float(np.clip(y2 + dy, 0, height)), 1)]
    for a in record["anatomies"]:
        a["box"] = move(a["box"])
    for f in record["findings"]:
        f["box"] = move(f["box"])
        if "mask" in f:
            f["mask"] = [move(c) for c in f["mask"]]
    record["width"], record["height"] = width, height


def content_box(record: dict) -> list[float]:
    """The union of the 36 anatomy boxes: a crop or a collimator may not cut into it."""
    boxes = np.array([a["box"] for a in record["anatomies"]], dtype=float)
    return [float(boxes[:, 0].min()), float(boxes[:, 1].min()), float(boxes[:, 2].max()), float(boxes[:, 3].max())]


def pad(image: np.ndarray, record: dict, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """A black or white band on one or two sides, to an aspect ratio (width / height) in 0.75-1.33."""
    h, w = image.shape
    aspect = float(np.exp(rng.uniform(np.log(0.75), np.log(1.33))))
    value = 0.0 if rng.random() < 0.7 else 1.0
    base = int(round(rng.uniform(0, 0.06) * max(h, w)))              # a thin frame first, sometimes
    new_w, new_h = w + 2 * base, h + 2 * base
    if aspect >= new_w / new_h:
        new_w = int(round(new_h * aspect))
    else:
        new_h = int(round(new_w / aspect))
    left = base + int(rng.integers(0, new_w - w - 2 * base + 1))
    top = base + int(rng.integers(0, new_h - h - 2 * base + 1))
    out = np.full((new_h, new_w), value, dtype=image.dtype)
    out[top:top + h, left:left + w] = image
    _shift(record, left, top, new_w, new_h)
    return out, {"kind": "pad", "value": value, "left": left, "top": top}


def crop(image: np.ndarray, record: dict, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Cut each margin by a random amount without cutting any anatomy box (the aspect ratio follows
    from the cuts; the abdomen box reaches the bottom edge, so the bottom is never cut)."""
    h, w = image.shape
    x1, y1, x2, y2 = content_box(record)
    room = [int(np.floor(x1)), int(np.floor(y1)), int(np.floor(w - x2)), int(np.floor(h - y2))]  # left, top, right, bottom
    cut = [int(rng.integers(0, r + 1)) if r > 0 else 0 for r in room]
    left, top = cut[0], cut[1]
    new_w, new_h = w - cut[0] - cut[2], h - cut[1] - cut[3]
    out = image[top:top + new_h, left:left + new_w].copy()
    _shift(record, -left, -top, new_w, new_h)
    return out, {"kind": "crop", "left": left, "top": top}


def collimation(image: np.ndarray, record: dict, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Collimator shutters on 1-3 sides: a dark (unexposed) or bright (burnt-in) band outside the
    anatomy, then a pad to a new aspect ratio."""
    h, w = image.shape
    x1, y1, x2, y2 = content_box(record)
    out = image.copy()
    value = float(rng.uniform(0.0, 0.1)) if rng.random() < 0.6 else float(rng.uniform(0.85, 1.0))
    sides = rng.choice(4, size=int(rng.integers(1, 4)), replace=False)
    limits = [int(np.floor(x1)), int(np.floor(y1)), int(np.floor(w - x2)), int(np.floor(h - y2))]
    bands = []
    for side in sides:
        depth = int(rng.integers(0, limits[side] + 1)) if limits[side] > 0 else 0
        if depth == 0:
            continue
        if side == 0:
            out[:, :depth] = value
        elif side == 1:
            out[:depth, :] = value
        elif side == 2:
            out[:, w - depth:] = value
        else:
            out[h - depth:, :] = value
        bands.append([int(side), depth])
    out, padded = pad(out, record, rng)
    return out, {"kind": "collimation", "value": round(value, 3), "bands": bands, "pad": padded}


def apply(kind: str, image: np.ndarray, record: dict, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """One variant of (image, record); the record is changed in place (boxes, width, height)."""
    return {"pad": pad, "crop": crop, "collimation": collimation}[kind](image, record, rng)
