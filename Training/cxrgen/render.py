"""Cone-beam rendering by slabs and the detector/display chain (see drr-synthesis-notes.md)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .geometry import Rays


@dataclass(frozen=True)
class Exposure:
    """Per-image detector and display settings."""
    bone_boost: float = 2.5      # k in mu = mu_w (1 + HU/1000) + (k - 1) mu_w max(HU, 0)/1000
    attenuation: float = 1.0     # global scale of mu
    scatter: float = 0.08        # fraction of a 40 mm blur of the primary added back
    photons: float = 1e5         # N0: quantum noise sd = sqrt(I / N0)
    compression: float = 0.45    # subtract this x a 60 mm blur of the log image
    edge_gain: float = 1.0       # add this x (image - 6 mm blur)
    gamma: float = 1.4
    blur_px: float = 0.5         # detector blur (pixels)
    noise_seed: int = 0


def line_integrals(a: np.ndarray, b: np.ndarray, edges: np.ndarray, spacing: tuple[float, float, float],
                   rays: Rays, exposure: Exposure) -> np.ndarray:
    """sum mu ds along every ray: [H, W]."""
    sx, sy, sz = spacing
    mu = a + np.float32(exposure.bone_boost - 1) * b  # [S, I, K]
    slabs, ni, nk = mu.shape
    total = np.zeros(rays.target.shape[0] * rays.target.shape[1], np.float32)
    for s in range(slabs):
        y = (edges[s] + edges[s + 1] - 1) / 2 * sy
        x, z = rays.crossing(y)
        total += bilinear(mu[s].reshape(1, -1), ni, nk, (x / sx).ravel(), (z / sz).ravel())[0]
    return total.reshape(rays.target.shape[:2]) * rays.path_factor() * exposure.attenuation


def structure_maps(structures: np.ndarray, edges: np.ndarray, spacing: tuple[float, float, float],
                   rays: Rays) -> np.ndarray:
    """Path length (mm) through each structure channel along every ray: [C, h, w].

    `structures` is [C, S, I/2, K/2]; all channels share each slab's bilinear weights.
    """
    sx, sy, sz = spacing
    channels, slabs, ni, nk = structures.shape
    h, w = rays.target.shape[:2]
    out = np.zeros((channels, h * w), np.float32)
    for s in range(slabs):
        y = (edges[s] + edges[s + 1] - 1) / 2 * sy
        x, z = rays.crossing(y)
        out += bilinear(structures[:, s].reshape(channels, -1), ni, nk, (x / (2 * sx) - 0.5).ravel(),
                        (z / (2 * sz) - 0.5).ravel())
    return out.reshape(channels, h, w) * rays.path_factor()[None].astype(np.float32)


def bilinear(flat: np.ndarray, ni: int, nk: int, fi: np.ndarray, fk: np.ndarray) -> np.ndarray:
    """Sample [C, ni*nk] channel images at fractional (i, k); zero outside."""
    i0, k0 = np.floor(fi).astype(np.int64), np.floor(fk).astype(np.int64)
    wi, wk = (fi - i0).astype(np.float32), (fk - k0).astype(np.float32)
    valid = (i0 >= 0) & (i0 < ni - 1) & (k0 >= 0) & (k0 < nk - 1)
    base = np.where(valid, i0 * nk + k0, 0)
    top = flat[:, base] * (1 - wk) + flat[:, base + 1] * wk
    bottom = flat[:, base + nk] * (1 - wk) + flat[:, base + nk + 1] * wk
    return (top * (1 - wi) + bottom * wi) * valid


def blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur; large kernels run on a 4x-coarser copy (they only carry low frequencies)."""
    if sigma_px < 8:
        return ndimage.gaussian_filter(image, sigma_px, mode="nearest")
    small = ndimage.zoom(image, 0.25, order=1, grid_mode=True, mode="nearest")
    small = ndimage.gaussian_filter(small, sigma_px / 4, mode="nearest")
    return ndimage.zoom(small, np.array(image.shape) / np.array(small.shape), order=1, grid_mode=True, mode="nearest")


def display(line_integral: np.ndarray, exposure: Exposure, mm_per_px: float) -> np.ndarray:
    """Detector physics and display processing -> intensities in [0, 1] (bone bright)."""
    rng = np.random.default_rng(exposure.noise_seed)
    primary = np.exp(-line_integral)
    intensity = primary + exposure.scatter * blur(primary, 40 / mm_per_px)
    intensity += rng.standard_normal(intensity.shape) * np.sqrt(np.maximum(intensity, 0) / exposure.photons)
    density = -np.log(np.maximum(intensity, 1e-6))
    if exposure.blur_px > 0:
        density = ndimage.gaussian_filter(density, exposure.blur_px, mode="nearest")
    density -= exposure.compression * blur(density, 60 / mm_per_px)
    density += exposure.edge_gain * (density - blur(density, 6 / mm_per_px))
    lo, hi = np.percentile(density, [0.5, 99.8])
    return np.clip((density - lo) / max(hi - lo, 1e-6), 0, 1) ** exposure.gamma
