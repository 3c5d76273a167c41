"""Training cost from a model of the architecture instead of the wall clock of one run.

A benchmark records the seconds each training epoch took. On a machine that also runs other work
those are noisy, and only upwards: an epoch never runs faster than the machine allows, but it can
run several times slower while something else holds the cores (in ``nb201-mini`` about one run in
ten took 1.6-5.6 times what its architecture predicts). A search whose cost is the recorded
seconds then charges some cells at random for the load of the machine that built the benchmark.

:func:`fit_epoch_cost` fits the seconds per epoch as a linear function of the space's
architecture encoding (for NB201: which operation sits on each edge, so one coefficient per
operation and edge) by **median regression** over the benchmark's cells: each cell's seconds per
epoch is the median over its epochs, and the median-regression fit ignores the upward outliers
that a least-squares fit would chase. :class:`EpochCostModel` gives every cell its predicted
seconds per epoch: a cost that depends on the architecture alone, normalised to the speed the
build machine had when it was not disturbed. ``TabularEvaluator(..., cost="model")`` charges it.

Example:
    >>> from nasrank.benchmarks import load_benchmark
    >>> bench = load_benchmark("nb201-mini")
    >>> model = fit_epoch_cost(bench)
    >>> sec = model.predict(bench.archs())
    >>> bool((sec > 0).all()), model.n_archs
    (True, 200)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..exceptions import ConfigError

__all__ = ["EpochCostModel", "fit_epoch_cost"]


@dataclass(frozen=True)
class EpochCostModel:
    """Predicted seconds per training epoch of any architecture of a space.

    Attributes:
        space: The space (its ``encode`` gives the features).
        intercept: Seconds per epoch of the encoding's zero vector.
        coef: Seconds per unit of each encoding feature.
        floor: Smallest prediction returned (half the fastest cell's recorded median).
        n_archs: Cells the model was fitted on.
        median_abs_rel_error: Median of ``|recorded - predicted| / predicted`` over those cells.
        share_slow: Share of cells whose recorded seconds exceed the prediction by more than 50%
            (runs slowed down by other work on the machine, as far as the model can tell).
    """

    space: Any
    intercept: float
    coef: np.ndarray
    floor: float
    n_archs: int
    median_abs_rel_error: float
    share_slow: float

    def predict(self, archs: Sequence[Sequence[int]]) -> np.ndarray:
        """Seconds per epoch of each architecture."""
        archs = list(archs)
        if not archs:
            return np.zeros(0)
        x = np.array([self.space.encode(a) for a in archs], dtype=np.float64)
        return np.maximum(self.intercept + x @ self.coef, self.floor)

    def summary(self) -> str:
        """One line: what was fitted and how well."""
        return (f"epoch-cost model on {self.n_archs} cells: median |error| {100 * self.median_abs_rel_error:.1f}% "
                f"of the prediction, {100 * self.share_slow:.1f}% of the cells recorded > 1.5x slower than predicted")


def fit_epoch_cost(bench: Any) -> EpochCostModel:
    """Fit seconds per epoch against the architecture encoding by median regression.

    Args:
        bench: A benchmark with recorded epoch times (``epoch_times(arch)``, e.g. a
            :class:`~nasrank.benchmarks.CurveBenchmark`) over a space with an ``encode``.

    Raises:
        ConfigError: if the benchmark records no epoch times, its space has no encoding, or
            fewer cells have finite times than the encoding has features plus two.
    """
    from sklearn.linear_model import QuantileRegressor

    space = bench.space
    archs, y = [], []
    for a in bench.archs():
        t = bench.epoch_times(a)
        if t is None:
            raise ConfigError(f"benchmark {getattr(bench, 'name', bench)!r} records no epoch times: nothing to "
                              "fit a cost model on; use its recorded costs")
        t = np.asarray(t, dtype=np.float64)
        t = t[np.isfinite(t) & (t > 0)]
        if t.size:
            archs.append(a)
            y.append(float(np.median(t)))
    try:
        x = np.array([space.encode(a) for a in archs], dtype=np.float64)
    except NotImplementedError:
        raise ConfigError(f"space {space.name!r} has no architecture encoding to fit a cost model on; "
                          "use the recorded costs") from None
    y_arr = np.asarray(y)
    if len(archs) < x.shape[1] + 2:
        raise ConfigError(f"a cost model with {x.shape[1]} features needs at least {x.shape[1] + 2} cells with "
                          f"recorded epoch times; the benchmark has {len(archs)}")
    fit = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(x, y_arr)
    floor = 0.5 * float(y_arr.min())
    pred = np.maximum(fit.intercept_ + x @ fit.coef_, floor)
    rel = (y_arr - pred) / pred
    return EpochCostModel(space=space, intercept=float(fit.intercept_), coef=np.asarray(fit.coef_, dtype=np.float64),
                          floor=floor, n_archs=len(archs), median_abs_rel_error=float(np.median(np.abs(rel))),
                          share_slow=float(np.mean(rel > 0.5)))
