from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder (``$NASRANK_DATA`` or ``<repo>/../shared/data``); skips if absent."""
    root = Path(os.environ.get("NASRANK_DATA", REPO.parent / "shared" / "data"))
    if not root.is_dir():
        pytest.skip(f"shared data folder not found at {root} (set NASRANK_DATA)")
    return root


