"""`make samples`: the studies in Samples/ (512 px) and the contact sheet shown in the README.

    python -m cxrgen.samples [--out Samples] [--sheet docs/images/contact-sheet.png]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from .dataset import png_bytes
from .study import Generator

SEED = 2026
# (findings, flipped): normal, the main findings, devices, and one flipped study.
CASES = [
    ([], False),
    (["nodule", "central venous catheter"], False),
    (["pleural effusion"], False),
    (["cardiomegaly", "pacemaker"], False),
    (["pneumothorax"], False),
    (["consolidation", "endotracheal tube"], False),
    (["atelectasis", "rib fracture"], False),
    (["cardiomegaly", "pleural effusion"], True),
]
MAIN_ANATOMIES = ["right lung", "left lung", "cardiac silhouette", "right costophrenic angle", "left costophrenic angle",
                  "trachea", "carina"]


def overlay(image: np.ndarray, record: dict, anatomies: list[str] | None = MAIN_ANATOMIES) -> Image.Image:
    """The image with anatomy boxes (blue) and finding boxes (red), labelled."""
    pil = Image.fromarray(np.round(image * 255).astype(np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(pil)
    for a in record["anatomies"]:
        if anatomies is None or a["name"] in anatomies:
            draw.rectangle(a["box"], outline=(90, 180, 255), width=1)
            draw.text((a["box"][0] + 2, a["box"][1] + 1), a["name"], fill=(150, 210, 255))
    for f in record["findings"]:
        draw.rectangle(f["box"], outline=(255, 70, 70), width=2)
        draw.text((f["box"][0] + 2, f["box"][3] - 12), f"{f['kind']} ({f['side']})", fill=(255, 120, 120))
    title = ", ".join(f["kind"] for f in record["findings"]) or "no finding"
    draw.text((4, 4), f"{record['view']}{' FLIPPED' if record['flipped'] else ''}: {title}", fill=(255, 255, 0))
    return pil


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("Samples"))
    parser.add_argument("--sheet", type=Path, default=Path("docs/images/contact-sheet.png"))
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    generator = Generator(size=args.size)
    (args.out / "images").mkdir(parents=True, exist_ok=True)
    tiles, lines = [], []
    for index, (findings, flip) in enumerate(CASES):
        image, record = generator.make(SEED, index, force_findings=findings, force_flip=flip)
        record["image"] = f"images/{record['id']}.png"
        (args.out / record["image"]).write_bytes(png_bytes(image, 8))
        lines.append(json.dumps(record, separators=(",", ":")))
        tiles.append(overlay(image, record))
    (args.out / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    tile = 384
    sheet = Image.new("RGB", (tile * 4, tile * ((len(tiles) + 3) // 4)))
    for i, t in enumerate(tiles):
        sheet.paste(t.resize((tile, tile), Image.LANCZOS), ((i % 4) * tile, (i // 4) * tile))
    args.sheet.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.sheet, optimize=True)
    print(f"samples: {len(tiles)} studies in {args.out}, contact sheet {args.sheet}")


if __name__ == "__main__":
    main()
