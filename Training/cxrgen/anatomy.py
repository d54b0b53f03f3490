"""The 36 anatomy boxes from structure path-length maps projected with the image's own rays.

Every rule (also in Schemas/anatomies.v1.json) works on the unflipped image, where the patient's
right is on the image's left; flipping mirrors the finished boxes and keeps the names.
Boxes are [x1, y1, x2, y2] in pixels with exclusive right/bottom edges.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from . import assets


class AnatomyError(ValueError):
    """A rule could not be applied (e.g. the augmentation pushed a structure out of view)."""


def box_of(mask: np.ndarray) -> list[float]:
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    if rows.size == 0:
        raise AnatomyError("empty mask")
    return [float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)]


def largest_component(mask: np.ndarray) -> np.ndarray:
    labels, n = ndimage.label(mask)
    if n <= 1:
        return mask
    sizes = ndimage.sum_labels(mask, labels, range(1, n + 1))
    return labels == 1 + int(np.argmax(sizes))


def rows_between(mask: np.ndarray, top: float, bottom: float) -> np.ndarray:
    out = np.zeros_like(mask)
    a, b = int(round(max(top, 0))), int(round(min(bottom, mask.shape[0])))
    out[a:b] = mask[a:b]
    return out


def square(cx: float, cy: float, side: float) -> list[float]:
    return [cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2]


def top_per_column(mask: np.ndarray) -> np.ndarray:
    """First row of `mask` in each column (the image height where a column is empty)."""
    any_ = mask.any(axis=0)
    return np.where(any_, mask.argmax(axis=0), mask.shape[0])


class AnatomyBoxes:
    """Applies the rules to one image's maps (dict name -> [H, W] mm)."""

    def __init__(self, maps: dict[str, np.ndarray], mm_per_px: float) -> None:
        self.m = maps
        self.mm = mm_per_px
        self.h, self.w = next(iter(maps.values())).shape
        self.out: dict[str, list[float]] = {}
        self.masks: dict[str, np.ndarray] = {}   # projected regions where a rule has one (else the box)

    def px(self, mm: float) -> float:
        return mm / self.mm

    def compute(self) -> dict[str, list[float]]:
        m = self.m
        sub_top = top_per_column(m["subdiaphragm"] > 5)
        mediastinum = m["mediastinum"] > 5
        lungs = {side: self.visible_lung(m[f"lung_{side}"] > 8, sub_top, mediastinum) for side in ("right", "left")}
        self.lungs = lungs
        self.carina()
        for side, lung in lungs.items():
            self.lung_rules(side, lung, sub_top)
        self.heart_rules()
        self.vessel_rules()
        self.midline_rules()
        return self.finish()

    def visible_lung(self, lung: np.ndarray, sub_top: np.ndarray, mediastinum: np.ndarray) -> np.ndarray:
        rows = np.arange(self.h)[:, None]
        visible = lung & (rows < sub_top[None, :])
        has = mediastinum.any(axis=1)
        left = np.where(has, mediastinum.argmax(axis=1), self.w)
        right = np.where(has, self.w - 1 - mediastinum[:, ::-1].argmax(axis=1), -1)
        cols = np.arange(self.w)[None, :]
        visible &= ~((cols >= left[:, None]) & (cols <= right[:, None]))
        visible = largest_component(visible)
        if visible.sum() < 50:
            raise AnatomyError("lung not visible")
        return visible

    def carina(self) -> None:
        trachea = self.m["trachea"] > 2
        rows = np.nonzero(trachea.any(axis=1))[0]
        if rows.size == 0:
            raise AnatomyError("trachea not visible")
        split_row, split_col = None, None
        for r in rows:
            runs, n = ndimage.label(trachea[r])
            if n >= 2:
                cols = [np.nonzero(runs == i)[0] for i in range(1, n + 1)]
                if min(len(c) for c in cols) >= 2:
                    split_row, split_col = r, (cols[0][-1] + cols[-1][0]) / 2
                    break
        if split_row is None:
            split_row = rows[-1]
            split_col = np.nonzero(trachea[split_row])[0].mean()
        self.carina_row, self.carina_col = float(split_row), float(split_col)
        self.out["carina"] = square(split_col + 0.5, split_row, self.px(24))
        self.masks["trachea"] = rows_between(trachea, 0, split_row)
        self.out["trachea"] = box_of(self.masks["trachea"])

    def lung_rules(self, side: str, lung: np.ndarray, sub_top: np.ndarray) -> None:
        x1, y1, x2, y2 = box_of(lung)
        height, width = y2 - y1, x2 - x1
        self.out[f"{side} lung"] = [x1, y1, x2, y2]
        self.masks[f"{side} lung"] = lung
        lateral = -1 if side == "right" else 1  # unflipped: right lung on the image's left
        # Zones at the lower edges of the anterior ends of ribs 2 and 4 (fallback: thirds).
        r2 = self.lower_edge(f"rib2_{side}_anterior", x1, x2, y1 + 0.15 * height, y1 + 0.5 * height, y1 + height / 3)
        r4 = self.lower_edge(f"rib4_{side}_anterior", x1, x2, r2 + 0.1 * height, y1 + 0.85 * height, y1 + 2 * height / 3)
        apex = self.lower_edge(f"clavicle_{side}", x1, x2, y1 + 0.08 * height, y1 + 0.25 * height, y1 + 0.15 * height)
        for zone, top, bottom in (("upper lung zone", y1, r2), ("mid lung zone", r2, r4), ("lower lung zone", r4, y2),
                                  ("apical zone", y1, apex)):
            self.masks[f"{side} {zone}"] = rows_between(lung, top, bottom)
            self.out[f"{side} {zone}"] = box_of(self.masks[f"{side} {zone}"])
        ys, xs = np.nonzero(lung)
        side_len = 0.2 * width
        cp = np.argmax(ys + lateral * xs)
        self.out[f"{side} costophrenic angle"] = square(xs[cp] + 0.5, ys[cp] + 0.5, side_len)
        cardio = np.argmax(ys - lateral * xs)
        self.out[f"{side} cardiophrenic angle"] = square(xs[cardio] + 0.5, ys[cardio] + 0.5, side_len)
        dome = float(sub_top[int(x1):int(x2)].min())
        dome = min(dome, ys[cp])
        setattr(self, f"dome_{side}", dome)
        self.out[f"{side} hemidiaphragm"] = [x1, dome - self.px(5), x2, ys[cp] + 1 + self.px(5)]
        # Hilum: 5% above to 22% below the carina; from 10 mm inside the medial edge out to 28% of width.
        top, bottom = self.carina_row - 0.05 * height, self.carina_row + 0.22 * height
        band = rows_between(lung, top, bottom)
        if not band.any():
            raise AnatomyError(f"{side} lung has no pixels at the hilum")
        bx1, _, bx2, _ = box_of(band)
        if side == "right":
            self.out["right hilar structures"] = [bx2 - 0.28 * width, top, bx2 + self.px(10), bottom]
        else:
            self.out["left hilar structures"] = [bx1 - self.px(10), top, bx1 + 0.28 * width, bottom]

    def lower_edge(self, name: str, x1: float, x2: float, lo: float, hi: float, fallback: float) -> float:
        mask = self.m[name] > 1
        mask[:, : int(x1)] = False
        mask[:, int(x2):] = False
        rows = np.nonzero(mask.any(axis=1))[0]
        edge = float(rows[-1] + 1) if rows.size else fallback
        return float(np.clip(edge, lo, hi))

    def heart_rules(self) -> None:
        heart = largest_component(self.m["heart"] > 5)
        hx1, hy1, hx2, hy2 = box_of(heart)
        self.heart_box = [hx1, hy1, hx2, hy2]
        hw = hx2 - hx1
        self.out["cardiac silhouette"] = self.heart_box
        cols = np.arange(self.w)[None, :]
        self.masks["cardiac silhouette"] = heart
        self.masks["right cardiac silhouette"] = heart & (cols < hx1 + 0.3 * hw)
        self.masks["left cardiac silhouette"] = heart & (cols >= hx2 - 0.3 * hw)
        self.out["right cardiac silhouette"] = box_of(self.masks["right cardiac silhouette"])
        self.out["left cardiac silhouette"] = box_of(self.masks["left cardiac silhouette"])
        svc = self.m["svc"] > 2
        sx1, sy1, sx2, sy2 = box_of(svc)
        self.out["svc"] = [sx1, sy1, sx2, sy2]
        self.masks["svc"] = svc
        low = rows_between(svc, sy2 - self.px(10), sy2)
        caj_col = np.nonzero(low)[1].mean() + 0.5
        self.out["cavoatrial junction"] = square(caj_col, sy2, self.px(25))
        self.masks["right atrium"] = rows_between(heart & (cols < hx1 + 0.4 * hw), sy2, hy2)
        self.out["right atrium"] = box_of(self.masks["right atrium"])

    def vessel_rules(self) -> None:
        aorta = self.m["aorta"] > 2
        top = box_of(aorta)[1]
        bottom = max(min(top + self.px(40), self.carina_row + self.px(10)), top + self.px(15))
        self.masks["aortic arch"] = rows_between(aorta, top, bottom)
        arch = box_of(self.masks["aortic arch"])
        self.out["aortic arch"] = arch
        self.masks["descending aorta"] = rows_between(self.m["descending_aorta"] > 2, arch[3], self.dome_left)
        self.out["descending aorta"] = box_of(self.masks["descending aorta"])

    def midline_rules(self) -> None:
        spine = self.m["spine"] > 20  # vertebral bodies; thin transverse processes stay out
        self.out["spine"] = box_of(spine)
        self.masks["spine"] = spine
        spine_col = float(np.nonzero(spine)[1].mean())
        right, left = self.out["right lung"], self.out["left lung"]
        apex = min(right[1], left[1])
        med = self.m["mediastinum"] > 5
        self.masks["mediastinum"] = rows_between(med, apex, self.heart_box[3])
        self.masks["upper mediastinum"] = rows_between(med & (self.m["heart"] < 2), apex, self.carina_row)
        self.out["mediastinum"] = box_of(self.masks["mediastinum"])
        self.out["upper mediastinum"] = box_of(self.masks["upper mediastinum"])
        dome = min(self.dome_right, self.dome_left)
        self.out["abdomen"] = [right[0], dome, left[2], float(self.h)]
        height = max(right[3] - right[1], left[3] - left[1])
        self.out["right upper abdomen"] = [right[0], self.dome_right, spine_col, self.dome_right + 0.35 * height]
        self.out["left upper abdomen"] = [spine_col, self.dome_left, left[2], self.dome_left + 0.35 * height]
        for side in ("left", "right"):
            self.masks[f"{side} clavicle"] = self.m[f"clavicle_{side}"] > 1
            self.out[f"{side} clavicle"] = box_of(self.masks[f"{side} clavicle"])

    def finish(self) -> dict[str, list[float]]:
        names = [a["name"] for a in assets.anatomies()]
        missing = set(names) - set(self.out)
        if missing:
            raise AnatomyError(f"no rule produced {sorted(missing)}")
        boxes = {}
        for name in names:
            x1, y1, x2, y2 = self.out[name]
            x1, x2 = np.clip([x1, x2], 0, self.w)
            y1, y2 = np.clip([y1, y2], 0, self.h)
            if x2 - x1 < 2 or y2 - y1 < 2:
                raise AnatomyError(f"{name} box is empty inside the image")
            boxes[name] = [round(float(v), 1) for v in (x1, y1, x2, y2)]
        self.boxes = boxes
        return boxes

    def regions(self) -> dict[str, np.ndarray]:
        """Each anatomy's projected region (after `compute`): its rule's mask where it has one (lungs,
        zones, heart parts, vessels, airway, spine, mediastinum, clavicles), else its box (angles,
        hemidiaphragms, hila, carina, cavoatrial junction, abdomen)."""
        out = {}
        for name, (x1, y1, x2, y2) in self.boxes.items():
            if name in self.masks:
                out[name] = self.masks[name]
            else:
                box = np.zeros((self.h, self.w), bool)
                box[int(round(y1)):int(round(y2)), int(round(x1)):int(round(x2))] = True
                out[name] = box
        return out


def flip_box(box: list[float], width: int) -> list[float]:
    x1, y1, x2, y2 = box
    return [round(width - x2, 1), y1, round(width - x1, 1), y2]
