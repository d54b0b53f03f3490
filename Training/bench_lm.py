"""The PyTorch and llama.cpp sides of `make bench`'s language-model lines (run in the training venv).

    Training/.venv/bin/python Training/bench_lm.py torch LLAMA_DIR THREADS PROMPT NEW
    Training/.venv/bin/python Training/bench_lm.py llamacpp LLAMA_DIR THREADS PROMPT NEW
    Training/.venv/bin/python Training/bench_lm.py make-random DIR          # SmolLM2-135M's shapes, random weights

Each prints one JSON line like `anatomix-bench lm`: the same prompt (ids (i * 7919 + 13) % vocab),
greedy decoding of NEW tokens with the KV cache, best of 3 after a warm-up. PyTorch runs eager
`LlamaForCausalLM` with its DynamicCache; llama.cpp (llama-cpp-python built from source, `make
bench-deps`) runs the same weights written to an F32 GGUF here (gguf's writer, llama.cpp's tensor
names and its q/k row order) and is checked against PyTorch's logits before it is timed.
"""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

SMOLLM2_135M = dict(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                    num_key_value_heads=3, head_dim=64, max_position_embeddings=2048, rms_norm_eps=1e-5, rope_theta=100000.0,
                    tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)


def prompt_ids(vocab: int, n: int) -> list[int]:
    return [(i * 7919 + 13) % vocab for i in range(n)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_torch(directory: Path):
    from transformers import LlamaForCausalLM
    model = LlamaForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
    return model


def bench_torch(directory: Path, threads: int, n_prompt: int, n_new: int) -> dict:
    torch.set_num_threads(threads)
    model = load_torch(directory)
    ids = torch.tensor([prompt_ids(model.config.vocab_size, n_prompt)])
    prefill, decode = [], []
    with torch.inference_mode():
        for _ in range(4):
            start = time.perf_counter()
            out = model(ids, use_cache=True)
            past, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
            middle = time.perf_counter()
            for _ in range(n_new - 1):
                out = model(token, past_key_values=past, use_cache=True)
                past, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
            prefill.append(middle - start); decode.append(time.perf_counter() - middle)
    p, d = min(prefill[1:]), min(decode[1:])
    return {"bench": "lm", "impl": "torch", "threads": threads, "prompt_tokens": n_prompt, "new_tokens": n_new,
            "prefill_seconds": p, "decode_seconds": d, "prefill_tokens_per_second": n_prompt / p,
            "decode_tokens_per_second": (n_new - 1) / d, "peak_rss_mb": peak_rss_mb()}


def permute(weights: np.ndarray, heads: int) -> np.ndarray:
    """HF's rotate-half q/k rows -> llama.cpp's interleaved pairs (as convert_hf_to_gguf.py does)."""
    return weights.reshape(heads, 2, weights.shape[0] // heads // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def write_gguf(directory: Path, out: Path) -> None:
    import gguf
    from safetensors.numpy import load_file
    config = json.loads((directory / "config.json").read_text())
    theta = config.get("rope_theta") or config.get("rope_parameters", {}).get("rope_theta", 10000.0)
    heads, kv = config["num_attention_heads"], config.get("num_key_value_heads", config["num_attention_heads"])
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    tensors = {k: v.astype(np.float32) for k, v in load_file(str(directory / "model.safetensors")).items()}
    w = gguf.GGUFWriter(str(out), "llama")
    w.add_context_length(config["max_position_embeddings"]); w.add_embedding_length(config["hidden_size"])
    w.add_block_count(config["num_hidden_layers"]); w.add_feed_forward_length(config["intermediate_size"])
    w.add_head_count(heads); w.add_head_count_kv(kv); w.add_rope_dimension_count(head_dim); w.add_key_length(head_dim)
    w.add_value_length(head_dim); w.add_layer_norm_rms_eps(config["rms_norm_eps"]); w.add_rope_freq_base(theta)
    w.add_file_type(gguf.LlamaFileType.ALL_F32); w.add_vocab_size(config["vocab_size"])
    w.add_tokenizer_model("gpt2"); w.add_tokenizer_pre("default")                  # ids are fed directly: a stand-in vocabulary
    vocab = ["a", "b", "ab"] + [f"<t{i}>" for i in range(3, config["vocab_size"])]       # one merge: llama.cpp wants some
    w.add_token_list(vocab); w.add_token_types([1] * config["vocab_size"])
    w.add_token_merges(["a b"]); w.add_bos_token_id(config.get("bos_token_id") or 0); w.add_eos_token_id(1)
    names = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight"}
    parts = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate",
             "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
    for name, value in tensors.items():
        if name == "lm_head.weight" and config.get("tie_word_embeddings"):
            continue
        if name in names:
            w.add_tensor(names[name], value)
            continue
        _, _, layer, *rest = name.split(".")
        key = ".".join(rest[:-1])
        if key == "self_attn.q_proj":
            value = permute(value, heads)
        elif key == "self_attn.k_proj":
            value = permute(value, kv)
        w.add_tensor(f"blk.{layer}.{parts[key]}.weight", value)
    w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()


def bench_llamacpp(directory: Path, threads: int, n_prompt: int, n_new: int) -> dict:
    import llama_cpp
    from llama_cpp import Llama
    cache = Path(__file__).resolve().parents[1] / ".cache/bench"            # never next to the weights
    cache.mkdir(parents=True, exist_ok=True)
    gguf_path = cache / f"{directory.resolve().parent.name}-{directory.name}-f32.gguf"
    if not gguf_path.exists() or gguf_path.stat().st_mtime < (directory / "model.safetensors").stat().st_mtime:
        write_gguf(directory, gguf_path)
    llm = Llama(model_path=str(gguf_path), n_ctx=n_prompt + n_new + 8, n_threads=threads, n_threads_batch=threads,
                n_batch=max(n_prompt, 8), logits_all=False, verbose=False)
    ids, vocab = prompt_ids(llm.n_vocab(), n_prompt), llm.n_vocab()

    def last_logits() -> np.ndarray:                              # the last evaluated position's logits, no copy of the rest
        return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(vocab,))

    with torch.inference_mode():                                  # conversion check: logits after the prompt
        reference = load_torch(directory)(torch.tensor([ids])).logits[0, -1].numpy()
    prefill, decode, delta = [], [], None
    for _ in range(4):
        llm.reset()
        start = time.perf_counter()
        llm.eval(ids)
        logits = last_logits()
        middle = time.perf_counter()
        if delta is None:
            delta = float(np.abs(logits - reference).max())
        for _ in range(n_new - 1):
            llm.eval([int(logits.argmax())])
            logits = last_logits()
        prefill.append(middle - start); decode.append(time.perf_counter() - middle)
    p, d = min(prefill[1:]), min(decode[1:])
    return {"bench": "lm", "impl": "llama.cpp", "threads": threads, "prompt_tokens": n_prompt, "new_tokens": n_new,
            "prefill_seconds": p, "decode_seconds": d, "prefill_tokens_per_second": n_prompt / p,
            "decode_tokens_per_second": (n_new - 1) / d, "peak_rss_mb": peak_rss_mb(), "logits_max_abs_diff_vs_torch": delta}


def make_random(directory: Path) -> None:
    from transformers import LlamaConfig, LlamaForCausalLM
    if (directory / "model.safetensors").exists():
        return
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(**SMOLLM2_135M))
    model.save_pretrained(directory, safe_serialization=True)
    (directory / "generation_config.json").unlink(missing_ok=True)


def main() -> None:
    kind = sys.argv[1]
    if kind == "make-random":
        make_random(Path(sys.argv[2]))
        return
    directory, threads, n_prompt, n_new = Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    result = bench_torch(directory, threads, n_prompt, n_new) if kind == "torch" else bench_llamacpp(directory, threads, n_prompt, n_new)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
