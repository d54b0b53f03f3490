"""Export Llama parity fixtures for the Swift tests (Tests/Fixtures/llama/): random-weight
`LlamaForCausalLM` checkpoints written by `transformers` itself (config.json + model.safetensors, as
any Llama-family checkpoint on the hub), their logits on a prompt and their greedy continuation.

- gqa-untied: 4 query heads over 2 key/value heads, its own lm_head, llama3 rope scaling, fp32.
- tied: tied embeddings, attention and MLP biases, rope theta 500000, stored in bf16.

    Training/.venv/bin/python Training/export_llama_fixtures.py [--out Tests/Fixtures/llama]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

VARIANTS = {
    "gqa-untied": dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                       num_key_value_heads=2, head_dim=16, max_position_embeddings=128, rms_norm_eps=1e-5,
                       rope_theta=10000.0, tie_word_embeddings=False,
                       rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                     "original_max_position_embeddings": 32}),
    "tied": dict(vocab_size=256, hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=3,
                 num_key_value_heads=3, max_position_embeddings=128, rms_norm_eps=1e-6, rope_theta=500000.0,
                 tie_word_embeddings=True, attention_bias=True, mlp_bias=True),
}


def export(name: str, sizes: dict, out: Path, dtype: torch.dtype) -> None:
    torch.manual_seed(len(name))
    config = LlamaConfig(**sizes, bos_token_id=1, eos_token_id=2, pad_token_id=0)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():        # larger than the init's 0.02 so layers matter
            parameter.normal_(0, 0.15) if parameter.dim() > 1 else parameter.uniform_(0.5, 1.5)
        for name_, parameter in model.named_parameters():
            if name_.endswith(".bias"):
                parameter.normal_(0, 0.1)
    directory = out / name
    model.to(dtype).save_pretrained(directory, safe_serialization=True)
    (directory / "generation_config.json").unlink(missing_ok=True)
    # the reference runs exactly the stored values, in fp32 (a model cast back from bf16 would keep
    # its RoPE frequencies rounded to bf16)
    model = LlamaForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()
    prompt = torch.tensor([[1, 17, 200, 33, 5, 250, 99, 42, 7, 128, 64, 3]])
    with torch.inference_mode():
        logits = model(prompt).logits[0]
        greedy = model.generate(prompt, max_new_tokens=12, do_sample=False, eos_token_id=None, pad_token_id=0)[0, prompt.shape[1]:]
    save_file({"prompt": prompt[0].to(torch.float32), "logits": logits.contiguous(), "greedy": greedy.to(torch.float32)},
              str(directory / "io.safetensors"))
    print(f"wrote {directory}: {sum(p.numel() for p in model.parameters())} parameters ({dtype}), greedy {greedy.tolist()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("Tests/Fixtures/llama"))
    args = parser.parse_args()
    export("gqa-untied", VARIANTS["gqa-untied"], args.out, torch.float32)
    export("tied", VARIANTS["tied"], args.out, torch.bfloat16)
    print(json.dumps({k: json.loads((args.out / k / "config.json").read_text()).get("rope_parameters") for k in VARIANTS}))


if __name__ == "__main__":
    main()
