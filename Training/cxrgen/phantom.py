"""The prepared CT as slab sums: what the renderer samples, and what findings edit locally.

The volume is cut front to back (along j) into slabs. For each slab we keep two 2-D sums so the
bone boost can change per study without re-summing: A = sum mu_w (1 + HU/1000)+ dy and
B = sum mu_w max(HU, 0)/1000 dy, giving mu = A + (k - 1) B. Structure flags (lungs, heart, ribs...)
are summed the same way into path-length maps (mm) on a 2x2-coarser (i, k) grid and fewer slabs.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from . import assets, prepare as P

MU_WATER = 0.0206  # 1/mm

# Structure channels projected with the image rays: name -> (label ids, derived ids).
STRUCTURES: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "lung_right": (P.LUNG_RIGHT, ()),
    "lung_left": (P.LUNG_LEFT, ()),
    "heart": ((P.HEART, P.ATRIAL_APPENDAGE), ()),
    "aorta": ((P.AORTA,), ()),
    "svc": ((P.SVC,), ()),
    "trachea": ((P.TRACHEA,), ()),
    "clavicle_right": ((P.CLAVICLE_RIGHT,), ()),
    "clavicle_left": ((P.CLAVICLE_LEFT,), ()),
    "spine": (P.VERTEBRAE, ()),
    "subdiaphragm": (P.SUBDIAPHRAGM, ()),
    "mediastinum": (P.MEDIASTINUM, ()),
    "descending_aorta": ((), (P.DESCENDING_AORTA,)),
    "rib2_right_anterior": ((), (P.RIB2_RIGHT_ANTERIOR,)),
    "rib2_left_anterior": ((), (P.RIB2_LEFT_ANTERIOR,)),
    "rib4_right_anterior": ((), (P.RIB4_RIGHT_ANTERIOR,)),
    "rib4_left_anterior": ((), (P.RIB4_LEFT_ANTERIOR,)),
}


def slab_edges(n_j: int, slabs: int) -> np.ndarray:
    return np.linspace(0, n_j, slabs + 1).round().astype(int)


@dataclass
class Phantom:
    hu: np.ndarray          # [I, J, K] int16
    labels: np.ndarray      # [I, J, K] uint8 (TotalSegmentator ids)
    derived: np.ndarray     # [I, J, K] uint8 (prepare.DESCENDING_AORTA, ...)
    spacing: tuple[float, float, float]
    attenuation_slabs: int = 48
    structure_slabs: int = 24
    a: np.ndarray = field(init=False)       # [S, I, K] float32
    b: np.ndarray = field(init=False)       # [S, I, K] float32
    structures: np.ndarray = field(init=False)  # [C, S2, I/2, K/2] float32, mm
    names: list[str] = field(init=False)

    @classmethod
    def load(cls) -> "Phantom":
        """The prepared CT with its slab sums (cached next to it after the first run)."""
        d = P.load()
        return cls(d["hu"], d["labels"], d["derived"], tuple(float(s) for s in d["spacing"]))

    def __post_init__(self) -> None:
        self.edges = slab_edges(self.hu.shape[1], self.attenuation_slabs)
        self.structure_edges = slab_edges(self.hu.shape[1], self.structure_slabs)
        self.names = list(STRUCTURES)
        key = hashlib.sha1(repr((sorted(STRUCTURES.items()), self.attenuation_slabs, self.structure_slabs)).encode()).hexdigest()[:10]
        cache = P.cache_path().with_name(f"slabs-v{P.VERSION}-{key}.npz")
        if cache.exists():
            with np.load(cache) as f:
                self.a, self.b, self.structures = f["a"], f["b"], f["structures"]
        else:
            self.a, self.b = self.attenuation_sums(self.hu, self.edges)
            self.structures = np.stack([self.structure_sum(self.mask(name)) for name in self.names])
            assets.save_npz_atomic(cache, a=self.a, b=self.b, structures=self.structures)
        body = self.hu > -500
        idx = [np.nonzero(body.any(axis=tuple(a for a in range(3) if a != ax)))[0] for ax in range(3)]
        sx, sy, sz = self.spacing
        self.center = np.array([(idx[0][0] + idx[0][-1]) / 2 * sx, (idx[1][0] + idx[1][-1]) / 2 * sy,
                                (idx[2][0] + idx[2][-1]) / 2 * sz])
        self.anterior_y = idx[1][-1] * sy
        self.posterior_y = idx[1][0] * sy
        self.top_z = (self.hu.shape[2] - 1) * sz

    def mask(self, name: str, labels: np.ndarray | None = None, derived: np.ndarray | None = None) -> np.ndarray:
        ids, derived_ids = STRUCTURES[name]
        labels = self.labels if labels is None else labels
        derived = self.derived if derived is None else derived
        m = np.isin(labels, ids) if ids else np.zeros(labels.shape, bool)
        if derived_ids:
            m |= np.isin(derived, derived_ids)
        return m

    def attenuation_sums(self, hu: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Slab sums (A, B) of the whole volume."""
        dy = self.spacing[1]
        h = hu.astype(np.float32)
        mu = MU_WATER * np.maximum(1 + h / 1000, 0) * dy
        bone = MU_WATER * np.maximum(h, 0) / 1000 * dy
        return self.slab_reduce(mu, edges), self.slab_reduce(bone, edges)

    @staticmethod
    def slab_reduce(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
        """[I, J, K] -> [S, I, K] sums over each slab's j range."""
        n_j = values.shape[1]
        out = np.zeros((len(edges) - 1, values.shape[0], values.shape[2]), np.float32)
        for s in range(len(edges) - 1):
            lo, hi = edges[s], min(edges[s + 1], n_j)
            if hi > lo:
                out[s] = values[:, lo:hi, :].sum(axis=1)
        return out

    def structure_sum(self, mask: np.ndarray) -> np.ndarray:
        """Path length (mm) through `mask` per structure slab on the 2x2-coarser (i, k) grid."""
        i, j, k = mask.shape
        coarse = mask.reshape(i // 2, 2, j, k // 2, 2).sum(axis=(1, 4), dtype=np.float32)  # [I/2, J, K/2]
        return self.slab_reduce(coarse, self.structure_edges) * (self.spacing[1] / 4)
