"""Real finding-box statistics: sizes and positions of expert boxes in NIH ChestX-ray14
(BBox_List_2017.csv.gz, 1024 px images, in the torchxrayvision wheel). VinDr's boxes in the same
wheel come without image sizes, so only the NIH boxes can be turned into millimetres here.
"""
from __future__ import annotations

import csv
import gzip
from functools import lru_cache

import numpy as np

from . import assets

MM_PER_PX = 0.38  # a 1024 px NIH image covers about 390 mm


@lru_cache(maxsize=1)
def boxes() -> dict[str, np.ndarray]:
    """label -> [N, 4] of (cx, cy) in [0, 1] of the image and (w, h) in mm."""
    out: dict[str, list] = {}
    with gzip.open(assets.xrv_dir() / "BBox_List_2017.csv.gz", "rt") as f:
        for row in csv.reader(f):
            if row[0] == "Image Index":
                continue
            x, y, w, h = (float(v) for v in row[2:6])
            out.setdefault(row[1], []).append(((x + w / 2) / 1024, (y + h / 2) / 1024, w * MM_PER_PX, h * MM_PER_PX))
    return {k: np.array(v) for k, v in out.items()}


def sample(label: str, rng: np.random.Generator) -> np.ndarray:
    """One real box of `label`: (cx, cy, w_mm, h_mm)."""
    table = boxes()[label]
    return table[int(rng.integers(len(table)))]


def lobe_for(cx: float, cy: float) -> str:
    """The lobe under a box centre on an unflipped PA image (patient right on the image left)."""
    side = "right" if cx < 0.5 else "left"
    if side == "right":
        return "right upper lobe" if cy < 0.4 else "right middle lobe" if cy < 0.55 else "right lower lobe"
    return "left upper lobe" if cy < 0.5 else "left lower lobe"
