"""Search spaces: plain architecture encodings and the networks they build."""

from __future__ import annotations

from .._registry import Registry
from .base import Arch, SearchSpace

SPACES: Registry[type[SearchSpace]] = Registry("search space")

from .darts import DARTSSpace  # noqa: E402  (registers "darts")
from .nb201 import NB201Cell, NB201Space  # noqa: E402  (registers "nb201")

__all__ = ["SPACES", "Arch", "SearchSpace", "NB201Space", "NB201Cell", "DARTSSpace"]
