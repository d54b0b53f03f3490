"""`make train-dense-labels`: add the dense label branch (apm.DenseLabelHead) to a trained APM and train it alone.

    Training/.venv/bin/python Training/train_dense_labels.py --data data/train --val data/val \\
        --model Weights/anatomix-tiny [--width 48] [--labels 13,12,4] [--epochs 6] [--export Weights/anatomix-tiny]

The branch sees the pixels only and is trained on the generator's finding masks (`mask` in the manifest,
4-pixel cells at 256 px): one map per label in --labels (CheXpert indices: 13 Support Devices, 12
Fracture, 4 Lung Lesion), 1 at every stride-4 position a finding with that label covers, BCE with
positives weighted 20 (a catheter covers ~0.2% of the positions). Everything the APM already had stays
frozen, so boxes, tokens, the bank and the language model do not move. After training, each label's
`scale * max + bias` is fitted by logistic regression on --val with the APM's own logits as the offset,
so the branch only moves a label's logit as far as the validation studies say it should.

Why: the label heads pooled from the stride-16 memory, and a FineLabelHead on the frozen stride-4/8
maps, never told a catheter from a rib edge (support devices AUROC 0.64; the tries are in the README).
A from-scratch network trained densely on the masks did (2026-12-07, 6 epochs on 4,000 studies:
held-out AUROC for "a tube or line is present" 0.998). Images and masks are held in memory (uint8,
about 270 MB for 4,000 studies at 256 px); augmentation is a horizontal flip and a shift of up to 12 px.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from anatomix.apm import AnatomyPerceptionModule, ApmConfiguration
from train_apm import Studies, auroc
from train_apm_labels import LABELS, export

POSITIVE_WEIGHT = 20.0
SHIFT_CELLS = 3                     # the random shift, in stride-4 positions (12 px at 256 px)


def load_model(folder: Path, width: int, indices: tuple[int, ...]) -> AnatomyPerceptionModule:
    """The APM of `folder` with a fresh DenseLabelHead (any earlier one is dropped); only the branch trains."""
    config = dataclasses.replace(ApmConfiguration.load(folder / "config.json"), dense_label_width=width,
                                 dense_label_indices=indices)
    model = AnatomyPerceptionModule(config)
    weights = {k: v.float() for k, v in load_file(str(folder / "apm.safetensors")).items()
               if not k.startswith("dense_label_head.")}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if unexpected or any(not k.startswith("dense_label_head.") for k in missing):
        raise SystemExit(f"{folder} does not fit: missing {missing}, unexpected {unexpected}")
    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name.startswith("dense_label_head."))
    return model.eval()


def load_studies(root: Path, size: int, indices: tuple[int, ...]):
    """Letterboxed images [N, S, S] uint8, image labels [N, 14] and mask maps [N, K, S/4, S/4] uint8."""
    studies = Studies(root, size, sentence_index=None)
    cells = size // 4
    images = np.zeros((len(studies), size, size), np.uint8)
    masks = np.zeros((len(studies), len(indices), cells, cells), np.uint8)
    labels = np.zeros((len(studies), len(LABELS)), np.float32)
    for n in range(len(studies)):
        x, box, r = studies.render(n)
        images[n] = np.rint(x[0].numpy() * 255).astype(np.uint8)
        labels[n] = list(r["labels"].values())
        for f in r["findings"]:
            own = f.get("mask") or ([f["box"]] if f.get("box") else [])
            for j, index in enumerate(indices):
                if LABELS[index] not in f["labels"] or not own:
                    continue
                for x0, y0, x1, y1 in np.clip(box.to_canvas(own) / 4, 0, cells):   # every position a cell touches
                    x0, y0, x1, y1 = int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(x1)), int(np.ceil(y1))
                    masks[n, j, y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)] = 1
    return torch.from_numpy(images), torch.from_numpy(labels), torch.from_numpy(masks)


def shown(value: float | None) -> str:
    """An AUROC for the log ('n/a' when the validation set has one class of that label)."""
    return "n/a" if value is None else f"{value:.3f}"


def as_input(images: torch.Tensor) -> torch.Tensor:
    return images.float()[:, None] / 255


def predict(model: AnatomyPerceptionModule, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The APM's logits without the branch [N, 14] and the branch's peak position logits [N, K]."""
    head, base, peaks = model.dense_label_head, [], []
    with torch.inference_mode():
        for s in range(0, len(images), 64):
            x = as_input(images[s:s + 64])
            base.append(model(x)["logits"] - head(x))
            peaks.append(head.position_logits(x).flatten(2).amax(2))
    return torch.cat(base).clone(), torch.cat(peaks).clone()        # outside inference mode: usable by autograd


def fit_combination(model: AnatomyPerceptionModule, images: torch.Tensor, labels: torch.Tensor) -> None:
    """Each label's (scale, bias): logistic regression of the label on the branch's peak, the APM's logit
    as a fixed offset (LBFGS on the full validation set)."""
    head = model.dense_label_head
    base, peaks = predict(model, images)
    idx = head.indices
    scale, bias = torch.zeros(len(idx), requires_grad=True), torch.zeros(len(idx), requires_grad=True)
    optimizer = torch.optim.LBFGS([scale, bias], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(base[:, idx] + scale * peaks + bias, labels[:, idx])
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        head.scale.copy_(scale); head.bias.copy_(bias)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--val", type=Path, required=True)
    p.add_argument("--model", type=Path, default=Path("Weights/anatomix-tiny"))
    p.add_argument("--width", type=int, default=48, help="channels of the branch's last layers (a multiple of 3)")
    p.add_argument("--labels", default="13,12,4", help="CheXpert indices of the labels the branch adds to")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (smoke runs)")
    p.add_argument("--export", type=Path, default=None)
    args = p.parse_args()
    if args.width <= 0 or args.width % 3:
        raise SystemExit(f"--width {args.width}: a positive multiple of 3")
    indices = tuple(int(v) for v in args.labels.split(","))
    if any(not 0 <= i < len(LABELS) for i in indices) or len(set(indices)) != len(indices):
        raise SystemExit(f"--labels {args.labels}: distinct CheXpert indices 0-{len(LABELS) - 1}")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = load_model(args.model, args.width, indices)
    head, size = model.dense_label_head, model.configuration.image_size
    started = time.time()
    images, _, masks = load_studies(args.data, size, indices)
    val_images, val_labels, _ = load_studies(args.val, size, indices)
    print(f"{len(images)} training, {len(val_images)} validation studies loaded ({time.time() - started:.0f} s); "
          f"positive positions per map {masks.float().mean((0, 2, 3)).tolist()}", file=sys.stderr)
    batches = len(images) // args.batch_size
    trained = [q for n, q in head.named_parameters() if n not in ("scale", "bias")]
    optimizer = torch.optim.AdamW(trained, args.lr, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, args.lr, total_steps=max(args.epochs * batches, 1))
    weight = torch.full((len(indices), 1, 1), POSITIVE_WEIGHT)
    step = 0
    for epoch in range(args.epochs):
        head.train(); t, total = time.time(), 0.0
        order = torch.randperm(len(images))
        for b in range(batches):
            i = order[b * args.batch_size:(b + 1) * args.batch_size]
            x, m = as_input(images[i]), masks[i].float()
            flip = torch.rand(len(i)) < 0.5
            x[flip], m[flip] = x[flip].flip(-1), m[flip].flip(-1)
            dy, dx = (int(v) for v in rng.integers(-SHIFT_CELLS, SHIFT_CELLS + 1, 2))
            x, m = torch.roll(x, (dy * 4, dx * 4), (2, 3)), torch.roll(m, (dy, dx), (2, 3))
            loss = F.binary_cross_entropy_with_logits(head.position_logits(x), m, pos_weight=weight)
            optimizer.zero_grad(); loss.backward(); optimizer.step(); scheduler.step(); step += 1
            total += loss.item()
            if b % 20 == 0:
                sys.stderr.write(f"\repoch {epoch} {b + 1}/{batches} loss {total / (b + 1):.4f} ")
            if args.max_steps and step >= args.max_steps:
                break
        head.eval()
        _, peaks = predict(model, val_images)
        scores = ", ".join(f"{LABELS[k]} {shown(auroc(peaks[:, j], val_labels[:, k]))}" for j, k in enumerate(indices))
        print(f"\nepoch {epoch}: loss {total / (b + 1):.4f}, val AUROC of the branch's peak alone: {scores} "
              f"({time.time() - t:.0f} s)", file=sys.stderr)
        if args.max_steps and step >= args.max_steps:
            break
    fit_combination(model, val_images, val_labels)
    with torch.inference_mode():
        logits = torch.cat([model(as_input(val_images[s:s + 64]))["logits"] for s in range(0, len(val_images), 64)])
    per_label = [auroc(logits[:, k], val_labels[:, k]) for k in range(len(LABELS))]
    macro = float(np.mean([a for a in per_label if a is not None]))
    print(f"combined: scale {head.scale.tolist()}, bias {head.bias.tolist()}; val macro AUROC {macro:.4f} ("
          + ", ".join(f"{LABELS[k]} {shown(per_label[k])}" for k in indices) + ")", file=sys.stderr)
    if args.export:
        export(args.export, model, {"recipe": "make train-dense-labels", "studies": len(images), "epochs": args.epochs,
                                    "lr": args.lr, "width": args.width, "labels": list(indices),
                                    "val_macro_auroc": round(macro, 4)}, key="dense_labels")


if __name__ == "__main__":
    main()
