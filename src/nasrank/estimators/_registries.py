"""The two estimator registries, in a leaf module so that the estimator modules that register
themselves import it without importing their own package (no import cycle)."""

from __future__ import annotations

from .._registry import Registry

__all__ = ["ESTIMATORS", "PROXIES"]

#: Learning-curve estimators (classes), registered by :mod:`nasrank.estimators.curve` and
#: :mod:`nasrank.estimators.lcsvr`.
ESTIMATORS: Registry = Registry("estimator")
#: Zero-cost proxies (classes), one module each in :mod:`nasrank.estimators.zero_cost`; each
#: registered class gets its registered name as ``cls.name``.
PROXIES: Registry = Registry("proxy", name_attr="name")
