"""The finding-anatomy ontology (Schemas/findings.v1.json) and the mask-area rule that attaches a
generated finding to the anatomies a radiologist would name for it."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import assets


@lru_cache(maxsize=None)
def ontology() -> dict:
    import json
    return json.loads((assets.SCHEMAS / "findings.v1.json").read_text())


@lru_cache(maxsize=None)
def allowed() -> dict[str, tuple[str, ...]]:
    """Finding kind -> the anatomies it may be stated for, in query order."""
    return {f["kind"]: tuple(f["anatomies"]) for f in ontology()["findings"]}


@lru_cache(maxsize=None)
def names() -> dict[str, str]:
    """Finding kind -> the name region sentences use."""
    return {f["kind"]: f["name"] for f in ontology()["findings"]}


def kind_order() -> list[str]:
    return [f["kind"] for f in ontology()["findings"]]


def side_allows(finding_side: str, anatomy_side: str) -> bool:
    if anatomy_side == "midline" or finding_side in ("midline", "bilateral"):
        return True
    return finding_side == anatomy_side


def candidates(kind: str, side: str) -> list[str]:
    sides = {a["name"]: a["side"] for a in assets.anatomies()}
    return [name for name in allowed()[kind] if side_allows(side, sides[name])]


def visible_mask(thickness_mm: np.ndarray) -> np.ndarray:
    """Where a finding reads on the film: projected thickness above the absolute and the relative
    (to its own maximum) thresholds of the ontology's attachment rule."""
    rule = ontology()["attachment"]
    return thickness_mm > max(rule["mask_threshold_mm"], rule["mask_relative_threshold"] * float(thickness_mm.max(initial=0.0)))


def attach(kind: str, side: str, finding_mask: np.ndarray, regions: dict[str, np.ndarray]) -> list[str]:
    """The anatomies this finding is attached to, best covered first.

    Allowed (kind, anatomy, side) AND (>= min_anatomy_fraction of the anatomy's region covered, or
    >= min_finding_fraction of the finding's mask inside the region). If none qualifies: the allowed
    anatomy it overlaps most, else the allowed anatomy nearest to the finding's centre."""
    rule = ontology()["attachment"]
    names_ = candidates(kind, side)
    if not names_:
        raise ValueError(f"the ontology allows no anatomy for {kind!r} on side {side!r}")
    area_f = max(int(finding_mask.sum()), 1)
    scored = []
    for name in names_:
        region = regions[name]
        inter = int(np.logical_and(finding_mask, region).sum())
        of_anatomy, of_finding = inter / max(int(region.sum()), 1), inter / area_f
        scored.append((max(of_anatomy / rule["min_anatomy_fraction"], of_finding / rule["min_finding_fraction"]), inter, name))
    keep = [n for s, inter, n in sorted(scored, reverse=True) if s >= 1.0 and inter > 0]
    if keep:
        return keep
    best = max(scored, key=lambda t: t[1])
    if best[1] > 0:
        return [best[2]]
    ys, xs = np.nonzero(finding_mask)
    cy, cx = (ys.mean(), xs.mean()) if ys.size else (0.0, 0.0)

    def gap(name: str) -> float:
        ry, rx = np.nonzero(regions[name])
        return float(np.min((ry - cy) ** 2 + (rx - cx) ** 2)) if ry.size else float("inf")
    return [min(names_, key=gap)]


def region_sentence(display_name: str, kinds: list[str]) -> str:
    """'{Anatomy} shows {finding} and {finding}.' with ontology names in ontology order, or
    '{Anatomy} is healthy.' The canonical form carries no measurements: what a region shows, not how much."""
    order = {k: i for i, k in enumerate(kind_order())}
    listed = [names()[k] for k in sorted(dict.fromkeys(kinds), key=order.__getitem__)]
    listed = list(dict.fromkeys(listed))
    head = display_name[:1].upper() + display_name[1:]
    if not listed:
        return f"{head} is healthy."
    text = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]
    return f"{head} shows {text}."
