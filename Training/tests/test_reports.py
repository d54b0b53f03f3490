"""Generated reports agree with the inserted findings: each is stated positively with its side and none
is negated elsewhere in the report (IU normal sentences often negate several findings at once)."""
import re

import numpy as np
import pytest

from cxrgen import text
from cxrgen.reports import NEGATION, POSITIVE

KINDS = {  # kind -> (sides, a location, a phrase) as the generator makes them
    "nodule": (["right", "left"], "{side} upper lobe", "a 14 mm nodule"),
    "mass": (["right", "left"], "{side} lower lobe", "a 34 mm mass"),
    "consolidation": (["right", "left"], "{side} lower lobe", "consolidation"),
    "opacity": (["right", "left"], "{side} upper lobe", "patchy opacity"),
    "atelectasis": (["right", "left"], "{side} lower lobe", "atelectasis"),
    "pleural effusion": (["right", "left", "bilateral"], "pleural space", "small pleural effusion"),
    "pneumothorax": (["right", "left"], "pleural space", "moderate pneumothorax"),
    "pleural thickening": (["right", "left"], "pleura", "pleural thickening"),
    "cardiomegaly": (["midline"], "heart", "moderate cardiomegaly"),
    "widened mediastinum": (["midline"], "mediastinum", "a widened mediastinum"),
    "edema": (["bilateral"], "perihilar", "mild pulmonary edema"),
    "rib fracture": (["right", "left"], "{side} rib 6", "a displaced fracture of the {side} 6th rib"),
    "endotracheal tube": (["midline"], "trachea", "an endotracheal tube with its tip 4.1 cm above the carina"),
    "central venous catheter": (["right"], "svc", "a right internal jugular central venous catheter with its tip in the superior vena cava"),
    "pacemaker": (["left"], "chest wall", "a left-sided dual-chamber pacemaker"),
}


def finding(kind: str, side: str) -> dict:
    _, location, phrase = KINDS[kind]
    device = kind in ("endotracheal tube", "central venous catheter", "pacemaker")
    return {"kind": kind, "side": side, "location": location.format(side=side), "phrase": phrase.format(side=side),
            "labels": ["Support Devices"] if device else ["Other"]}


def sentences(report: dict) -> list[str]:
    return [s.strip().lower() for s in re.split(r"(?<=[.])\s+", report["findings"] + " " + report["impression"]) if s.strip()]


def cases(n: int = 300):
    rng = np.random.default_rng(5)
    names = list(KINDS)
    for i in range(n):
        chosen = rng.choice(names, size=int(rng.integers(1, 4)), replace=False)
        yield i, [finding(k, str(rng.choice(KINDS[k][0]))) for k in chosen]


@pytest.mark.parametrize("seed", range(3))
def test_every_finding_is_stated_with_its_side_and_never_negated(seed):
    for i, found in cases():
        report = text.report(np.random.default_rng([seed, i, 1]), found)
        lines = sentences(report)
        for f in found:
            pattern = POSITIVE[f["kind"]]
            mentions = [s for s in lines if (m := re.search(pattern, s))]
            negated = [s for s in mentions if re.search(NEGATION, s[: re.search(pattern, s).start()])]
            assert not negated, (f, report)
            if f["side"] in ("right", "left"):
                other = "left" if f["side"] == "right" else "right"
                assert any(f["side"] in s and other not in s for s in mentions), (f, report)
            else:
                assert mentions, (f, report)


def test_a_normal_study_states_no_finding():
    for i in range(200):
        report = text.report(np.random.default_rng([7, i, 1]), [])
        for s in sentences(report):
            for kind, pattern in POSITIVE.items():
                m = re.search(pattern, s)
                assert not m or re.search(NEGATION, s[: m.start()]), (kind, s)
