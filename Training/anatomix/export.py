"""Export a trained APM as a Swift-loadable model folder (Weights/<name>/):
config.json, apm.safetensors, text_head.safetensors, the sentence bank (every unique region
sentence per anatomy with the finding kinds it names and its 16-d vector, plus the retrieval
temperature and healthy threshold: bank.json + bank.safetensors), findings.json (the ontology),
and model.json (name,
version = export date + the first 12 hex digits of apm.safetensors' SHA-256, how it was trained)."""
from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from .apm import AnatomyPerceptionModule, ApmConfiguration, TextHead


def export_weights(directory: Path, config: ApmConfiguration, model: AnatomyPerceptionModule, text_head: TextHead,
                   sentences: list[str], embeddings: torch.Tensor, datasets: list[Path], training: dict | None = None,
                   temperature: float = 0.05, healthy_threshold: float = 0.5) -> None:
    """`sentences` with their frozen MiniLM `embeddings` [N, 384]; the bank holds the sentences of `datasets`."""
    directory.mkdir(parents=True, exist_ok=True)
    config.save(directory / "config.json")
    root = Path(__file__).resolve().parents[2]
    (directory / "anatomies.json").write_text((root / "Schemas/anatomies.v1.json").read_text())  # self-describing folder
    (directory / "findings.json").write_text((root / "Schemas/findings.v1.json").read_text())
    # fp16 on disk keeps the folder small; the Swift side and every reference run use these rounded values
    save_file({k: v.half().contiguous() for k, v in model.state_dict().items()}, str(directory / "apm.safetensors"))
    save_file({k: v.half().contiguous() for k, v in text_head.state_dict().items()}, str(directory / "text_head.safetensors"))
    from .retrieval import sentence_kinds
    kinds = sentence_kinds(datasets)
    per_anatomy: dict[str, list[str]] = {}
    for root in datasets:
        for line in (root / "manifest.jsonl").read_text().splitlines():
            for s in json.loads(line)["region_sentences"] if line else []:
                bucket = per_anatomy.setdefault(s["anatomy"], [])
                if s["sentence"] not in bucket:
                    bucket.append(s["sentence"])
    index = {s: i for i, s in enumerate(sentences)}
    with torch.inference_mode():
        vectors = torch.nn.functional.normalize(text_head(embeddings), dim=-1)
    entries, rows = [], []
    for anatomy, bucket in per_anatomy.items():
        for sentence in bucket:
            entries.append({"anatomy": anatomy, "sentence": sentence, "kinds": kinds[sentence]})
            rows.append(vectors[index[sentence]])
    bank = {"temperature": round(temperature, 6), "healthy_threshold": round(healthy_threshold, 6), "entries": entries}
    (directory / "bank.json").write_text(json.dumps(bank, indent=0) + "\n")
    save_file({"vectors": torch.stack(rows).contiguous()}, str(directory / "bank.safetensors"))
    digest = hashlib.sha256((directory / "apm.safetensors").read_bytes()).hexdigest()[:12]
    card = {"name": directory.name, "version": f"{datetime.date.today().isoformat()}.{digest}", "training": training or {}}
    (directory / "model.json").write_text(json.dumps(card, indent=1) + "\n")
    print(f"exported {directory} ({card['version']}): {len(entries)} bank sentences")
