"""The search-space registry, in a leaf module so that the space packages that register
themselves import it without importing :mod:`nasrank.spaces` itself (no import cycle)."""

from __future__ import annotations

from .._registry import Registry
from .base import SearchSpace

__all__ = ["SPACES"]

#: Search spaces (classes), registered by their packages (``nasrank.spaces.<name>``).
SPACES: Registry[type[SearchSpace]] = Registry("search space")
