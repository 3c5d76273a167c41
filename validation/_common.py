"""Helpers shared by the validation scripts (not part of the package)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def data_dir(arg: str | None) -> Path:
    """``--data-dir`` if given, else ``$NASRANK_DATA``, else ``<repo>/../shared/data``."""
    if arg:
        return Path(arg)
    return Path(os.environ.get("NASRANK_DATA", REPO.parent / "shared" / "data"))


def require(path: Path, what: str) -> Path:
    """Exit with a plain message (status 0: nothing to validate) when ``path`` is missing."""
    if not path.exists():
        print(f"SKIPPED: {what} not found at {path}. Pass --data-dir or set NASRANK_DATA.")
        sys.exit(0)
    return path


def load_nb201_csv(root: Path) -> list[dict[str, str]]:
    import csv

    path = require(root / "nasbench201" / "nb201_accuracy_200ep.csv", "NAS-Bench-201 ground truth")
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
