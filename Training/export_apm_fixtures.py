"""Export APM parity fixtures for the Swift tests (Tests/Fixtures/apm/): a tiny randomly
initialised AnatomyPerceptionModule (batch-norm statistics randomised too, so folding is tested),
its weights, two input images and every output, written to --out (with both label branches,
FineLabelHead and DenseLabelHead, their batch norms and zero-initialised parts randomised); the same model with the fine label
branch's own backbone copy (`fine_label_backbone`) to --out + "-fine-backbone". No training needed; the
trained model gets its own fixtures from the checkpoint in issue [3/7].

    Training/.venv/bin/python Training/export_apm_fixtures.py [--out Tests/Fixtures/apm]
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import torch
from safetensors.torch import save_file

from anatomix.apm import AnatomyPerceptionModule, ApmConfiguration, FrozenBatchNorm2d

TINY = ApmConfiguration(image_size=128, block="bottleneck", blocks=(1, 1, 1, 1), widths=(4, 8, 8, 16), stem_width=8,
                        d_model=32, heads=4, encoder_layers=2, decoder_layers=2, feed_forward=64, dropout=0.0,
                        anatomies=36, labels=14, token_dim=16, feature_heads=2, output_stride=16,
                        token_labels=True, fine_label_width=8, fine_label_stem=4,
                        dense_label_width=6, dense_label_indices=(13, 4))


def trained(weights: Path, images: list[Path], out: Path) -> None:
    """Fixtures for the trained model in `weights`: 8-bit canvases of `images` (input-<i>.png) and
    every output of the batch."""
    import numpy as np
    from PIL import Image
    from safetensors.torch import load_file

    config = ApmConfiguration.load(weights / "config.json")
    model = AnatomyPerceptionModule(config).eval()
    model.load_state_dict({k: v.float() for k, v in load_file(str(weights / "apm.safetensors")).items()})
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("input*.png"):
        stale.unlink()
    batch = []
    for i, path in enumerate(images):
        canvas = Image.open(path).convert("L").resize((config.image_size, config.image_size), Image.BOX)
        canvas.save(out / f"input-{i}.png")
        batch.append(torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 255.0)[None])
    with torch.inference_mode():
        result = model(torch.stack(batch))
    save_file({k: v.contiguous() for k, v in result.items()}, str(out / "outputs.safetensors"))
    print(f"wrote {out}: trained-model outputs for {[p.name for p in images]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="Tests/Fixtures/apm")
    parser.add_argument("--weights", type=Path, help="export fixtures of this trained model folder instead")
    parser.add_argument("--images", type=Path, nargs="+",
                        default=[Path("Samples/images/s02026-000001.png"), Path("Samples/images/s02026-000007-flip.png")])
    args = parser.parse_args()
    if args.weights:
        trained(args.weights, args.images, Path(args.out))
        return
    random_model(TINY, Path(args.out))
    random_model(dataclasses.replace(TINY, fine_label_backbone=True), Path(args.out + "-fine-backbone"))


def random_model(config: ApmConfiguration, directory: Path) -> None:
    torch.manual_seed(7)
    model = AnatomyPerceptionModule(config).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (FrozenBatchNorm2d, torch.nn.BatchNorm2d)):   # the latter: DenseLabelHead's (trainable)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 2.0)
        model.cls_token.normal_(0, 0.5)
        model.token_label_head.weight.normal_(0, 0.3)     # zero-initialised for training: random here, so parity sees it
        model.token_label_head.bias.normal_(0, 0.3)
        model.fine_label_head.classifier.weight.normal_(0, 0.3)
        model.fine_label_head.classifier.bias.normal_(0, 0.3)
        # large enough that the peak position's value (not just the bias) moves the logits visibly
        model.dense_label_head.classifier.weight.normal_(0, 1.0)
        model.dense_label_head.scale.copy_(torch.linspace(4.0, -3.0, len(config.dense_label_indices)))
        model.dense_label_head.bias.normal_(0, 0.5)
    image = torch.rand(2, 1, config.image_size, config.image_size)
    with torch.inference_mode():
        out = model(image)
        if config.dense_label_width:      # its maximum hides most positions: parity checks every one
            out["dense_positions"] = model.dense_label_head.position_logits(image)
    directory.mkdir(parents=True, exist_ok=True)
    config.save(directory / "config.json")
    (directory / "anatomies.json").write_text((Path(__file__).resolve().parents[1] / "Schemas/anatomies.v1.json").read_text())
    save_file({k: v.contiguous() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")},
              str(directory / "apm.safetensors"))
    save_file({"image": image.contiguous(), **{k: v.contiguous() for k, v in out.items()}}, str(directory / "io.safetensors"))
    n = sum(v.numel() for v in model.state_dict().values())
    print(f"wrote {directory}: {n} weights, outputs {[tuple(v.shape) for v in out.values()]}")


if __name__ == "__main__":
    main()
