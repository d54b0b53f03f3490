"""Where the generator finds its inputs: the fetched cache and the shared anatomy list."""
from __future__ import annotations

import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("ANATOMIX_CACHE", ROOT / ".cache"))
SCHEMAS = ROOT / "Schemas"


def ct_dir() -> Path:
    path = CACHE / "ct"
    if not (path / "cxr.nii.gz").exists():
        raise SystemExit(f"the chest CT is not in {path}: run `make deps`")
    return path


def xrv_dir() -> Path:
    path = CACHE / "xrv"
    if not (path / "NLMCXR_reports.tgz").exists():
        raise SystemExit(f"the IU reports are not in {path}: run `make deps`")
    return path


@lru_cache(maxsize=None)
def anatomies() -> list[dict]:
    """The 36 AnatomiX anatomies in query order (Schemas/anatomies.v1.json)."""
    return json.loads((SCHEMAS / "anatomies.v1.json").read_text())["anatomies"]


@lru_cache(maxsize=None)
def chexpert_labels() -> list[str]:
    return json.loads((SCHEMAS / "anatomies.v1.json").read_text())["chexpert_labels"]


def save_npz_atomic(path: Path, **arrays) -> None:
    """Write an .npz cache so that readers see the whole file or none: a temporary file unique to
    this process in the same folder, then an atomic rename. Worker processes that build the same
    cache at once each write their own temporary file (a shared name raced: one worker renamed the
    file another was still writing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp.npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
