"""Instruction examples for the seven AnatomiX tasks, in the paper's templates with paraphrases.
Boxes in text are integer pixel xyxy on this image: <box>(x1,y1),(x2,y2)</box>, sorted by (x1, y1)."""
from __future__ import annotations

import numpy as np

from . import assets


def box_text(*boxes: list[float]) -> str:
    ordered = sorted(([int(round(v)) for v in b] for b in boxes), key=lambda b: (b[0], b[1]))
    return "".join(f"<box>({b[0]},{b[1]}),({b[2]},{b[3]})</box>" for b in ordered)


REPORT = ["Generate report:\n", "Write the findings and impression for this chest X-ray.",
          "Please write a radiology report for this image."]
DIAGNOSIS = ["Please give the corresponding diagnosis for the following region(s): {box}",
             "What is the diagnosis for the region {box}?"]
CAPTION = ["Please generate a caption for the following region(s): {box}", "Describe the region {box}."]
PHRASE = ["Please locate the following phrase: {p}", "Where is the {p} in this image?"]
ANATOMY = ["Where is the {name} located in this Chest X-ray?", "Locate the {name} in this image."]
OPEN_VQA = ["What is seen in the {name}?", "What does the {name} show?"]


def examples(rng: np.random.Generator, record: dict) -> list[dict]:
    choose = lambda options: options[int(rng.integers(len(options)))]  # noqa: E731
    boxes = {a["name"]: a["box"] for a in record["anatomies"]}
    display = {a["name"]: a["display_name"] for a in assets.anatomies()}
    sentences = {r["anatomy"]: r["sentence"] for r in record["region_sentences"]}
    findings = record["findings"]
    out = [{"task": "report_generation", "instruction": choose(REPORT),
            "answer": f"Findings:\n{record['report']['findings']}\n\nImpression:\n{record['report']['impression']}"}]
    names = list(boxes)
    for f in findings:
        out.append({"task": "grounded_diagnosis", "instruction": choose(DIAGNOSIS).format(box=box_text(f["box"])),
                    "answer": "; ".join(f["labels"][:1]) + f": {f['phrase']}."})
        out.append({"task": "phrase_grounding", "instruction": choose(PHRASE).format(p=f["phrase"]),
                    "answer": f"<ref>{f['phrase']}</ref>{box_text(f['box'])}"})
    if not findings:
        name = names[int(rng.integers(len(names)))]
        out.append({"task": "grounded_diagnosis", "instruction": choose(DIAGNOSIS).format(box=box_text(boxes[name])),
                    "answer": "No Finding."})
    for name in rng.choice(names, size=3, replace=False):
        out.append({"task": "grounded_captioning", "instruction": choose(CAPTION).format(box=box_text(boxes[name])),
                    "answer": sentences[name]})
    for name in rng.choice(names, size=3, replace=False):
        out.append({"task": "anatomy_grounding", "instruction": choose(ANATOMY).format(name=display[name]),
                    "answer": f"The <ref>{display[name]}</ref> is located at the coordinates {box_text(boxes[name])} on the image."})
    out += vqa(rng, record, choose, display, sentences)
    out += understanding(rng, record)
    return out


def vqa(rng, record, choose, display, sentences) -> list[dict]:
    out = []
    name = str(rng.choice([a["name"] for a in record["anatomies"]]))
    out.append({"task": "vqa", "instruction": choose(OPEN_VQA).format(name=display[name]), "answer": sentences[name]})
    labels = [l for l in assets.chexpert_labels() if l != "No Finding"]
    label = str(rng.choice(labels))
    present = record["labels"][label] == 1
    out.append({"task": "vqa", "instruction": f"Is there {label.lower()} in this image? Options: yes, no.",
                "answer": "yes" if present else "no"})
    for f in record["findings"]:
        if f["side"] in ("right", "left", "bilateral"):
            answer = {"bilateral": "both"}.get(f["side"], f["side"])
            out.append({"task": "vqa", "instruction": f"Which side is the {f['kind']} on? Options: left, right, both.",
                        "answer": answer})
            out.append({"task": "vqa", "instruction": f"How large is the {f['kind']}? Options: small, moderate, large.",
                        "answer": {"mild": "small", "marked": "large", "displaced": "small"}.get(f["severity"], f["severity"])})
            break
    return out


def understanding(rng, record) -> list[dict]:
    labels = assets.chexpert_labels()
    positive = [l for l in labels if record["labels"][l]]
    out = [{"task": "image_understanding",
            "instruction": "Identify any diseases visible in the given CXR. Options: " + ", ".join(labels) + ".",
            "answer": ", ".join(positive) + "."}]
    disease = str(rng.choice([l for l in labels if l != "No Finding"]))
    boxes = [f["box"] for f in record["findings"] if disease in f["labels"]]
    answer = f"<ref>{disease}</ref>{box_text(*boxes)}" if boxes else f"No {disease.lower()} is seen."
    out.append({"task": "image_understanding", "instruction": f"Detect {disease.lower()} in the given image.", "answer": answer})
    return out
