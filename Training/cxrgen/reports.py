"""Real report sentences from the Indiana University chest X-ray reports (torchxrayvision wheel,
CC BY-NC-ND: read from the cache at generation time, never committed), sorted by what they say."""
from __future__ import annotations

import re
import tarfile
from functools import lru_cache

from . import assets

# finding kind -> pattern of a positive mention
POSITIVE = {
    "nodule": r"\bnodul", "mass": r"\bmass\b", "consolidation": r"consolidat|pneumonia|airspace disease",
    "opacity": r"opacit", "atelectasis": r"atelecta", "pleural effusion": r"effusion",
    "pneumothorax": r"pneumothora", "pleural thickening": r"pleural thickening",
    "cardiomegaly": r"cardiomegaly|heart (size )?is (mildly |moderately |markedly )?enlarged|enlarged (cardiac|heart)",
    "widened mediastinum": r"widen\w* (of the )?mediastin|mediastin\w* (is )?(widen|enlarg|prominent)",
    "edema": r"edema|vascular congestion", "rib fracture": r"rib fracture|fracture of the .*rib|fractures? .*ribs?",
    "endotracheal tube": r"endotracheal", "central venous catheter": r"central venous|\bpicc\b|venous catheter|central line",
    "pacemaker": r"pacemaker|pacer\b|cardiac (device|generator)",
}
NEGATION = r"\b(no|without|negative|free of|resolved|clear|not|normal|removed|unremarkable)\b"
# hedged, historical or comparative sentences do not describe what this image shows
HEDGE = (r"evaluat|limited|exclude|cannot|possib|question|\?|versus|\bvs\b|borderline|\bold\b|remov|prior|previous|interval|again|"
         r"unchanged|stable|\bno\b|compar|lateral view|resolv|resolution|clearing|improv|heal|concern|consider|correlat|obscur|recommend|known|\bmay\b|could|"
         r"another|also|additional")
# topic -> pattern of a normal sentence about it
NORMAL = {
    "heart": r"^(the )?(heart|cardiac silhouette|cardiomediastinal silhouette)[^.]*(normal|within normal limits)",
    "lungs": r"^(the )?lungs are clear|no focal (airspace )?consolidation",
    "pleura": r"no (evidence of )?(pleural effusion|pneumothorax)|no pneumothorax or (large )?pleural effusion",
    "bones": r"(osseous|bony|skeletal) structures",
    "impression": r"^no (acute|active) (cardiopulmonary|disease|abnormalit)",
}


def sentences(text: str) -> list[str]:
    return [s.strip() + "." for s in re.split(r"(?<=[a-z0-9)])\.\s+", text.strip().rstrip(".")) if len(s.strip()) > 8]


def side_of(sentence: str) -> str | None:
    s = sentence.lower()
    right, left = bool(re.search(r"\bright\b", s)), bool(re.search(r"\bleft\b", s))
    if "bilateral" in s or (right and left):
        return "bilateral"
    return "right" if right else "left" if left else None


@lru_cache(maxsize=1)
def bank() -> dict[str, dict]:
    """{'positive': {kind: [sentence]}, 'normal': {topic: [sentence]}} from FINDINGS and IMPRESSION."""
    positive: dict[str, list[str]] = {k: [] for k in POSITIVE}
    normal: dict[str, list[str]] = {k: [] for k in NORMAL}
    with tarfile.open(assets.xrv_dir() / "NLMCXR_reports.tgz") as tar:
        for member in tar:
            if not member.isfile():
                continue
            xml = tar.extractfile(member).read().decode("utf-8", "replace")
            for label, text in re.findall(r'<AbstractText Label="(FINDINGS|IMPRESSION)">([^<]*)</AbstractText>', xml):
                for s in sentences(text):
                    low = s.lower()
                    if "xxxx" in low or len(s) > 160 or re.match(r"^\d", s):
                        continue
                    for topic, pattern in NORMAL.items():
                        if (topic == "impression") == (label == "IMPRESSION") and re.search(pattern, low):
                            normal[topic].append(s)
                    kinds = [k for k, p in POSITIVE.items() if re.search(p, low)]
                    if label == "FINDINGS" and len(kinds) == 1 and not re.search(HEDGE, low):
                        m = re.search(POSITIVE[kinds[0]], low)
                        if not re.search(NEGATION, low[: m.start()]):
                            positive[kinds[0]].append(s)
    return {"positive": {k: sorted(set(v)) for k, v in positive.items()},
            "normal": {k: sorted(set(v)) for k, v in normal.items()}}


def report_texts() -> list[str]:
    """Every FINDINGS and IMPRESSION text of the IU reports, whole (the tokenizer's real-text corpus)."""
    texts = []
    with tarfile.open(assets.xrv_dir() / "NLMCXR_reports.tgz") as tar:
        for member in tar:
            if member.isfile():
                xml = tar.extractfile(member).read().decode("utf-8", "replace")
                texts += [t.strip() for _, t in re.findall(r'<AbstractText Label="(FINDINGS|IMPRESSION)">([^<]*)</AbstractText>', xml)
                          if t.strip()]
    return texts
