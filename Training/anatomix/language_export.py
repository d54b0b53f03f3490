"""Export the AnatomiX language model next to the APM in a model folder:

    lm/config.json, lm/model.safetensors   the LlamaForCausalLM (its own names; fp16), loadable by
                                           transformers and by Swift's LlamaModel as any Llama checkpoint
    lm/tokenizer.json                      the byte-level BPE with the AnatomiX special tokens
    projectors.safetensors                 image_projector.*, object_projector.* (fp16)
    language.json                          the prompt settings both languages read
    model.json                             gains "language" (how it was trained, the lm/ digest)"""
from __future__ import annotations

import copy
import datetime
import hashlib
import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file

from . import prompt as P
from .tokenizer import LOCATION_BINS

# Shared/Language/AnatomySnap.swift: an answer's box for a named anatomy becomes stage one's box for it
# when they overlap at this IoU or more (chosen on data/val: 0.1 / 0.2 / 0.3 / 0.5 gave anatomy
# grounding IoU 0.872 / 0.866 / 0.858 / 0.837, against 0.724 unsnapped).
ANATOMY_SNAP_IOU = 0.2


def export_language(folder: Path, model, tokenizer, tokenizer_path: Path, training: dict) -> None:
    lm = folder / "lm"
    lm.mkdir(parents=True, exist_ok=True)
    llm = copy.deepcopy(model.llm).half()
    llm.save_pretrained(lm, safe_serialization=True)
    (lm / "generation_config.json").unlink(missing_ok=True)
    if Path(tokenizer_path).resolve() != (lm / "tokenizer.json").resolve():   # fine-tuning in place keeps its own
        shutil.copyfile(tokenizer_path, lm / "tokenizer.json")
    projectors = {k: v.half().contiguous() for k, v in model.state_dict().items() if k.split(".")[0].endswith("_projector")}
    save_file(projectors, str(folder / "projectors.safetensors"))
    settings = {"version": 1, "image_tokens": P.IMAGE_TOKENS, "image_pool": 4, "location_bins": LOCATION_BINS,
                "ablation": bool(training.get("ablation")), "max_new_tokens": 160}
    if not training.get("ablation"):    # the ablation's prompt has no anatomy entries, so its answers keep their boxes
        settings["anatomy_snap_iou"] = ANATOMY_SNAP_IOU
    (folder / "language.json").write_text(json.dumps(settings, indent=1) + "\n")
    digest = hashlib.sha256((lm / "model.safetensors").read_bytes() + (folder / "projectors.safetensors").read_bytes()).hexdigest()[:12]
    card_path = folder / "model.json"
    card = json.loads(card_path.read_text()) if card_path.exists() else {"name": folder.name, "training": {}}
    card["name"] = folder.name          # a folder made by copying another's files (the ablation) names itself
    card["language"] = {"version": f"{datetime.date.today().isoformat()}.{digest}", "training": training}
    card_path.write_text(json.dumps(card, indent=1) + "\n")
    print(f"exported the language model to {folder} ({card['language']['version']})")
