"""Cross-check fixtures for the Swift mAP and BERTScore (Tests/Fixtures/metrics/{map,bertscore}.json).

    Training/.venv/bin/python Training/export_score_fixtures.py [--minilm .cache/minilm]

mAP over IoU thresholds {0.25, 0.5, 0.75, 0.95} on seeded random scenes shaped like phrase
grounding (1-3 true boxes per sample, 0-4 predictions near them or elsewhere, a few classes), with
every score 1 as AnatomiX scores LM boxes, and with random scores (to check the ordering): each
scene's `map` and AP at each single threshold from pycocotools' COCOeval in float64, and
`torchmetrics_map` from torchmetrics' MeanAveragePrecision (pycocotools backend), which works in
float32 (an IoU next to a threshold can fall the other way: a few 1e-4 apart).

BERTScore: the `bert-score` package with the all-MiniLM-L6-v2 folder as its model (num_layers=6,
the last layer; no idf, no baseline rescaling), one pair per call so that no padding enters.
"""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import torch

THRESHOLDS = [0.25, 0.5, 0.75, 0.95]
PAIRS = [
    ("Small left pleural effusion.", "Small left pleural effusion."),
    ("Small left pleural effusion.", "Small right pleural effusion."),
    ("Left costophrenic angle shows small pleural effusion.", "Left costophrenic angle shows moderate pleural effusion."),
    ("Cardiac silhouette is healthy.", "Cardiac silhouette shows cardiomegaly."),
    ("The heart is enlarged.", "Cardiomegaly."),
    ("No pneumothorax.", "There is a large right pneumothorax."),
    ("Right upper lung zone shows a 12 mm nodule.", "Right upper lung zone shows a nodule."),
    ("Pleural Effusion: small pleural effusion.", "Pleural Effusion: moderate pleural effusion."),
    ("Edema: mild pulmonary edema.", "Pneumothorax: small apical pneumothorax."),
    ("Trachea is healthy.", "Right lower lung zone shows consolidation."),
    ("Lungs are clear. No focal consolidation, pleural effusion or pneumothorax.",
     "The lungs are clear without focal airspace disease, effusion or pneumothorax."),
    ("Heart size and pulmonary vascularity are within normal limits.", "The heart and mediastinal silhouettes are normal."),
    ("A left-sided dual-chamber pacemaker with leads in the right atrium and right ventricle.", "Pacemaker in position."),
    ("Endotracheal tube tip 4 cm above the carina.", "Central venous catheter tip in the cavoatrial junction."),
    ("Fracture of the right 7th rib.", "Right 7th rib fracture."),
    ("No acute cardiopulmonary abnormality.", "No active disease."),
    ("Widened mediastinum.", "The mediastinum is widened."),
    ("Bibasilar atelectasis.", "Atelectasis at both lung bases."),
    ("Abdomen is healthy.", "Abdomen is healthy. Abdomen is healthy."),
    ("x", "Left lung is healthy."),
]
# Longer than the sentence embedding's 256 tokens (bert-score cuts at the tokenizer's 512).
LONG = " ".join(["The heart size is normal and the lungs are clear without focal consolidation, effusion or pneumothorax."] * 16)
PAIRS.append((LONG + " Small left pleural effusion.", LONG + " Large right pneumothorax."))


def scene(rng: random.Random, samples: int, classes: int, random_scores: bool) -> list[dict]:
    out = []
    for _ in range(samples):
        truths, detections = [], []
        for _ in range(rng.randint(0 if rng.random() < 0.1 else 1, 3)):
            x, y = rng.uniform(0, 400), rng.uniform(0, 400)
            w, h = rng.uniform(10, 120), rng.uniform(10, 120)
            truths.append({"box": [x, y, x + w, y + h], "label": rng.randrange(classes)})
        for _ in range(rng.randint(0, 4)):
            if truths and rng.random() < 0.75:
                t = rng.choice(truths)
                x1, y1, x2, y2 = t["box"]
                j = rng.uniform(0, 0.5) * (x2 - x1)
                box = [x1 + rng.uniform(-j, j), y1 + rng.uniform(-j, j), x2 + rng.uniform(-j, j), y2 + rng.uniform(-j, j)]
                label = t["label"] if rng.random() < 0.85 else rng.randrange(classes + 1)
            else:
                x, y = rng.uniform(0, 400), rng.uniform(0, 400)
                box, label = [x, y, x + rng.uniform(10, 100), y + rng.uniform(10, 100)], rng.randrange(classes)
            if box[2] <= box[0] or box[3] <= box[1]:
                continue
            detections.append({"box": box, "label": label, "score": round(rng.random(), 3) if random_scores else 1.0})
        out.append({"truths": truths, "detections": detections})
    return out


def coco_map(images: list[dict], thresholds: list[float]) -> float:
    """COCOeval (bbox, area all, 100 detections) in float64; `map` = stats[0]."""
    import contextlib
    import io

    import numpy as np
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    labels = sorted({x["label"] for im in images for x in im["truths"] + im["detections"]})
    gt = {"images": [{"id": i} for i in range(len(images))], "annotations": [], "categories": [{"id": c} for c in labels]}
    detections = []
    for i, im in enumerate(images):
        for t in im["truths"]:
            x1, y1, x2, y2 = t["box"]
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": i, "bbox": [x1, y1, x2 - x1, y2 - y1],
                                      "area": (x2 - x1) * (y2 - y1), "category_id": t["label"], "iscrowd": 0})
        for d in im["detections"]:
            x1, y1, x2, y2 = d["box"]
            detections.append({"image_id": i, "bbox": [x1, y1, x2 - x1, y2 - y1], "score": d["score"], "category_id": d["label"]})
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO()
        truth.dataset = gt
        truth.createIndex()
        evaluation = COCOeval(truth, truth.loadRes(detections), "bbox")
        evaluation.params.iouThrs = np.array(thresholds)
        evaluation.evaluate(); evaluation.accumulate(); evaluation.summarize()
    return float(evaluation.stats[0])


def torchmetrics_map(images: list[dict], thresholds: list[float]) -> float:
    from torchmetrics.detection import MeanAveragePrecision

    metric = MeanAveragePrecision(box_format="xyxy", iou_type="bbox", iou_thresholds=thresholds, backend="pycocotools")
    preds = [{"boxes": torch.tensor([d["box"] for d in im["detections"]], dtype=torch.float64).reshape(-1, 4),
              "scores": torch.tensor([d["score"] for d in im["detections"]], dtype=torch.float64),
              "labels": torch.tensor([d["label"] for d in im["detections"]], dtype=torch.long)} for im in images]
    target = [{"boxes": torch.tensor([t["box"] for t in im["truths"]], dtype=torch.float64).reshape(-1, 4),
               "labels": torch.tensor([t["label"] for t in im["truths"]], dtype=torch.long)} for im in images]
    metric.update(preds, target)
    return float(metric.compute()["map"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minilm", type=Path, default=Path(".cache/minilm"))
    p.add_argument("--out", type=Path, default=Path("Tests/Fixtures/metrics"))
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(8)
    scenes = []
    for name, samples, classes, random_scores in [("phrases, scores 1", 40, 6, False), ("phrases, random scores", 40, 6, True),
                                                   ("one class, scores 1", 25, 1, False), ("many classes", 30, 12, True)]:
        images = scene(rng, samples, classes, random_scores)
        scenes.append({"name": name, "images": images, "map": coco_map(images, THRESHOLDS),
                       "per_threshold": [coco_map(images, [t]) for t in THRESHOLDS],
                       "torchmetrics_map": torchmetrics_map(images, THRESHOLDS)})
        print(f"{name}: map {scenes[-1]['map']:.6f} (torchmetrics {scenes[-1]['torchmetrics_map']:.6f})")
    (args.out / "map.json").write_text(json.dumps({"thresholds": THRESHOLDS, "scenes": scenes}, separators=(",", ":")) + "\n")

    from bert_score import score

    torch.set_num_threads(2)
    pairs = []
    for candidate, reference in PAIRS:
        P, R, F = score([candidate], [reference], model_type=str(args.minilm), num_layers=6, idf=False, batch_size=1)
        pairs.append({"candidate": candidate, "reference": reference,
                      "precision": float(P[0]), "recall": float(R[0]), "f1": float(F[0])})
        print(f"bertscore {float(F[0]):.4f}  {candidate!r} / {reference!r}")
    (args.out / "bertscore.json").write_text(json.dumps({"encoder": "all-MiniLM-L6-v2, layer 6", "pairs": pairs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
