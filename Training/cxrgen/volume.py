"""A study's private copy of what findings change: HU and labels where edited, slab sums, and one
projected channel per finding (so finding boxes come from the same rays as the image).

Edits are sparse (the changed voxels only) and update the slab sums by scatter-adding the change.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .phantom import MU_WATER, Phantom

Index = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass
class Edit:
    """New HU (and optionally labels) at some voxels; `mask` are the finding's own voxels."""
    index: Index
    hu: np.ndarray
    mask: Index
    labels: np.ndarray | None = None


def region(lo: np.ndarray, hi: np.ndarray, shape: tuple[int, ...]) -> tuple[slice, slice, slice]:
    """Voxel block [lo, hi) clipped to the volume, with i and k bounds rounded out to even numbers."""
    lo = np.maximum(np.floor(lo).astype(int), 0)
    hi = np.minimum(np.ceil(hi).astype(int), shape)
    lo[[0, 2]] -= lo[[0, 2]] % 2
    hi[[0, 2]] += hi[[0, 2]] % 2
    hi = np.minimum(hi, shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))


def block_edit(r: tuple[slice, slice, slice], changed: np.ndarray, values, mask: np.ndarray | None = None,
               labels: np.ndarray | None = None) -> Edit:
    """An Edit from a block: `changed` voxels get `values` (scalar, or the block's new HU array)."""
    offset = [s.start for s in r]
    local = np.nonzero(changed)
    index = tuple(ix + o for ix, o in zip(local, offset))
    hu = np.broadcast_to(np.asarray(values, np.float32), changed.shape)[local] if np.ndim(values) else \
        np.full(len(local[0]), values, np.float32)
    m = np.nonzero(changed if mask is None else mask)
    return Edit(index, hu, tuple(ix + o for ix, o in zip(m, offset)),
                None if labels is None else np.broadcast_to(labels, changed.shape)[local])


class StudyVolume:
    def __init__(self, phantom: Phantom) -> None:
        self.ph = phantom
        self.a, self.b = phantom.a.copy(), phantom.b.copy()
        self.structures = phantom.structures.copy()
        self.hu = phantom.hu          # copied on first write
        self.labels = phantom.labels
        self.finding_channels: list[np.ndarray] = []
        n_j = phantom.hu.shape[1]
        self.slab_of = np.searchsorted(phantom.edges, np.arange(n_j), side="right") - 1
        self.structure_slab_of = np.searchsorted(phantom.structure_edges, np.arange(n_j), side="right") - 1

    def current_hu(self, r: tuple[slice, slice, slice]) -> np.ndarray:
        return self.hu[r].astype(np.float32)

    def scatter(self, target: np.ndarray, slabs: np.ndarray, index: Index, values: np.ndarray, coarse: bool) -> None:
        """target[slab, i, k] += values (on the 2x-coarser (i, k) grid when `coarse`)."""
        if len(values) == 0:
            return
        i, _, k = index
        if coarse:
            i, k = i // 2, k // 2
        _, ni, nk = target.shape
        flat = (slabs * ni + i) * nk + k
        lo, hi = int(flat.min()), int(flat.max()) + 1
        window = target.reshape(-1)[lo:hi]   # a view: only the touched span is summed into
        window += np.bincount(flat - lo, weights=values, minlength=hi - lo).astype(np.float32)

    def apply(self, edits: list[Edit]) -> np.ndarray:
        """Applies one finding's edits; returns its projected channel [S2, I/2, K/2]."""
        ph = self.ph
        dy = ph.spacing[1]
        channel = np.zeros(ph.structures.shape[1:], np.float32)
        for e in edits:
            if self.hu is ph.hu:
                self.hu = ph.hu.copy()
            old = self.hu[e.index].astype(np.float32)
            new = np.clip(np.rint(e.hu), -1024, 3071)
            d_mu = MU_WATER * dy * (np.maximum(1 + new / 1000, 0) - np.maximum(1 + old / 1000, 0))
            d_bone = MU_WATER * dy * (np.maximum(new, 0) - np.maximum(old, 0)) / 1000
            slabs = self.slab_of[e.index[1]]
            self.scatter(self.a, slabs, e.index, d_mu, coarse=False)
            self.scatter(self.b, slabs, e.index, d_bone, coarse=False)
            self.hu[e.index] = new.astype(np.int16)
            if e.labels is not None:
                if self.labels is ph.labels:
                    self.labels = ph.labels.copy()
                old_labels = self.labels[e.index]
                derived = ph.derived[e.index]
                coarse_slabs = self.structure_slab_of[e.index[1]]
                for c, name in enumerate(ph.names):
                    change = ph.mask(name, e.labels, derived).astype(np.float32) - ph.mask(name, old_labels, derived)
                    if change.any():
                        self.scatter(self.structures[c], coarse_slabs, e.index, change * dy / 4, coarse=True)
                self.labels[e.index] = e.labels
            weights = np.full(len(e.mask[0]), dy / 4, np.float32)
            self.scatter(channel, self.structure_slab_of[e.mask[1]], e.mask, weights, coarse=True)
        self.finding_channels.append(channel)
        return channel

    def all_structures(self) -> np.ndarray:
        """Anatomy channels followed by one channel per finding: [C + F, S2, I/2, K/2]."""
        if not self.finding_channels:
            return self.structures
        return np.concatenate([self.structures, np.stack(self.finding_channels)])
