"""Seed handling shared by every stochastic object."""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["as_generator"]


def as_generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` for ``seed``.

    A ``Generator`` is returned as is (so the caller's stream advances), an int (or ``None`` for
    fresh OS entropy) seeds a new PCG64 generator.

    Example:
        >>> int(as_generator(0).integers(10)) == int(as_generator(0).integers(10))
        True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    from .exceptions import ConfigError

    raise ConfigError(
        f"seed must be a non-negative int, a numpy Generator or None, got {seed!r}"
    )
