"""Language-model training data: the frozen APM's outputs on generated studies, computed once and
cached (what stage one hands stage two at inference: pooled memory, anatomical tokens, boxes and the
retrieved findings), plus each study's task examples in the compact prompt form (anatomix/prompt.py).

A cache row per study (and per mirrored copy, with `--flip-fraction`): image [17, 128] fp16,
tokens [36, 16] fp16, canvas boxes [36, 4], retrieved finding kinds [36], letterbox size, and the
task examples with their boxes compacted (mirrored with the image where flipped)."""
from __future__ import annotations

import hashlib
import json
import random
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file

from .apm import AnatomyPerceptionModule, ApmConfiguration, box_cxcywh_to_xyxy
from .language import pooled_image_features
from .letterbox import Letterbox
from .prompt import BOX, anatomy_answer_from_stage_one, compact_boxes

TASKS = ["report_generation", "grounded_diagnosis", "grounded_captioning", "phrase_grounding", "anatomy_grounding",
         "vqa", "image_understanding"]


class Bank:
    """The model folder's sentence bank with Swift's calibrated lookup (SentenceBank.retrieve)."""

    def __init__(self, folder: Path) -> None:
        meta = json.loads((folder / "bank.json").read_text())
        self.entries, self.temperature, self.threshold = meta["entries"], meta["temperature"], meta["healthy_threshold"]
        self.vectors = load_file(str(folder / "bank.safetensors"))["vectors"].float()
        self.rows: dict[str, list[int]] = {}
        for i, e in enumerate(self.entries):
            self.rows.setdefault(e["anatomy"], []).append(i)

    def kinds(self, anatomy: str, token: torch.Tensor) -> list[str]:
        rows = self.rows.get(anatomy)
        if not rows:
            return []
        cos = self.vectors[rows] @ token.float() / token.float().norm().clamp(min=1e-12)
        p = torch.softmax((cos - cos.max()) / self.temperature, 0)
        healthy = [j for j, r in enumerate(rows) if not self.entries[r]["kinds"]]
        abnormal = [j for j, r in enumerate(rows) if self.entries[r]["kinds"]]
        p_healthy = float(p[healthy].sum()) if healthy else 0.0
        if not abnormal or (healthy and p_healthy >= self.threshold):
            return []
        return list(self.entries[rows[max(abnormal, key=lambda j: float(p[j]))]]["kinds"])


def load_apm(folder: Path) -> AnatomyPerceptionModule:
    model = AnatomyPerceptionModule(ApmConfiguration.load(folder / "config.json")).eval()
    model.load_state_dict({k: v.float() for k, v in load_file(str(folder / "apm.safetensors")).items()})
    return model


def mirror_boxes_in_text(text: str, width: int) -> str:
    def flip(m):
        x1, y1, x2, y2 = (float(g) for g in m.groups())
        return f"<box>({width - x2:.0f},{y1:.0f}),({width - x1:.0f},{y2:.0f})</box>"
    return BOX.sub(flip, text)


def digest(folder: Path, *names: str) -> str:
    """12 hex digits of the SHA-256 of files in `folder` (default: its manifest.jsonl)."""
    h = hashlib.sha256()
    for name in names or ("manifest.jsonl",):
        h.update((folder / name).read_bytes())
    return h.hexdigest()[:12]


def cache_key(apm_folder: Path, anatomy_targets: str) -> str:
    """What a cache row depends on besides the data: the APM's weights, its bank and the target rule."""
    return f"{digest(apm_folder, 'apm.safetensors', 'bank.json', 'bank.safetensors')}-{anatomy_targets}"


def precompute(root: Path, apm_folder: Path, out: Path, limit: int | None = None, flip_fraction: float = 0.0,
               batch: int = 32, seed: int = 0, anatomy_targets: str = "apm") -> list[dict]:
    """Runs the APM over `root`'s studies (the first `limit`), plus mirrored copies of a fraction.
    `anatomy_targets`: "apm" answers anatomy grounding with stage one's box (see
    prompt.anatomy_answer_from_stage_one), "truth" with the true box."""
    if out.exists():
        return torch.load(out, weights_only=False)
    model, bank = load_apm(apm_folder), Bank(apm_folder)
    anatomies = json.loads((apm_folder / "anatomies.json").read_text())["anatomies"]
    names = [a["name"] for a in anatomies]
    by_display = {a.get("display_name", a["name"]): i for i, a in enumerate(anatomies)}
    records = [json.loads(l) for l in (root / "manifest.jsonl").read_text().splitlines() if l][:limit]
    rng = random.Random(seed)
    jobs = [(r, False) for r in records] + [(r, True) for r in records if rng.random() < flip_fraction]
    size, grid = model.configuration.image_size, model.configuration.feature_size
    rows: list[dict] = []
    for start in range(0, len(jobs), batch):
        chunk, images, boxes = jobs[start:start + batch], [], []
        for r, flip in chunk:
            array = np.asarray(Image.open(root / r["image"]), dtype=np.float32) / (65535.0 if r["bit_depth"] == 16 else 255.0)
            if flip:
                array = array[:, ::-1].copy()
            images.append(torch.from_numpy(Letterbox(r["width"], r["height"], size).apply(array))[None])
        with torch.inference_mode():
            result = model(torch.stack(images))
        image = pooled_image_features(result["memory"], grid)
        canvas = box_cxcywh_to_xyxy(result["boxes"]) * size
        for k, (r, flip) in enumerate(chunk):
            tasks = []
            for t in r["tasks"]:
                instruction, answer = t["instruction"], t["answer"]
                if flip:
                    instruction, answer = mirror_boxes_in_text(instruction, r["width"]), mirror_boxes_in_text(answer, r["width"])
                box = Letterbox(r["width"], r["height"], size)
                compact = compact_boxes(answer, box)
                if t["task"] == "anatomy_grounding" and anatomy_targets == "apm":
                    compact = anatomy_answer_from_stage_one(compact, canvas[k].tolist(), by_display, float(size))
                tasks.append({"task": t["task"], "instruction": compact_boxes(instruction, box), "answer": compact,
                              "raw_answer": answer})
            rows.append({"id": r["id"] + ("-mirror" if flip else ""), "width": r["width"], "height": r["height"],
                         "image": image[k].half(), "tokens": result["tokens"][k].half(), "boxes": canvas[k].float(),
                         "findings": [bank.kinds(names[i], result["tokens"][k, i]) for i in range(len(names))],
                         "tasks": tasks, "labels": r["labels"], "findings_truth": r["findings"]})
        sys.stderr.write(f"\rAPM outputs {min(start + batch, len(jobs))}/{len(jobs)} ({root.name})")
    sys.stderr.write("\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(rows, out)
    return rows
