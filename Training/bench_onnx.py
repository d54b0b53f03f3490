"""ONNX Runtime side of `make bench`: the weights the Swift and PyTorch sides time, exported to ONNX.

    Training/.venv/bin/python Training/bench_onnx.py apm MODEL_DIR THREADS [REPEATS]
    Training/.venv/bin/python Training/bench_onnx.py minilm SENTENCES_FILE THREADS [BATCH_SIZE] [REPEATS] [MODEL_DIR]

apm: the APM of MODEL_DIR, loaded as bench_apm.py does (batch norm folded into the convolutions),
one image of the model's size (the same fixed pattern). minilm: all-MiniLM-L6-v2 from MODEL_DIR
(default .cache/minilm) as bench_minilm.py loads it, transformer + mean pooling + normalisation in
the graph; tokenisation (the same tokenizer), length-sorted batches and padding as
sentence-transformers' `encode` does, all inside the timed loop.

Graphs go to .cache/bench/onnx/ (re-exported when the weights or the model code are newer). Each run
first checks the ONNX outputs against PyTorch (APM boxes max |diff| < 1e-3, MiniLM embeddings min
cosine > 0.9999) and exits with status 3 otherwise. Sessions: intra_op_num_threads = THREADS,
inter_op 1, sequential execution, all graph optimisations. Prints one JSON line in the shape of the
PyTorch side's (impl "onnxruntime").
"""
from __future__ import annotations

import json
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F
from torch import nn

TRAINING = Path(__file__).resolve().parent
ROOT = TRAINING.parent
sys.path.insert(0, str(TRAINING))
from bench_apm import image, load_folded_model  # noqa: E402

ONNX_DIR = ROOT / ".cache/bench/onnx"
APM_BOX_TOLERANCE = 1e-3
MINILM_MIN_COSINE = 0.9999
OPSET = 18


def fail(message: str) -> None:
    print(f"bench_onnx: {message}", file=sys.stderr)
    raise SystemExit(3)


def stale(target: Path, sources: list[Path]) -> bool:
    """The ONNX file is missing or older than a weight file or the code that defines the graph."""
    if not target.exists():
        return True
    newest = max(p.stat().st_mtime for p in sources if p.exists())
    return target.stat().st_mtime < newest


def export(model: nn.Module, args: tuple, path: Path, input_names: list[str], output_names: list[str],
           dynamic_shapes: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            torch.onnx.export(model, args, str(partial), input_names=input_names, output_names=output_names,
                              dynamic_shapes=dynamic_shapes, opset_version=OPSET, dynamo=True,
                              external_data=False, verbose=False)
        finally:
            logging.disable(logging.NOTSET)
    partial.replace(path)


def session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def model_code() -> list[Path]:
    return [TRAINING / "anatomix/apm.py", TRAINING / "anatomix/apm_transformer.py", TRAINING / "bench_apm.py",
            Path(__file__).resolve()]


# --- APM ------------------------------------------------------------------------------------------

class ApmOutputs(nn.Module):
    """The APM's dict output as a tuple (boxes, logits, tokens, memory) for export."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.model(x)
        return out["boxes"], out["logits"], out["tokens"], out["memory"]


APM_OUTPUTS = ["boxes", "logits", "tokens", "memory"]


def bench_apm(directory: Path, threads: int, repeats: int) -> dict:
    torch.set_num_threads(threads)
    config, model = load_folded_model(directory)          # checked against the unfolded model there
    x = image(config.image_size)
    path = ONNX_DIR / f"apm-{directory.resolve().name}.onnx"
    if stale(path, [directory / "apm.safetensors", directory / "config.json", *model_code()]):
        with torch.inference_mode():
            export(ApmOutputs(model), (x,), path, ["image"], APM_OUTPUTS)
    with torch.inference_mode():
        expected = ApmOutputs(model)(x)
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        model(x)

    sess = session(path, threads)
    feed = {"image": x.numpy()}
    got = sess.run(APM_OUTPUTS, feed)
    diffs = {name: float(np.abs(g - e.numpy()).max()) for name, g, e in zip(APM_OUTPUTS, got, expected)}
    if not diffs["boxes"] < APM_BOX_TOLERANCE:
        fail(f"apm ONNX outputs differ from PyTorch: max |diff| {diffs} (boxes must be < {APM_BOX_TOLERANCE})")
    sess.run(APM_OUTPUTS[:1], feed)                        # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        sess.run(APM_OUTPUTS, feed)
        times.append(time.perf_counter() - start)
    return {"bench": "apm", "impl": "onnxruntime", "threads": threads, "image_size": config.image_size,
            "best_seconds": min(times), "flops": counter.get_total_flops(),
            "max_abs_diff_boxes": diffs["boxes"], "max_abs_diff_tokens": diffs["tokens"],
            "onnxruntime": ort.__version__}


# --- MiniLM ---------------------------------------------------------------------------------------

class PooledMiniLM(nn.Module):
    """sentence-transformers' Transformer -> mean Pooling -> Normalize, as one graph."""

    def __init__(self, bert: nn.Module) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor) -> torch.Tensor:
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, p=2, dim=1)


MINILM_INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


class OnnxSentenceEncoder:
    """`SentenceTransformer.encode` for this model on an ONNX Runtime session: length-sorted batches,
    padded to the longest of each batch, embeddings back in input order."""

    def __init__(self, sess: ort.InferenceSession, tokenizer, max_length: int) -> None:
        self.sess, self.tokenizer, self.max_length = sess, tokenizer, max_length

    def encode(self, sentences: list[str], batch_size: int) -> np.ndarray:
        order = np.argsort([-len(s) for s in sentences], kind="stable")
        out: list[np.ndarray] = []
        for start in range(0, len(sentences), batch_size):
            batch = [sentences[i] for i in order[start:start + batch_size]]
            tokens = self.tokenizer(batch, padding=True, truncation="longest_first", max_length=self.max_length,
                                    return_tensors="np")
            feed = {name: tokens[name].astype(np.int64) for name in MINILM_INPUTS}
            out.append(self.sess.run(None, feed)[0])
        embeddings = np.concatenate(out)
        result = np.empty_like(embeddings)
        result[order] = embeddings
        return result


def bench_minilm(sentence_file: str, threads: int, batch_size: int, repeats: int, model_dir: str) -> dict:
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    sentences = open(sentence_file, encoding="utf-8").read().splitlines()
    model = SentenceTransformer(model_dir, device="cpu")
    transformer = model[0]
    bert = transformer.auto_model.eval()
    path = ONNX_DIR / f"minilm-{Path(model_dir).resolve().name}.onnx"
    weights = [Path(model_dir) / name for name in ("model.safetensors", "config.json", "modules.json")]
    if stale(path, [*weights, Path(__file__).resolve()]):
        sample = transformer.tokenizer(["The heart size is normal.", "There is no pleural effusion or pneumothorax."],
                                       padding=True, return_tensors="pt")
        batch, seq = torch.export.Dim("batch", min=1, max=1024), torch.export.Dim("sequence", min=1, max=transformer.max_seq_length)
        shapes = {name: {0: batch, 1: seq} for name in MINILM_INPUTS}
        with torch.inference_mode():
            export(PooledMiniLM(bert), tuple(sample[name] for name in MINILM_INPUTS), path, MINILM_INPUTS,
                   ["sentence_embedding"], shapes)

    encoder = OnnxSentenceEncoder(session(path, threads), transformer.tokenizer, transformer.max_seq_length)
    with torch.inference_mode():
        expected = model.encode(sentences, batch_size=batch_size, convert_to_numpy=True)
    got = encoder.encode(sentences, batch_size)
    cosine = (got * expected).sum(1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(expected, axis=1))
    if not cosine.min() > MINILM_MIN_COSINE:
        fail(f"minilm ONNX embeddings differ from sentence-transformers: min cosine {cosine.min():.7f} "
             f"(sentence {int(cosine.argmin())}), must be > {MINILM_MIN_COSINE}")
    encoder.encode(sentences[:64], batch_size)             # warm-up (as bench_minilm.py)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        encoder.encode(sentences, batch_size)
        times.append(time.perf_counter() - start)
    best, median = min(times), sorted(times)[len(times) // 2]
    return {"bench": "minilm", "impl": "onnxruntime", "threads": threads, "sentences": len(sentences),
            "batch_size": batch_size, "best_seconds": best, "median_seconds": median,
            "per_second": len(sentences) / best, "min_cosine": float(cosine.min()),
            "max_abs_diff": float(np.abs(got - expected).max()), "onnxruntime": ort.__version__}


def main() -> None:
    usage = __doc__.split("\n\n")[1]
    if len(sys.argv) < 4 or sys.argv[1] not in ("apm", "minilm"):
        raise SystemExit(f"usage:\n{usage}")
    threads = int(sys.argv[3])
    if sys.argv[1] == "apm":
        result = bench_apm(Path(sys.argv[2]), threads, int(sys.argv[4]) if len(sys.argv) > 4 else 5)
    else:
        result = bench_minilm(sys.argv[2], threads, int(sys.argv[4]) if len(sys.argv) > 4 else 32,
                              int(sys.argv[5]) if len(sys.argv) > 5 else 5,
                              sys.argv[6] if len(sys.argv) > 6 else str(ROOT / ".cache/minilm"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
