"""Export MiniLM parity fixtures for the Swift tests (Tests/Fixtures/minilm/).

Runs the reference sentence-transformers pipeline (all-MiniLM-L6-v2: BERT, mean pooling,
L2 normalisation, max_seq_length 256) on a fixed list of sentences and writes
  parity.json          texts and the exact token ids of the HF fast tokenizer
  parity.safetensors   "embeddings": [N, 384] fp32
Needs the training venv (`make train-deps`); `make test` only reads the committed output.

    Training/.venv/bin/python Training/export_minilm_fixtures.py [--model .cache/minilm]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file
from sentence_transformers import SentenceTransformer

from anatomix.bert import BertModel, SentenceEncoder

LONG = " ".join(
    ["The cardiomediastinal silhouette is within normal limits and there is no focal consolidation,"
     " pleural effusion or pneumothorax; degenerative changes of the thoracic spine are noted."] * 12)

SENTENCES = [
    "No pleural effusion.",
    "The cardiac silhouette is enlarged.",
    "Left lower lung zone shows atelectasis and pleural effusion.",
    "Right upper lung zone is healthy.",
    "Heart size is normal. Lungs are clear. No pneumothorax.",
    "Endotracheal tube terminates 4.5 cm above the carina.",
    "Right-sided PICC line with tip in the SVC/cavoatrial junction.",
    "Interval increase in bibasilar opacities, likely atelectasis; pneumonia not excluded.",
    "Displaced fracture of the left 7th rib (posterolateral).",
    "IMPRESSION: 1. No acute cardiopulmonary process. 2. Stable 8 mm nodule, RUL.",
    "Mild pulmonary edema vs. fluid overload?? Clinical correlation recommended!!!",
    "Pneumonía basal izquierda; naïve façade — résumé of Ångström café.",
    "肺炎 in the right lung 右肺",
    "Ελληνικά γράμματα and Кириллица text.",
    "Emoji 🫁 lungs and ♥ heart ✓",
    "",
    "   ",
    "tabs\tand\nnewlines\r\nmixed",
    "control\u0000chars\u0007here\ufffd and zero\u200bwidth",
    "UPPERCASE AND lowercase AND MiXeD CaSe",
    "[MASK] the [CLS] special [SEP] tokens [PAD] and [UNK].",
    "supercalifragilisticexpialidocious-pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 120,
    "L1-L2 disc space narrowing; T12 compression deformity (~20%).",
    "x-ray, CT/MRI & PET-CT: $100 + 50% <= 3 > 2 = ~1 ^ `a` | b",
    "Co-existent COPD with hyperinflation and flattened hemidiaphragms.",
    "Ⅻ ﬁbrosis ﬂuid ｆｕｌｌｗｉｄｔｈ",
    "Dr. O'Brien's patient's chest x-ray wasn't remarkable.",
    LONG,
    "Support devices: pacemaker leads in the right atrium and right ventricle.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=".cache/minilm")
    parser.add_argument("--out", default="Tests/Fixtures/minilm")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = SentenceTransformer(args.model, device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length
    tokenizer = model.tokenizer
    ids = [tokenizer(s, truncation=True, max_length=model.max_seq_length)["input_ids"] for s in SENTENCES]
    with torch.inference_mode():
        embeddings = model.encode(SENTENCES, batch_size=8, convert_to_tensor=True, normalize_embeddings=False)
    # The PyTorch twin of the Swift encoder must agree with sentence-transformers too.
    twin = SentenceEncoder(BertModel.from_directory(args.model))
    batch = tokenizer(SENTENCES, truncation=True, max_length=model.max_seq_length, padding=True, return_tensors="pt")
    with torch.inference_mode():
        mine = twin(batch["input_ids"], batch["attention_mask"])
    worst = (mine - embeddings).abs().max().item()
    assert worst < 1e-5, f"Training/anatomix/bert.py differs from sentence-transformers by {worst}"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "parity.json").write_text(json.dumps(
        {"model": "sentence-transformers/all-MiniLM-L6-v2", "max_length": model.max_seq_length,
         "texts": SENTENCES, "token_ids": ids}, ensure_ascii=False, indent=1) + "\n")
    save_file({"embeddings": embeddings.float().contiguous()}, str(out / "parity.safetensors"))
    print(f"twin max |diff| vs sentence-transformers: {worst:.2e}")
    print(f"wrote {len(SENTENCES)} sentences to {out} (longest: {max(map(len, ids))} ids)")


if __name__ == "__main__":
    main()
