"""The AnatomiX tokenizer: byte-level BPE (HF `tokenizers`) with the AnatomiX special tokens, the
turn markers and the quantised-coordinate tokens of the compact prompt, saved as tokenizer.json.
Swift's twin is Shared/Tokenizers/BPETokenizer.swift (any byte-level BPE tokenizer.json)."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


ANATOMIES = 36
LOCATION_BINS = 128           # one token per quantised coordinate (<loc_0> ... <loc_127>), as Florence-2's <loc_N>
SPECIAL_TOKENS = (["<pad>", "<s>", "</s>", "<|user|>", "<|assistant|>", "<|end|>",
                   "<image>", "<image_start>", "<image_end>", "<box>", "</box>", "<emb>", "</emb>", "<ref>", "</ref>"]
                  + [f"<obj_{i}>" for i in range(ANATOMIES)] + [f"<loc_{i}>" for i in range(LOCATION_BINS)])


def train(texts: Iterable[str], vocab_size: int, special_tokens: list[str] = SPECIAL_TOKENS):
    """GPT-2-style byte-level BPE: no normalizer, ByteLevel pre-tokenizer without a prefix space."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers   # training venv only
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special_tokens, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


def save(tokenizer, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(path))
