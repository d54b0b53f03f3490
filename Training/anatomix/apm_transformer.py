"""Post-norm DETR transformer layers used by the APM (twin of Shared/Models/DETR*.swift).
Positions are added to queries and keys at every attention, never to values (as in DETR)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class EncoderLayer(nn.Module):
    def __init__(self, d: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.linear1, self.linear2 = nn.Linear(d, ff), nn.Linear(ff, d)
        self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:  # x, pos [B, N, d]
        q = x + pos
        x = self.norm1(x + self.dropout(self.self_attn(q, q, x, need_weights=False)[0]))
        return self.norm2(x + self.dropout(self.linear2(self.dropout(F.relu(self.linear1(x))))))


class DecoderLayer(nn.Module):
    def __init__(self, d: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.multihead_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.linear1, self.linear2 = nn.Linear(d, ff), nn.Linear(ff, d)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.dropout = nn.Dropout(dropout)

    def forward(self, t: torch.Tensor, memory: torch.Tensor, pos: torch.Tensor, query_pos: torch.Tensor) -> torch.Tensor:
        q = t + query_pos                                                      # [B, Q, d]
        t = self.norm1(t + self.dropout(self.self_attn(q, q, t, need_weights=False)[0]))
        cross = self.multihead_attn(t + query_pos, memory + pos, memory, need_weights=False)[0]
        t = self.norm2(t + self.dropout(cross))
        return self.norm3(t + self.dropout(self.linear2(self.dropout(F.relu(self.linear1(t))))))


class Transformer(nn.Module):
    def __init__(self, d: int, heads: int, ff: int, dropout: float, encoder_layers: int, decoder_layers: int) -> None:
        super().__init__()
        self.encoder = nn.ModuleList(EncoderLayer(d, heads, ff, dropout) for _ in range(encoder_layers))
        self.decoder = nn.ModuleList(DecoderLayer(d, heads, ff, dropout) for _ in range(decoder_layers))
        self.decoder_norm = nn.LayerNorm(d)

    def forward(self, src: torch.Tensor, pos: torch.Tensor, query_pos: torch.Tensor,
                intermediate: list[torch.Tensor] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """-> memory [B, N, d], decoded [B, Q, d]. When `intermediate` is a list, the normed outputs of the
        decoder layers before the last are appended to it (DETR's auxiliary losses; training only)."""
        memory = src
        for layer in self.encoder:
            memory = layer(memory, pos)
        t = torch.zeros_like(query_pos)
        for i, layer in enumerate(self.decoder):
            t = layer(t, memory, pos, query_pos)
            if intermediate is not None and i < len(self.decoder) - 1:
                intermediate.append(self.decoder_norm(t))
        return memory, self.decoder_norm(t)
