"""Projection geometry: augmentation transform, cone-beam rays, and where each ray crosses each slab.

Frames: the volume frame is the prepared CT in mm (X towards patient left, Y anterior, Z superior).
The augmentation moves the patient: P' = R s (P - c) + c + t. The source and detector sit in that
moved frame; each detector pixel's ray is mapped back into the volume frame (a straight line) and
intersected with every slab's mid-plane Y = y_s. Image columns grow towards the patient's left
(patient right on image left, as radiographs are read); rows grow downwards.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


def rotation(ax: float, ay: float, az: float) -> np.ndarray:
    """Rotation about X (nod), Y (in-plane tilt), Z (turn), radians."""
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


@dataclass(frozen=True)
class View:
    """Everything that fixes where the rays go for one image."""
    size: int = 256
    projection: str = "PA"            # "PA" (source behind) or "AP" (source in front)
    angles: tuple[float, float, float] = (0.0, 0.0, 0.0)  # radians
    scale: float = 1.0
    shift: tuple[float, float, float] = (0.0, 0.0, 0.0)   # mm (X, Y, Z)
    elastic_mm: float = 0.0
    elastic_seed: int = 0
    field_of_view: float = 320.0      # mm at the patient centre

    @property
    def source_detector(self) -> float:
        return 1800.0 if self.projection == "PA" else 1000.0


@dataclass
class Rays:
    """Per-pixel rays of one view on a grid of `shape`, in the volume frame."""
    origin: np.ndarray       # [3] source in the volume frame
    target: np.ndarray       # [H, W, 3] detector pixel centres in the volume frame
    displacement: np.ndarray  # [2, H, W] elastic (X, Z) offsets in mm
    scale: float

    def __post_init__(self) -> None:
        # Each ray is X = x0 + gx Y, Z = z0 + gz Y in the volume frame (elastic offset folded into x0, z0).
        d = self.target - self.origin
        self.gx, self.gz = d[..., 0] / d[..., 1], d[..., 2] / d[..., 1]
        self.x0 = self.origin[0] - self.origin[1] * self.gx - self.displacement[0]
        self.z0 = self.origin[2] - self.origin[1] * self.gz - self.displacement[1]

    def crossing(self, y: float) -> tuple[np.ndarray, np.ndarray]:
        """(X, Z) in mm where each ray crosses the plane Y = y, elastic offset applied."""
        return self.x0 + y * self.gx, self.z0 + y * self.gz

    def path_factor(self) -> np.ndarray:
        """World path length per unit of volume-frame Y along each ray (obliquity x scale)."""
        return self.scale * np.sqrt(1 + self.gx ** 2 + self.gz ** 2)


def rays(view: View, center: np.ndarray, anterior_y: float, posterior_y: float, top_z: float, grid: int) -> Rays:
    """Rays for a `grid` x `grid` detector (grid may be coarser than view.size for structure maps)."""
    r = rotation(*view.angles)
    shift = np.asarray(view.shift, float)
    # The image is centred on the chest: the top edge a little under the CT's top slice.
    cx, cz = center[0], top_z - view.field_of_view / 2 - 6.0
    c = center
    if view.projection == "PA":
        detector_y = anterior_y + 20.0
        source_y = detector_y - view.source_detector
    else:
        detector_y = posterior_y - 20.0
        source_y = detector_y + view.source_detector
    magnification = view.source_detector / abs(c[1] - source_y)
    pitch = view.field_of_view * magnification / grid
    coords = (np.arange(grid) + 0.5 - grid / 2) * pitch
    xs, zs = coords[None, :], -coords[:, None]
    world = np.empty((grid, grid, 3))
    world[..., 0] = cx + xs
    world[..., 1] = detector_y
    world[..., 2] = cz + zs
    source = np.array([cx, source_y, cz])
    inverse = r.T / view.scale  # volume = R^T (P' - c - t) / s + c

    def to_volume(p: np.ndarray) -> np.ndarray:
        return (p - c - shift) @ inverse.T + c

    return Rays(to_volume(source), to_volume(world), elastic_field(view, grid), view.scale)


def elastic_field(view: View, grid: int) -> np.ndarray:
    """A smooth random (X, Z) displacement in mm (60 mm smoothness), max amplitude view.elastic_mm."""
    if view.elastic_mm <= 0:
        return np.zeros((2, grid, grid))
    rng = np.random.default_rng(view.elastic_seed)
    coarse = 16
    noise = rng.standard_normal((2, coarse, coarse))
    sigma = 60.0 / (view.field_of_view / coarse)
    smooth = np.stack([ndimage.gaussian_filter(n, sigma, mode="reflect") for n in noise])
    smooth *= view.elastic_mm / max(np.abs(smooth).max(), 1e-9)
    return np.stack([ndimage.zoom(s, grid / coarse, order=1, grid_mode=True, mode="nearest") for s in smooth])
