"""Support devices placed in 3-D: endotracheal tube, central venous catheter, pacemaker with leads.

Devices are made to be radio-opaque as on real films (a barium-loaded catheter or stripe, metal leads):
their HU values are equivalent densities chosen so the projected contrast of a 2.5-3 mm line is like a
rib cortex (0.15-0.25 in display units at 256 px). At the CT's first values (1.1 mm at 1800 HU for the
catheter, a 0.8 mm stripe at 2000 HU, 0.9 mm leads at 2500 HU) a catheter changed the display by 0.05,
under the quantum noise of a low-dose study: invisible to the eye, so the label was noise.
"""
from __future__ import annotations

import numpy as np

from . import prepare as P
from .findings import Context, Finding
from .volume import Edit, block_edit, region


def centroid_by_slice(mask: np.ndarray) -> dict[int, np.ndarray]:
    """Mean (i, j) voxel of `mask` in each axial slice k that has one. Searched inside the mask's
    bounding box (the same integer coordinates, so the same means as over the whole slice)."""
    rows, cols = np.nonzero(mask.any(axis=(1, 2)))[0], np.nonzero(mask.any(axis=(0, 2)))[0]
    if rows.size == 0:
        return {}
    i0, j0 = int(rows[0]), int(cols[0])
    crop = mask[i0:rows[-1] + 1, j0:cols[-1] + 1]
    out = {}
    for k in np.nonzero(crop.any(axis=(0, 1)))[0]:
        out[int(k)] = (np.argwhere(crop[:, :, k]) + [i0, j0]).mean(0)
    return out


def smooth_path(points: list[np.ndarray], step: float = 4.0) -> np.ndarray:
    """Catmull-Rom through `points` (mm), sampled about every `step` mm."""
    p = [points[0]] + list(points) + [points[-1]]
    out = []
    for a, b, c, d in zip(p, p[1:], p[2:], p[3:]):
        n = max(int(np.linalg.norm(c - b) / step), 1)
        for t in np.linspace(0, 1, n, endpoint=False):
            t2, t3 = t * t, t * t * t
            out.append(0.5 * (2 * b + (-a + c) * t + (2 * a - 5 * b + 4 * c - d) * t2 + (-a + 3 * b - 3 * c + d) * t3))
    out.append(points[-1])
    return np.array(out)


def tube_edits(ctx: Context, path_mm: np.ndarray, radius: float, hu_value: float, lumen: float = 0.0) -> list[Edit]:
    """Voxels within `radius` mm of the polyline get `hu_value` (a hollow tube when lumen > 0)."""
    edits = []
    for a, b in zip(path_mm[:-1], path_mm[1:]):
        lo = (np.minimum(a, b) - radius - 1) / ctx.spacing
        hi = (np.maximum(a, b) + radius + 1) / ctx.spacing + 1
        r = region(lo, hi, ctx.shape)
        if any(s.stop <= s.start for s in r):
            continue
        x, y, z = ctx.block_mm(r)
        ab = b - a
        t = np.clip(((x - a[0]) * ab[0] + (y - a[1]) * ab[1] + (z - a[2]) * ab[2]) / max(ab @ ab, 1e-9), 0, 1)
        d = np.sqrt((x - a[0] - t * ab[0]) ** 2 + (y - a[1] - t * ab[1]) ** 2 + (z - a[2] - t * ab[2]) ** 2)
        wall = (d <= radius) & (d >= lumen)
        if not wall.any():
            continue
        hu = np.maximum(ctx.v.current_hu(r), hu_value)
        edits.append(block_edit(r, wall, hu))
    return edits


def endotracheal_tube(ctx: Context) -> Finding:
    centers = centroid_by_slice(ctx.v.labels == P.TRACHEA)
    ks = sorted(centers)
    carina_k = ks[0]
    tip_mm = ctx.rng.uniform(30, 60)
    tip_k = carina_k + int(tip_mm / ctx.spacing[2])
    top_k = ctx.shape[2] - 1
    points = [np.append(centers[min(ks, key=lambda q: abs(q - k))][:2], k) * ctx.spacing
              for k in np.linspace(top_k, tip_k, 6).astype(int)]
    path = smooth_path(points)
    edits = tube_edits(ctx, path, 4.5, 250, lumen=3.5)
    edits += tube_edits(ctx, path + np.array([3.4, 0, 0]), 1.5, 5000)   # radio-opaque stripe
    return Finding("endotracheal tube", ["Support Devices"], "midline", round(tip_mm), "in position",
                   f"an endotracheal tube with its tip {round(tip_mm / 10, 1)} cm above the carina", "trachea", edits)


def central_line(ctx: Context) -> Finding:
    svc = centroid_by_slice(ctx.v.labels == P.SVC)
    ks = sorted(svc)
    trachea = centroid_by_slice(ctx.v.labels == P.TRACHEA)
    top_k = ctx.shape[2] - 1
    tk = trachea[max(trachea)]
    start = np.array([tk[0] - 45 / ctx.spacing[0], tk[1] + 15 / ctx.spacing[1], top_k]) * ctx.spacing
    tip_k = ks[0] + int(ctx.rng.uniform(0, 0.4) * (ks[-1] - ks[0]))
    points = [start, np.append(svc[ks[-1]], ks[-1]) * ctx.spacing,
              np.append(svc[ks[len(ks) // 2]], ks[len(ks) // 2]) * ctx.spacing, np.append(svc[tip_k], tip_k) * ctx.spacing]
    edits = tube_edits(ctx, smooth_path(points), 1.5, 4000)   # barium-loaded 9 Fr
    return Finding("central venous catheter", ["Support Devices"], "right", 0, "in position",
                   "a right internal jugular central venous catheter with its tip in the superior vena cava", "svc", edits)


def pacemaker(ctx: Context) -> Finding:
    labels = ctx.v.labels
    clav = np.argwhere(labels[::2, ::2, ::2] == P.CLAVICLE_LEFT).mean(0) * 2
    gen_center = clav + np.array([10, 0, -30]) / ctx.spacing
    column = ctx.v.hu[int(gen_center[0]), :, int(gen_center[2])] > -400
    gen_center[1] = np.nonzero(column)[0].max() - 9 / ctx.spacing[1]
    half = np.array([22, 4, 25]) / ctx.spacing
    r = region(gen_center - half, gen_center + half, ctx.shape)
    box = np.ones(tuple(s.stop - s.start for s in r), bool)
    edits = [block_edit(r, box, 3000.0)]
    svc = centroid_by_slice(labels == P.SVC)
    ks = sorted(svc)
    heart = np.argwhere(labels[::2, ::2, ::2] == P.HEART) * 2
    apex = heart[np.argmax(heart[:, 0] * 0.6 + heart[:, 1] * 0.4 - heart[:, 2] * 1.0)]
    atrium = heart[np.argmin(heart[:, 0] + 0.5 * np.abs(heart[:, 2] - (ks[0] - 12)))]
    top = np.append(svc[ks[-1]], ks[-1])
    mid = np.append(svc[ks[0]], ks[0])
    for tip in (apex, atrium):
        points = [gen_center * ctx.spacing, (gen_center + top) / 2 * ctx.spacing + np.array([0, 0, 15]),
                  top * ctx.spacing, mid * ctx.spacing, tip * ctx.spacing]
        edits += tube_edits(ctx, smooth_path(points), 1.2, 5000)   # metal conductor
    return Finding("pacemaker", ["Support Devices"], "left", 0, "in position",
                   "a left-sided dual-chamber pacemaker with leads in the right atrium and right ventricle", "chest wall", edits)
