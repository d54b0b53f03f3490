"""Export byte-level BPE parity fixtures for the Swift tests (Tests/Fixtures/tokenizer/): two small
tokenizers trained by HF `tokenizers` on the IU reports, and the ids HF gives for texts with unicode,
digits, long words, whitespace runs and every special token.

- gpt2.json: the AnatomiX recipe (anatomix.tokenizer.train): ByteLevel pre-tokenizer, no normalizer.
- llama3.json: Llama 3's layout: NFC normalizer, Split on Llama 3's pattern then ByteLevel without
  its regex, ignore_merges, digits in runs of at most three, a <|begin_of_text|> template.

    Training/.venv/bin/python Training/export_tokenizer_fixtures.py [--out Tests/Fixtures/tokenizer]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

from anatomix import tokenizer as anatomix_tokenizer
from cxrgen.reports import report_texts

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")

CASES = [
    "The cardiac silhouette is enlarged.",
    "No pleural effusion or pneumothorax. Heart size normal.",
    "  leading spaces, trailing spaces   ",
    "Lines\nand\ttabs\r\n\n  mixed   whitespace",
    "Numbers: 3, 12 mm, 2026-12-02, 1234567890, 0.75, x1=104,y1=88",
    "Unicode: café, naïve, Größe 10 µm, 肺 结节, ★ ✓, emoji 🫁🩻, combining e\u0301",
    "A very long word: pneumonoultramicroscopicsilicovolcanoconiosis" + "abcdefghij" * 30,
    "Can't won't it's they're I'M We'll He'd",
    "<image_start><image><image><image_end> <obj_0><emb></emb> <box><loc_12><loc_40><loc_77><loc_127></box>",
    "<|user|>Where is the left lung?<|end|><|assistant|><ref>left lung</ref><box><loc_3><loc_5><loc_60><loc_99></box><|end|>",
    "".join(anatomix_tokenizer.SPECIAL_TOKENS),
    "Right <obj_35>lower lung zone<obj_7> ends</s>",
    "",
    " ",
    "\u00a0non-breaking\u2009thin space\u3000ideographic",
    "$%^&*()_+{}|:\"<>?~`-=[]\\;',./ <not_special> <obj_36> <loc_128>",
]


def gpt2_style(texts: list[str]) -> Tokenizer:
    return anatomix_tokenizer.train(texts, vocab_size=1000)


def llama3_style(texts: list[str]) -> Tokenizer:
    tokenizer = Tokenizer(models.BPE(ignore_merges=True))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tokenizer.decoder = decoders.ByteLevel()
    special = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>"]
    trainer = trainers.BpeTrainer(vocab_size=900, special_tokens=special, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer)
    bos = tokenizer.token_to_id("<|begin_of_text|>")
    tokenizer.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A", special_tokens=[("<|begin_of_text|>", bos)])
    return tokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("Tests/Fixtures/tokenizer"))
    args = parser.parse_args()
    texts = report_texts()
    args.out.mkdir(parents=True, exist_ok=True)
    cases = CASES + texts[:40:4]                       # and ten real report texts
    fixture = {"cases": []}
    for name, tokenizer in (("gpt2", gpt2_style(texts)), ("llama3", llama3_style(texts))):
        tokenizer.save(str(args.out / f"{name}.json"))
        for text in cases:
            plain = tokenizer.encode(text, add_special_tokens=False).ids
            fixture["cases"].append({"tokenizer": f"{name}.json", "text": text, "ids": plain,
                                     "ids_with_special": tokenizer.encode(text, add_special_tokens=True).ids,
                                     "decoded": tokenizer.decode(plain, skip_special_tokens=False),
                                     "decoded_skipping_special": tokenizer.decode(plain, skip_special_tokens=True)})
    (args.out / "cases.json").write_text(json.dumps(fixture, ensure_ascii=False, indent=0) + "\n")
    print(f"wrote {args.out}: {len(fixture['cases'])} cases over 2 tokenizers")


if __name__ == "__main__":
    main()
