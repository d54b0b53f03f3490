"""Per-lung geometry the findings need: masks, depth below the pleura (mm), lobe voxels (cached)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import ndimage

from . import assets, prepare as P
from .volume import region

LOBES = {"right upper lobe": 12, "right middle lobe": 13, "right lower lobe": 14,
         "left upper lobe": 10, "left lower lobe": 11}


@dataclass
class Lung:
    side: str
    box: tuple[slice, slice, slice]   # bounding block in the volume
    mask: np.ndarray                  # [block] bool
    depth: np.ndarray                 # [block] float16 mm from the lung surface (0 outside)

    @cached_property
    def voxels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Global (i, j, k) of every lung voxel."""
        return tuple(ix + s.start for ix, s in zip(np.nonzero(self.mask), self.box))

    @cached_property
    def voxel_depth(self) -> np.ndarray:
        return self.depth[self.mask].astype(np.float32)


def load(labels: np.ndarray, spacing: tuple[float, float, float]) -> dict[str, Lung]:
    path = P.cache_path().with_name(f"lungs-v{P.VERSION}.npz")
    if path.exists():
        with np.load(path) as f:
            return {side: Lung(side, tuple(slice(*f[f"{side}_box"][i]) for i in range(3)), f[f"{side}_mask"],
                               f[f"{side}_depth"]) for side in ("right", "left")}
    out, arrays = {}, {}
    for side, ids in (("right", P.LUNG_RIGHT), ("left", P.LUNG_LEFT)):
        mask = np.isin(labels, ids)
        idx = [np.nonzero(mask.any(axis=tuple(a for a in range(3) if a != ax)))[0] for ax in range(3)]
        box = region(np.array([i[0] for i in idx]), np.array([i[-1] + 1 for i in idx]), mask.shape)
        block = mask[box]
        depth = ndimage.distance_transform_edt(np.pad(block, 1), sampling=spacing)[1:-1, 1:-1, 1:-1].astype(np.float16)
        out[side] = Lung(side, box, block, depth)
        arrays[f"{side}_box"] = np.array([[s.start, s.stop] for s in box])
        arrays[f"{side}_mask"], arrays[f"{side}_depth"] = block, depth
    assets.save_npz_atomic(path, **arrays)
    return out


def lobe_samples(labels: np.ndarray, lung: Lung, lobe: int, min_depth: float, rng: np.random.Generator) -> np.ndarray:
    """A random voxel (global i, j, k) of `lobe` at least `min_depth` mm under the pleura."""
    in_lobe = labels[lung.voxels] == lobe
    ok = np.nonzero(in_lobe & (lung.voxel_depth >= min_depth))[0]
    if len(ok) == 0:
        ok = np.nonzero(in_lobe)[0]
    pick = ok[rng.integers(len(ok))]
    return np.array([ix[pick] for ix in lung.voxels])
