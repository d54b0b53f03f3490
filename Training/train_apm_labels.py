"""`make train-apm-labels`: add the fine label branch (apm.FineLabelHead) to a trained APM and train it alone.

    Training/.venv/bin/python Training/train_apm_labels.py --data data/train --val data/val \\
        --model Weights/anatomix-tiny [--width 64] [--stem 32] [--backbone 1] [--epochs 6] [--export Weights/anatomix-tiny]

With `--backbone 1` the branch trains its own copy of the backbone's stem and first two stages (started
from the APM's, at `--backbone-lr` times the branch's rate) instead of reading the frozen maps; the APM's
own backbone, boxes and tokens still do not move. Tried 2026-12-06 (4 epochs, 4,000 studies, 28 min):
validation macro AUROC 0.8921 -> 0.8929, held-out 0.891 -> 0.891, perception 0.017 -> 0.029 s a study,
so not in the default model.

The branch has its own pixel stem (`--stem` channels; 0 reads the frozen backbone maps only, which
did not separate a line from a rib edge: validation AUROC 0.8921 -> 0.8932). Everything the model
already had stays frozen (boxes, anatomical tokens, the bank and its calibration
do not move), so only the label logits change: logits = the model's own + the branch's, with the
branch's classifier zero-initialised (epoch 0 starts at the model's AUROC). Same data pipeline as
train_apm.py: real-shape variants for `--shapes` of the images, the inference letterbox, affine and
flip (p 0.5); BCE with the same positive weights on the image labels, plus (`--dense`, default 1) a
BCE on the branch's per-position logits against the generator's finding masks (a position whose cell
overlaps one of a finding's mask cells is positive for that finding's labels, every other position
negative). Trained on the image labels alone the pooled branch learned a near-constant offset
(validation AUROC unchanged to four digits after two epochs); against the finding *boxes* it learned
where a catheter usually lies (its whole box was positive) but not to tell the line from a rib edge;
the masks (`cxrgen.study.mask_cells`, 4-pixel cells at 256 px) mark the line itself. Validation AUROC
per label after every epoch; `last.pt` in --run resumes (--resume). Export rewrites config.json,
apm.safetensors and model.json.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from anatomix.apm import AnatomyPerceptionModule, ApmConfiguration
from train_apm import Studies, augment, auroc

LABELS = ["No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
          "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other",
          "Fracture", "Support Devices"]


MAX_FINDINGS = 8
MAX_CELLS = 128       # cells of a finding's mask (cxrgen.study.MASK_CELLS)


class FindingStudies(Studies):
    """Studies plus each study's findings (up to MAX_FINDINGS): their mask cells (normalised canvas xyxy,
    MAX_CELLS per finding; a record without a mask gives its box as its one cell) appended to the anatomy
    boxes, so `augment` moves them too, and their CheXpert labels [MAX_FINDINGS, 14]."""

    def __getitem__(self, i: int):
        x, box, r = self.render(i)
        findings = [f for f in r["findings"] if f.get("box")][:MAX_FINDINGS]
        cells = []
        for j in range(MAX_FINDINGS):
            own = (findings[j].get("mask") or [findings[j]["box"]])[:MAX_CELLS] if j < len(findings) else []
            cells += own + [[0, 0, 0, 0]] * (MAX_CELLS - len(own))
        boxes = [a["box"] for a in r["anatomies"]] + cells
        xyxy = torch.tensor(box.to_canvas(boxes) / self.size, dtype=torch.float32)
        labels = torch.tensor(list(r["labels"].values()), dtype=torch.float32)
        names = list(r["labels"].keys())
        finding_labels = torch.zeros(MAX_FINDINGS, len(names))
        for j, f in enumerate(findings):
            for name in f["labels"]:
                finding_labels[j, names.index(name)] = 1
        return x, xyxy, labels, finding_labels


def dense_targets(cells: torch.Tensor, finding_labels: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """cells [B, F * MAX_CELLS, 4] normalised xyxy, finding_labels [B, F, L] -> [B, L, h, w]: 1 where a
    position's cell overlaps a mask cell of a finding with that label (a 4-pixel cell of a catheter marks
    the positions the line crosses, not its whole box as the box targets did)."""
    b, f = finding_labels.shape[:2]
    cells = cells.reshape(b, f, -1, 4)
    cy = (torch.arange(h) + 0.5) / h
    cx = (torch.arange(w) + 0.5) / w
    half_y, half_x = 0.5 / h, 0.5 / w
    x1 = cells[..., 0, None, None] - half_x; x2 = cells[..., 2, None, None] + half_x     # overlap = centre within half a position
    y1 = cells[..., 1, None, None] - half_y; y2 = cells[..., 3, None, None] + half_y
    valid = cells[..., 2] > cells[..., 0]                                                  # [B, F, C]
    inside = torch.zeros(b, f, h, w)
    for c in range(cells.shape[2]):                                                        # a loop keeps memory at [B, F, h, w]
        hit = ((cx >= x1[:, :, c]) & (cx <= x2[:, :, c]) & (cy[:, None] >= y1[:, :, c]) & (cy[:, None] <= y2[:, :, c]))
        inside = torch.maximum(inside, (hit & valid[:, :, c, None, None]).float())
    return torch.einsum("bfhw,bfl->blhw", inside, finding_labels).clamp(max=1)


def load_model(folder: Path, width: int, stem: int, backbone: bool) -> AnatomyPerceptionModule:
    config = dataclasses.replace(ApmConfiguration.load(folder / "config.json"), fine_label_width=width,
                                 fine_label_stem=stem, fine_label_backbone=backbone)
    model = AnatomyPerceptionModule(config)
    weights = {k: v.float() for k, v in load_file(str(folder / "apm.safetensors")).items()}
    weights = {k: v for k, v in weights.items() if not k.startswith("fine_label_head.")}   # a new branch each run
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if unexpected or any(not k.startswith("fine_label_head.") for k in missing):
        raise SystemExit(f"{folder} does not fit: missing {missing}, unexpected {unexpected}")
    if backbone:                              # the branch's own early stages start as the APM's
        own = model.fine_label_head.backbone.state_dict()
        model.fine_label_head.backbone.load_state_dict({k: model.backbone.state_dict()[k].clone() for k in own})
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.startswith("fine_label_head."))
    return model.eval()                       # frozen batch norm, no dropout: the trunk is the inference graph


def frozen_parts(model: AnatomyPerceptionModule, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The model's logits without the branch, and the stride-4 and stride-8 maps the branch reads."""
    with torch.no_grad():
        head, model.fine_label_head = model.fine_label_head, None
        model.configuration = dataclasses.replace(model.configuration, fine_label_width=0, fine_label_stem=0)
        try:
            base = model(images)["logits"]
        finally:
            model.fine_label_head = head
            model.configuration = dataclasses.replace(model.configuration, fine_label_width=head.conv1.out_channels,
                                                      fine_label_stem=head.stem1.out_channels if head.has_stem else 0)
        own = hasattr(model.fine_label_head, "backbone")         # then the branch computes its own maps
        stages = [None, None] if own else model.backbone.stages(images)
    return base, stages[0], stages[1]


def validate(model, loader) -> list[float | None]:
    logits, truth = [], []
    with torch.inference_mode():
        for images, _, labels, _ in loader:
            logits.append(model(images)["logits"]); truth.append(labels)
    logits, truth = torch.cat(logits), torch.cat(truth)
    return [auroc(logits[:, k], truth[:, k]) for k in range(truth.shape[1])]


def summary(per_label: list[float | None]) -> str:
    valid = [a for a in per_label if a is not None]
    worst = sorted((a, n) for a, n in zip(per_label, LABELS) if a is not None)[:3]
    return f"macro AUROC {np.mean(valid):.4f} (lowest: " + ", ".join(f"{n} {a:.3f}" for a, n in worst) + ")"


def export(folder: Path, model: AnatomyPerceptionModule, record: dict, key: str = "fine_labels") -> None:
    """config.json, apm.safetensors (fp16, without batch norm's step counters) and model.json's version
    and `training[key]` (a label branch's recipe: `fine_labels`, `dense_labels`)."""
    model.configuration.save(folder / "config.json")
    save_file({k: v.half().contiguous() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")},
              str(folder / "apm.safetensors"))        # batch norm's step counters (DenseLabelHead's) are not weights
    card = json.loads((folder / "model.json").read_text())
    digest = hashlib.sha256((folder / "apm.safetensors").read_bytes()).hexdigest()[:12]
    card["version"] = f"{datetime.date.today().isoformat()}.{digest}"
    card["training"][key] = record
    (folder / "model.json").write_text(json.dumps(card, indent=1) + "\n")
    print(f"exported {folder} ({card['version']})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--val", type=Path, required=True)
    p.add_argument("--model", type=Path, default=Path("Weights/anatomix-tiny"))
    p.add_argument("--studies", type=int, default=0, help="use the first N training studies (0: all)")
    p.add_argument("--width", type=int, default=64, help="channels of the fine label branch")
    p.add_argument("--stem", type=int, default=32, help="channels of the branch's own pixel stem (0: none)")
    p.add_argument("--backbone", type=int, default=0,
                   help="1: the branch trains its own copy of the backbone's stem and stages 1-2 (0: reads the frozen maps)")
    p.add_argument("--backbone-lr", type=float, default=0.3, help="the copy's learning rate, as a fraction of --lr")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workers", type=int, default=1, help="data-loading processes")
    p.add_argument("--shapes", type=float, default=0.5)
    p.add_argument("--flip-p", type=float, default=0.5)
    p.add_argument("--dense", type=float, default=1.0, help="weight of the per-position loss against the finding boxes")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (smoke runs)")
    p.add_argument("--run", type=Path, default=Path("Training/runs/apm-labels"))
    p.add_argument("--resume", action="store_true")
    p.add_argument("--export", type=Path, default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = load_model(args.model, args.width, args.stem, bool(args.backbone))
    size = model.configuration.image_size
    train = FindingStudies(args.data, size, sentence_index=None, shapes=args.shapes, seed=3)
    if args.studies:
        train.records = train.records[:args.studies]
    val = Studies(args.val, size, sentence_index=None)
    loader = torch.utils.data.DataLoader(train, batch_size=args.batch_size, shuffle=True, drop_last=True,
                                         num_workers=args.workers, persistent_workers=args.workers > 0)
    val_loader = torch.utils.data.DataLoader(val, batch_size=64)
    counts = torch.tensor([list(r["labels"].values()) for r in train.records], dtype=torch.float32).sum(0)
    pos_weight = ((len(train) - counts) / counts.clamp(min=1)).sqrt().clamp(1, 8)
    head = model.fine_label_head
    copied = [q for n, q in head.named_parameters() if n.startswith("backbone.")]
    own = [q for n, q in head.named_parameters() if not n.startswith("backbone.")]
    groups = [{"params": own, "lr": args.lr}] + ([{"params": copied, "lr": args.lr * args.backbone_lr}] if copied else [])
    optimizer = torch.optim.AdamW(groups, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[g["lr"] for g in groups],
                                                    total_steps=max(args.epochs * len(loader), 1), pct_start=0.1)
    args.run.mkdir(parents=True, exist_ok=True)
    checkpoint, start_epoch, step = args.run / "last.pt", 0, 0
    before = validate(model, val_loader)
    print(f"before the branch: val {summary(before)}", file=sys.stderr)
    if args.resume and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        head.load_state_dict(state["head"]); optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"]); start_epoch, step = state["epoch"] + 1, state["step"]
        print(f"resumed at epoch {start_epoch}", file=sys.stderr)
    g = torch.Generator().manual_seed(3)
    per_label = before if start_epoch == 0 else validate(model, val_loader)     # a resumed run exports what it has
    for epoch in range(start_epoch, args.epochs):
        started, head_seconds = time.time(), 0.0
        head.train()
        for i, (images, xyxy, labels, finding_labels) in enumerate(loader):
            images, moved = augment(images, xyxy, g, 0.0, args.flip_p)
            base, stride4, stride8 = frozen_parts(model, images)
            t = time.time()
            positions = head.position_logits(images, stride4, stride8)                   # [B, 14, h, w]
            loss = F.binary_cross_entropy_with_logits(base + head.pool(positions), labels, pos_weight=pos_weight)
            if args.dense:
                target = dense_targets(moved[:, 36:], finding_labels, positions.shape[2], positions.shape[3])
                loss = loss + args.dense * F.binary_cross_entropy_with_logits(positions, target, pos_weight=torch.tensor(20.0))
            optimizer.zero_grad(); loss.backward(); optimizer.step(); scheduler.step(); step += 1
            head_seconds += time.time() - t
            if i % 10 == 0:
                rate = (i + 1) * args.batch_size / (time.time() - started)
                sys.stderr.write(f"\repoch {epoch} {i + 1}/{len(loader)} bce {loss.item():.4f} {rate:.1f} img/s ")
            if args.max_steps and step >= args.max_steps:
                break
        head.eval()
        per_label = validate(model, val_loader)
        print(f"\nepoch {epoch}: val {summary(per_label)} ({time.time() - started:.0f} s, branch {head_seconds:.0f} s)",
              file=sys.stderr)
        torch.save({"head": head.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "epoch": epoch, "step": step}, checkpoint)
        if args.max_steps and step >= args.max_steps:
            break
    if args.export:
        valid = lambda xs: round(float(np.mean([a for a in xs if a is not None])), 4)  # noqa: E731
        export(args.export, model, {"recipe": "make train-apm-labels", "studies": len(train), "epochs": args.epochs,
                                    "lr": args.lr, "width": args.width, "stem": args.stem,
                                    "backbone": bool(args.backbone), "backbone_lr": args.backbone_lr,
                                    "dense": args.dense, "val_macro_auroc_before": valid(before),
                                    "val_macro_auroc": valid(per_label)})


if __name__ == "__main__":
    main()
