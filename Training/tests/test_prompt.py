"""The compact prompt's shared contract: Schemas/prompt.v1.json's instruction templates are the
generator's own (so `analyze --task` asks what the model was trained on), and its numbers are
prompt.py's. No torch: prompt.py needs numpy only."""
import json
import re
from pathlib import Path

from anatomix import prompt as P
from anatomix import tokenizer as T
from anatomix.letterbox import Letterbox
from cxrgen import tasks

ROOT = Path(__file__).resolve().parents[2]
SPEC = json.loads((ROOT / "Schemas/prompt.v1.json").read_text())


def test_templates_are_the_generators():
    t = SPEC["templates"]
    assert t["report"] in tasks.REPORT
    assert t["grounded-diagnosis"].replace("{box}", "{box}") in tasks.DIAGNOSIS
    assert t["grounded-caption"] in tasks.CAPTION
    assert t["phrase-grounding"].replace("{phrase}", "{p}") in tasks.PHRASE
    assert t["anatomy-grounding"].replace("{anatomy}", "{name}") in tasks.ANATOMY
    swift = (ROOT / "Shared/Pipeline/StudyTask.swift").read_text()
    for name, template in t.items():        # the Swift instructions spell the same templates
        literal = template.split("{")[0]
        assert literal.replace("\n", "\\n") in swift, name


def test_numbers_match_prompt_py():
    assert SPEC["image_tokens"] == P.IMAGE_TOKENS and SPEC["location_bins"] == T.LOCATION_BINS == 128


def test_boxes_compact_and_parse_back_within_half_a_bin():
    box = Letterbox(632, 552, 256)
    text = P.compact_boxes("Describe the region <box>(100,60),(420,500)</box>.", box)
    assert re.fullmatch(r"Describe the region <box>(<loc_\d+>){4}</box>\.", text)
    parsed = P.parse_boxes(text.split("region ")[1][:-1], box)
    half = 0.5 * 632 / 128
    assert parsed["parsed"] and all(abs(a - b) <= half + 0.05 for a, b in zip(parsed["boxes"][0], [100, 60, 420, 500]))


def test_malformed_answers_are_flagged_not_raised():
    box = Letterbox(256, 256, 256)
    for raw in ["<ref>open", "<box><loc_1></box>", "</ref>", "<obj_2>", "<box><loc_99999999999999999999><loc_1><loc_2><loc_3></box>"]:
        out = P.parse_boxes(raw, box)
        assert not out["parsed"] or out["boxes"]
    assert P.parse_boxes("Fracture: a displaced fracture.", box)["parsed"]


def test_anatomy_answers_copy_stage_ones_box():
    boxes = [[0.0, 0.0, 1.0, 1.0]] * 36
    boxes[7] = [10.0, 20.0, 100.0, 200.0]
    answer = "The <ref>left lung</ref> is located at the coordinates <box><loc_1><loc_2><loc_3><loc_4></box> on the image."
    out = P.anatomy_answer_from_stage_one(answer, boxes, {"left lung": 7}, 256.0)
    assert out == answer.replace("<loc_1><loc_2><loc_3><loc_4>", P.location_tokens(boxes[7], 256.0))
    assert P.location_tokens(boxes[7], 256.0) == "<loc_5><loc_10><loc_50><loc_100>"
    assert P.anatomy_answer_from_stage_one(answer.replace("left lung", "spleen"), boxes, {"left lung": 7}, 256.0) \
        == answer.replace("left lung", "spleen")
