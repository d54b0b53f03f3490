"""Anatomy Perception Module (AnatomiX stage one): the PyTorch twin of Shared/Models/APM*.swift.

ResNet (1-channel stem, frozen batch norm) -> 1x1 projection to d -> 2-D sine position encoding ->
post-norm DETR encoder (with a learned CLS token) and decoder over 36 fixed anatomy queries
(query i is always anatomy i: no matching) -> box MLP (sigmoid cx, cy, w, h), CLS -> 14 labels
(with `token_labels`, plus the log-mean-exp over the memory tokens of a per-token label head),
feature module (attention of the decoder output over the encoder memory -> Linear d -> 16) = the
36 anatomical tokens. Sizes come from ApmConfiguration, so the published sizes run unchanged.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class ApmConfiguration:
    image_size: int = 1024
    block: str = "bottleneck"              # "basic" (ResNet-18/34) or "bottleneck" (ResNet-50)
    blocks: tuple[int, ...] = (3, 4, 6, 3)
    widths: tuple[int, ...] = (64, 128, 256, 512)
    stem_width: int = 64
    d_model: int = 256
    heads: int = 4
    encoder_layers: int = 4
    decoder_layers: int = 4
    feed_forward: int = 1024
    dropout: float = 0.1
    anatomies: int = 36
    labels: int = 14
    token_dim: int = 16
    feature_heads: int = 2
    output_stride: int = 32                # 16: the last stage keeps its input's resolution (DETR-DC5 without dilation)
    token_labels: bool = False             # ours: + log-mean-exp over the memory tokens of a per-token label head
    fine_label_width: int = 0              # ours: > 0 adds FineLabelHead (stride-4/8 backbone features) to the label logits
    fine_label_sharpness: float = 8.0      # ours: r of its pooling (1/r) log mean exp(r x): 1 ~ mean, large ~ max
    fine_label_stem: int = 0               # ours: > 0 gives FineLabelHead its own 2-conv pixel stem (that many channels)
    fine_label_backbone: bool = False      # ours: FineLabelHead reads its own copy of the backbone's stem and stages 1-2
    dense_label_width: int = 0             # ours: > 0 adds DenseLabelHead (a stride-4 pixel branch trained on finding masks)
    dense_label_indices: tuple[int, ...] = ()   # ours: the labels DenseLabelHead adds to (CheXpert order; 13 Support Devices)

    @property
    def expansion(self) -> int:
        return 4 if self.block == "bottleneck" else 1

    @property
    def feature_size(self) -> int:
        return self.image_size // self.output_stride

    def stage_stride(self, stage: int) -> int:
        """Stride of the first block of `stage`: 1 for the first stage, 2 after (1 for the last at output stride 16)."""
        if stage == 0 or (self.output_stride == 16 and stage == len(self.blocks) - 1):
            return 1
        return 2

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> "ApmConfiguration":
        raw = json.loads(Path(path).read_text())
        raw = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**raw)


class FrozenBatchNorm2d(nn.Module):
    """Batch norm with fixed statistics and affine parameters (folded into the conv in Swift)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        for name, value in (("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0), ("running_var", 1.0)):
            self.register_buffer(name, torch.full((channels,), value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.weight * (self.running_var + 1e-5).rsqrt()
        shift = self.bias - self.running_mean * scale
        return x * scale[None, :, None, None] + shift[None, :, None, None]


def use_batch_statistics(model: nn.Module) -> nn.Module:
    """Swap every FrozenBatchNorm2d for a trainable nn.BatchNorm2d holding the same values.

    The published APM starts from a pretrained backbone whose batch norm stays frozen; trained from
    scratch (as here) the backbone needs batch statistics to train well. Same parameter names, so
    `freeze_batch_statistics` turns it back into the inference graph (what Swift folds into the convs)."""
    for name, child in model.named_children():
        if isinstance(child, FrozenBatchNorm2d):
            norm = nn.BatchNorm2d(child.weight.numel())
            with torch.no_grad():
                for key in ("weight", "bias", "running_mean", "running_var"):
                    getattr(norm, key).copy_(getattr(child, key))
            setattr(model, name, norm)
        else:
            use_batch_statistics(child)
    return model


def freeze_batch_statistics(model: nn.Module) -> nn.Module:
    """Inverse of `use_batch_statistics`: running statistics and affine values become FrozenBatchNorm2d buffers."""
    for name, child in model.named_children():
        if isinstance(child, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features)
            with torch.no_grad():
                for key in ("weight", "bias", "running_mean", "running_var"):
                    getattr(frozen, key).copy_(getattr(child, key).detach())
            setattr(model, name, frozen)
        else:
            freeze_batch_statistics(child)
    return model


def conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)


class ResNetBlock(nn.Module):
    def __init__(self, c: ApmConfiguration, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = width * c.expansion
        if c.block == "bottleneck":
            self.conv1, self.bn1 = conv(cin, width, 1), FrozenBatchNorm2d(width)
            self.conv2, self.bn2 = conv(width, width, 3, stride), FrozenBatchNorm2d(width)
            self.conv3, self.bn3 = conv(width, cout, 1), FrozenBatchNorm2d(cout)
        else:
            self.conv1, self.bn1 = conv(cin, width, 3, stride), FrozenBatchNorm2d(width)
            self.conv2, self.bn2 = conv(width, width, 3), FrozenBatchNorm2d(width)
        self.downsample = (nn.Sequential(conv(cin, cout, 1, stride), FrozenBatchNorm2d(cout))
                           if stride != 1 or cin != cout else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if hasattr(self, "conv3"):
            out = self.bn3(self.conv3(F.relu(out)))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet(nn.Module):
    """1-channel ResNet: 7x7/2 stem, 3x3/2 max-pool, four stages (strides 1, 2, 2, 2): /32 overall
    (strides 1, 2, 2, 1 and /16 with output_stride 16). `stage_count` < 4 keeps only the first stages
    (the fine label branch's copy)."""

    def __init__(self, c: ApmConfiguration, stage_count: int | None = None) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(1, c.stem_width, 7, 2, 3, bias=False), FrozenBatchNorm2d(c.stem_width)
        cin, stages = c.stem_width, []
        for i, (n, width) in enumerate(list(zip(c.blocks, c.widths))[:stage_count]):
            blocks = []
            for b in range(n):
                blocks.append(ResNetBlock(c, cin, width, c.stage_stride(i) if b == 0 else 1))
                cin = width * c.expansion
            stages.append(nn.Sequential(*blocks))
        self.layers = nn.ModuleList(stages)
        self.out_channels = cin

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, 1, H, W] -> [B, C, H/s, W/s], s = output_stride
        return self.stages(x)[-1]

    def stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Every stage's output: strides 4, 8, 16 and 32 (16 at output stride 16)."""
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        outputs = []
        for stage in self.layers:
            x = stage(x)
            outputs.append(x)
        return outputs


class FineLabelHead(nn.Module):
    """Ours: image labels from fine maps, for findings a few pixels wide (a nodule, a rib fracture, a line)
    that the stride-16 tokens blur away. With fine_label_stem > 0 the branch has its own pixel stem
    (stem1 3x3/2 -> ReLU -> stem2 3x3/2 -> ReLU, trained with the branch while the backbone stays frozen:
    the frozen early maps, trained for boxes, do not tell a catheter from a rib edge), concatenated with
    the backbone's stride-4 map. Then reduce: 3x3/2 conv -> ReLU, concatenated with the stride-8 map ->
    conv1 3x3 -> ReLU -> conv2 3x3 -> ReLU -> classifier 1x1 (zero-initialised, so adding the branch starts
    from the model's own logits) -> (1/r) log mean exp(r x) over the positions, r = fine_label_sharpness
    (Pinheiro & Collobert's LSE pooling: a finding in a few positions of 1,024 counts, as with max
    pooling, but every position gets gradient). With fine_label_backbone the stride-4 and stride-8 maps
    come from the branch's own copy of the backbone's stem and first two stages (`backbone.*`, started
    from the APM's weights and trained with the branch), so the branch learns its own early features
    while the APM's boxes and tokens stay as they are."""

    def __init__(self, c: ApmConfiguration) -> None:
        super().__init__()
        fine, mid, w, s = c.widths[0] * c.expansion, c.widths[1] * c.expansion, c.fine_label_width, c.fine_label_stem
        if s:
            self.stem1 = nn.Conv2d(1, s, 3, 2, 1)
            self.stem2 = nn.Conv2d(s, s, 3, 2, 1)
        self.reduce = nn.Conv2d(fine + s, w, 3, 2, 1)
        self.conv1 = nn.Conv2d(w + mid, w, 3, 1, 1)
        self.conv2 = nn.Conv2d(w, w, 3, 1, 1)
        self.classifier = nn.Conv2d(w, c.labels, 1)
        nn.init.zeros_(self.classifier.weight); nn.init.zeros_(self.classifier.bias)
        self.sharpness = c.fine_label_sharpness
        self.has_stem = s > 0
        if c.fine_label_backbone:
            self.backbone = ResNet(c, stage_count=2)

    def position_logits(self, image: torch.Tensor, stride4: torch.Tensor, stride8: torch.Tensor) -> torch.Tensor:
        """image [B, 1, S, S], stride4 [B, C1, S/4, S/4], stride8 [B, C2, S/8, S/8] -> [B, 14, S/8, S/8]
        (with fine_label_backbone the two maps are the branch's own and the arguments are not read)."""
        if hasattr(self, "backbone"):
            stride4, stride8 = self.backbone.stages(image)
        if self.has_stem:
            stride4 = torch.cat([F.relu(self.stem2(F.relu(self.stem1(image)))), stride4], 1)
        x = torch.cat([F.relu(self.reduce(stride4)), stride8], 1)
        return self.classifier(F.relu(self.conv2(F.relu(self.conv1(x)))))

    def pool(self, positions: torch.Tensor) -> torch.Tensor:                                 # [B, 14, h, w] -> [B, 14]
        x, r = positions.flatten(2), self.sharpness
        return ((r * x).logsumexp(2) - math.log(x.shape[2])) / r

    def forward(self, image: torch.Tensor, stride4: torch.Tensor, stride8: torch.Tensor) -> torch.Tensor:   # -> [B, 14]
        return self.pool(self.position_logits(image, stride4, stride8))


class DenseLabelHead(nn.Module):
    """Ours: a small fully convolutional branch on the pixels, trained densely on the generator's finding
    masks (`make train-dense-labels`, the APM frozen), for lines and tubes that the stride-16 tokens and the
    frozen early maps do not separate from rib edges. Six conv-BN-ReLU layers, channels w/3, 2w/3, 2w/3,
    w, w, w (w = dense_label_width): 3x3/2, 3x3/2, 3x3, then 3x3 with dilation 2, 4, 8 at stride 4 (a
    receptive field of about 150 px, so a line is told from a rib by its course), a 1x1 `classifier` to one
    map per label of dense_label_indices, max over the positions, then `scale * max + bias` (fitted by
    logistic regression on the validation set with the model's own logits as an offset) added to those
    labels' logits."""

    def __init__(self, c: ApmConfiguration) -> None:
        super().__init__()
        w = c.dense_label_width
        widths, self.dilations, strides = [w // 3, 2 * w // 3, 2 * w // 3, w, w, w], [1, 1, 1, 2, 4, 8], [2, 2, 1, 1, 1, 1]
        ins = [1] + widths[:-1]
        self.convs = nn.ModuleList([nn.Conv2d(i, o, 3, s, d, dilation=d, bias=False)
                                    for i, o, s, d in zip(ins, widths, strides, self.dilations)])
        self.norms = nn.ModuleList([nn.BatchNorm2d(o) for o in widths])
        self.classifier = nn.Conv2d(w, len(c.dense_label_indices), 1)
        self.scale = nn.Parameter(torch.zeros(len(c.dense_label_indices)))     # zero: adding the branch changes nothing
        self.bias = nn.Parameter(torch.zeros(len(c.dense_label_indices)))
        self.register_buffer("indices", torch.tensor(c.dense_label_indices, dtype=torch.long), persistent=False)
        self.labels = c.labels

    def position_logits(self, image: torch.Tensor) -> torch.Tensor:        # [B, 1, S, S] -> [B, K, S/4, S/4]
        x = image
        for conv, norm in zip(self.convs, self.norms):
            x = F.relu(norm(conv(x)))
        return self.classifier(x)

    def forward(self, image: torch.Tensor) -> torch.Tensor:                # -> [B, labels], zero off the indices
        peak = self.position_logits(image).flatten(2).amax(2)
        added = self.scale * peak + self.bias
        return added.new_zeros(image.shape[0], self.labels).index_copy(1, self.indices, added)


def sine_position_encoding(h: int, w: int, d: int, temperature: float = 10000.0) -> torch.Tensor:
    """DETR's normalised 2-D sine encoding: [h*w, d] (d/2 features per axis, y first)."""
    per_axis = d // 2
    scale = 2 * math.pi
    y = (torch.arange(1, h + 1, dtype=torch.float32) / h * scale)[:, None].expand(h, w)
    x = (torch.arange(1, w + 1, dtype=torch.float32) / w * scale)[None, :].expand(h, w)
    dim_t = temperature ** (2 * (torch.arange(per_axis) // 2) / per_axis)
    px, py = x[..., None] / dim_t, y[..., None] / dim_t                       # [h, w, d/2]
    px = torch.stack((px[..., 0::2].sin(), px[..., 1::2].cos()), dim=3).flatten(2)
    py = torch.stack((py[..., 0::2].sin(), py[..., 1::2].cos()), dim=3).flatten(2)
    return torch.cat((py, px), dim=2).reshape(h * w, d)


class BoxHead(nn.Module):
    """MLP d -> d -> d -> 4 with sigmoid: normalised (cx, cy, w, h)."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, 4)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x) if i == len(self.layers) - 1 else F.relu(layer(x))
        return x.sigmoid()


class AnatomyPerceptionModule(nn.Module):
    def __init__(self, c: ApmConfiguration) -> None:
        super().__init__()
        from .apm_transformer import Transformer

        self.configuration = c
        self.backbone = ResNet(c)
        self.projection = nn.Conv2d(self.backbone.out_channels, c.d_model, 1)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.d_model))
        self.query_embed = nn.Parameter(torch.randn(c.anatomies, c.d_model) * 0.02)
        self.transformer = Transformer(c.d_model, c.heads, c.feed_forward, c.dropout, c.encoder_layers, c.decoder_layers)
        self.box_head = BoxHead(c.d_model)
        self.label_head = nn.Linear(c.d_model, c.labels)
        if c.token_labels:                 # small findings (a nodule, a rib fracture, a line) live in a few tokens
            self.token_label_head = nn.Linear(c.d_model, c.labels)
            nn.init.zeros_(self.token_label_head.weight); nn.init.zeros_(self.token_label_head.bias)
        if c.fine_label_width:
            self.fine_label_head = FineLabelHead(c)
        if c.dense_label_width:
            self.dense_label_head = DenseLabelHead(c)
        self.feature_attention = nn.MultiheadAttention(c.d_model, c.feature_heads, batch_first=True)
        self.feature_projection = nn.Linear(c.d_model, c.token_dim)
        self.register_buffer("position", sine_position_encoding(c.feature_size, c.feature_size, c.d_model), persistent=False)

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """image [B, 1, S, S] in [0, 1] -> boxes [B, 36, 4], logits [B, 14], tokens [B, 36, 16], memory [B, 1+N, d]."""
        b = image.shape[0]
        stages = self.backbone.stages(image)
        features = self.projection(stages[-1])                                 # [B, d, h, w]
        src = features.flatten(2).transpose(1, 2)                              # [B, N, d]
        src = torch.cat([self.cls_token.expand(b, -1, -1), src], dim=1)        # [B, 1+N, d]
        pos = torch.cat([torch.zeros(1, self.configuration.d_model), self.position])[None].expand(b, -1, -1)
        queries = self.query_embed[None].expand(b, -1, -1)                     # [B, 36, d]
        intermediate: list[torch.Tensor] | None = [] if self.training else None
        memory, decoded = self.transformer(src, pos, queries, intermediate)
        attended = self.feature_attention(decoded, memory, memory, need_weights=False)[0]
        logits = self.label_head(memory[:, 0])
        if self.configuration.token_labels:    # log-mean-exp: between the mean and the max of the per-token logits
            per_token = self.token_label_head(memory[:, 1:])                  # [B, N, 14]
            logits = logits + per_token.logsumexp(1) - math.log(per_token.shape[1])
        if self.configuration.fine_label_width:
            logits = logits + self.fine_label_head(image, stages[0], stages[1])
        if self.configuration.dense_label_width:
            logits = logits + self.dense_label_head(image)
        out = {"boxes": self.box_head(decoded), "logits": logits,
               "tokens": self.feature_projection(attended), "memory": memory}
        if intermediate:
            out["aux_boxes"] = [self.box_head(t) for t in intermediate]        # earlier decoder layers, same head
        return out


class TextHead(nn.Module):
    """Trainable MLP from frozen MiniLM sentence embeddings (384) to the 16-d token space."""

    def __init__(self, text_dim: int = 384, hidden: int = 256, token_dim: int = 16) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(text_dim, hidden), nn.Linear(hidden, token_dim)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers[1](F.gelu(self.layers[0](x)))


def box_cxcywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = b.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1)


def generalized_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Element-wise GIoU of xyxy boxes [..., 4]."""
    area_a = (a[..., 2] - a[..., 0]).clamp(min=0) * (a[..., 3] - a[..., 1]).clamp(min=0)
    area_b = (b[..., 2] - b[..., 0]).clamp(min=0) * (b[..., 3] - b[..., 1]).clamp(min=0)
    lt, rb = torch.maximum(a[..., :2], b[..., :2]), torch.minimum(a[..., 2:], b[..., 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = area_a + area_b - inter
    hull = (torch.maximum(a[..., 2:], b[..., 2:]) - torch.minimum(a[..., :2], b[..., :2])).clamp(min=0).prod(-1)
    return inter / union.clamp(min=1e-7) - (hull - union) / hull.clamp(min=1e-7)


@dataclass
class LossWeights:
    """AnatomiX's recipe: L1 x5, GIoU x3, label BCE x2, contrastive x1."""
    l1: float = 5.0
    giou: float = 3.0
    labels: float = 2.0
    contrastive: float = 1.0
    temperature: float = 0.01
    retrieval: float = 1.0          # ours: per-anatomy cross-entropy over that anatomy's bank sentences
    pos_weight: torch.Tensor | None = None   # ours: per-label weight of positives in the BCE [14]
    extra: dict = field(default_factory=dict)


def box_losses(pred: torch.Tensor, boxes: torch.Tensor, m: torch.Tensor, n: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean L1 and (1 - GIoU) over present anatomies of cxcywh boxes [B, 36, 4]; m [B, 36, 1] the presence mask."""
    l1 = (F.l1_loss(pred, boxes, reduction="none") * m).sum() / n
    giou = ((1 - generalized_iou(box_cxcywh_to_xyxy(pred), box_cxcywh_to_xyxy(boxes))) * m[..., 0]).sum() / n
    return l1, giou


def apm_losses(out: dict[str, torch.Tensor], boxes: torch.Tensor, present: torch.Tensor, labels: torch.Tensor,
               text_tokens: torch.Tensor, text_embeddings: torch.Tensor, w: LossWeights = LossWeights()) -> dict[str, torch.Tensor]:
    """boxes [B, 36, 4] cxcywh targets, present [B, 36] (missing anatomy -> no box loss), labels [B, 14],
    text_tokens [B, 36, 16] (text head of each anatomy's sentence), text_embeddings [B, 36, 384] (frozen)."""
    m = present.float()[..., None]
    n = m.sum().clamp(min=1)
    l1, giou = box_losses(out["boxes"], boxes, m, n)
    for aux in out.get("aux_boxes", []):                                       # DETR's auxiliary decoding losses
        aux_l1, aux_giou = box_losses(aux, boxes, m, n)
        l1, giou = l1 + aux_l1, giou + aux_giou
    bce = F.binary_cross_entropy_with_logits(out["logits"], labels.float(), pos_weight=w.pos_weight)
    # Contrastive soft-KL: softmax over all objects in the batch of cos(token, text) / T, against the
    # same softmax over cosines of the frozen sentence embeddings (soft targets); symmetric.
    tokens = F.normalize(out["tokens"][present], dim=-1)
    texts = F.normalize(text_tokens[present], dim=-1)
    frozen = F.normalize(text_embeddings[present], dim=-1)
    logits = tokens @ texts.T / w.temperature
    target = (frozen @ frozen.T / w.temperature).softmax(-1)
    kl = F.kl_div(logits.log_softmax(-1), target, reduction="batchmean") + \
        F.kl_div(logits.T.log_softmax(-1), target.T, reduction="batchmean")
    total = w.l1 * l1 + w.giou * giou + w.labels * bce + w.contrastive * kl / 2
    return {"total": total, "l1": l1, "giou": giou, "labels": bce, "contrastive": kl / 2}


def retrieval_loss(tokens: torch.Tensor, sentence_ids: torch.Tensor, bank: torch.Tensor, candidates: torch.Tensor,
                   log_temperature: torch.Tensor) -> torch.Tensor:
    """The vector-database step as a training objective (ours, not in AnatomiX): for anatomy i, a
    softmax over the cosines of its token with the bank sentences of anatomy i only, cross-entropy
    against its true sentence. The other sentences of the same anatomy are the hard negatives the
    batch-wide contrastive loss lacks ("Right lung is healthy." vs "Right lung shows pneumothorax.").

    tokens [B, 36, 16], sentence_ids [B, 36] (rows of bank), bank [N, 16] (text head of every
    sentence), candidates [36, N] bool (sentence n belongs to anatomy i), log_temperature scalar."""
    logits = F.normalize(tokens, dim=-1) @ F.normalize(bank, dim=-1).T / log_temperature.exp()   # [B, 36, N]
    logits = logits.masked_fill(~candidates[None], float("-inf"))
    return F.cross_entropy(logits.flatten(0, 1), sentence_ids.flatten())


def fold_frozen_batch_norm(model: nn.Module) -> nn.Module:
    """Inference-only: fold every conv + FrozenBatchNorm2d pair (and DenseLabelHead's conv + batch norm
    pairs, in eval mode) into one conv with bias, as
    Shared/Models/ResNet.swift's FoldedConv does (W' = W * s, b' = beta - mu * s, s = gamma / sqrt(var + 1e-5));
    the batch norm becomes nn.Identity. Pairs are `convN`/`bnN` attributes of one module and a conv
    followed by its batch norm in an nn.Sequential (the downsample). In place; returns `model`."""

    def folded(conv_: nn.Conv2d, bn: FrozenBatchNorm2d) -> nn.Conv2d:
        scale = bn.weight * (bn.running_var + 1e-5).rsqrt()
        out = nn.Conv2d(conv_.in_channels, conv_.out_channels, conv_.kernel_size, conv_.stride, conv_.padding,
                        conv_.dilation, conv_.groups, bias=True, padding_mode=conv_.padding_mode)
        with torch.no_grad():
            out.weight.copy_(conv_.weight * scale[:, None, None, None])
            bias = conv_.bias if conv_.bias is not None else torch.zeros_like(scale)
            out.bias.copy_(bn.bias + (bias - bn.running_mean) * scale)
        return out.to(conv_.weight.device).train(conv_.training)

    for module in list(model.modules()):
        children = dict(module.named_children())
        if isinstance(module, nn.Sequential):
            names = list(children)
            for a, b in zip(names, names[1:]):
                if isinstance(children[a], nn.Conv2d) and isinstance(children[b], FrozenBatchNorm2d):
                    setattr(module, a, folded(children[a], children[b]))
                    setattr(module, b, nn.Identity())
        for name, child in children.items():
            partner = "conv" + name[2:] if name.startswith("bn") else None
            if isinstance(child, FrozenBatchNorm2d) and partner in children and isinstance(children[partner], nn.Conv2d):
                setattr(module, partner, folded(children[partner], child))
                setattr(module, name, nn.Identity())
    for module in model.modules():
        if isinstance(module, DenseLabelHead) and not module.training:      # its trained batch norms, frozen in eval
            for i, (conv_, bn) in enumerate(zip(module.convs, module.norms)):
                if isinstance(bn, nn.BatchNorm2d):
                    module.convs[i], module.norms[i] = folded(conv_, bn), nn.Identity()
    left = [n for n, m in model.named_modules() if isinstance(m, FrozenBatchNorm2d)]
    if left:
        raise ValueError(f"fold_frozen_batch_norm: no conv to fold into for {left}")
    return model
