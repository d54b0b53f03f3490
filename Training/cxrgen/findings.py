"""Findings inserted in 3-D before projection. Each returns a Finding whose edits a StudyVolume applies.

Sizes follow the drr notes (and VinDr box statistics where sampled in study.py); every finding
records its CheXpert labels, side, size, severity and the text phrase the sentences use.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from . import boxstats, prepare as P
from .lungs import LOBES, Lung, lobe_samples
from .volume import Edit, StudyVolume, block_edit, region


@dataclass
class Finding:
    kind: str                 # e.g. "nodule", "pleural effusion"
    labels: list[str]         # CheXpert labels it makes positive
    side: str                 # "right", "left", "bilateral", "midline"
    size_mm: float
    severity: str             # "small", "moderate", "large", "mild", ...
    phrase: str               # as it appears in region sentences
    location: str = ""        # lobe or structure
    edits: list[Edit] = field(default_factory=list)


def article(number: int) -> str:
    """'an' before numbers read with a leading vowel sound (8, 11, 18, 80...)."""
    return "an" if str(number).startswith("8") or number in (11, 18) else "a"


class Context:
    """What finding makers read: the study's current volume, lungs and a random generator."""

    def __init__(self, volume: StudyVolume, lungs: dict[str, Lung], rng: np.random.Generator) -> None:
        self.v, self.lungs, self.rng = volume, lungs, rng
        self.spacing = np.asarray(volume.ph.spacing)
        self.shape = volume.ph.hu.shape

    def block_mm(self, r: tuple[slice, slice, slice]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Broadcastable mm coordinates of a block."""
        i, j, k = np.ogrid[r[0], r[1], r[2]]
        return i * self.spacing[0], j * self.spacing[1], k * self.spacing[2]

    def around(self, center_vox: np.ndarray, radius_mm: float) -> tuple[slice, slice, slice]:
        half = radius_mm / self.spacing + 2
        return region(center_vox - half, center_vox + half + 1, self.shape)

    def lung_in(self, r: tuple[slice, slice, slice], side: str | None = None) -> np.ndarray:
        ids = {"right": P.LUNG_RIGHT, "left": P.LUNG_LEFT}.get(side, P.LUNG_RIGHT + P.LUNG_LEFT)
        return np.isin(self.v.labels[r], ids)

    def side(self) -> str:
        return "right" if self.rng.random() < 0.5 else "left"


def lobulated_ball(ctx: Context, r, center_vox: np.ndarray, radius: float, lobulation: float) -> np.ndarray:
    x, y, z = ctx.block_mm(r)
    c = center_vox * ctx.spacing
    dx, dy, dz = x - c[0], y - c[1], z - c[2]
    dist = np.sqrt(dx * dx + dy * dy + dz * dz) + 1e-6
    phases = ctx.rng.uniform(0, 2 * np.pi, 3)
    wobble = 1 + lobulation * (np.sin(3 * dx / dist + phases[0]) * np.sin(2 * dy / dist + phases[1])
                               + 0.5 * np.sin(4 * dz / dist + phases[2]))
    return dist <= radius * wobble


def nodule(ctx: Context) -> Finding:
    """Size and lobe from a real NIH Nodule or Mass box (expert boxes are loose: 0.6 x box size)."""
    mass = ctx.rng.random() < 0.25
    cx, cy, w, h = boxstats.sample("Mass" if mass else "Nodule", ctx.rng)
    radius = float(np.clip(0.3 * np.sqrt(w * h), 13, 25) if mass else np.clip(0.3 * np.sqrt(w * h), 6, 12))
    lobe = boxstats.lobe_for(cx, cy)
    side = lobe.split()[0]
    center = lobe_samples(ctx.v.labels, ctx.lungs[side], LOBES[lobe], radius + 4, ctx.rng)
    r = ctx.around(center, radius * 1.4)
    ball = lobulated_ball(ctx, r, center, radius, 0.15) & ctx.lung_in(r, side)
    values = 35 + ctx.rng.normal(0, 8, ball.shape).astype(np.float32)
    size = round(2 * radius)
    kind = "mass" if mass else "nodule"
    return Finding(kind, ["Lung Lesion", "Lung Opacity"], side, size, "large" if mass else "small",
                   f"{article(size)} {size} mm {kind}", lobe, [block_edit(r, ball, values)])


def airspace(ctx: Context, kind: str) -> Finding:
    """Consolidation (-60..40 HU, lobe-bounded irregular ball) or ground-glass opacity (-550..-350 HU)."""
    cx, cy, w, h = boxstats.sample("Pneumonia" if kind == "consolidation" else "Infiltrate", ctx.rng)
    lobe = boxstats.lobe_for(cx, cy)
    side = lobe.split()[0]
    radius = float(np.clip(0.35 * np.sqrt(w * h), 30, 50) if kind == "consolidation" else np.clip(0.35 * np.sqrt(w * h), 25, 45))
    center = lobe_samples(ctx.v.labels, ctx.lungs[side], LOBES[lobe], 10, ctx.rng)
    r = ctx.around(center, radius * 1.4)
    region_mask = lobulated_ball(ctx, r, center, radius, 0.3) & (ctx.v.labels[r] == LOBES[lobe])
    noise = ndimage.gaussian_filter(ctx.rng.standard_normal(region_mask.shape), 2.0)
    hu = ctx.v.current_hu(r)
    if kind == "consolidation":
        target = ctx.rng.uniform(-60, 40) + 25 * noise / max(noise.std(), 1e-6)
        hu = target
        pneumonia = ctx.rng.random() < 0.5
        labels = ["Consolidation", "Lung Opacity"] + (["Pneumonia"] if pneumonia else [])
        phrase = "consolidation" if not pneumonia else "consolidation concerning for pneumonia"
    else:
        target = ctx.rng.uniform(-550, -350) + 40 * noise / max(noise.std(), 1e-6)
        hu = np.maximum(hu, target)
        labels, phrase = ["Lung Opacity"], "patchy opacity"
    severity = "large" if radius > 42 else "moderate" if radius > 34 else "small"
    return Finding(kind if kind == "consolidation" else "opacity", labels, side, round(2 * radius), severity,
                   phrase, lobe, [block_edit(r, region_mask, hu)])


def atelectasis(ctx: Context) -> Finding:
    """Plate atelectasis in a lower lobe; side and width from a real NIH Atelectasis box."""
    cx, _, w, _ = boxstats.sample("Atelectasis", ctx.rng)
    side = "right" if cx < 0.5 else "left"
    lobe = f"{side} lower lobe"
    center = lobe_samples(ctx.v.labels, ctx.lungs[side], LOBES[lobe], 8, ctx.rng)
    width, thick = float(np.clip(0.6 * w, 35, 70)), ctx.rng.uniform(5, 12)
    r = ctx.around(center, width)
    x, y, z = ctx.block_mm(r)
    c = center * ctx.spacing
    tilt = ctx.rng.uniform(-0.25, 0.25)
    dz = (z - c[2]) - tilt * (x - c[0])
    disc = ((x - c[0]) ** 2 + (y - c[1]) ** 2) / width ** 2 + dz ** 2 / (thick / 2) ** 2 <= 1
    disc &= ctx.lung_in(r, side)
    # plate atelectasis is streaky, not a solid rod: collapsed lung mixed with aerated lung
    texture = ndimage.gaussian_filter(ctx.rng.standard_normal(disc.shape), 1.5)
    values = ctx.rng.uniform(-250, -50) + 250 * texture / max(texture.std(), 1e-6)
    return Finding("atelectasis", ["Atelectasis", "Lung Opacity"], side, round(width), "mild" if width < 50 else "moderate",
                   "atelectasis", lobe, [block_edit(r, disc, np.clip(values, -700, 40))])


def pleural_effusion(ctx: Context) -> Finding:
    """Side and fluid height from a real NIH Effusion box (0.5 x its height, 30-80 mm)."""
    cx, _, _, h = boxstats.sample("Effusion", ctx.rng)
    sides = ["right", "left"] if ctx.rng.random() < 0.2 else ["right" if cx < 0.5 else "left"]
    height = float(np.clip(0.5 * h, 30, 80))
    edits = []
    for side in sides:
        lung = ctx.lungs[side]
        r = lung.box
        x, y, z = ctx.block_mm(r)
        below = np.isin(ctx.v.labels[r][::2, ::2, :], P.SUBDIAPHRAGM).any(axis=(0, 1))
        dome = z[..., np.nonzero(below)[0].max()].item()   # top of the liver / stomach under this lung
        xs = np.nonzero(lung.mask.any(axis=(1, 2)))[0]
        x_med, x_lat = (xs[-1], xs[0]) if side == "right" else (xs[0], xs[-1])
        lateral = np.clip((x / ctx.spacing[0] - r[0].start - x_med) / (x_lat - x_med), 0, 1)
        # Upright meniscus: the surface sits at `base` in the middle of the hemithorax and climbs
        # along the chest wall (small depth under the pleura), higher laterally.
        base = dome - 15 + 0.35 * height
        climb = height * (0.3 + 0.8 * lateral ** 1.5) * np.exp(-lung.depth.astype(np.float32) / 15.0)
        fluid = lung.mask & (z <= base + climb)
        edits.append(block_edit(r, fluid, 15.0))
    severity = "large" if height > 65 else "moderate" if height > 45 else "small"
    side = "bilateral" if len(sides) == 2 else sides[0]
    phrase = f"{severity} pleural effusion" + ("s" if side == "bilateral" else "")
    return Finding("pleural effusion", ["Pleural Effusion"], side, round(height), severity, phrase, "pleural space", edits)


def pneumothorax(ctx: Context) -> Finding:
    """Side from a real NIH Pneumothorax box; rim 8-25 mm."""
    cx, _, _, _ = boxstats.sample("Pneumothorax", ctx.rng)
    side = "right" if cx < 0.5 else "left"
    lung = ctx.lungs[side]
    r = lung.box
    depth = lung.depth.astype(np.float32)
    rim = ctx.rng.uniform(8, 25)
    _, _, z = ctx.block_mm(r)
    zs = np.nonzero(lung.mask.any(axis=(0, 1)))[0]
    z_lo = z[..., zs[0]].item() + (z[..., zs[-1]].item() - z[..., zs[0]].item()) * ctx.rng.uniform(0.35, 0.55)
    apical = lung.mask & (z >= z_lo)
    air = apical & (depth < rim)
    line = apical & (depth >= rim) & (depth < rim + 1.5)
    hu = ctx.v.current_hu(r)
    hu[air] = -1000
    hu[line] = -250
    denser = apical & (depth >= rim + 1.5)
    hu[denser] += 40  # the collapsed lung is a little denser
    severity = "large" if rim > 20 else "moderate" if rim > 13 else "small"
    return Finding("pneumothorax", ["Pneumothorax"], side, round(rim), severity, f"{severity} pneumothorax", "pleural space",
                   [block_edit(r, air | line | denser, hu, mask=air)])


def pleural_thickening(ctx: Context) -> Finding:
    side = ctx.side()
    lung = ctx.lungs[side]
    r = lung.box
    thick = ctx.rng.uniform(3, 8)
    _, _, z = ctx.block_mm(r)
    zs = np.nonzero(lung.mask.any(axis=(0, 1)))[0]
    z0, z1 = z[..., zs[0]].item(), z[..., zs[-1]].item()
    lo = z0 + (z1 - z0) * ctx.rng.uniform(0.3, 0.6)
    band = lung.mask & (lung.depth.astype(np.float32) < thick) & (z >= lo) & (z <= lo + ctx.rng.uniform(50, 90))
    xs = np.arange(r[0].start, r[0].stop)[:, None, None]
    mid = (r[0].start + r[0].stop) / 2
    band &= (xs < mid) if side == "right" else (xs > mid)   # lateral half
    return Finding("pleural thickening", ["Pleural Other"], side, round(thick), "mild", "pleural thickening", "pleura",
                   [block_edit(r, band, 50.0)])
