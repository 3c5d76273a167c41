"""Performance estimators: learning-curve estimators and zero-cost proxies.

Two registries live here:

* :data:`ESTIMATORS` — estimators computed from a (short) training run's learning curve;
* :data:`PROXIES` — zero-cost proxies computed from an untrained network and one minibatch.
"""

from __future__ import annotations

from .._registry import Registry

ESTIMATORS: Registry = Registry("estimator")
PROXIES: Registry = Registry("proxy")

__all__ = ["ESTIMATORS", "PROXIES"]
