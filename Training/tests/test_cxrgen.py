"""The synthetic study generator: determinism, box rules, flips, label coverage, manifest schema."""
import json
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from cxrgen import assets
from cxrgen.dataset import generate, png_bytes
from cxrgen.study import DEVICES, PATHOLOGIES

SCHEMA = json.loads((assets.SCHEMAS / "dataset-manifest.v1.json").read_text())
ZONES = ["upper lung zone", "mid lung zone", "lower lung zone", "apical zone", "costophrenic angle"]


def inside(inner, outer, tol=0.6):
    return (inner[0] >= outer[0] - tol and inner[1] >= outer[1] - tol
            and inner[2] <= outer[2] + tol and inner[3] <= outer[3] + tol)


@pytest.fixture(scope="module")
def studies(generator):
    return [generator.make(11, i) for i in range(10)]


def test_same_seed_same_bytes(generator):
    a_img, a_rec = generator.make(3, 5)
    b_img, b_rec = generator.make(3, 5)
    assert png_bytes(a_img, 8) == png_bytes(b_img, 8)
    assert json.dumps(a_rec) == json.dumps(b_rec)
    c_img, _ = generator.make(3, 6)
    assert png_bytes(a_img, 8) != png_bytes(c_img, 8)


def test_all_36_boxes_are_named_and_non_empty(studies):
    for image, record in studies:
        assert image.shape == (256, 256) and 0 <= image.min() and image.max() <= 1
        assert [a["name"] for a in record["anatomies"]] == [a["name"] for a in assets.anatomies()]
        for a in record["anatomies"]:
            x1, y1, x2, y2 = a["box"]
            assert x2 - x1 >= 2 and y2 - y1 >= 2, (record["id"], a)     # (inside the image by clipping)


def test_boxes_are_the_tight_bounds_of_their_projected_structures(generator, monkeypatch):
    """A box with a rule mask (lungs, zones, heart, vessels, airway, spine, clavicles) is exactly the
    bounding box of that projected structure, mirrored with the image (names kept) when flipped."""
    from cxrgen import study as S
    from cxrgen.anatomy import box_of, flip_box
    rules = []

    class Recording(S.AnatomyBoxes):
        def compute(self):
            rules.append(self)
            return super().compute()

    monkeypatch.setattr(S, "AnatomyBoxes", Recording)
    checked = 0
    for index, flip in [(0, False), (1, True), (2, False), (3, True)]:
        _, record = generator.make(12, index, force_flip=flip)
        boxes = {a["name"]: a["box"] for a in record["anatomies"]}
        for name, mask in rules[-1].masks.items():
            if name in boxes and mask.any():
                expected = [round(float(v), 1) for v in np.clip(box_of(mask), 0, 256)]
                if flip:                              # the patient's right lung keeps its name, now on the image right
                    expected = flip_box(expected, 256)
                assert boxes[name] == pytest.approx(expected, abs=0.11), (record["id"], name)
                checked += 1
    assert checked >= 4 * 20


def test_lung_zones_inside_their_lung(studies):
    for _, record in studies:
        boxes = {a["name"]: a["box"] for a in record["anatomies"]}
        for side in ("left", "right"):
            for zone in ZONES[:4]:
                assert inside(boxes[f"{side} {zone}"], boxes[f"{side} lung"]), (record["id"], side, zone)
            upper, mid, lower = (boxes[f"{side} {z}"] for z in ZONES[:3])
            assert upper[1] <= mid[1] <= lower[1], (record["id"], side)


def test_every_kind_names_allowed_anatomies_that_its_box_touches(generator):
    from cxrgen import ontology
    for kind in list(PATHOLOGIES) + list(DEVICES):
        _, record = generator.make(21, 0, force_findings=[kind])
        boxes = {a["name"]: a["box"] for a in record["anatomies"]}
        for f in record["findings"]:
            assert f["anatomies"] and set(f["anatomies"]) <= set(ontology.allowed()[f["kind"]]), (kind, f["anatomies"])
            for name in f["anatomies"]:
                b = boxes[name]
                overlap = min(b[2], f["box"][2]) - max(b[0], f["box"][0]), min(b[3], f["box"][3]) - max(b[1], f["box"][1])
                assert min(overlap) > -3, (kind, name, b, f["box"])


def test_flipped_right_lung_is_the_mirror(generator):
    _, plain = generator.make(5, 2, force_flip=False)
    _, flipped = generator.make(5, 2, force_flip=True)
    assert flipped["flipped"] and not plain["flipped"]
    p = {a["name"]: a["box"] for a in plain["anatomies"]}
    f = {a["name"]: a["box"] for a in flipped["anatomies"]}
    for name in ("right lung", "left lung", "cardiac silhouette", "right costophrenic angle"):
        x1, y1, x2, y2 = p[name]
        assert f[name] == pytest.approx([256 - x2, y1, 256 - x1, y2], abs=0.11), name
    # the right lung is on the image's left in the plain study and on its right when flipped
    assert p["right lung"][0] < p["left lung"][0] and f["right lung"][0] > f["left lung"][0]


def test_every_label_is_generated(generator):
    seen = set()
    rng_kinds = {k for s in range(300) for k in generator.choose_findings(np.random.default_rng([s, 0]), None)}
    assert rng_kinds == set(PATHOLOGIES) | set(DEVICES)
    for kind in sorted(rng_kinds):
        _, record = generator.make(31, 0, force_findings=[kind])
        positive = {label for label, v in record["labels"].items() if v}
        assert record["findings"], kind
        assert set(record["findings"][0]["labels"]) <= positive, kind
        seen |= positive
    # Pneumonia accompanies some consolidations: some seed must produce it
    for index in range(1, 12):
        if "Pneumonia" in seen:
            break
        _, record = generator.make(31, index, force_findings=["consolidation"])
        seen |= {label for label, v in record["labels"].items() if v}
    _, normal = generator.make(31, 1, force_findings=[])
    seen |= {label for label, v in normal["labels"].items() if v}
    assert seen == set(assets.chexpert_labels())


def test_manifest_validates_against_schema(tmp_path: Path):
    info = generate(tmp_path, n=3, seed=2, size=256, workers=2, flipped_copies=True, quiet=True)
    assert info["images"] == 6
    validator = jsonschema.Draft202012Validator(SCHEMA)
    lines = (tmp_path / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == 6
    for line in lines:
        record = json.loads(line)
        validator.validate(record)
        assert (tmp_path / record["image"]).stat().st_size > 1000
    assert [json.loads(l)["flipped"] for l in lines] == [False, True] * 3


def test_an_interrupted_dataset_resumes_to_the_same_bytes(tmp_path: Path):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    generate(whole, n=4, seed=8, size=256, workers=2, quiet=True)
    generate(parts, n=2, seed=8, size=256, workers=2, quiet=True)
    with (parts / "manifest.jsonl").open("a") as f:
        f.write('{"id": "torn')                      # a line cut by the interruption
    generate(parts, n=4, seed=8, size=256, workers=2, quiet=True, resume=True)
    assert (parts / "manifest.jsonl").read_text() == (whole / "manifest.jsonl").read_text()
    for line in (whole / "manifest.jsonl").read_text().splitlines():
        name = json.loads(line)["image"]
        assert (parts / name).read_bytes() == (whole / name).read_bytes()


def test_a_resume_asking_for_fewer_studies_leaves_a_larger_dataset_whole(tmp_path: Path):
    generate(tmp_path, n=3, seed=8, size=256, workers=2, quiet=True)
    before = (tmp_path / "manifest.jsonl").read_text()
    info = generate(tmp_path, n=2, seed=8, size=256, workers=2, quiet=True, resume=True)
    assert (tmp_path / "manifest.jsonl").read_text() == before and info["studies"] == 3
    generate(tmp_path, n=4, seed=8, size=256, workers=2, quiet=True, resume=True)     # and a larger one still extends it
    after = (tmp_path / "manifest.jsonl").read_text()
    assert after.startswith(before) and len(after.splitlines()) > len(before.splitlines())


def test_resume_refuses_a_folder_made_with_other_settings(tmp_path: Path):
    generate(tmp_path, n=2, seed=8, size=256, workers=2, quiet=True)
    before = (tmp_path / "manifest.jsonl").read_text()
    with pytest.raises(ValueError, match="other settings .*bit_depth 8 -> 16"):
        generate(tmp_path, n=3, seed=8, size=256, workers=2, bit_depth=16, quiet=True, resume=True)
    (tmp_path / "plan.json").unlink()                # a folder from before plan.json: its lines are checked
    with pytest.raises(ValueError, match=r"line 1 .* is 's00008-000000[^']*', but this plan has .*s00009-000000"):
        generate(tmp_path, n=3, seed=9, size=256, workers=2, quiet=True, resume=True)
    assert (tmp_path / "manifest.jsonl").read_text() == before      # nothing appended or cut
    assert not (tmp_path / "plan.json").exists()                     # and no plan recorded for the refused run


def test_mask_cells_cover_the_mask_on_the_finest_grid_that_fits():
    from cxrgen.study import mask_cells
    mask = np.zeros((256, 256), bool)
    mask[100, 20:220] = True                                    # a 1-pixel line, 200 px long: 50 cells of 4 px
    cells = mask_cells(mask)
    assert len(cells) == 50 and all(c[2] - c[0] == 4 and c[1] == 100 and c[3] == 104 for c in cells)
    blob = np.zeros((256, 256), bool)
    blob[40:200, 30:230] = True                                 # 40 x 50 cells of 4 px: too many, 8 px gives 500, 16 px 130, 32 px 35
    cells = mask_cells(blob)
    assert len(cells) <= 128 and {c[2] - c[0] for c in cells} == {32}
    covered = np.zeros_like(blob)
    for x1, y1, x2, y2 in cells:
        covered[int(y1):int(y2), int(x1):int(x2)] = True
    assert covered[blob].all()                                  # every mask pixel lies in a cell
    assert not mask_cells(np.zeros((256, 256), bool))


def test_a_line_findings_mask_is_much_smaller_than_its_box_and_flips_with_it(generator):
    """What the per-position label loss learns from: a catheter's cells mark the line, not its box."""
    for flip in (False, True):
        _, record = generator.make(21, 0, force_findings=["central venous catheter"], force_flip=flip)
        f = record["findings"][0]
        x1, y1, x2, y2 = f["box"]
        assert f["mask"] and all(inside(c, f["box"], tol=4) for c in f["mask"])
        cell_area = sum((c[2] - c[0]) * (c[3] - c[1]) for c in f["mask"])
        assert cell_area < 0.5 * (x2 - x1) * (y2 - y1), (cell_area, f["box"])
        if flip:
            plain = generator.make(21, 0, force_findings=["central venous catheter"], force_flip=False)[1]["findings"][0]
            assert sorted(f["mask"]) == sorted([[256 - c[2], c[1], 256 - c[0], c[3]] for c in plain["mask"]])
