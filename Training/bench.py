"""`make bench`: Swift against PyTorch, measured in the same run, printed as ratio lines.

Runs with the system Python (standard library only). The PyTorch side runs when the training venv
(`make train-deps`) exists; otherwise its lines say so and only the Swift numbers are printed.

    python3 Training/bench.py [--swift .build/release/anatomix-bench] [--threads 1 2]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TORCH_PYTHON = ROOT / "Training/.venv/bin/python"

REGIONS = ["left lung", "right lung", "left lower lung zone", "right upper lung zone", "cardiac silhouette",
           "mediastinum", "left costophrenic angle", "right hemidiaphragm", "trachea", "spine", "aortic arch",
           "left hilar structures", "right apical zone", "carina", "svc", "cavoatrial junction"]
FINDINGS = ["pleural effusion", "atelectasis", "consolidation", "pneumothorax", "a nodule", "edema",
            "cardiomegaly", "an opacity", "a rib fracture", "pleural thickening", "a central venous line"]
REPORT = ["The heart size is normal.", "Lungs are clear without focal consolidation.",
          "There is no pleural effusion or pneumothorax.", "Degenerative changes of the thoracic spine.",
          "Interval placement of a right internal jugular central venous catheter with tip in the SVC.",
          "Mild bibasilar atelectasis, otherwise no acute cardiopulmonary process.",
          "Moderate cardiomegaly with pulmonary vascular congestion and small bilateral effusions."]


def sentences(n: int, seed: int = 7) -> list[str]:
    """Region sentences in the AnatomiX form mixed with report sentences (5-40 tokens)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = i % 4
        region = rng.choice(REGIONS)
        if kind == 0:
            out.append(f"{region.capitalize()} is healthy.")
        elif kind == 1:
            a, b = rng.sample(FINDINGS, 2)
            out.append(f"{region.capitalize()} shows {a} and {b}.")
        elif kind == 2:
            out.append(rng.choice(REPORT))
        else:
            out.append(" ".join(rng.sample(REPORT, rng.randint(2, 4))))
    return out


def run_json(cmd: list[str], env: dict[str, str]) -> dict | None:
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    if result.returncode != 0:
        print(f"  ! {' '.join(cmd[:2])} failed: {result.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swift", default=str(ROOT / ".build/release/anatomix-bench"))
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sentences", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--apm-repeats", type=int, default=50, help="APM forwards per side (~10 ms each)")
    parser.add_argument("--only", choices=["minilm", "apm"], help="run one benchmark")
    args = parser.parse_args()
    if args.only == "apm":
        bench_apm(args, torch_available())
        return

    bench_dir = ROOT / ".cache/bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    corpus = bench_dir / f"sentences-{args.sentences}.txt"
    corpus.write_text("\n".join(sentences(args.sentences)) + "\n")
    has_torch = torch_available()

    print(f"MiniLM sentence embedding: {args.sentences} sentences, batch {args.batch_size}, best of {args.repeats} runs")
    for threads in args.threads:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
        common = [str(corpus), str(threads), str(args.batch_size), str(args.repeats)]
        swift = run_json([args.swift, "minilm", *common], env)
        torch = run_json([str(TORCH_PYTHON), "Training/bench_minilm.py", *common], env) if has_torch else None
        line = f"bench minilm threads={threads}"
        line += f"  swift {swift['per_second']:7.1f} sent/s" if swift else "  swift failed"
        line += f"  pytorch {torch['per_second']:7.1f} sent/s" if torch else "  pytorch n/a (run `make train-deps`)"
        if swift and torch:
            line += f"  ratio {swift['per_second'] / torch['per_second']:.2f}x (target >= 1.5)"
        print(line, flush=True)
    if args.only != "minilm":
        bench_apm(args, has_torch)


def torch_available() -> bool:
    return TORCH_PYTHON.exists() and subprocess.run(
        [str(TORCH_PYTHON), "-c", "import torch, sentence_transformers"], capture_output=True).returncode == 0


def bench_apm(args, has_torch: bool) -> None:
    """APM forward latency, Swift vs PyTorch, same weights and input: the trained default model
    when it exists, else a random-weight model of the same (tiny) configuration (speed does not
    depend on the weights)."""
    weights = ROOT / "Weights/anatomix-tiny"
    if not (weights / "apm.safetensors").exists():
        if not has_torch:
            print("bench apm: no Weights/anatomix-tiny and no PyTorch to make a random one (run `make train-deps`)")
            return
        weights = ROOT / ".cache/bench/apm-tiny-random"
        subprocess.run([str(TORCH_PYTHON), "Training/bench_apm.py", "--make-random", str(weights)], check=True, cwd=ROOT)
    print(f"APM forward, one image, best of {args.apm_repeats} ({weights.relative_to(ROOT)})")
    for threads in args.threads:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
        swift = run_json([args.swift, "apm", str(weights), str(threads), str(args.apm_repeats)], env)
        torch = run_json([str(TORCH_PYTHON), "Training/bench_apm.py", str(weights), str(threads), str(args.apm_repeats)], env) \
            if has_torch else None
        line = f"bench apm threads={threads}"
        line += f"  swift {swift['best_seconds'] * 1000:7.1f} ms" if swift else "  swift failed"
        if torch:
            gflop = torch["flops"] / 1e9
            line += f"  pytorch {torch['best_seconds'] * 1000:7.1f} ms  ratio {swift['best_seconds'] / torch['best_seconds']:.2f}x (target <= 0.7)"
            line += f"  {gflop / swift['best_seconds']:.1f} vs {gflop / torch['best_seconds']:.1f} GFLOP/s ({gflop:.2f} GFLOP)"
        if swift:
            line += f"  [swift backbone {swift['backbone_seconds'] * 1000:.1f} ms, transformer {swift['transformer_seconds'] * 1000:.1f} ms]"
        print(line, flush=True)


if __name__ == "__main__":
    main()
