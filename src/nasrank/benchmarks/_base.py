"""The tabular-benchmark interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import ConfigError, UnknownNameError

__all__ = ["TabularBenchmark"]


class TabularBenchmark(ABC):
    """A table of architectures with their final metrics (and, when present, learning curves).

    Conventions shared by every adapter:

    * architectures are the plain tuples of the benchmark's search space (``self.space``);
    * accuracies are fractions in [0, 1] (NAS-Bench-201's percentages are divided by 100);
    * ``dataset=None`` means the benchmark's default dataset (its first in :attr:`datasets`).

    Subclasses implement :meth:`archs` and :meth:`query`; :meth:`curve`, :meth:`epoch_times`
    and :meth:`table` have defaults (no curves, no times, a loop over :meth:`query`).

    Example:
        >>> from nasrank.benchmarks import load_benchmark
        >>> bench = load_benchmark("nb201-mini")
        >>> arch = bench.archs()[0]
        >>> 0.0 < bench.query(arch, "test_acc") < 1.0
        True
    """

    #: Registry name / short description of the benchmark.
    name: str = ""
    #: Datasets the benchmark covers (first = default).
    datasets: tuple[str, ...] = ()

    @property
    @abstractmethod
    def space(self) -> Any:
        """The :class:`~nasrank.spaces.SearchSpace` the architectures belong to."""

    @abstractmethod
    def archs(self) -> list[tuple[int, ...]]:
        """Every architecture in the benchmark, in the benchmark's order."""

    @abstractmethod
    def metrics(self, dataset: str | None = None) -> list[str]:
        """Names of the final metrics available for ``dataset``."""

    @abstractmethod
    def query(self, arch: Sequence[int] | str, metric: str = "test_acc", dataset: str | None = None) -> float:
        """Final ``metric`` of ``arch`` on ``dataset`` (NaN if the benchmark records none)."""

    # --- optional --------------------------------------------------------------------------
    @property
    def has_curves(self) -> bool:
        """Whether :meth:`curve` returns per-epoch learning curves."""
        return False

    def curve(self, arch: Sequence[int] | str, dataset: str | None = None) -> Any:
        """The :class:`~nasrank.training.LearningCurve` of ``arch`` (only if :attr:`has_curves`)."""
        raise ConfigError(f"benchmark {self.name!r} has no per-epoch learning curves")

    def epoch_times(self, arch: Sequence[int] | str, dataset: str | None = None) -> np.ndarray | None:
        """Seconds of training per epoch of ``arch``, or ``None`` when not recorded."""
        return None

    def table(self, metric: str = "test_acc", dataset: str | None = None) -> np.ndarray:
        """``metric`` for every architecture, aligned with :meth:`archs`."""
        return np.array([self.query(a, metric, dataset) for a in self.archs()], dtype=np.float64)

    def best(self, metric: str = "test_acc", dataset: str | None = None) -> tuple[tuple[int, ...], float]:
        """The architecture with the highest ``metric`` and its value.

        Example:
            >>> from nasrank.benchmarks import load_benchmark
            >>> bench = load_benchmark("nb201-mini")
            >>> arch, acc = bench.best("test_acc")
            >>> bool(acc == max(bench.table("test_acc")))
            True
        """
        values = self.table(metric, dataset)
        if not np.any(np.isfinite(values)):
            raise ConfigError(f"benchmark {self.name!r} has no finite {metric!r} values")
        i = int(np.nanargmax(values))
        return self.archs()[i], float(values[i])

    def __len__(self) -> int:
        return len(self.archs())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, archs={len(self)}, datasets={list(self.datasets)})"

    # --- helpers for subclasses --------------------------------------------------------------
    def _dataset(self, dataset: str | None) -> str:
        if dataset is None:
            return self.datasets[0]
        if dataset not in self.datasets:
            raise UnknownNameError(
                f"benchmark {self.name!r} has no dataset {dataset!r}; available: {', '.join(self.datasets)}"
            )
        return dataset

    def _check_metric(self, metric: str, dataset: str) -> None:
        ok = self.metrics(dataset)
        if metric not in ok:
            raise UnknownNameError(
                f"benchmark {self.name!r} has no metric {metric!r} for {dataset!r}; available: {', '.join(ok)}"
            )

    def _arch(self, arch: Sequence[int] | str) -> tuple[int, ...]:
        return self.space.from_str(arch) if isinstance(arch, str) else self.space.validate(arch)
