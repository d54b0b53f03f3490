"""Findings that move structures (cardiomegaly, widened mediastinum), edema, rib fracture."""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from . import boxstats, prepare as P
from .findings import Context, Finding
from .volume import Edit
from .volume import block_edit, region


def cardiomegaly(ctx: Context) -> Finding:
    """Heart scaled by f laterally (less in depth and height); the lung it displaces becomes heart.
    f from the width of a real NIH Cardiomegaly box over a normal heart width (~125 mm)."""
    _, _, w, _ = boxstats.sample("Cardiomegaly", ctx.rng)
    f = float(np.clip(w / 125, 1.2, 1.4))
    scale = np.array([f, 1 + (f - 1) * 0.4, 1 + (f - 1) * 0.25])
    labels = ctx.v.labels
    heart = np.argwhere(labels[::4, ::4, ::4] == P.HEART) * 4
    lo, hi = heart.min(0), heart.max(0) + 4
    center = (lo + hi) / 2
    half = (hi - lo) / 2 * scale + 4
    r = region(center - half, center + half, ctx.shape)
    i, j, k = np.ogrid[r[0], r[1], r[2]]
    # inverse-scale every block voxel about the heart centre and look up the original heart
    src = [np.clip(np.rint(center[a] + (g - center[a]) / scale[a]), 0, ctx.shape[a] - 1).astype(int)
           for a, g in enumerate((i, j, k))]
    grown = labels[src[0], src[1], src[2]] == P.HEART
    block_labels = labels[r].copy()
    new = grown & (block_labels != P.HEART) & ~np.isin(block_labels, P.BONES)
    block_labels[new] = P.HEART
    ratio = round(0.48 * f, 2)
    severity = "mild" if f < 1.27 else "moderate" if f < 1.34 else "marked"
    return Finding("cardiomegaly", ["Cardiomegaly", "Enlarged Cardiomediastinum"], "midline", round(ratio * 100),
                   severity, f"{severity} cardiomegaly", "heart",
                   [block_edit(r, new, 42.0, mask=block_labels == P.HEART, labels=np.uint8(P.HEART))])


def widened_mediastinum(ctx: Context) -> Finding:
    """Upper mediastinal soft tissue widened laterally by 8-18 mm (above the heart)."""
    labels = ctx.v.labels
    heart_top = np.nonzero((labels[::2, ::2, :] == P.HEART).any(axis=(0, 1)))[0].max()
    upper = np.isin(labels[:, :, heart_top:], (P.AORTA, P.SVC, 54, 59, 60, P.TRACHEA, P.ESOPHAGUS))
    idx = np.argwhere(upper[::2, ::2, ::2]) * 2
    lo, hi = idx.min(0) + [0, 0, heart_top], idx.max(0) + [2, 2, heart_top + 2]
    grow = ctx.rng.uniform(8, 18)
    pad = np.array([grow / ctx.spacing[0] + 2, 2, 2])
    r = region(lo - pad, hi + pad, ctx.shape)
    block = np.isin(labels[r], (P.AORTA, P.SVC, 54, 59, 60, P.TRACHEA, P.ESOPHAGUS))
    block[:, :, : max(heart_top - r[2].start, 0)] = False
    width = int(round(grow / ctx.spacing[0]))
    wide = ndimage.binary_dilation(block, structure=np.ones((2 * width + 1, 1, 1), bool))
    block_labels = labels[r]
    new = wide & ~block & ~np.isin(block_labels, P.BONES) & (block_labels != P.HEART)
    severity = "mild" if grow < 12 else "moderate"
    return Finding("widened mediastinum", ["Enlarged Cardiomediastinum"], "midline", round(grow), severity,
                   "widening of the mediastinum", "mediastinum",
                   [block_edit(r, new, 40.0, mask=wide, labels=np.uint8(54))])  # 54 counts as mediastinum


def edema(ctx: Context) -> Finding:
    """Bilateral perihilar haze: +delta exp(-d^2 / 2 lambda^2) HU from each hilum, inside the lungs."""
    delta, lam = ctx.rng.uniform(180, 380), ctx.rng.uniform(40, 60)
    carina_k = np.nonzero((ctx.v.labels[::2, ::2, :] == P.TRACHEA).any(axis=(0, 1)))[0].min()
    edits = []
    for side, lung in ctx.lungs.items():
        index = lung.voxels
        xs = np.array([index[0].min(), index[0].max()])
        hx = (xs[-1] - 0.25 * (xs[-1] - xs[0])) if side == "right" else (xs[0] + 0.25 * (xs[-1] - xs[0]))
        ys = np.array([index[1].min(), index[1].max()])
        hilum = np.array([hx, ys.mean(), carina_k - 10])
        d2 = sum(((ix.astype(np.float32) - h) * sp) ** 2 for ix, h, sp in zip(index, hilum, ctx.spacing))
        add = (delta * np.exp(-d2 / (2 * lam * lam))).astype(np.float32)
        keep = add > 5
        index = tuple(ix[keep] for ix in index)
        hu = np.minimum(ctx.v.hu[index] + add[keep], -100).astype(np.float32)
        strong = add[keep] > 0.3 * delta
        edits.append(Edit(index, hu, tuple(ix[strong] for ix in index)))
    severity = "mild" if delta < 250 else "moderate"
    return Finding("edema", ["Edema", "Lung Opacity"], "bilateral", round(lam), severity,
                   f"{severity} pulmonary edema", "perihilar", edits)


def rib_fracture(ctx: Context) -> Finding:
    """A lateral segment of rib 4-9 cut out and displaced 5-10 mm (more than half a rib's width, as a
    displaced fracture is on a film; 3-7 mm left most of them invisible at 256 px), with a soft-tissue gap."""
    side = ctx.side()
    number = int(ctx.rng.integers(4, 10))
    rib = (P.RIBS_RIGHT if side == "right" else P.RIBS_LEFT)[number - 1]
    vox = np.argwhere(ctx.v.labels[::2, ::2, ::2] == rib) * 2
    lateral = vox[:, 0].argmin() if side == "right" else vox[:, 0].argmax()
    # a point on the lateral arc, a little anterior of the most lateral voxel
    near = vox[np.argsort(np.abs(vox[:, 1] - vox[lateral, 1] - ctx.rng.uniform(0, 40)) + np.abs(vox[:, 0] - vox[lateral, 0]))[:1]][0]
    shift = np.array([ctx.rng.uniform(-1, 1), ctx.rng.uniform(-1, 1), ctx.rng.choice([-1, 1])])
    shift = shift / np.linalg.norm(shift) * ctx.rng.uniform(5, 10)
    radius = 9.0
    r = ctx.around(near, radius + 10)
    x, y, z = ctx.block_mm(r)
    c = near * ctx.spacing
    inside = (x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2 <= radius ** 2
    bone = ctx.v.labels[r] == rib
    fragment = bone & inside
    hu = ctx.v.current_hu(r)
    original = hu.copy()
    hu[fragment] = 30
    offset = np.rint(shift / ctx.spacing).astype(int)
    moved = np.roll(fragment, tuple(offset), axis=(0, 1, 2))
    hu[moved] = np.maximum(hu[moved], np.roll(original, tuple(offset), axis=(0, 1, 2))[moved])
    changed = fragment | moved
    return Finding("rib fracture", ["Fracture"], side, round(float(np.linalg.norm(shift)), 1), "displaced",
                   f"a displaced fracture of the {side} {ordinal(number)} rib", f"{side} rib {number}",
                   [block_edit(r, changed, hu)])


def ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")
