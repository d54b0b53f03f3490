"""The compact AnatomiX prompt, shared with Swift (Shared/Language/AnatomixPrompt.swift; docs in
Schemas/prompt.v1.json):

    <|user|><image_start><image> x17<image_end>
    <obj_0><loc_x1><loc_y1><loc_x2><loc_y2>[ finding kinds]   ... one entry per anatomy, 0..35, then "\n"
    {instruction}<|end|><|assistant|>{answer}<|end|>

- `<image>` positions carry the image projector's output for the APM memory pooled to CLS + 4x4.
- `<obj_i>` positions carry embed(<obj_i>) + the object projector's output for anatomical token i.
- A box is four location tokens: each coordinate on the letterboxed canvas, in LOCATION_BINS bins
  (<loc_b> covers [b, b+1) / bins of the canvas side); decoded to the bin centre, then to original
  pixels by the letterbox. Boxes in instructions and answers, `<box>(x1,y1),(x2,y2)</box>` in
  original pixels, become `<box><loc_.>x4</box>`.
- The retrieved finding of an anatomy is written only when retrieval calls the region abnormal:
  its finding kinds (ontology names) after a space, comma-separated. Healthy regions add nothing.
This keeps what the published 36-line text form carries (token, box, finding) in ~5 tokens per
healthy anatomy instead of ~22.
"""
from __future__ import annotations

import re

import numpy as np

from .letterbox import Letterbox
from .tokenizer import ANATOMIES, LOCATION_BINS

IMAGE_TOKENS = 17                 # CLS + a 4x4 average pool of the 16x16 memory grid
BOX = re.compile(r"<box>\((-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)\),\((-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)\)</box>")


def quantize(value: float, side: float) -> int:
    return int(min(max(np.floor(value / side * LOCATION_BINS), 0), LOCATION_BINS - 1))


def dequantize(index: int, side: float) -> float:
    return (index + 0.5) / LOCATION_BINS * side


def location_tokens(canvas_box, side: float) -> str:
    """xyxy on the canvas -> "<loc_a><loc_b><loc_c><loc_d>"."""
    return "".join(f"<loc_{quantize(v, side)}>" for v in canvas_box)


def compact_boxes(text: str, letterbox: Letterbox) -> str:
    """Every `<box>(x1,y1),(x2,y2)</box>` in original pixels -> `<box><loc_.>x4</box>`."""
    def replace(m: re.Match) -> str:
        canvas = letterbox.to_canvas([float(g) for g in m.groups()])
        return f"<box>{location_tokens(canvas, letterbox.canvas)}</box>"
    return BOX.sub(replace, text)


def anatomy_answer_from_stage_one(answer: str, canvas_boxes, index: dict[str, int], side: float) -> str:
    """A compact anatomy-grounding answer with its box replaced by the box stage one gave that anatomy
    (`canvas_boxes[index[name]]`, the one in the prompt): the language model learns to copy what
    perception found, not to guess a perception error it cannot see. Unknown names: unchanged."""
    m = re.search(r"<ref>(.*?)</ref>", answer)
    if not m or m.group(1) not in index:
        return answer
    box = location_tokens(canvas_boxes[index[m.group(1)]], side)
    return re.sub(r"<box>(?:<loc_\d+>){4}</box>", lambda _: f"<box>{box}</box>", answer, count=1)


def anatomy_entries(canvas_boxes: np.ndarray, findings: list[list[str]], side: float) -> str:
    """36 entries: `<obj_i>` + the box's location tokens + (abnormal) " kind, kind"."""
    out = []
    for i in range(ANATOMIES):
        entry = f"<obj_{i}>" + location_tokens(canvas_boxes[i], side)
        if findings[i]:
            entry += " " + ", ".join(findings[i])
        out.append(entry)
    return "".join(out)


def study_text(canvas_boxes: np.ndarray, findings: list[list[str]], side: float) -> str:
    """What every task of a study shares: the image and the 36 anatomy entries, ending in a newline
    (a pre-token boundary, so the study and a question encode the same apart as together)."""
    return f"<|user|><image_start>{'<image>' * IMAGE_TOKENS}<image_end>{anatomy_entries(canvas_boxes, findings, side)}\n"


def question_text(instruction: str) -> str:
    """The rest of the user turn (instruction already compacted), up to the answer."""
    return f"{instruction}<|end|><|assistant|>"


ANSWER_END = "<|end|>"


LOC = re.compile(r"<loc_(\d+)>")
ANSWER_BOX = re.compile(r"<box>((?:<loc_\d+>){4})</box>")
STRAY = re.compile(r"<box>|</box>|<loc_\d+>|<obj_\d+>|<image[a-z_]*>|<emb>|</emb>|<\|[a-z]+\|>|<s>|</s>|<pad>")
REF = re.compile(r"<ref>(.*?)</ref>[^<]*((?:<box>(?:<loc_\d+>){4}</box>)+)", re.S)   # words may sit between


def parse_boxes(text: str, letterbox: Letterbox) -> dict:
    """Phrases and boxes (original pixels) of a generated answer; never raises.
    {"text": answer with boxes as (x1,y1),(x2,y2), "phrases": [{"phrase", "boxes"}], "boxes": [...], "parsed"}"""
    def decode(locs: str) -> list[float]:
        canvas = [dequantize(int(v), letterbox.canvas) for v in LOC.findall(locs)]
        return [round(float(v), 1) for v in letterbox.to_original(canvas)]
    phrases = [{"phrase": m.group(1), "boxes": [decode(b) for b in ANSWER_BOX.findall(m.group(2))]} for m in REF.finditer(text)]
    boxes = [decode(b) for b in ANSWER_BOX.findall(text)]
    readable = ANSWER_BOX.sub(lambda m: "({:.0f},{:.0f}),({:.0f},{:.0f})".format(*decode(m.group(1))), text)
    leftover = bool(STRAY.search(readable))
    opened, closed = text.count("<ref>"), text.count("</ref>")
    readable = readable.replace("<ref>", "").replace("</ref>", "")
    return {"text": readable, "phrases": phrases, "boxes": boxes,
            "parsed": not leftover and opened == closed == len(phrases)}
