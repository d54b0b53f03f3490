"""`anatomix analyze` from the outside: exit codes, messages and boxes for good and bad PNGs.

Runs the debug binary that `make test-swift` builds (`swift build --build-tests`) on the default model."""
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / ".build/debug/anatomix"


def analyze(path: Path, *extra: str) -> subprocess.CompletedProcess:
    assert BINARY.exists(), f"{BINARY} is missing: run `make test-swift` (or `swift build`) first"
    env = dict(os.environ, LD_LIBRARY_PATH=str(ROOT / ".cache/librdkafka"))
    return subprocess.run([str(BINARY), "analyze", str(path), *extra], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)


def png(width: int, height: int, bit_depth: int, colour: int, data: bytes) -> bytes:
    """A PNG written chunk by chunk (PIL cannot write 16-bit RGB; `data` is the IDAT payload)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    chunks = [(b"IHDR", ihdr), (b"IDAT", data), (b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d)) for t, d in chunks)


@pytest.mark.parametrize("name, content, reason", [
    ("not-a-png.png", b"GIF89a this is not a PNG", "not a PNG file (bad signature)"),
    ("truncated.png", (ROOT / "Samples/images").glob("*.png").__next__().read_bytes()[:300], "cannot decode PNG data (truncated?)"),
    ("huge.png", png(20000, 6000, 8, 0, zlib.compress(b"\x00" * 64)), "the longest side may be 16384 px"),  # from its header
    ("thin.png", png(64, 60000, 8, 0, zlib.compress(b"\x00" * 64)), "aspect ratio 937.5:1"),
])
def test_bad_input_is_a_clear_error(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    result = analyze(path)
    assert result.returncode != 0 and result.stdout == ""
    assert f"{path}: " in result.stderr and reason in result.stderr, result.stderr   # the reason, not just the path


def test_too_small_and_missing_files(tmp_path):
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((40, 200), dtype=np.uint8)).save(small)
    result = analyze(small)
    assert result.returncode != 0 and "both sides must be at least 64 px" in result.stderr, result.stderr
    result = analyze(tmp_path / "absent.png")
    assert result.returncode != 0 and "absent.png: cannot read the file" in result.stderr, result.stderr
    fifo = tmp_path / "pipe.png"                                  # would stream without end into memory
    os.mkfifo(fifo)
    result = analyze(fifo)
    assert result.returncode == 1 and "pipe.png: not a regular file" in result.stderr, result.stderr


def test_eval_names_the_line_and_field_of_a_malformed_manifest(tmp_path):
    lines = (ROOT / "Samples/manifest.jsonl").read_text().splitlines()[:2]
    record = json.loads(lines[1])
    record["anatomies"][3]["box"] = record["anatomies"][3]["box"][:3]          # three numbers
    (tmp_path / "images").symlink_to(ROOT / "Samples/images")                   # image paths are relative to the manifest
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(lines[0] + "\n" + json.dumps(record) + "\n")
    env = dict(os.environ, LD_LIBRARY_PATH=str(ROOT / ".cache/librdkafka"))
    result = subprocess.run([str(BINARY), "eval", str(manifest), "--tasks", "anatomy"], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=300)
    name = record["anatomies"][3]["name"]
    assert result.returncode == 1, (result.returncode, result.stderr)      # an error, not a trap (SIGILL was 132)
    assert f"{manifest}:2: true box of '{name}' is " in result.stderr and "4 finite numbers" in result.stderr, result.stderr


def test_eval_writes_table_results_and_cases_for_every_task(tmp_path):
    """`anatomix eval --tasks all --flipped` on Samples/: every block, the Table 1 file and the picture,
    with scores a broken scorer would not give (the default model answers these studies well)."""
    env = dict(os.environ, LD_LIBRARY_PATH=str(ROOT / ".cache/librdkafka"))
    out = tmp_path / "eval"
    result = subprocess.run([str(BINARY), "eval", "Samples/manifest.jsonl", "--tasks", "all", "--flipped", "--out", str(out)],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert {"anatomy", "retrieval", "labels", "language", "latency"} <= set(results)
    plain = results["language"]["plain"]
    assert {"phrase", "anatomy_lm", "gd", "gc", "report", "vqa", "understanding"} <= set(plain), sorted(plain)
    for task in ("gd", "gc", "report"):
        block = plain[task]
        assert {"rouge_l", "bleu4", "meteor", "bertscore", "chexpert_f1", "finding_f1", "n"} <= set(block), block
        assert block["n"] > 0 and all(0 <= block[k] <= 1 for k in ("rouge_l", "bleu4", "meteor", "bertscore", "chexpert_f1", "finding_f1"))
    assert plain["gd"]["bertscore"] > 0.6 and plain["gc"]["rouge_l"] > 0.5, (plain["gd"], plain["gc"])
    # the Samples' diagnoses are nine different findings: a constant answer would get at most 3 of 11 right
    assert plain["gd"]["accuracy"] > 0.6 and plain["vqa"]["accuracy"] > 0.6, (plain["gd"], plain["vqa"])
    assert len(plain["phrase"]["map_per_threshold"]) == 4 and plain["phrase"]["no_box"] == 0
    flipped = results["language"]["flipped"]                                   # Samples has one flipped study
    assert {"phrase", "anatomy_lm", "gd", "gc", "report"} <= set(flipped) and flipped["gc"]["n"] > 0, sorted(flipped)
    assert set(results["language_lr_identity"]) == {"plain", "flipped"} and results["language_lr_identity"]["plain"] > 0.8
    assert plain["anatomy_lm"]["iou"] > 0.5 and 0 < plain["anatomy_lm"]["map"] <= 1, plain["anatomy_lm"]
    assert results["anatomy"]["iou"] > 0.8 and results["latency"]["perception"]["n"] == 8
    # stage one's boxes for the anatomies the answers name (AnatomySnap): the APM's own IoU on Samples is > 0.8
    assert plain["anatomy_lm"]["iou"] > 0.8, plain["anatomy_lm"]
    # the per-kind and per-question blocks add up to the totals they break down
    kinds = results["language_phrase_by_kind"]["plain"]
    assert sum(k["n"] for k in kinds.values()) == plain["phrase"]["n"], kinds
    assert abs(sum(k["iou"] * k["n"] for k in kinds.values()) / plain["phrase"]["n"] - plain["phrase"]["iou"]) < 1e-9, kinds
    forms = results["language_vqa_by_question"]["plain"]
    assert sum(f["n"] for f in forms.values()) == plain["vqa"]["n"], forms
    assert abs(sum(f["correct"] for f in forms.values()) / plain["vqa"]["n"] - plain["vqa"]["accuracy"]) < 1e-9, forms
    answers = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    # the report breakdown counts every inserted finding of every reported study once, in one of its four columns
    findings_of = {m["id"]: m.get("findings") or [] for m in map(json.loads, (ROOT / "Samples/manifest.jsonl").read_text().splitlines())}
    by_kind = results["language_report_by_kind"]["plain"]
    reported = [a["study"] for a in answers if a["group"] == "plain" and a["task"] == "report_generation"]
    assert sum(k["n"] for k in by_kind.values()) == sum(len(findings_of[s]) for s in reported) > 0, by_kind
    assert all(k["stated"] + k["other_side"] + k["unsided"] + k["missed"] == k["n"] for k in by_kind.values()), by_kind
    # a study with every finding stated contributes at least one stated finding; one with none stated, none
    fully = round(plain["report"]["findings_stated"] * plain["report"]["n_abnormal"])
    assert fully <= sum(k["stated"] for k in by_kind.values()) <= sum(k["n"] for k in by_kind.values()) - (plain["report"]["n_abnormal"] - fully), by_kind
    assert {a["group"] for a in answers} == {"plain", "flipped"}
    assert sum(a["group"] == "plain" and a["task"] == "phrase_grounding" for a in answers) == plain["phrase"]["n"]
    assert all(a["truth"] and isinstance(a["boxes"], list) and isinstance(a["parsed"], bool) for a in answers)
    table = (out / "table.md").read_text()
    assert "| Model | BERTScore GD/GC |" in table and "| report generation | CheXpert-14 micro F1 |" in table, table[:800]
    picture = Image.open(out / "cases.png")
    assert picture.size[0] == 768 and picture.size[1] > 256


# Forked from a fresh, small interpreter: a child's peak RSS counts the memory of the process it was
# forked from (Linux keeps the high-water mark across exec), and pytest itself holds ~80 MB.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_RDWR)
    os.dup2(fd, 1); os.dup2(fd, 2)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def peak_rss_mb(args: list[str]) -> tuple[int, float]:
    """Exit status and peak resident memory (MB) of one run of `args`."""
    env = dict(os.environ, LD_LIBRARY_PATH=str(ROOT / ".cache/librdkafka"))
    out = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, *args], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=300, check=True).stdout.split()
    return int(out[0]), int(out[1]) / 1024


# The stated bound (README): one study in `anatomix analyze` peaks at the model and runtime (40 MB
# measured on a 512 px study; 64 allowed) plus the decode (the file + 6 bytes a pixel) plus the
# letterbox's rows (height x 1 KB at a 256 px canvas). The padded square the letterbox used to build
# (longest side² x 4 bytes) would put the 12 MP study below at ~170 MB, over its ~137 MB bound.
def memory_bound_mb(pixels: int, file_bytes: int, height: int) -> float:
    return 64 + (file_bytes + 6 * pixels + height * 1024) / 2**20


def test_memory_stays_within_the_stated_bound(tmp_path):
    thin = tmp_path / "thin.png"                                   # 4 KB claiming 64 x 60000: refused from the header
    thin.write_bytes(png(64, 60000, 8, 0, zlib.compress(b"\x00" * 64)))
    status, peak = peak_rss_mb([str(BINARY), "analyze", str(thin)])
    assert status == 1 and peak < memory_bound_mb(0, thin.stat().st_size, 0), peak
    # a valid 16-bit 3000 x 4000 study (12 MP) is analysed within the bound
    rows = np.tile((np.arange(3000) * 21).astype(">u2"), (4000, 1))
    big = tmp_path / "big.png"
    big.write_bytes(png(3000, 4000, 16, 0, zlib.compress(b"".join(b"\x00" + row.tobytes() for row in rows), 1)))
    status, peak = peak_rss_mb([str(BINARY), "analyze", str(big)])
    bound = memory_bound_mb(3000 * 4000, big.stat().st_size, 4000)
    assert status == 0 and peak < bound, (status, peak, bound)


def test_sixteen_bit_rgb_non_square_gives_boxes_in_original_pixels(tmp_path):
    sample = np.asarray(Image.open(next((ROOT / "Samples/images").glob("*.png"))).convert("L"), dtype=np.float64)
    tall = np.pad(sample, ((0, 0), (40, 90)))                          # non-square, off-centre
    rgb = (np.stack([tall] * 3, -1) / 255 * 65535).astype(">u2")
    path = tmp_path / "rgb16.png"
    height, width = tall.shape
    path.write_bytes(png(width, height, 16, 2, zlib.compress(b"".join(b"\x00" + row.tobytes() for row in rgb))))
    result = analyze(path, "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["width"], report["height"]) == (width, height) and len(report["anatomies"]) == 36
    card = json.loads((ROOT / "Weights/anatomix-tiny/model.json").read_text())
    assert report["model"]["name"] == "anatomix-tiny" and report["model"]["version"] == card["version"]
    assert set(report["timings"]) >= {"read_seconds", "perception_seconds", "backbone_seconds", "retrieval_seconds"}
    assert 0 < report["timings"]["backbone_seconds"] < report["timings"]["perception_seconds"]
    assert len(report["labels"]) == 14 and all(0 <= p <= 1 for p in report["labels"].values())
    for anatomy in report["anatomies"]:
        x1, y1, x2, y2 = anatomy["box"]
        assert -1 <= x1 < x2 <= width + 1 and -1 <= y1 < y2 <= height + 1, anatomy
    lungs = {a["name"]: a["box"] for a in report["anatomies"] if a["name"] in ("right lung", "left lung")}
    assert lungs["right lung"][0] < lungs["left lung"][0]              # patient's right on the image's left
    assert (tmp_path / "out/rgb16.overlay.png").exists()


def test_likely_findings_on_the_samples_mean_what_they_say():
    """The retrieved finding per region against the ontology's truth on the 8 committed samples
    (never trained on): a retrieval that is noise, or calls every region abnormal (what the
    published nearest-sentence lookup did), fails."""
    truth_of = {json.loads(l)["image"]: json.loads(l) for l in (ROOT / "Samples/manifest.jsonl").read_text().splitlines()}
    hits = {"healthy": [0, 0], "abnormal": [0, 0]}
    for image, record in truth_of.items():
        result = analyze(ROOT / "Samples" / image)
        assert result.returncode == 0, result.stderr
        report = json.loads(result.stdout)
        truth = {s["anatomy"]: set(s["kinds"]) for s in record["region_sentences"]}
        for a in report["anatomies"]:
            assert 0 <= a["score"] <= 1 and a["likely_finding"].endswith("."), a
            said = set(a["finding_kinds"])
            assert (not said) == a["likely_finding"].endswith(" is healthy."), a
            group = "abnormal" if truth[a["name"]] else "healthy"
            hits[group][0] += bool(said) == bool(truth[a["name"]])
            hits[group][1] += 1
        assert report["label_threshold"] == 0.5
        assert set(report["positive_labels"]) == {k for k, v in report["labels"].items() if v >= 0.5}
    recall = {g: right / max(total, 1) for g, (right, total) in hits.items()}
    assert hits["abnormal"][1] >= 20, hits
    assert (recall["healthy"] + recall["abnormal"]) / 2 >= 0.8, recall
