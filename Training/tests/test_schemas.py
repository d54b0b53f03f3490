"""Schemas/ as a real JSON Schema validator (jsonschema, draft 2020-12) reads them, and every message
the Swift tests produced (examples of each type, the pipeline steps on a sample, dead letters and the
broker tests' records, left in .build/produced-messages/<schema>/ by `make test-swift`) validated."""
import base64
import json
import os
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["cxr.studies.v1", "cxr.anatomy.v1", "cxr.grounded.v1", "cxr.results.v1", "cxr.deadletter.v1", "cxr.bank.v1"]
PRODUCED = ROOT / ".build" / "produced-messages"


def schemas() -> dict[str, dict]:
    return {name: json.loads((ROOT / "Schemas" / f"{name}.json").read_text()) for name in NAMES}


def validator(name: str) -> jsonschema.Draft202012Validator:
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas().values())
    return jsonschema.Draft202012Validator(schemas()[name], registry=registry, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("name", NAMES)
def test_schema_is_valid_2020_12_and_closed(name):
    s = schemas()[name]
    jsonschema.Draft202012Validator.check_schema(s)
    assert s["$id"] == f"urn:anatomix:schema:{name}" and s["additionalProperties"] is False
    assert s["properties"]["schema"] == {"const": name}


@pytest.mark.parametrize("name", NAMES)
def test_every_produced_message_validates(name):
    folder = PRODUCED / name
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        if os.environ.get("ANATOMIX_REQUIRE_MESSAGES") == "1":
            pytest.fail(f"{folder} is empty: the Swift tests (make test-swift) write the messages they produce there")
        pytest.skip(f"no produced messages in {folder}; run `make test-swift` first")
    v = validator(name)
    for f in files:
        errors = sorted(v.iter_errors(json.loads(f.read_text())), key=lambda e: list(e.path))
        assert not errors, f"{f.name}: " + "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5])


STUDY = {"schema": "cxr.studies.v1", "study_id": "s1", "image": {"uri": "file:///images/a.png"}, "tasks": [{"task": "report"}]}


@pytest.mark.parametrize("change, why", [
    (lambda m: m.update(priority=1), "unknown top-level field"),
    (lambda m: m.update(schema="cxr.studies.v2"), "another version"),
    (lambda m: m.update(study_id="../etc/passwd"), "study id with a path"),
    (lambda m: m.update(image={"uri": "http://x/a.png"}), "not a file:// URI"),
    (lambda m: m.update(image={"uri": "file:///a.png", "png_base64": "AAAA"}), "both image forms"),
    (lambda m: m.update(tasks=[{"task": "summarise"}]), "unknown task"),
    (lambda m: m.update(tasks=[{"task": "vqa"}]), "vqa without a question"),
    (lambda m: m.update(tasks=[{"task": "grounded-caption", "box": [1, 2, 3]}]), "a box of three numbers"),
    (lambda m: m.pop("tasks"), "tasks missing"),
])
def test_bad_studies_fail_the_schema(change, why):
    message = json.loads(json.dumps(STUDY))
    change(message)
    assert list(validator("cxr.studies.v1").iter_errors(message)), why


def test_a_good_study_passes_and_the_fp16_block_is_checked():
    assert not list(validator("cxr.studies.v1").iter_errors(STUDY))
    png = {**STUDY, "image": {"png_base64": base64.b64encode(b"\x89PNG").decode()}}
    assert not list(validator("cxr.studies.v1").iter_errors(png))
    anatomy = schemas()["cxr.anatomy.v1"]["$defs"]["fp16"]
    assert not list(jsonschema.Draft202012Validator(anatomy).iter_errors({"dtype": "float16", "shape": [2], "data": "AAAA"}))
    assert list(jsonschema.Draft202012Validator(anatomy).iter_errors({"dtype": "float32", "shape": [2], "data": "AAAA"}))
