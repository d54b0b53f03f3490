"""Region sentences (AnatomiX form) and a Findings/Impression report built from real IU sentences."""
from __future__ import annotations

import re

import numpy as np

from . import assets, ontology
from .reports import NEGATION, NORMAL, POSITIVE, bank, side_of

LUNG_KINDS = {"nodule", "mass", "consolidation", "opacity", "atelectasis", "edema"}
PLEURA_KINDS = {"pleural effusion", "pneumothorax", "pleural thickening"}
HEART_KINDS = {"cardiomegaly", "widened mediastinum"}
# IU sentences of a kind that describe another device position than the generator's
CONTRADICTS = {"central venous catheter": r"atri|subclavian|picc|femoral|shunt",
               "endotracheal tube": r"carina,|mainstem|retract|advanc|high|low",
               "nodule": r"\b(two|three|four|multiple|several|numerous|nodules)\b", "mass": r"\b(masses|thyroid|mediastin)"}
# where an IU sentence places a finding: each such word must be in the inserted finding's location
ZONE_WORDS = r"\b(upper|lower|middle|mid|midlung|base|bases|basilar|basal|apex|apical|apices|hilum|hilar|perihilar|lingula\w*)\b"
# what a normal sentence of each topic claims (IU normal sentences often claim several)
TOPIC_KINDS = {"heart": HEART_KINDS, "lungs": LUNG_KINDS, "pleura": PLEURA_KINDS, "bones": {"rib fracture"}}


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
    """A real IU sentence for this kind that states its side (right, left or bilateral; a sideless
    one only for midline findings) and has no number (IU sizes, rib numbers and tip distances would
    contradict the inserted finding); a template naming the side otherwise."""
    kind = f["kind"]
    want = {"right": {"right"}, "left": {"left"}, "bilateral": {"bilateral"}}.get(f["side"], {None})
    location = f.get("location") or ""
    candidates = [s for s in bank()["positive"].get(kind, [])
                  if side_of(s) in want and not any(ch.isdigit() for ch in s)
                  and not (kind in CONTRADICTS and re.search(CONTRADICTS[kind], s.lower()))
                  and all(word in location for word in re.findall(ZONE_WORDS, s.lower()))]
    sentence = pick(rng, candidates)
    if sentence is None:
        side = f["side"]
        if side in ("right", "left") and location.endswith("lobe"):
            sentence = f"There is {f['phrase']} in the {location}."
        elif side in ("right", "left") and side not in f["phrase"]:
            sentence = f"There is {f['phrase']} on the {side}."
        else:
            sentence = f"There is {f['phrase']}."
    return sentence


def states(pattern: str, sentence: str) -> bool:
    """Whether `sentence` (lower case) mentions `pattern` with no negation before it."""
    m = re.search(pattern, sentence)
    return bool(m) and not re.search(NEGATION, sentence[: m.start()])


def normal_sentence(rng: np.random.Generator, topic: str, kinds: set[str], fallback: str) -> str:
    """A real IU normal sentence about `topic` that negates none of the study's findings ("No focal
    consolidation, pneumothorax, or pleural effusion." is no normal lung sentence beside an effusion)."""
    claims = [NORMAL[t] for t, topic_kinds in TOPIC_KINDS.items() if kinds & topic_kinds] + [r"\bclear\b"] * bool(kinds & LUNG_KINDS)
    candidates = [s for s in bank()["normal"][topic]
                  if not any(re.search(p, s.lower()) for p in [POSITIVE[k] for k in kinds] + claims)
                  and not any(states(p, s.lower()) for p in POSITIVE.values())]
    return pick(rng, candidates) or fallback


def report(rng: np.random.Generator, findings: list[dict]) -> dict[str, str]:
    kinds = {f["kind"] for f in findings}
    lines = [finding_sentence(rng, f) for f in findings]
    if not kinds & HEART_KINDS:
        lines.insert(0, normal_sentence(rng, "heart", kinds, "The heart size is normal."))
    if not kinds & LUNG_KINDS:
        lines.append(normal_sentence(rng, "lungs", kinds, "The lungs are clear."))
    if not kinds & PLEURA_KINDS:
        lines.append(normal_sentence(rng, "pleura", kinds, "No pleural effusion or pneumothorax."))
    if "rib fracture" not in kinds:
        lines.append(normal_sentence(rng, "bones", kinds, "The osseous structures are intact."))
    pathologies = [f for f in findings if f["labels"] != ["Support Devices"]]
    if pathologies:
        impression = " ".join(capitalize(f["phrase"]) + (f" ({f['side']})" if f["side"] in ("right", "left") else "") + "."
                              for f in pathologies)
    else:
        impression = pick(rng, bank()["normal"]["impression"]) or "No acute cardiopulmonary abnormality."
    return {"findings": " ".join(dict.fromkeys(lines)), "impression": impression}
