"""A synthetic learning-curve benchmark for the evaluation tests (in memory, no files).

Each architecture has a latent quality q in [0, 1]; its curves decay towards a floor that
depends on q, with seeded noise, so that training-speed estimators correlate with the final
test accuracy but not perfectly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nasrank.benchmarks import TabularBenchmark
from nasrank.spaces.nb201 import NB201Space
from nasrank.training import LearningCurve


def synthetic_curves(n: int = 60, epochs: int = 12, seed: int = 0, n_diverged: int = 0):
    """``(curves, test_acc)`` for ``n`` synthetic architectures."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(size=n)
    t = np.arange(1, epochs + 1)
    curves, test = [], []
    for i in range(n):
        rate = 0.1 + 0.4 * q[i] + rng.normal(0, 0.05)
        floor = 0.4 * (1 - q[i])
        train_loss = floor + 2.0 * np.exp(-rate * t) + rng.normal(0, 0.03, epochs)
        val_loss = train_loss + 0.2 + rng.normal(0, 0.05, epochs)
        val_acc = np.clip(1 - val_loss / 2.5, 0, 1)
        acc = float(np.clip(0.5 + 0.4 * q[i] + rng.normal(0, 0.03), 0, 1))
        kw = dict(train_loss=train_loss, train_acc=np.clip(1 - train_loss / 2.5, 0, 1),
                  val_loss=val_loss, val_acc=val_acc, epoch_time=np.full(epochs, 1.5),
                  test_acc=acc, planned_epochs=epochs)
        if i < n_diverged:
            stop = max(1, epochs // 3)
            for k in ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time"):
                kw[k] = kw[k][:stop].copy()
            kw["train_loss"][-1] = np.nan
            kw["diverged"] = True
            acc = 0.1
            kw["test_acc"] = acc
        curves.append(LearningCurve(**kw))
        test.append(acc)
    return curves, np.array(test)


class SyntheticBenchmark(TabularBenchmark):
    """In-memory TabularBenchmark over NB201 cells with synthetic curves."""

    name = "synthetic"
    datasets = ("toy",)

    def __init__(self, n: int = 60, epochs: int = 12, seed: int = 0, n_diverged: int = 0,
                 curves: bool = True) -> None:
        self._space = NB201Space()
        rng = np.random.default_rng(seed)
        codes = rng.choice(5 ** 6, size=n, replace=False)
        self._archs = [tuple(int(c // 5 ** k % 5) for k in range(5, -1, -1)) for c in codes]
        self._curves, self._test = synthetic_curves(n, epochs, seed, n_diverged)
        self._index = {a: i for i, a in enumerate(self._archs)}
        self._has_curves = curves

    @property
    def space(self):
        return self._space

    @property
    def has_curves(self) -> bool:
        return self._has_curves

    def archs(self):
        return list(self._archs)

    def metrics(self, dataset=None):
        self._dataset(dataset)
        return ["test_acc"]

    def query(self, arch: Sequence[int] | str, metric: str = "test_acc", dataset=None) -> float:
        ds = self._dataset(dataset)
        self._check_metric(metric, ds)
        return float(self._test[self._index[self._arch(arch)]])

    def curve(self, arch, dataset=None):
        if not self._has_curves:
            return super().curve(arch, dataset)
        self._dataset(dataset)
        return self._curves[self._index[self._arch(arch)]]
