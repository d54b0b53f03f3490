"""PyTorch side of `make bench` for the APM: forward latency on one image at the model's size.

    Training/.venv/bin/python Training/bench_apm.py MODEL_DIR THREADS [REPEATS]
    Training/.venv/bin/python Training/bench_apm.py --make-random DIR [tiny]   # a random-weight folder to time
Prints one JSON line like `anatomix-bench apm` (plus the forward's FLOPs).
"""
import json
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from anatomix.apm import AnatomyPerceptionModule, ApmConfiguration  # noqa: E402
from train_apm import CONFIGS  # noqa: E402


def image(size: int) -> torch.Tensor:
    """The same fixed pattern anatomix-bench feeds: ((i * 7919) % 1000) / 1000."""
    i = torch.arange(size * size, dtype=torch.int64)
    return (((i * 7919) % 1000).float() / 1000).reshape(1, 1, size, size)


def main() -> None:
    if sys.argv[1] == "--make-random":
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
    config = ApmConfiguration.load(directory / "config.json")
    model = AnatomyPerceptionModule(config).eval()
    model.load_state_dict(load_file(str(directory / "apm.safetensors")))
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
                      "best_seconds": min(times), "flops": counter.get_total_flops()}))


if __name__ == "__main__":
    main()
