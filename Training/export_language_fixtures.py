"""Export language parity fixtures for the Swift tests.

Tests/Fixtures/language/prompt-cases.json (no torch): study and question texts with their token ids
(the AnatomiX-recipe fixture tokenizer, Tests/Fixtures/tokenizer/gpt2.json), and parsed answers, well
formed and malformed, for square and non-square letterboxes.

Tests/Fixtures/language-trained/ (with --weights, needs torch): for the APM fixture's two canvases
(Tests/Fixtures/apm-trained/input-*.png), what the trained model folder's stages give in PyTorch:
pooled image features, retrieved finding kinds, the prompt ids of three tasks, the logits after the
prompt and the greedy answer tokens.

    Training/.venv/bin/python Training/export_language_fixtures.py [--weights Weights/anatomix-tiny]
    Training/.venv/bin/python Training/export_language_fixtures.py --weights Weights/anatomix-tiny-global \
        --trained-out Tests/Fixtures/language-ablation      (the global-features ablation: image tokens only)
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from anatomix import prompt as P
from anatomix.letterbox import Letterbox

OUT = Path("Tests/Fixtures/language/prompt-cases.json")
INSTRUCTIONS = ["Generate report:\n", "What is the diagnosis for the region <box>(17,79),(28,98)</box>?",
                "Describe the region <box>(0,0),(631,551)</box>.", "Please locate the following phrase: large pleural effusion",
                "Locate the left lung in this image.", "Is there pneumothorax in this image? Options: yes, no."]
ANSWERS = ["<ref>large pleural effusion</ref><box><loc_3><loc_40><loc_60><loc_110></box>",
           "The <ref>left lung</ref> is located at the coordinates <box><loc_64><loc_10><loc_120><loc_100></box> on the image.",
           "<ref>Pleural Effusion</ref><box><loc_1><loc_2><loc_3><loc_4></box><box><loc_100><loc_2><loc_127><loc_90></box>",
           "Fracture: a displaced fracture of the right 5th rib.", "<ref>unclosed<box><loc_1><loc_2></box>",
           "<box><loc_1><loc_2><loc_3><loc_4></box> and a stray <loc_7>", "</ref>only closing", "<obj_3> leaked", ""]


TRAINED_QUESTIONS = ["Generate report:\n", "Locate the left lung in this image.",
                     "Is there pleural effusion in this image? Options: yes, no."]


def trained(weights: Path, out: Path, new_tokens: int = 24) -> None:
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import LlamaConfig

    from anatomix.apm import box_cxcywh_to_xyxy
    from anatomix.language import AnatomixLanguageModel, pooled_image_features
    from anatomix.lm_data import Bank, load_apm
    from PIL import Image

    apm, bank = load_apm(weights), Bank(weights)
    names = [a["name"] for a in json.loads((weights / "anatomies.json").read_text())["anatomies"]]
    tokenizer = Tokenizer.from_file(str(weights / "lm/tokenizer.json"))
    config = LlamaConfig.from_pretrained(weights / "lm")
    model = AnatomixLanguageModel(config, apm.configuration.d_model, apm.configuration.token_dim, tokenizer.token_to_id("<image>"),
                                  [tokenizer.token_to_id(f"<obj_{i}>") for i in range(36)]).eval()
    state = {"llm." + k: v.float() for k, v in load_file(str(weights / "lm/model.safetensors")).items()}
    state |= {k: v.float() for k, v in load_file(str(weights / "projectors.safetensors")).items()}
    if config.tie_word_embeddings:
        state["llm.lm_head.weight"] = state["llm.model.embed_tokens.weight"]
    model.load_state_dict(state)
    end = tokenizer.token_to_id("<|end|>")
    ablation = bool(json.loads((weights / "language.json").read_text()).get("ablation"))
    cases, tensors = [], {}
    for i, path in enumerate(sorted(Path("Tests/Fixtures/apm-trained").glob("input-*.png"))):
        array = np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255.0
        with torch.inference_mode():
            result = apm(torch.from_numpy(array)[None, None])
            image = pooled_image_features(result["memory"], apm.configuration.feature_size)
            canvas = (box_cxcywh_to_xyxy(result["boxes"]) * apm.configuration.image_size)[0].numpy()
            findings = [bank.kinds(names[a], result["tokens"][0, a]) for a in range(36)]
            text = (f"<|user|><image_start>{'<image>' * P.IMAGE_TOKENS}<image_end>\n" if ablation
                    else P.study_text(canvas, findings, float(apm.configuration.image_size)))
            study = tokenizer.encode(text).ids
            tokens = None if ablation else result["tokens"]
            tensors[f"image_features_{i}"] = image[0].contiguous()
            for q, question in enumerate(TRAINED_QUESTIONS):
                ids = study + tokenizer.encode(P.question_text(question)).ids
                generated = []
                for _ in range(new_tokens):                       # greedy, recomputing the whole sequence (the reference)
                    logits = model(torch.tensor([ids + generated]), image, tokens)[0, -1]
                    if not generated:
                        tensors[f"logits_{i}_{q}"] = logits.contiguous()
                    token = int(logits.argmax())
                    if token == end:
                        break
                    generated.append(token)
                cases.append({"image": path.name, "question": question, "findings": findings, "ids": ids, "greedy": generated,
                              "text": tokenizer.decode(generated, skip_special_tokens=False)})
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out / "outputs.safetensors"))
    (out / "cases.json").write_text(json.dumps({"cases": cases}, indent=0) + "\n")
    print(f"wrote {out}: {len(cases)} cases; e.g. {cases[1]['text']!r}")


def main() -> None:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, help="also export the trained model's fixtures (needs torch)")
    parser.add_argument("--trained-out", type=Path, default=Path("Tests/Fixtures/language-trained"))
    args = parser.parse_args()
    if args.weights:
        trained(args.weights, args.trained_out)
    tokenizer = Tokenizer.from_file("Tests/Fixtures/tokenizer/gpt2.json")
    rng = np.random.default_rng(5)
    cases = {"studies": [], "questions": [], "answers": []}
    for width, height in ((256, 256), (632, 552), (300, 900)):
        box = Letterbox(width, height, 256)
        lo = rng.uniform(0, 200, (36, 2))
        canvas = np.concatenate([lo, lo + rng.uniform(5, 56, (36, 2))], 1)
        findings = [[] if rng.random() < 0.7 else sorted(rng.choice(["pleural effusion", "pneumothorax", "edema", "nodule"],
                                                                   size=int(rng.integers(1, 3)), replace=False).tolist())
                    for _ in range(36)]
        text = P.study_text(canvas, findings, 256.0)
        cases["studies"].append({"canvas_boxes": canvas.round(3).tolist(), "findings": findings, "text": text,
                                 "ids": tokenizer.encode(text).ids})
        for instruction in INSTRUCTIONS:
            question = P.question_text(P.compact_boxes(instruction, box))
            cases["questions"].append({"width": width, "height": height, "instruction": instruction, "text": question,
                                       "ids": tokenizer.encode(question).ids})
        for answer in ANSWERS:
            cases["answers"].append({"width": width, "height": height, "raw": answer} | P.parse_boxes(answer, box))
    # the canvas boxes are rounded in the fixture: rebuild the texts from the rounded values
    for s in cases["studies"]:
        s["text"] = P.study_text(np.array(s["canvas_boxes"]), s["findings"], 256.0)
        s["ids"] = tokenizer.encode(s["text"]).ids
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(cases, indent=0) + "\n")
    print(f"wrote {OUT}: {len(cases['studies'])} studies, {len(cases['questions'])} questions, {len(cases['answers'])} answers")


if __name__ == "__main__":
    main()
