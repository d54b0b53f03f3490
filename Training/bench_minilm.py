"""PyTorch side of `make bench`: sentence-transformers all-MiniLM-L6-v2 throughput.

    Training/.venv/bin/python Training/bench_minilm.py SENTENCES_FILE THREADS [BATCH_SIZE] [REPEATS]
Prints one JSON line like anatomix-bench does.
"""
import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer


def main() -> None:
    path, threads = sys.argv[1], int(sys.argv[2])
    batch_size = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    model_dir = sys.argv[5] if len(sys.argv) > 5 else ".cache/minilm"
    torch.set_num_threads(threads)
    sentences = open(path, encoding="utf-8").read().splitlines()
    model = SentenceTransformer(model_dir, device="cpu")
    with torch.inference_mode():
        model.encode(sentences[:64], batch_size=batch_size)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model.encode(sentences, batch_size=batch_size)
            times.append(time.perf_counter() - start)
    best, median = min(times), sorted(times)[len(times) // 2]
    print(json.dumps({"bench": "minilm", "impl": "pytorch", "threads": threads, "sentences": len(sentences),
                      "batch_size": batch_size, "best_seconds": best, "median_seconds": median,
                      "per_second": len(sentences) / best,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
