from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real-data folder (``$NASRANK_DATA`` or ``<repo>/../shared/data``); skips if absent."""
    root = Path(os.environ.get("NASRANK_DATA", REPO.parent / "shared" / "data"))
    if not root.is_dir():
        pytest.skip(f"shared data folder not found at {root} (set NASRANK_DATA)")
    return root


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Every test uses tiny networks: one thread is fastest and steadiest on a shared 2-core box."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
