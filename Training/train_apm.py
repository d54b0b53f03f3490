"""`make train-apm`: train the Anatomy Perception Module on generated studies, export Weights/.

    Training/.venv/bin/python Training/train_apm.py --data data/train --val data/val [--epochs 10]
        [--config tiny] [--resume] [--export Weights/anatomix-tiny]

Recipe (AnatomiX): boxes L1 x5 + GIoU x3 (also on every earlier decoder layer, as DETR), image
labels BCE x2, contrastive soft-KL x1 against the region sentences (frozen all-MiniLM-L6-v2 +
trainable text head); ours: a per-anatomy retrieval cross-entropy x1 over each anatomy's bank
sentences with a learned temperature (apm.retrieval_loss); real image shapes (a pad, crop or
collimation variant for half the images, then the inference letterbox); affine (translate 0.1, scale 0.9-1.1; rotation off by default, AnatomiX's
15 degrees with --rotate-degrees 15) and horizontal flip p=0.3 with anatomy names KEPT (the right
lung stays query "right lung"). The backbone trains from scratch, so it uses batch statistics
while training; they are frozen into the published inference graph (frozen batch norm, folded
into the convs in Swift) at export.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from anatomix.apm import (AnatomyPerceptionModule, ApmConfiguration, LossWeights, TextHead, apm_losses, box_cxcywh_to_xyxy,
                         freeze_batch_statistics, retrieval_loss, use_batch_statistics)
from anatomix.letterbox import Letterbox
from anatomix.retrieval import calibrate, candidate_mask
from cxrgen import variants
from anatomix.bert import BertModel, SentenceEncoder
from anatomix.sentences import embed_sentences

CONFIGS = {
    # Sized to train in about an hour on 2 CPU cores at 256 px (the published sizes: ApmConfiguration()).
    "tiny": ApmConfiguration(image_size=256, block="basic", blocks=(1, 1, 1, 1), widths=(24, 48, 96, 192), stem_width=24,
                             d_model=128, heads=4, encoder_layers=2, decoder_layers=3, feed_forward=256, dropout=0.1),
    # Output stride 16 (a 16x16 map at 256 px) for the small angle and carina boxes, and token-pooled labels
    # for small findings: ~0.65x the training speed; from scratch with real-shape variants it converged far
    # slower (val IoU 0.32 after 3 of 8 epochs), so the default model was fine-tuned into it from "tiny"
    # weights (same tensor shapes): held-out IoU 0.859 -> 0.869, mAP 0.748 -> 0.761, label AUROC 0.838 -> 0.876.
    "tiny-s16": ApmConfiguration(image_size=256, block="basic", blocks=(1, 1, 1, 1), widths=(24, 48, 96, 192), stem_width=24,
                                 d_model=128, heads=4, encoder_layers=2, decoder_layers=3, feed_forward=256, dropout=0.1,
                                 output_stride=16, token_labels=True),
    "published": ApmConfiguration(),
}


class Studies(torch.utils.data.Dataset):
    """Letterboxed images, normalised xyxy boxes [36, 4] on the canvas, labels [14] and region-sentence
    ids [36] of a manifest (zeros without a `sentence_index`). With `shapes` > 0 that fraction of images
    first becomes a random real-shape
    variant (cxrgen.variants: other aspect ratio with black/white bands, crop, collimation)."""

    def __init__(self, root: Path, size: int, sentence_index: dict[str, int] | None, shapes: float = 0.0, seed: int = 0) -> None:
        self.root, self.size, self.shapes = root, size, shapes
        self.records = [json.loads(l) for l in (root / "manifest.jsonl").read_text().splitlines() if l]
        self.sentence_index = sentence_index
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.records)

    def render(self, i: int):
        """Study i's letterboxed image [1, S, S], its letterbox and its record (with the boxes of the
        real-shape variant when one was drawn)."""
        r = self.records[i]
        image = Image.open(self.root / r["image"])
        array = np.asarray(image, dtype=np.float32) / (65535.0 if r["bit_depth"] == 16 else 255.0)
        if self.shapes and self.rng.random() < self.shapes:
            r = {"anatomies": [dict(a) for a in r["anatomies"]], "findings": [dict(f) for f in r["findings"]]} | \
                {k: v for k, v in r.items() if k not in ("anatomies", "findings")}
            array, _ = variants.apply(str(self.rng.choice(variants.KINDS)), array, r, self.rng)
        box = Letterbox(array.shape[1], array.shape[0], self.size)
        return torch.from_numpy(box.apply(array))[None], box, r

    def __getitem__(self, i: int):
        x, box, r = self.render(i)
        xyxy = torch.tensor(box.to_canvas([a["box"] for a in r["anatomies"]]) / self.size, dtype=torch.float32)
        labels = torch.tensor(list(r["labels"].values()), dtype=torch.float32)   # CheXpert order (the manifest's)
        sentences = (torch.tensor([self.sentence_index[s["sentence"]] for s in r["region_sentences"]])
                     if self.sentence_index is not None else torch.zeros(len(r["region_sentences"]), dtype=torch.long))
        return x, xyxy, labels, sentences


def augment(images: torch.Tensor, xyxy: torch.Tensor, generator: torch.Generator,
            degrees: float = 0.0, flip_p: float = 0.3) -> tuple[torch.Tensor, torch.Tensor]:
    """RandomAffine(degrees, translate 0.1, scale 0.9-1.1) and flip (p=0.3); boxes follow, names stay.

    A rotated box's target is the hull of its rotated corners, looser than the anatomy itself (at
    15 degrees its IoU with the true box averages 0.78 on our studies), so rotation is off by default:
    the generator already rotates the patient in 3-D with exact boxes."""
    b = images.shape[0]
    u = torch.rand(b, 5, generator=generator)
    angle = (u[:, 0] * 2 - 1) * math.radians(degrees)
    scale = 0.9 + 0.2 * u[:, 1]
    tx, ty = (u[:, 2] * 2 - 1) * 0.2, (u[:, 3] * 2 - 1) * 0.2          # 0.1 of the size = 0.2 in [-1, 1]
    flip = torch.where(u[:, 4] < flip_p, -1.0, 1.0)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    forward = torch.zeros(b, 2, 3)                                       # output = A input + t, in [-1, 1]
    forward[:, 0, 0], forward[:, 0, 1], forward[:, 0, 2] = cos * flip, -sin, tx
    forward[:, 1, 0], forward[:, 1, 1], forward[:, 1, 2] = sin * flip, cos, ty
    full = torch.cat([forward, torch.tensor([0, 0, 1.0]).expand(b, 1, 3)], 1)
    inverse = torch.linalg.inv(full)[:, :2]
    grid = F.affine_grid(inverse, images.shape, align_corners=False)
    out = F.grid_sample(images, grid, padding_mode="zeros", align_corners=False)
    corners = torch.stack([xyxy[..., [0, 1]], xyxy[..., [2, 1]], xyxy[..., [0, 3]], xyxy[..., [2, 3]]], 2) * 2 - 1  # [B, 36, 4, 2]
    moved = torch.einsum("bij,bqcj->bqci", forward[:, :, :2], corners) + forward[:, None, None, :, 2]
    lo, hi = ((moved.amin(2) + 1) / 2).clamp(0, 1), ((moved.amax(2) + 1) / 2).clamp(0, 1)
    return out, torch.cat([lo, hi], -1)


def xyxy_to_cxcywh(b: torch.Tensor) -> torch.Tensor:
    return torch.stack([(b[..., 0] + b[..., 2]) / 2, (b[..., 1] + b[..., 3]) / 2, b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]], -1)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    lt, rb = torch.maximum(a[..., :2], b[..., :2]), torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area = lambda x: (x[..., 2:] - x[..., :2]).clamp(min=0).prod(-1)  # noqa: E731
    return inter / (area(a) + area(b) - inter).clamp(min=1e-9)


def auroc(scores: torch.Tensor, truth: torch.Tensor) -> float | None:
    """Rank AUROC (ties averaged) of one label; None when the label has one class only."""
    pos, neg = int(truth.sum()), int((1 - truth).sum())
    if pos == 0 or neg == 0:
        return None
    order = scores.argsort()
    ranks = torch.empty_like(scores); ranks[order] = torch.arange(1, len(scores) + 1, dtype=scores.dtype)
    for value in scores.unique():                    # average the ranks of tied scores
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    return float((ranks[truth > 0].sum() - pos * (pos + 1) / 2) / (pos * neg))


def evaluate(model, loader) -> tuple[float, float]:
    """Validation mean IoU and macro label AUROC (over the labels with both classes)."""
    model.eval()
    ious, logits, truth = [], [], []
    with torch.inference_mode():
        for images, xyxy, labels, _ in loader:
            out = model(images)
            ious.append(box_iou(box_cxcywh_to_xyxy(out["boxes"]), xyxy).flatten())
            logits.append(out["logits"]); truth.append(labels)
    model.train()
    logits, truth = torch.cat(logits), torch.cat(truth)
    per_label = [a for k in range(truth.shape[1]) if (a := auroc(logits[:, k], truth[:, k])) is not None]
    return float(torch.cat(ious).mean()), float(np.mean(per_label)) if per_label else float("nan")


def stage_summary(args, studies: int, epochs: int, iou: float | None) -> dict:
    """How a training stage ran (kept in its checkpoint and in the exported model.json)."""
    return {"studies": studies, "epochs": epochs, "lr": args.lr, "flip_p": args.flip_p,
            "val_mean_iou": None if iou is None else round(iou, 4)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--val", type=Path, required=True)
    p.add_argument("--config", choices=list(CONFIGS), default=None,
                   help="model sizes (default: tiny, or the --init model folder's own; a folder's weights also load into "
                        "a config that only adds heads or changes output_stride)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (smoke runs)")
    p.add_argument("--run", type=Path, default=Path("Training/runs/apm"))
    p.add_argument("--resume", action="store_true")
    p.add_argument("--rotate-degrees", type=float, default=0.0, help="affine rotation range (AnatomiX: 15)")
    p.add_argument("--flip-p", type=float, default=0.3, help="horizontal flip probability (AnatomiX: 0.3)")
    p.add_argument("--init", type=Path, default=None,
                   help="start from this checkpoint's (or exported model folder's) weights (new optimizer and schedule)")
    p.add_argument("--frozen-bn", action="store_true", help="keep batch norm frozen (for a pretrained backbone)")
    p.add_argument("--export", type=Path, default=None)
    p.add_argument("--minilm", type=Path, default=Path(".cache/minilm"))
    p.add_argument("--shapes", type=float, default=0.5, help="fraction of training images turned into a real-shape variant")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = CONFIGS[args.config or "tiny"]
    if args.init and args.init.is_dir() and args.config is None:   # a model folder (e.g. the committed default): its own sizes
        config = ApmConfiguration.load(args.init / "config.json")

    # Frozen text side: every unique region sentence embedded once with MiniLM (cached).
    encoder = SentenceEncoder(BertModel.from_directory(args.minilm))
    sentences, embeddings = embed_sentences(encoder, [args.data, args.val], args.run / "sentences.pt")
    index = {s: i for i, s in enumerate(sentences)}
    train = Studies(args.data, config.image_size, index, shapes=args.shapes, seed=1)
    val = Studies(args.val, config.image_size, index)
    loader = torch.utils.data.DataLoader(train, batch_size=args.batch_size, shuffle=True, drop_last=True)
    val_loader = torch.utils.data.DataLoader(val, batch_size=32)

    model, text_head = AnatomyPerceptionModule(config), TextHead(token_dim=config.token_dim)
    init_temperature = 0.05
    if args.init and args.init.is_dir():            # exported weights: the frozen inference graph, fp16
        from safetensors.torch import load_file
        missing, unexpected = model.load_state_dict({k: v.float() for k, v in load_file(str(args.init / "apm.safetensors")).items()},
                                                    strict=False)
        if unexpected or any(not k.startswith("token_label_head.") for k in missing):
            raise SystemExit(f"{args.init} does not fit --config {args.config}: missing {missing}, unexpected {unexpected}")
        text_head.load_state_dict({k: v.float() for k, v in load_file(str(args.init / "text_head.safetensors")).items()})
        bank = json.loads((args.init / "bank.json").read_text()) if (args.init / "bank.json").exists() else {}
        init_temperature = bank.get("temperature", init_temperature)   # the retrieval temperature it was trained with
        print(f"initialised from the model folder {args.init}", file=sys.stderr)
    candidates = candidate_mask([args.data], index)                              # [36, N]
    # Rare labels (a nodule, a fracture, a line) weigh more in the BCE: sqrt(negatives / positives), at most 8.
    counts = torch.tensor([list(r["labels"].values()) for r in train.records], dtype=torch.float32).sum(0)
    pos_weight = ((len(train) - counts) / counts.clamp(min=1)).sqrt().clamp(1, 8)
    log_temperature = torch.nn.Parameter(torch.tensor(math.log(init_temperature)))
    if not args.frozen_bn:
        use_batch_statistics(model)      # from scratch: batch statistics while training, frozen at export
    params = [{"params": model.backbone.parameters(), "lr": args.lr}, {"params": [p for n, p in model.named_parameters() if not n.startswith("backbone.")]},
              {"params": list(text_head.parameters()) + [log_temperature]}]
    optimizer = torch.optim.AdamW(params, lr=args.lr, weight_decay=1e-4)
    steps_total = args.epochs * len(loader)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=max(steps_total, 1), pct_start=0.1)
    args.run.mkdir(parents=True, exist_ok=True)
    start_epoch, step = 0, 0
    if args.init and not args.init.is_dir():        # a second stage: the weights of a finished run
        state = torch.load(args.init, weights_only=False)
        model.load_state_dict(state["model"]); text_head.load_state_dict(state["text_head"])
        log_temperature.data.fill_(state.get("log_temperature", math.log(0.05)))
        print(f"initialised from {args.init}", file=sys.stderr)
    checkpoint = args.run / "last.pt"
    if args.resume and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"]); text_head.load_state_dict(state["text_head"])
        optimizer.load_state_dict(state["optimizer"]); scheduler.load_state_dict(state["scheduler"])
        log_temperature.data.fill_(state["log_temperature"])
        start_epoch, step = state["epoch"] + 1, state["step"]
        print(f"resumed at epoch {start_epoch}", file=sys.stderr)
    g = torch.Generator().manual_seed(1)
    iou = None
    for epoch in range(start_epoch, args.epochs):
        started = time.time()
        for i, (images, xyxy, labels, sentence_ids) in enumerate(loader):
            images, xyxy = augment(images, xyxy, g, args.rotate_degrees, args.flip_p)
            boxes = xyxy_to_cxcywh(xyxy)
            present = (boxes[..., 2] > 1e-3) & (boxes[..., 3] > 1e-3)
            text = embeddings[sentence_ids]                                             # [B, 36, 384]
            out = model(images)
            weights = LossWeights(pos_weight=pos_weight)
            losses = apm_losses(out, boxes, present, labels, text_head(text), text, weights)
            losses["retrieval"] = retrieval_loss(out["tokens"], sentence_ids, text_head(embeddings), candidates, log_temperature)
            losses["total"] = losses["total"] + weights.retrieval * losses["retrieval"]
            optimizer.zero_grad()
            losses["total"].backward()
            torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(text_head.parameters()), 0.1)
            optimizer.step(); scheduler.step(); step += 1
            if i % 10 == 0:
                rate = (i + 1) * args.batch_size / (time.time() - started)
                sys.stderr.write(f"\repoch {epoch} {i + 1}/{len(loader)} loss {losses['total'].item():.3f} "
                                 f"(l1 {losses['l1'].item():.3f} giou {losses['giou'].item():.3f} "
                                 f"bce {losses['labels'].item():.3f} kl {losses['contrastive'].item():.3f} "
                                 f"ret {losses['retrieval'].item():.3f} T {log_temperature.exp().item():.3f}) {rate:.1f} img/s ")
            if args.max_steps and step >= args.max_steps:
                break
        iou, label_auroc = evaluate(model, val_loader)
        print(f"\nepoch {epoch}: val mean IoU {iou:.3f}, label macro AUROC {label_auroc:.3f} ({time.time() - started:.0f} s)",
              file=sys.stderr)
        torch.save({"model": model.state_dict(), "text_head": text_head.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "epoch": epoch, "step": step, "config": config,
                    "log_temperature": float(log_temperature.detach()),
                    "training": stage_summary(args, len(train), epoch + 1, iou)}, checkpoint)
        if args.max_steps and step >= args.max_steps:
            break
    if args.export:
        from anatomix.export import export_weights
        freeze_batch_statistics(model).eval()
        training = stage_summary(args, len(train), args.epochs, iou) | {"config": args.config or next((name for name, c in CONFIGS.items() if c == config), "as --init"),
                                                                   "recipe": "make train-apm"}
        if args.init and args.init.is_dir():
            training["init"] = {"model_folder": str(args.init)} | json.loads((args.init / "model.json").read_text())
        elif args.init:
            training["init"] = torch.load(args.init, weights_only=False).get("training", str(args.init))
        retrieval = calibrate(model, text_head, val_loader, sentences, embeddings, candidates, float(log_temperature.exp()))
        training["retrieval"] = {k: v for k, v in retrieval.items() if k != "healthy_threshold"}
        export_weights(args.export, config, model, text_head, sentences, embeddings, [args.data], training,
                       temperature=float(log_temperature.exp()), healthy_threshold=retrieval["healthy_threshold"])


if __name__ == "__main__":
    main()
