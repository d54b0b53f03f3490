"""AnatomiX stage two, the PyTorch twin of Shared/Language/AnatomixLanguageModel.swift: a
`transformers` LlamaForCausalLM (weights saved under its own names, so Swift's LlamaModel loads them
as any Llama checkpoint) and the two AnatomiX projectors (Linear -> GELU -> LayerNorm -> Linear):
`image_projector` for the pooled APM memory at the <image> positions, `object_projector` for the
anatomical tokens, added to the <obj_i> embeddings. Prompt layout: anatomix/prompt.py."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM

from .prompt import IMAGE_TOKENS


class Projector(nn.Module):
    def __init__(self, inputs: int, hidden: int, outputs: int) -> None:
        super().__init__()
        self.fc1, self.norm, self.fc2 = nn.Linear(inputs, hidden), nn.LayerNorm(hidden), nn.Linear(hidden, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.norm(F.gelu(self.fc1(x))))


def pooled_image_features(memory: torch.Tensor, grid: int) -> torch.Tensor:
    """APM memory [B, 1 + grid^2, d] -> [B, 17, d]: CLS, then the grid average-pooled to 4x4 (row-major)."""
    b, _, d = memory.shape
    cells = memory[:, 1:].reshape(b, grid, grid, d).permute(0, 3, 1, 2)
    pooled = F.adaptive_avg_pool2d(cells, 4).flatten(2).transpose(1, 2)          # [B, 16, d]
    return torch.cat([memory[:, :1], pooled], 1)


class AnatomixLanguageModel(nn.Module):
    def __init__(self, config: LlamaConfig, image_dim: int, token_dim: int, image_id: int, object_ids: list[int]) -> None:
        super().__init__()
        d = config.hidden_size
        self.llm = LlamaForCausalLM(config)
        self.image_projector = Projector(image_dim, d, d)
        self.object_projector = Projector(token_dim, d, d)
        self.image_id = image_id
        self.register_buffer("object_ids", torch.tensor(object_ids), persistent=False)

    def input_embeddings(self, ids: torch.Tensor, image: torch.Tensor | None, tokens: torch.Tensor | None) -> torch.Tensor:
        """ids [B, T]; image [B, 17, image_dim] (None: the ablation without image features);
        tokens [B, 36, token_dim] (None: no anatomical tokens). -> [B, T, d]."""
        embeds = self.llm.get_input_embeddings()(ids)
        if image is not None:
            at = ids == self.image_id                                                  # [B, T], 17 per row
            if at.any():
                projected = self.image_projector(image)                                 # [B, 17, d]
                embeds = embeds.masked_scatter(at[..., None], projected[at.sum(1) > 0].reshape(-1, embeds.shape[-1]).to(embeds.dtype))
        if tokens is not None:
            projected = self.object_projector(tokens)                                   # [B, 36, d]
            which = (ids[..., None] == self.object_ids).float()                        # [B, T, 36]
            embeds = embeds + which @ projected
        return embeds

    def forward(self, ids: torch.Tensor, image: torch.Tensor | None, tokens: torch.Tensor | None,
                attention_mask: torch.Tensor | None = None, position_ids: torch.Tensor | None = None) -> torch.Tensor:
        embeds = self.input_embeddings(ids, image, tokens)
        return self.llm(inputs_embeds=embeds, attention_mask=attention_mask, position_ids=position_ids).logits


def check_image_tokens(ids: torch.Tensor, image_id: int) -> None:
    counts = (ids == image_id).sum(1)
    if not bool(((counts == 0) | (counts == IMAGE_TOKENS)).all()):
        raise ValueError(f"every prompt needs {IMAGE_TOKENS} <image> tokens, got {counts.tolist()}")
