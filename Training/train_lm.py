"""`make train-lm`: the AnatomiX language model on the frozen APM's outputs, all seven tasks.

    Training/.venv/bin/python Training/train_lm.py --data data/train --val data/val --apm Weights/anatomix-tiny \\
        [--studies 4000] [--minutes 60 | --steps N] [--resume] [--export Weights/anatomix-tiny] [--ablation]

1. The APM's outputs on every study (and a mirrored copy of `--flip-fraction` of them) are computed
   once and cached in --run (anatomix/lm_data.py).
2. A byte-level BPE (anatomix/tokenizer.py) is trained on the compacted task texts and the IU reports.
3. Stage "projectors" (--projector-steps): only the two projectors learn, the LM is frozen; then
   stage "all": everything, with a cosine schedule over the rest of the budget. Each step packs
   several tasks of one study behind its shared prompt: a task's tokens see the study prefix and
   themselves, never another task (a block mask and per-task positions), so one prefix pass
   serves k questions. Loss on answer tokens only.
4. Per-task validation loss and answer-token accuracy after every epoch; last.pt resumes.
5. Export: lm/ (config.json + model.safetensors in LlamaForCausalLM names, tokenizer.json),
   projectors.safetensors, and model.json's "language" record.
--ablation trains the "global features only" model: no anatomy entries, no anatomical tokens
(image tokens only), same budget. --steps N makes the budget N optimizer steps instead of minutes (the
cosine follows step / N), so a comparison does not depend on how busy the machine was.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from transformers import LlamaConfig

from anatomix import prompt as P
from anatomix import tokenizer as T
from anatomix.language import AnatomixLanguageModel
from anatomix.lm_data import TASKS, cache_key, digest, precompute

SIZES = dict(hidden_size=256, intermediate_size=640, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
             head_dim=64, max_position_embeddings=512, rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True)


def encode_study(tokenizer, row: dict, ablation: bool, side: float) -> tuple[list[int], list[tuple[str, list[int], list[int]]]]:
    """The shared prefix ids and, per task, (task, question ids, answer ids + <|end|>)."""
    findings = row["findings"] if not ablation else [[] for _ in row["findings"]]
    if ablation:
        prefix = f"<|user|><image_start>{'<image>' * P.IMAGE_TOKENS}<image_end>\n"
    else:
        prefix = P.study_text(row["boxes"].numpy(), findings, side)
    prefix_ids = tokenizer.encode(prefix).ids
    blocks = [(t["task"], tokenizer.encode(P.question_text(t["instruction"])).ids, tokenizer.encode(t["answer"] + P.ANSWER_END).ids)
              for t in row["tasks"]]
    return prefix_ids, blocks


def pack(examples: list[tuple[list[int], list[tuple]]], pad: int, max_length: int):
    """Sequences of a prefix and its task blocks -> ids, labels (-100 off answers), a 4-D boolean
    attention mask (prefix causal; a block sees the prefix and itself) and positions."""
    seqs = []
    for prefix, blocks in examples:
        ids, labels, owner, positions = list(prefix), [-100] * len(prefix), [0] * len(prefix), list(range(len(prefix)))
        for b, (_, question, answer) in enumerate(blocks, start=1):
            if len(ids) + len(question) + len(answer) > max_length:
                break
            ids += question + answer
            labels += [-100] * len(question) + answer
            owner += [b] * (len(question) + len(answer))
            positions += list(range(len(prefix), len(prefix) + len(question) + len(answer)))
        seqs.append((ids, labels, owner, positions))
    t = max(len(s[0]) for s in seqs)
    batch = len(seqs)
    ids = torch.full((batch, t), pad); labels = torch.full((batch, t), -100)
    positions = torch.zeros((batch, t), dtype=torch.long); mask = torch.zeros((batch, 1, t, t), dtype=torch.bool)
    for i, (s_ids, s_labels, s_owner, s_pos) in enumerate(seqs):
        n = len(s_ids)
        ids[i, :n] = torch.tensor(s_ids); labels[i, :n] = torch.tensor(s_labels); positions[i, :n] = torch.tensor(s_pos)
        o = torch.tensor(s_owner)
        causal = torch.ones(n, n, dtype=torch.bool).tril()
        mask[i, 0, :n, :n] = causal & ((o[None, :] == 0) | (o[None, :] == o[:, None]))
        mask[i, 0, n:, 0] = True                                        # padding rows attend somewhere (no NaN)
    return ids, labels, mask, positions


def sample_blocks(blocks: list[tuple], k: int, rng: random.Random) -> list[tuple]:
    """Up to k tasks of one study, as many different task kinds as there are."""
    by_task: dict[str, list[tuple]] = {}
    for b in blocks:
        by_task.setdefault(b[0], []).append(b)
    kinds = list(by_task); rng.shuffle(kinds)
    chosen = [rng.choice(by_task[kind]) for kind in kinds[:k]]
    while len(chosen) < k and len(chosen) < len(blocks):
        chosen.append(rng.choice(blocks))
    return chosen


def batch_tensors(rows: list[dict], ablation: bool):
    image = torch.stack([r["image"].float() for r in rows])
    tokens = None if ablation else torch.stack([r["tokens"].float() for r in rows])
    return image, tokens


def loss_of(model, ids, labels, mask, positions, image, tokens) -> tuple[torch.Tensor, torch.Tensor]:
    logits = model(ids, image, tokens, attention_mask=mask, position_ids=positions)
    shifted, target = logits[:, :-1], labels[:, 1:]
    loss = F.cross_entropy(shifted.reshape(-1, shifted.shape[-1]), target.reshape(-1), ignore_index=-100)
    return loss, (shifted.argmax(-1) == target) & (target != -100)


def validate(model, val_rows, encoded, pad, ablation, max_length) -> dict:
    """Teacher-forced loss and answer-token accuracy per task (every task of every validation study)."""
    model.eval()
    totals: dict[str, list[float]] = {t: [0.0, 0, 0] for t in TASKS}
    with torch.inference_mode():
        for row, (prefix, blocks) in zip(val_rows, encoded):
            for block in blocks:
                ids, labels, mask, positions = pack([(prefix, [block])], pad, max_length)
                image, tokens = batch_tensors([row], ablation)
                loss, right = loss_of(model, ids, labels, mask, positions, image, tokens)
                n = int((labels[:, 1:] != -100).sum())
                totals[block[0]][0] += float(loss) * n; totals[block[0]][1] += int(right.sum()); totals[block[0]][2] += n
    model.train()
    return {t: {"loss": round(v[0] / v[2], 4), "token_accuracy": round(v[1] / v[2], 4)} for t, v in totals.items() if v[2]}


def build_tokenizer(rows: list[dict], path: Path, vocab_size: int):
    from tokenizers import Tokenizer
    if path.exists():
        return Tokenizer.from_file(str(path))
    from cxrgen.reports import report_texts
    texts = [t["instruction"] + "\n" + t["answer"] for r in rows for t in r["tasks"]] + report_texts()
    texts += [", ".join(k) for r in rows for k in r["findings"] if k]
    tokenizer = T.train(texts, vocab_size)
    T.save(tokenizer, path)
    return tokenizer


def load_initial(model: AnatomixLanguageModel, folder: Path) -> None:
    """The language model and projectors of an exported model folder, into `model` (same sizes and vocabulary)."""
    from safetensors.torch import load_file
    weights = {f"llm.{k}": v.float() for k, v in load_file(str(folder / "lm" / "model.safetensors")).items()}
    weights |= {k: v.float() for k, v in load_file(str(folder / "projectors.safetensors")).items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    tied = {"llm.lm_head.weight"} if model.llm.config.tie_word_embeddings else set()
    if unexpected or set(missing) - tied:
        raise SystemExit(f"--init {folder} does not fit this model: missing {sorted(set(missing) - tied)}, unexpected {sorted(unexpected)}")
    print(f"initialised from {folder} ({len(weights)} tensors)", file=sys.stderr)


def card_version(folder: Path, part: str | None = None) -> str:
    """The `version` in folder/model.json (of its `part` entry, e.g. "language"), or "unknown"."""
    try:
        card = json.loads((folder / "model.json").read_text())
        return str((card[part] if part else card)["version"])
    except (OSError, KeyError, TypeError, ValueError):
        return "unknown"


def recipe(args) -> str:
    """How these weights were made, for model.json: the make target, or for a warm start the language model it
    started from and the settings that differ from train-lm's."""
    if not args.init:
        return "make train-lm" + (" (ablation)" if args.ablation else "")
    budget = f"{args.steps} steps" if args.steps else f"{args.minutes:g} min"
    return (f"train_lm.py --init {args.init} (language model {card_version(args.init, 'language')}), lr {args.lr:g}, "
            f"{args.projector_steps} projector-only steps, {budget}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--val", type=Path, required=True)
    p.add_argument("--apm", type=Path, default=Path("Weights/anatomix-tiny"))
    p.add_argument("--studies", type=int, default=4000, help="training studies used (the first N of --data)")
    p.add_argument("--val-studies", type=int, default=120)
    p.add_argument("--flip-fraction", type=float, default=0.3, help="mirrored copies of this fraction of the studies")
    p.add_argument("--vocab-size", type=int, default=2048)
    p.add_argument("--minutes", type=float, default=60, help="training budget (both stages), wall clock")
    p.add_argument("--steps", type=int, default=0, help="training budget in optimizer steps instead of minutes")
    p.add_argument("--projector-steps", type=int, default=300)
    p.add_argument("--batch-size", type=int, default=8, help="studies per step")
    p.add_argument("--tasks-per-study", type=int, default=4)
    p.add_argument("--lr", type=float, default=1.5e-3)
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--run", type=Path, default=Path("Training/runs/lm"))
    p.add_argument("--resume", action="store_true")
    p.add_argument("--ablation", action="store_true", help="global features only: no anatomy entries or tokens")
    p.add_argument("--anatomy-targets", choices=["apm", "truth"], default="apm",
                   help="anatomy-grounding answers: the box stage one put in the prompt (apm) or the true box")
    p.add_argument("--init", type=Path, default=None,
                   help="start from this model folder's language model (lm/, projectors.safetensors) and its tokenizer "
                        "instead of random weights and a new BPE (fine-tuning on a changed APM's outputs)")
    p.add_argument("--export", type=Path, default=None)
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (smoke runs)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = random.Random(0)
    apm_config = json.loads((args.apm / "config.json").read_text())
    side, image_dim, token_dim = float(apm_config["image_size"]), apm_config["d_model"], apm_config["token_dim"]
    cache = args.run.parent / "lm-cache"
    key = cache_key(args.apm, args.anatomy_targets)   # a new APM, bank or target rule never reuses stale outputs
    train_rows = precompute(args.data, args.apm, cache / f"train-{args.studies}-{args.flip_fraction}-{key}-{digest(args.data)}.pt",
                            args.studies, args.flip_fraction, anatomy_targets=args.anatomy_targets)
    val_rows = precompute(args.val, args.apm, cache / f"val-{args.val_studies}-{key}-{digest(args.val)}.pt", args.val_studies, 0.0,
                          anatomy_targets=args.anatomy_targets)
    tokenizer_path = args.init / "lm" / "tokenizer.json" if args.init else cache / f"tokenizer-{args.vocab_size}.json"
    if args.init and not tokenizer_path.exists():
        raise SystemExit(f"--init {args.init}: {tokenizer_path} is missing; the weights need the tokenizer they were trained with")
    tokenizer = build_tokenizer(train_rows, tokenizer_path, args.vocab_size)
    pad = tokenizer.token_to_id("<pad>")
    encoded = [encode_study(tokenizer, r, args.ablation, side) for r in train_rows]
    val_encoded = [encode_study(tokenizer, r, args.ablation, side) for r in val_rows]
    lengths = sorted(len(e[0]) for e in encoded)
    print(f"{len(train_rows)} training rows, prefix tokens median {lengths[len(lengths) // 2]}, max {lengths[-1]}; "
          f"vocabulary {tokenizer.get_vocab_size()}", file=sys.stderr)

    config = LlamaConfig(vocab_size=tokenizer.get_vocab_size(), bos_token_id=tokenizer.token_to_id("<s>"),
                         eos_token_id=tokenizer.token_to_id("<|end|>"), pad_token_id=pad, **SIZES)
    config._attn_implementation = "sdpa"
    model = AnatomixLanguageModel(config, image_dim, token_dim, tokenizer.token_to_id("<image>"),
                                  [tokenizer.token_to_id(f"<obj_{i}>") for i in range(T.ANATOMIES)])
    if args.init:
        load_initial(model, args.init)
    projector_params = list(model.image_projector.parameters()) + list(model.object_projector.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.98))
    args.run.mkdir(parents=True, exist_ok=True)
    checkpoint, step, elapsed, epoch, history = args.run / "last.pt", 0, 0.0, 0, []
    if args.resume and checkpoint.exists():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"]); optimizer.load_state_dict(state["optimizer"])
        step, elapsed, epoch, history = state["step"], state["elapsed"], state["epoch"], state["history"]
        print(f"resumed at step {step} ({elapsed / 60:.1f} min done)", file=sys.stderr)
    budget = args.minutes * 60
    order = list(range(len(train_rows)))
    steps_per_epoch = len(order) // args.batch_size

    def learning_rate() -> float:
        if step < args.projector_steps:
            return args.lr
        warm = min(1.0, (step - args.projector_steps + 1) / 100)
        progress = step / args.steps if args.steps else elapsed / budget
        return args.lr * warm * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))

    done = False
    while not done:
        rng.seed(epoch); rng.shuffle(order)
        started, seen = time.time(), 0
        for b in range(steps_per_epoch):
            if (step >= args.steps if args.steps else elapsed >= budget) or (args.max_steps and step >= args.max_steps):
                done = True                   # a resumed run whose budget is spent trains nothing more
                break
            frozen = step < args.projector_steps
            for parameter in model.llm.parameters():
                parameter.requires_grad_(not frozen)
            batch = [order[i] for i in range(b * args.batch_size, (b + 1) * args.batch_size)]
            examples = [(encoded[i][0], sample_blocks(encoded[i][1], args.tasks_per_study, rng)) for i in batch]
            ids, labels, mask, positions = pack(examples, pad, args.max_length)
            image, tokens = batch_tensors([train_rows[i] for i in batch], args.ablation)
            t0 = time.time()
            loss, _ = loss_of(model, ids, labels, mask, positions, image, tokens)
            for group in optimizer.param_groups:
                group["lr"] = learning_rate()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters() if not frozen else projector_params, 1.0)
            optimizer.step()
            step += 1; seen += ids.numel(); elapsed += time.time() - t0
            if step % 10 == 0:
                stage = "projectors" if frozen else "all"
                sys.stderr.write(f"\rstep {step} epoch {epoch} {b + 1}/{steps_per_epoch} [{stage}] loss {loss.item():.3f} "
                                 f"lr {learning_rate():.2e} {seen / (time.time() - started):.0f} tok/s " +
                                 (f"{step}/{args.steps} steps " if args.steps else f"{elapsed / 60:.1f}/{args.minutes:.0f} min "))
            spent = step >= args.steps if args.steps else elapsed >= budget
            if spent or (args.max_steps and step >= args.max_steps):
                done = True
                break
            if step % 200 == 0:
                torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "elapsed": elapsed,
                            "epoch": epoch, "history": history}, checkpoint)
        if seen == 0:                         # nothing trained this epoch (a resumed, finished run)
            break
        metrics = validate(model, val_rows, val_encoded, pad, args.ablation, args.max_length)
        history.append({"epoch": epoch, "step": step, "minutes": round(elapsed / 60, 2), "val": metrics})
        print(f"\nepoch {epoch} (step {step}, {elapsed / 60:.1f} min): " +
              ", ".join(f"{t} {m['loss']:.3f}/{m['token_accuracy']:.3f}" for t, m in metrics.items()), file=sys.stderr)
        epoch += 1
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step, "elapsed": elapsed,
                    "epoch": epoch, "history": history}, checkpoint)
    if args.export:
        from anatomix.language_export import export_language
        export_language(args.export, model, tokenizer, tokenizer_path,
                        {"recipe": recipe(args), "apm": card_version(args.apm), "studies": len(train_rows),
                         "steps": step, "minutes": round(elapsed / 60, 1), "ablation": args.ablation, "sizes": SIZES,
                         "history": history[-1:]})


if __name__ == "__main__":
    main()
