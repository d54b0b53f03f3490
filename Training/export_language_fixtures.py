"""Export compact-prompt parity fixtures for the Swift tests (Tests/Fixtures/language/prompt-cases.json):
study and question texts with their token ids (the AnatomiX-recipe fixture tokenizer,
Tests/Fixtures/tokenizer/gpt2.json), and parsed answers, well formed and malformed, for square and
non-square letterboxes. No torch needed.

    Training/.venv/bin/python Training/export_language_fixtures.py
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


def main() -> None:
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
