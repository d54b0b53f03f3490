"""Region sentences (AnatomiX form) and a Findings/Impression report built from real IU sentences."""
from __future__ import annotations

import numpy as np

from . import assets, ontology
from .reports import bank, side_of

LUNG_KINDS = {"nodule", "mass", "consolidation", "opacity", "atelectasis", "edema"}
PLEURA_KINDS = {"pleural effusion", "pneumothorax", "pleural thickening"}
HEART_KINDS = {"cardiomegaly", "widened mediastinum"}


def capitalize(s: str) -> str:
    return s[:1].upper() + s[1:]


def region_sentences(anatomy_names: list[str], findings: list[dict]) -> list[dict]:
    """'{anatomy} shows {finding} and {finding}.' or '{anatomy} is healthy.' for each of the 36, with
    the ontology's finding names (Schemas/findings.v1.json) and no measurements; a finding appears
    only for the anatomies the ontology's mask-area rule attached it to."""
    display = {a["name"]: a["display_name"] for a in assets.anatomies()}
    out = []
    for name in anatomy_names:
        kinds = [f["kind"] for f in findings if name in f["anatomies"]]
        out.append({"anatomy": name, "kinds": list(dict.fromkeys(kinds)),
                    "sentence": ontology.region_sentence(display[name], kinds)})
    return out


def pick(rng: np.random.Generator, candidates: list[str]) -> str | None:
    return candidates[int(rng.integers(len(candidates)))] if candidates else None


def finding_sentence(rng: np.random.Generator, f: dict) -> str:
    """A real IU sentence for this kind whose side agrees (or names none); a template otherwise."""
    kind = "mass" if f["kind"] == "mass" else f["kind"]
    want = {"right": {"right", None}, "left": {"left", None}, "bilateral": {"bilateral", None}}.get(f["side"], {None})
    candidates = [s for s in bank()["positive"].get(kind, []) if side_of(s) in want]
    if kind == "nodule" or kind == "mass":  # sizes in IU text would contradict the inserted lesion
        candidates = [s for s in candidates if not any(ch.isdigit() for ch in s)]
    sentence = pick(rng, candidates)
    if sentence is None:
        where = f" in the {f['location']}" if f.get("location") and f["side"] in ("right", "left") else ""
        sentence = f"There is {f['phrase']}{where}."
    return sentence


def report(rng: np.random.Generator, findings: list[dict]) -> dict[str, str]:
    normal = bank()["normal"]
    kinds = {f["kind"] for f in findings}
    lines = [finding_sentence(rng, f) for f in findings]
    if not kinds & HEART_KINDS:
        lines.insert(0, pick(rng, normal["heart"]) or "The heart size is normal.")
    if not kinds & LUNG_KINDS:
        lines.append(pick(rng, normal["lungs"]) or "The lungs are clear.")
    if not kinds & PLEURA_KINDS:
        lines.append(pick(rng, normal["pleura"]) or "No pleural effusion or pneumothorax.")
    if "rib fracture" not in kinds:
        lines.append(pick(rng, normal["bones"]) or "The osseous structures are intact.")
    pathologies = [f for f in findings if f["labels"] != ["Support Devices"]]
    if pathologies:
        impression = " ".join(capitalize(f["phrase"]) + (f" ({f['side']})" if f["side"] in ("right", "left") else "") + "."
                              for f in pathologies)
    else:
        impression = pick(rng, normal["impression"]) or "No acute cardiopulmonary abnormality."
    return {"findings": " ".join(dict.fromkeys(lines)), "impression": impression}
