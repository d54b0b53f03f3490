"""One synthetic study: findings -> augmented cone-beam render -> boxes -> texts -> manifest record."""
from __future__ import annotations

from dataclasses import asdict

import numpy as np
from scipy import ndimage

from . import assets, devices, findings as F, findings_heart as H, lungs as L, ontology, tasks, text
from .anatomy import AnatomyBoxes, AnatomyError, box_of, flip_box
from .geometry import View, rays
from .phantom import Phantom
from .render import Exposure, display, line_integrals, structure_maps
from .volume import StudyVolume

GENERATOR = "cxrgen-3"

# Pathologies and their relative frequency among abnormal studies.
PATHOLOGIES = {
    "nodule": (F.nodule, 12), "consolidation": (lambda c: F.airspace(c, "consolidation"), 10),
    "opacity": (lambda c: F.airspace(c, "opacity"), 7), "atelectasis": (F.atelectasis, 10),
    "pleural effusion": (F.pleural_effusion, 12), "pneumothorax": (F.pneumothorax, 8),
    "pleural thickening": (F.pleural_thickening, 6), "cardiomegaly": (H.cardiomegaly, 10),
    "widened mediastinum": (H.widened_mediastinum, 5), "edema": (H.edema, 6), "rib fracture": (H.rib_fracture, 6),
}
DEVICES = {"endotracheal tube": devices.endotracheal_tube, "central venous catheter": devices.central_line,
           "pacemaker": devices.pacemaker}


class Generator:
    """Holds the phantom (loaded once per process) and makes studies from (seed, index)."""

    def __init__(self, size: int = 256, flip_fraction: float = 0.1, normal_fraction: float = 0.3,
                 device_fraction: float = 0.2, bit_depth: int = 8) -> None:
        self.phantom = Phantom.load()
        self.lungs = L.load(self.phantom.labels, self.phantom.spacing)
        self.size, self.flip_fraction, self.bit_depth = size, flip_fraction, bit_depth
        self.normal_fraction, self.device_fraction = normal_fraction, device_fraction

    def choose_findings(self, rng: np.random.Generator, force: list[str] | None) -> list[str]:
        if force is not None:
            return force
        chosen: list[str] = []
        if rng.random() >= self.normal_fraction:
            names = list(PATHOLOGIES)
            weights = np.array([PATHOLOGIES[n][1] for n in names], float)
            count = rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1])
            chosen += list(rng.choice(names, size=count, replace=False, p=weights / weights.sum()))
        if rng.random() < self.device_fraction:
            chosen.append(str(rng.choice(list(DEVICES))))
        return chosen

    def sample_view(self, rng: np.random.Generator) -> tuple[View, Exposure]:
        deg = np.pi / 180
        view = View(size=self.size, projection="AP" if rng.random() < 0.15 else "PA",
                    angles=tuple(float(a) for a in rng.uniform(-10, 10, 3) * deg),
                    scale=float(rng.uniform(0.9, 1.1)),
                    shift=(float(rng.uniform(-15, 15)), float(rng.uniform(-20, 20)), float(rng.uniform(-15, 15))),
                    elastic_mm=float(rng.uniform(0, 6)), elastic_seed=int(rng.integers(2**31)))
        exposure = Exposure(bone_boost=float(rng.uniform(1.8, 2.8)), attenuation=float(rng.uniform(0.9, 1.1)),
                            scatter=float(rng.uniform(0.02, 0.25)), photons=float(np.exp(rng.uniform(np.log(1e4), np.log(3e5)))),
                            compression=float(rng.uniform(0.2, 0.6)), edge_gain=float(rng.uniform(0.4, 1.4)),
                            gamma=float(rng.uniform(1.0, 1.8)), blur_px=float(rng.uniform(0.3, 1.0)),
                            noise_seed=int(rng.integers(2**31)))
        return view, exposure

    def make(self, seed: int, index: int, force_findings: list[str] | None = None,
             force_flip: bool | None = None) -> tuple[np.ndarray, dict]:
        """The image (float [0, 1], H x W) and the manifest record (without text) of one study."""
        rng = np.random.default_rng([seed, index])
        names = self.choose_findings(rng, force_findings)
        volume = StudyVolume(self.phantom)
        ctx = F.Context(volume, self.lungs, rng)
        made = []
        for name in names:
            maker = PATHOLOGIES[name][0] if name in PATHOLOGIES else DEVICES[name]
            finding = maker(ctx)
            volume.apply(finding.edits)
            made.append(finding)
        flipped = bool(rng.random() < self.flip_fraction) if force_flip is None else force_flip
        for _attempt in range(8):
            view, exposure = self.sample_view(rng)
            try:
                image, boxes, finding_boxes, masks, attached = self.render(volume, view, exposure, made)
                break
            except AnatomyError:
                continue
        else:
            raise AnatomyError(f"no usable view for study {seed}/{index}")
        size = self.size
        if flipped:
            image = image[:, ::-1]
            boxes = {n: flip_box(b, size) for n, b in boxes.items()}
            finding_boxes = [flip_box(b, size) if b else None for b in finding_boxes]
            masks = [[flip_box(c, size) for c in m] for m in masks]
        record = {
            "id": study_id(seed, index, flipped),
            "width": size, "height": size, "bit_depth": self.bit_depth,
            "view": view.projection, "flipped": flipped, "seed": seed, "index": index, "generator": GENERATOR,
            "anatomies": [{"index": a["index"], "name": a["name"], "box": boxes[a["name"]]} for a in assets.anatomies()],
            "findings": [self.finding_record(f, b, m, a) for f, b, m, a in zip(made, finding_boxes, masks, attached)
                         if b is not None],
            "augmentation": {"view": {k: v for k, v in asdict(view).items() if k != "size"}, "exposure": asdict(exposure)},
        }
        record["labels"] = label_vector(record["findings"])
        text_rng = np.random.default_rng([seed, index, 1])  # texts do not depend on the flip
        record["region_sentences"] = text.region_sentences(list(boxes), record["findings"])
        record["report"] = text.report(text_rng, record["findings"])
        record["tasks"] = tasks.examples(text_rng, record)
        return image, record

    def render(self, volume: StudyVolume, view: View, exposure: Exposure, made: list[F.Finding]):
        """Image, anatomy boxes, finding boxes (None when out of view), finding masks as cells
        (`mask_cells`) and each finding's anatomies (the ontology's mask-area rule, on the unflipped image)."""
        ph, size = self.phantom, self.size
        mm_per_px = view.field_of_view / size
        r = rays(view, ph.center, ph.anterior_y, ph.posterior_y, ph.top_z, size)
        image = display(line_integrals(volume.a, volume.b, ph.edges, ph.spacing, r, exposure), exposure, mm_per_px)
        coarse = rays(view, ph.center, ph.anterior_y, ph.posterior_y, ph.top_z, size // 2)
        maps = structure_maps(volume.all_structures(), ph.structure_edges, ph.spacing, coarse)
        maps = [ndimage.zoom(m, 2, order=1, grid_mode=True, mode="nearest") for m in maps]
        anatomy_maps = dict(zip(ph.names, maps[: len(ph.names)]))
        rules = AnatomyBoxes(anatomy_maps, mm_per_px)
        boxes = rules.compute()
        regions = rules.regions()
        finding_boxes, masks, attached = [], [], []
        for f, m in zip(made, maps[len(ph.names):]):
            try:
                finding_boxes.append([round(v, 1) for v in box_of(m > 0.5)])
                attached.append(ontology.attach(f.kind, f.side, ontology.visible_mask(m), regions))
                masks.append(mask_cells(m > 0.5))
            except AnatomyError:
                finding_boxes.append(None)   # outside the field of view: not reported
                attached.append([])
                masks.append([])
        return image, boxes, finding_boxes, masks, attached

    @staticmethod
    def finding_record(f: F.Finding, box: list[float], mask: list[list[float]], anatomies: list[str]) -> dict:
        return {"kind": f.kind, "labels": f.labels, "side": f.side, "size_mm": f.size_mm, "severity": f.severity,
                "phrase": f.phrase, "location": f.location, "box": box, "mask": mask, "anatomies": anatomies}


MASK_CELLS = 128


def mask_cells(mask: np.ndarray, limit: int = MASK_CELLS) -> list[list[float]]:
    """A finding's projected mask as at most `limit` square cells (xyxy pixels) that it touches, on the
    finest grid of size/64, size/32, ... pixels that needs no more: a catheter is a chain of 4 px cells
    at 256 px, an effusion a few dozen large ones. Training's per-position label loss reads them (a box
    marks a whole line's region, the cells only the line)."""
    size = mask.shape[0]
    step = max(size // 64, 1)
    while True:
        h, w = -(-mask.shape[0] // step), -(-mask.shape[1] // step)
        padded = np.zeros((h * step, w * step), bool)
        padded[:mask.shape[0], :mask.shape[1]] = mask
        rows, cols = np.nonzero(padded.reshape(h, step, w, step).any(axis=(1, 3)))
        if rows.size <= limit or step >= size:
            return [[float(c * step), float(r * step), float(min((c + 1) * step, mask.shape[1])),
                     float(min((r + 1) * step, mask.shape[0]))] for r, c in zip(rows[:limit], cols[:limit])]
        step *= 2


def study_id(seed: int, index: int, flipped: bool, variant: str = "") -> str:
    """'s<seed, at least 5 digits>-<index, 6 digits>[-flip][-variant]' (Schemas/dataset-manifest.v1.json)."""
    if seed < 0 or index < 0:
        raise ValueError(f"seed {seed} and index {index} must be non-negative")
    return f"s{seed:05d}-{index:06d}" + ("-flip" if flipped else "") + (f"-{variant}" if variant else "")


def label_vector(finding_records: list[dict]) -> dict[str, int]:
    positive = {label for f in finding_records for label in f["labels"]}
    labels = {name: int(name in positive) for name in assets.chexpert_labels()}
    labels["No Finding"] = int(not (positive - {"Support Devices"}))
    return labels
