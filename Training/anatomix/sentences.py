"""Region sentences of generated datasets and their frozen MiniLM embeddings (cached)."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from .bert import SentenceEncoder


def region_sentences(datasets: list[Path]) -> list[str]:
    """Every unique region sentence of the manifests, in first-seen order."""
    seen: dict[str, None] = {}
    for root in datasets:
        for line in (root / "manifest.jsonl").read_text().splitlines():
            if line:
                for s in json.loads(line)["region_sentences"]:
                    seen.setdefault(s["sentence"])
    return list(seen)


def embed_sentences(encoder: SentenceEncoder, datasets: list[Path], cache: Path,
                    batch_size: int = 64) -> tuple[list[str], torch.Tensor]:
    """(sentences, [N, 384] unit embeddings), reusing `cache` when it holds the same sentences."""
    from transformers import AutoTokenizer  # the fast HF tokenizer; ids equal the Swift WordPiece's

    sentences = region_sentences(datasets)
    if cache.exists():
        state = torch.load(cache)
        if state["sentences"] == sentences:
            return sentences, state["embeddings"]
    tokenizer = AutoTokenizer.from_pretrained(str(Path(".cache/minilm")))
    chunks = []
    with torch.inference_mode():
        for i in range(0, len(sentences), batch_size):
            batch = tokenizer(sentences[i:i + batch_size], padding=True, truncation=True, max_length=256, return_tensors="pt")
            chunks.append(encoder(batch["input_ids"], batch["attention_mask"]))
    embeddings = torch.cat(chunks) if chunks else torch.zeros(0, 384)
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"sentences": sentences, "embeddings": embeddings}, cache)
    return sentences, embeddings
