"""`make demo`'s task arguments for one sample (system Python, standard library only): all seven
tasks, the grounded ones on the sample's first finding box and phrase (the right lung when it has
none), printed as `anatomix analyze` options, one per line.

    python3 Training/demo_tasks.py Samples/manifest.jsonl s02026-000002
"""
import json
import sys


def main() -> None:
    manifest, study = sys.argv[1], sys.argv[2]
    record = next(json.loads(l) for l in open(manifest) if l.strip() and json.loads(l)["id"] == study)
    finding = record["findings"][0] if record["findings"] else None
    box = finding["box"] if finding else next(a["box"] for a in record["anatomies"] if a["name"] == "right lung")
    box_text = ",".join(f"{v:.0f}" for v in box)
    phrase = finding["phrase"] if finding else "pleural effusion"
    kind = finding["kind"] if finding else "pleural effusion"
    args = ["--task", "report", "--task", "grounded-diagnosis", "--box", box_text, "--task", "grounded-caption", "--box", box_text,
            "--task", "phrase-grounding", "--phrase", phrase, "--task", "anatomy-grounding", "--anatomy", "left lung",
            "--task", "vqa", "--question", f"Is there {kind} in this image? Options: yes, no.", "--task", "image-understanding"]
    print("\n".join(args))


if __name__ == "__main__":
    main()
