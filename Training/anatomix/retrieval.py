"""The sentence bank as a classifier: each anatomy's candidate sentences, and the calibration that
makes its score mean something (twin of Shared/Retrieval/SentenceBank.swift's scoring).

Score of sentence n for anatomy i: softmax over anatomy i's sentences of cos(token_i, bank_n) / T,
with T learned by the retrieval cross-entropy. The region is called abnormal when the probability
of its healthy sentence is below `healthy_threshold` (chosen on the validation set for balanced
accuracy); it then gets its most probable abnormal sentence."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ANATOMIES = 36


def sentence_kinds(datasets: list[Path]) -> dict[str, list[str]]:
    """Region sentence -> the finding kinds it names (from the manifests' region_sentences)."""
    out: dict[str, list[str]] = {}
    for root in datasets:
        for line in (root / "manifest.jsonl").read_text().splitlines():
            for s in json.loads(line)["region_sentences"] if line else []:
                out.setdefault(s["sentence"], list(s["kinds"]))
    return out


def candidate_mask(datasets: list[Path], index: dict[str, int]) -> torch.Tensor:
    """[36, N] bool: sentence n was seen for anatomy i in `datasets` (the anatomy's bank)."""
    mask = torch.zeros(ANATOMIES, len(index), dtype=torch.bool)
    for root in datasets:
        for line in (root / "manifest.jsonl").read_text().splitlines():
            for i, s in enumerate(json.loads(line)["region_sentences"] if line else []):
                mask[i, index[s["sentence"]]] = True
    return mask


def probabilities(tokens: torch.Tensor, bank: torch.Tensor, candidates: torch.Tensor, temperature: float) -> torch.Tensor:
    """tokens [B, 36, 16], bank [N, 16] -> [B, 36, N] probabilities over each anatomy's sentences."""
    logits = F.normalize(tokens, dim=-1) @ F.normalize(bank, dim=-1).T / temperature
    return logits.masked_fill(~candidates[None], float("-inf")).softmax(-1)


def best_threshold(p_healthy: np.ndarray, healthy: np.ndarray) -> tuple[float, float]:
    """The threshold t (abnormal iff p_healthy < t) with the best balanced accuracy, and that accuracy."""
    best = (0.5, 0.0)
    for t in np.unique(np.concatenate([np.linspace(0.01, 0.99, 99), np.quantile(p_healthy, np.linspace(0, 1, 201))])):
        abnormal = p_healthy < t
        tpr = abnormal[~healthy].mean() if (~healthy).any() else 1.0
        tnr = (~abnormal[healthy]).mean() if healthy.any() else 1.0
        score = (tpr + tnr) / 2
        if score > best[1]:
            best = (float(t), float(score))
    return best


def calibrate(model, text_head, val_loader, sentences: list[str], embeddings: torch.Tensor, candidates: torch.Tensor,
              temperature: float) -> dict:
    """Fit the healthy threshold on the validation set; report its balanced accuracy and the
    exact-sentence accuracy of the calibrated and of the plain nearest-sentence lookup."""
    healthy_ids = torch.tensor([s.endswith(" is healthy.") for s in sentences])
    model.eval()
    p_healthy, truth_healthy, right_nearest, right_calibrated, chosen = [], [], [], [], []
    with torch.inference_mode():
        bank = text_head(embeddings)
        for images, _, _, sentence_ids in val_loader:
            probs = probabilities(model(images)["tokens"], bank, candidates, temperature)   # [B, 36, N]
            ph = (probs * healthy_ids).sum(-1)
            p_healthy.append(ph.flatten()); truth_healthy.append(healthy_ids[sentence_ids].flatten())
            right_nearest.append((probs.argmax(-1) == sentence_ids).flatten())
            abnormal_best = probs.masked_fill(healthy_ids, -1).argmax(-1)
            healthy_best = probs.masked_fill(~healthy_ids, -1).argmax(-1)
            chosen.append((ph, abnormal_best, healthy_best, sentence_ids))
    model.train()
    ph, th = torch.cat(p_healthy).numpy(), torch.cat(truth_healthy).numpy()
    threshold, balanced = best_threshold(ph, th)
    right = torch.cat([(torch.where(p < threshold, a, h) == s).flatten() for p, a, h, s in chosen])
    return {"healthy_threshold": threshold, "val_balanced_accuracy": round(balanced, 4),
            "val_exact_nearest": round(float(torch.cat(right_nearest).float().mean()), 4),
            "val_exact_calibrated": round(float(right.float().mean()), 4), "temperature": round(temperature, 5)}
