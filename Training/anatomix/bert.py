"""BERT encoder and sentence encoder: the PyTorch twin of Shared/Models/BertModel*.swift and
SentenceEncoder*.swift.

Module names equal the Hugging Face `BertModel` checkpoint keys (embeddings.word_embeddings,
encoder.layer.N.attention.self.query, ...), so an all-MiniLM-L6-v2 `model.safetensors` loads with
`load_state_dict` after the same `sanitize` the Swift side applies (drop `bert.` prefix, pooler,
position_ids). Used by the training code (frozen text encoder) and checked against
sentence-transformers by export_minilm_fixtures.py.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class BertConfiguration:
    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12

    @classmethod
    def from_json(cls, path: str | Path) -> "BertConfiguration":
        raw = json.loads(Path(path).read_text())
        assert raw.get("hidden_act", "gelu") == "gelu", raw.get("hidden_act")
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})


class BertEmbeddings(nn.Module):
    def __init__(self, c: BertConfiguration) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(c.vocab_size, c.hidden_size)
        self.position_embeddings = nn.Embedding(c.max_position_embeddings, c.hidden_size)
        self.token_type_embeddings = nn.Embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # ids [B, L]
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.word_embeddings(ids) + self.position_embeddings(positions)[None] + self.token_type_embeddings.weight[0]
        return self.LayerNorm(x)  # [B, L, D]


class BertSelfAttention(nn.Module):
    def __init__(self, c: BertConfiguration) -> None:
        super().__init__()
        self.heads = c.num_attention_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # x [B, L, D], mask [B, L]
        b, length, d = x.shape
        split = lambda t: t.view(b, length, self.heads, d // self.heads).transpose(1, 2)  # [B, H, L, dh]
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)  # [B, H, L, L]
        scores = scores.masked_fill(mask[:, None, None, :] == 0, float("-inf"))
        return (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, length, d)  # [B, L, D]


class BertSelfOutput(nn.Module):
    def __init__(self, c: BertConfiguration) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)


class BertAttention(nn.Module):
    def __init__(self, c: BertConfiguration) -> None:
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertSelfOutput(c)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.output.LayerNorm(x + self.output.dense(self.self(x, mask)))


class BertIntermediate(nn.Module):
    def __init__(self, c: BertConfiguration) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)


class BertOutput(nn.Module):
    def __init__(self, c: BertConfiguration) -> None:
        super().__init__()
        self.dense = nn.Linear(c.intermediate_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.layer_norm_eps)


class BertLayer(nn.Module):
    def __init__(self, c: BertConfiguration) -> None:
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertOutput(c)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.attention(x, mask)
        return self.output.LayerNorm(x + self.output.dense(F.gelu(self.intermediate.dense(x))))  # erf GELU


class BertEncoder(nn.Module):
    def __init__(self, c: BertConfiguration) -> None:
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(c) for _ in range(c.num_hidden_layers))


class BertModel(nn.Module):
    """Last hidden states [B, L, D] of padded ids with an attention mask (no pooler)."""

    def __init__(self, c: BertConfiguration) -> None:
        super().__init__()
        self.configuration = c
        self.embeddings = BertEmbeddings(c)
        self.encoder = BertEncoder(c)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.embeddings(ids)
        for layer in self.encoder.layer:
            x = layer(x, mask)
        return x

    @staticmethod
    def sanitize(key: str) -> str | None:
        """Same remapping as BertModel.sanitize in Swift."""
        name = key[5:] if key.startswith("bert.") else key
        return None if name == "embeddings.position_ids" or name.startswith("pooler.") else name

    @classmethod
    def from_directory(cls, directory: str | Path) -> "BertModel":
        from safetensors.torch import load_file

        directory = Path(directory)
        model = cls(BertConfiguration.from_json(directory / "config.json"))
        weights = {k2: v for k, v in load_file(str(directory / "model.safetensors")).items() if (k2 := cls.sanitize(k))}
        model.load_state_dict(weights, strict=True)  # missing or unused keys are errors, as in Swift
        return model.eval()


class SentenceEncoder(nn.Module):
    """BERT -> mean pooling over real tokens -> L2 normalisation (all-MiniLM-L6-v2's recipe)."""

    def __init__(self, model: BertModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # -> [B, D]
        hidden = self.model(ids, mask)
        m = mask[..., None].to(hidden.dtype)
        return F.normalize((hidden * m).sum(1) / m.sum(1).clamp(min=1e-9), dim=-1)
