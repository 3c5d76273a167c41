"""Effective training budget for TSE-E / TSE-EMA (seed 000, App. F, Algorithm 1)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ..exceptions import ConfigError
from ..records import LearningCurve

__all__ = ["effective_training_budget", "overfit_epoch"]


def _check_threshold(threshold: float) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold > 0:
        raise ConfigError(f"`threshold` must be a number > 0, got {threshold!r}")
    return float(threshold)


def overfit_epoch(
    curve: LearningCurve,
    threshold: float = 0.1,
    is_overfit: Callable[[float], bool] | None = None,
) -> int:
    """First (1-based) epoch whose training loss meets the overfitting criterion, else T_end.

    Default criterion (App. F): the epoch's training loss drops below ``threshold`` (0.1).
    NaN losses never count as overfitting.

    Example:
        >>> overfit_epoch(LearningCurve(train_loss=[1.0, 0.3, 0.05, 0.01]))
        3
        >>> overfit_epoch(LearningCurve(train_loss=[1.0, 0.5]))
        2
    """
    if not isinstance(curve, LearningCurve):
        raise ConfigError(f"expected a LearningCurve, got {type(curve).__name__}")
    if curve.epochs == 0:
        raise ConfigError("a curve with no epochs has no overfitting epoch")
    if is_overfit is None:
        thr = _check_threshold(threshold)

        def is_overfit(loss: float) -> bool:
            return loss < thr

    for t, loss in enumerate(np.asarray(curve.train_loss, dtype=np.float64), start=1):
        if math.isfinite(loss) and is_overfit(float(loss)):
            return t
    return curve.epochs


def effective_training_budget(
    curves: Sequence[LearningCurve],
    threshold: float = 0.1,
    fraction: float = 0.9,
    is_overfit: Callable[[float], bool] | None = None,
) -> int:
    """Algorithm 1 of seed 000: the budget up to which TSE-E / TSE-EMA stay reliable.

    Given N_s fully trained architectures, T_o is the earliest epoch at which any of them starts
    to overfit (:func:`overfit_epoch`; an architecture that never does contributes its T_end), and
    the effective budget is ``floor(fraction * T_o)`` (at least 1), i.e. 0.9 T_o by default.

    Args:
        curves: Learning curves of the N_s sampled, fully trained architectures.
        threshold: Training-loss level below which an architecture counts as overfitting.
        fraction: Fraction of T_o to keep (paper: 0.9), in (0, 1].
        is_overfit: Custom criterion on an epoch's training loss (overrides ``threshold``).

    Raises:
        ConfigError: no curves, an empty curve, or ``threshold`` / ``fraction`` out of range.

    Example:
        >>> curves = [LearningCurve(train_loss=[2, 1, .5, .2, .09, .05] + [.01] * 14),
        ...           LearningCurve(train_loss=[2.0] * 20)]
        >>> effective_training_budget(curves)  # T_o = 5 -> floor(4.5)
        4
    """
    curves = list(curves)
    if not curves:
        raise ConfigError("effective_training_budget needs at least one learning curve")
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1:
        raise ConfigError(f"`fraction` must be a number in (0, 1], got {fraction!r}")
    if is_overfit is None:
        _check_threshold(threshold)
    t_o = min(overfit_epoch(c, threshold, is_overfit) for c in curves)
    return max(1, int(math.floor(fraction * t_o + 1e-9)))
