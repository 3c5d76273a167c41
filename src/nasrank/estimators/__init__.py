"""Performance estimators: learning-curve estimators and zero-cost proxies.

Two registries live here:

* :data:`ESTIMATORS` — estimators computed from a (short) training run's learning curve;
* :data:`PROXIES` — zero-cost proxies computed from an untrained network and one minibatch.
"""

from __future__ import annotations

from .._registry import Registry, check_params

ESTIMATORS: Registry = Registry("estimator")
PROXIES: Registry = Registry("proxy")

from . import zero_cost  # noqa: E402,F401  (registers the zero-cost proxies)

__all__ = ["ESTIMATORS", "PROXIES"]

# --- learning-curve estimators (TSE family, baselines, LcSVR, effective budget) ---------------
from . import curve, lcsvr  # noqa: E402,F401  (registers the learning-curve estimators)
from .budget import effective_training_budget, overfit_epoch  # noqa: E402
from .curve import GAMMA_PAPER, GAMMA_RELEASED_CODE, CurveEstimator  # noqa: E402
from .lcsvr import LcSVR  # noqa: E402

__all__ += [
    "create_estimator",
    "list_estimators",
    "CurveEstimator",
    "LcSVR",
    "effective_training_budget",
    "overfit_epoch",
    "GAMMA_PAPER",
    "GAMMA_RELEASED_CODE",
]


def create_estimator(name: str, **params: object) -> CurveEstimator:
    """Instantiate the learning-curve estimator registered as ``name``.

    Raises:
        UnknownNameError: if no estimator has that name (the message lists the valid ones).

    Example:
        >>> from nasrank.training import LearningCurve
        >>> create_estimator("tse-ema", gamma=0.5).compute(LearningCurve(train_loss=[4.0, 2.0]), 2)
        4.0
    """
    cls = ESTIMATORS.get(name)
    check_params("estimator", name, cls, params)
    return cls(**params)


def list_estimators(pattern: str | None = None) -> list[str]:
    """Names of the registered learning-curve estimators, optionally filtered by a glob.

    Example:
        >>> list_estimators("tse*")
        ['tse', 'tse-e', 'tse-ema']
    """
    return ESTIMATORS.list(pattern)
