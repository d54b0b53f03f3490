"""The finding-anatomy ontology and the mask-area rule (Schemas/findings.v1.json, cxrgen.ontology)."""
import json
import re
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from cxrgen import assets, ontology
from cxrgen.dataset import generate
from cxrgen.study import DEVICES, PATHOLOGIES

NAMES = [a["name"] for a in assets.anatomies()]
SIDES = {a["name"]: a["side"] for a in assets.anatomies()}


def test_the_ontology_covers_every_generated_kind_with_known_anatomies():
    kinds = set(PATHOLOGIES) | set(DEVICES) | {"mass"}
    assert set(ontology.allowed()) == kinds
    for kind, anatomies in ontology.allowed().items():
        assert anatomies and set(anatomies) <= set(NAMES), kind
    # what the issue names
    assert "descending aorta" not in ontology.allowed()["pneumothorax"]
    assert {"right apical zone", "right costophrenic angle", "right lung"} <= set(ontology.allowed()["pneumothorax"])
    assert set(ontology.allowed()["cardiomegaly"]) == {"cardiac silhouette", "left cardiac silhouette", "right cardiac silhouette"}


def regions_of(shape, boxes):
    out = {}
    for name in NAMES:
        m = np.zeros(shape, bool)
        if name in boxes:
            x1, y1, x2, y2 = boxes[name]
            m[y1:y2, x1:x2] = True
        out[name] = m
    return out


def test_the_mask_area_rule_and_its_thresholds():
    regions = regions_of((100, 100), {"right lung": (0, 0, 40, 100), "right lower lung zone": (0, 60, 40, 100),
                                      "right mid lung zone": (0, 30, 40, 60), "left lung": (60, 0, 100, 100),
                                      "right costophrenic angle": (0, 90, 10, 100)})
    mask = np.zeros((100, 100), bool)
    mask[85:100, 0:40] = True          # covers 37.5% of the lower zone, 15% of the lung, 10/100 ... of the angle
    got = ontology.attach("pleural effusion", "right", mask, regions)
    assert got[0] in ("right lower lung zone", "right costophrenic angle")
    assert set(got) == {"right lower lung zone", "right costophrenic angle", "right lung"}
    assert "left lung" not in got and "right mid lung zone" not in got
    # a small nodule: a tiny share of every region, but all of it inside the lung and one zone
    nodule = np.zeros((100, 100), bool); nodule[40:43, 10:13] = True
    assert set(ontology.attach("nodule", "right", nodule, regions)) == {"right lung", "right mid lung zone"}
    # 25% of the finding inside, 1.25% of the zone covered: below both thresholds, so only the
    # fallback (the one allowed anatomy it overlaps most) is named, not every region it touches
    edge = np.zeros((100, 100), bool); edge[40:43, 35:55] = True
    got = ontology.attach("atelectasis", "right", edge, regions)
    assert len(got) == 1 and got[0] in ("right lung", "right mid lung zone")
    # nothing allowed overlaps: the nearest allowed anatomy of the finding's side
    far = np.zeros((100, 100), bool); far[95:100, 45:50] = True
    assert ontology.attach("rib fracture", "right", far, regions) == ["right lower lung zone"]


def test_a_thin_shell_seen_face_on_does_not_count():
    thickness = np.full((50, 50), 2.0)            # a pneumothorax rim seen face-on: 2 mm everywhere
    thickness[:, :5] = 40.0                        # and tangentially at the lateral edge
    visible = ontology.visible_mask(thickness)
    assert visible[:, :5].all() and not visible[:, 5:].any()


def test_region_sentences_are_canonical():
    assert ontology.region_sentence("right lung", ["pneumothorax", "nodule"]) == "Right lung shows nodule and pneumothorax."
    assert ontology.region_sentence("spine", []) == "Spine is healthy."
    assert not re.search(r"\d", ontology.region_sentence("left lung", ["mass", "nodule", "edema"]))


@pytest.mark.parametrize("seed", [4242])
def test_500_generated_studies_state_no_disallowed_pair(tmp_path: Path, seed: int):
    """End to end: every finding record and every region sentence of 500 studies obeys the ontology."""
    generate(tmp_path, n=500, seed=seed, size=128, workers=2, quiet=True)
    kinds_seen, bad = set(), []
    for line in (tmp_path / "manifest.jsonl").read_text().splitlines():
        r = json.loads(line)
        for f in r["findings"]:
            kinds_seen.add(f["kind"])
            for a in f["anatomies"]:
                if a not in ontology.allowed()[f["kind"]] or not ontology.side_allows(f["side"], SIDES[a]):
                    bad.append((r["id"], f["kind"], f["side"], a))
        attached = {(a, f["kind"]) for f in r["findings"] for a in f["anatomies"]}
        for s in r["region_sentences"]:
            for k in s["kinds"]:
                assert (s["anatomy"], k) in attached, (r["id"], s)
                if s["anatomy"] not in ontology.allowed()[k]:
                    bad.append((r["id"], k, "sentence", s["anatomy"]))
            assert (s["sentence"].endswith(" is healthy.")) == (not s["kinds"]), s
    assert not bad, bad[:10]
    assert len(kinds_seen) >= 12


def test_ids_of_any_seed_match_the_schema(tmp_path: Path):
    """Seeds of more than five digits used to give ids the schema rejected."""
    schema = json.loads((assets.SCHEMAS / "dataset-manifest.v1.json").read_text())
    generate(tmp_path, n=2, seed=770413, size=128, workers=1, quiet=True, benchmark=False, flipped_copies=True)
    validator = jsonschema.Draft202012Validator(schema)
    ids = []
    for line in (tmp_path / "manifest.jsonl").read_text().splitlines():
        record = json.loads(line)
        validator.validate(record)
        ids.append(record["id"])
    assert ids == ["s770413-000000", "s770413-000000-flip", "s770413-000001", "s770413-000001-flip"]
