"""PyTorch side of `make bench` for the APM: forward latency on one image at the model's size.

    Training/.venv/bin/python Training/bench_apm.py MODEL_DIR THREADS [REPEATS]
    Training/.venv/bin/python Training/bench_apm.py --make-random DIR [tiny]   # a random-weight folder to time
Prints one JSON line like `anatomix-bench apm` (plus the forward's FLOPs). The model timed has its
batch norm folded into the convolutions, as the Swift side does (`fold_frozen_batch_norm`); its
outputs are checked against the unfolded model's first (max |diff| <= 1e-4).
"""
import copy
import json
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from anatomix.apm import AnatomyPerceptionModule, ApmConfiguration, fold_frozen_batch_norm  # noqa: E402

FOLD_TOLERANCE = 1e-4


def image(size: int) -> torch.Tensor:
    """The same fixed pattern anatomix-bench feeds: ((i * 7919) % 1000) / 1000."""
    i = torch.arange(size * size, dtype=torch.int64)
    return (((i * 7919) % 1000).float() / 1000).reshape(1, 1, size, size)


def load_model(directory: Path) -> tuple[ApmConfiguration, AnatomyPerceptionModule]:
    """The APM of a model folder (config.json + apm.safetensors) in eval mode, batch norm not folded."""
    config = ApmConfiguration.load(directory / "config.json")
    model = AnatomyPerceptionModule(config).eval()
    model.load_state_dict(load_file(str(directory / "apm.safetensors")))
    return config, model


def max_output_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> dict[str, float]:
    return {key: (a[key] - b[key]).abs().max().item() for key in a}


def load_folded_model(directory: Path) -> tuple[ApmConfiguration, AnatomyPerceptionModule]:
    """`load_model` with batch norm folded into the convs, checked against the unfolded model on the bench image."""
    config, model = load_model(directory)
    folded = fold_frozen_batch_norm(copy.deepcopy(model)).eval()
    x = image(config.image_size)
    with torch.inference_mode():
        diff = max_output_diff(model(x), folded(x))
    if max(diff.values()) > FOLD_TOLERANCE:
        raise SystemExit(f"bench_apm: folded batch norm changes the outputs (max |diff| {diff}, allowed {FOLD_TOLERANCE})")
    return config, folded


def main() -> None:
    if sys.argv[1] == "--make-random":
        from train_apm import CONFIGS

        out = Path(sys.argv[2])
        config = CONFIGS[sys.argv[3] if len(sys.argv) > 3 else "tiny"]
        torch.manual_seed(0)
        out.mkdir(parents=True, exist_ok=True)
        config.save(out / "config.json")
        save_file({k: v.contiguous() for k, v in AnatomyPerceptionModule(config).state_dict().items()}, str(out / "apm.safetensors"))
        return
    directory, threads = Path(sys.argv[1]), int(sys.argv[2])
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    torch.set_num_threads(threads)
    config, model = load_folded_model(directory)
    x = image(config.image_size)
    with FlopCounterMode(display=False) as counter:  # (fails under no_grad / inference_mode)
        model(x)
    with torch.inference_mode():
        model(x)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    print(json.dumps({"bench": "apm", "impl": "pytorch", "threads": threads, "image_size": config.image_size,
                      "best_seconds": min(times), "flops": counter.get_total_flops(), "batch_norm": "folded"}))


if __name__ == "__main__":
    main()
