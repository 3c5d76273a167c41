"""Performance estimators: learning-curve estimators and zero-cost proxies.

Two registries live here:

* :data:`ESTIMATORS` — estimators computed from a (short) training run's learning curve;
* :data:`PROXIES` — zero-cost proxies computed from an untrained network and one minibatch
  (each meets the :class:`~nasrank.estimators.zero_cost.ZeroCostProxy` protocol).

Registry lookups ignore case and ``_`` vs ``-`` (``tse_ema`` finds ``tse-ema``).
:class:`EstimatorSpec` / :func:`parse_estimators` read the ``name[:key=value...]`` text form.
"""

from __future__ import annotations

from .._registry import check_params
from ._registries import ESTIMATORS, PROXIES

# isort: split
# (the registries are bound first: zero_cost/nwot.py reads PROXIES from this package)
from . import curve, lcsvr, zero_cost  # noqa: F401  (importing registers the estimators and proxies)
from .budget import effective_training_budget, overfit_epoch
from .curve import GAMMA_PAPER, GAMMA_RELEASED_CODE, CurveEstimator
from .lcsvr import LcSVR
from .spec import EstimatorSpec, parse_estimators

__all__ = [
    "ESTIMATORS",
    "PROXIES",
    "EstimatorSpec",
    "parse_estimators",
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
