"""Cheap scorers that proxy-assisted strategies screen candidate cells with.

A :class:`Scorer` maps many architectures to scores at once (higher = predicted better, NaN where
undefined) and accumulates the seconds it spends in ``cost_`` (the driver charges them to the
budget). :class:`TableScorer` looks scores up (e.g. NAS-Bench-201's published NASWOT scores);
:class:`ProxyScorer` computes a registered zero-cost proxy on one real minibatch.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validate import check_int
from ..exceptions import ConfigError

__all__ = ["Scorer", "TableScorer", "ProxyScorer", "pick_best"]

Arch = tuple[int, ...]


class Scorer(ABC):
    """A cheap score (higher = predicted better) of many architectures at once.

    ``cost_`` accumulates the seconds spent scoring (the driver charges it to the budget).

    Example:
        >>> class Sum(Scorer):
        ...     def __call__(self, archs):
        ...         return np.array([float(sum(a)) for a in archs])
        >>> Sum()([(1, 2), (3, 4)]).tolist(), Sum().config()
        ([3.0, 7.0], {'kind': 'Sum'})
    """

    cost_: float = 0.0

    @abstractmethod
    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        """Scores of ``archs`` (NaN where undefined)."""

    def config(self) -> dict[str, Any]:
        """JSON description (part of the search run's identity)."""
        return {"kind": type(self).__name__}


class TableScorer(Scorer):
    """Looks scores up in a table, e.g. NAS-Bench-201's published NASWOT scores.

    Args:
        archs: The table's architectures.
        scores: One score per architecture (higher = better; NaN allowed).
        name: Label recorded in the run configuration.

    Example:
        >>> s = TableScorer([(0, 0, 0, 0, 0, 1), (1, 1, 1, 1, 1, 1)], [0.5, 2.0])
        >>> s([(1, 1, 1, 1, 1, 1)]).tolist()
        [2.0]
    """

    def __init__(self, archs: Sequence[Sequence[int]], scores: Sequence[float], name: str = "table") -> None:
        scores = np.asarray(scores, dtype=np.float64)
        if len(archs) != len(scores):
            raise ConfigError(f"TableScorer needs one score per architecture ({len(archs)} vs {len(scores)})")
        self.name = name
        self._index = {tuple(int(x) for x in a): i for i, a in enumerate(archs)}
        self._scores = scores
        self.cost_ = 0.0

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        try:
            return self._scores[[self._index[tuple(a)] for a in archs]]
        except KeyError as exc:
            raise ConfigError(f"architecture {exc.args[0]} is not in the score table {self.name!r}") from None

    def config(self) -> dict[str, Any]:
        return {"kind": "table", "name": self.name}


class ProxyScorer(Scorer):
    """Scores architectures with a registered zero-cost proxy on one real minibatch.

    Each architecture's network is built with ``torch.manual_seed(seed)`` and scored on the same
    minibatch (drawn once from the training split with ``seed``); scores are cached by canonical
    key, and the seconds spent are added to ``cost_``.

    Args:
        space: Search space (object or name).
        proxy: Proxy name (:func:`nasrank.list_proxies`), e.g. ``"gradsign"``, ``"nwot"``.
        data: A :class:`~nasrank.data.DataSpec` (default: digits).
        batch_size: Minibatch size (GradSign / NASWOT published 128).
        space_config: ``space.build`` keyword arguments (default: the space's
            ``default_config("search")``).
        seed: Seed of the minibatch and the initial weights.

    Example:
        >>> s = ProxyScorer("nb201", "synflow", batch_size=16, space_config={"C": 4, "N": 1})
        >>> v = s([(3, 3, 0, 1, 3, 4)])
        >>> v.shape, s.cost_ > 0
        ((1,), True)
    """

    def __init__(self, space: Any = "nb201", proxy: str = "gradsign", data: Any = None, batch_size: int = 128,
                 space_config: dict[str, Any] | None = None, seed: int = 0) -> None:
        from ..estimators import PROXIES

        PROXIES.get(proxy)
        if isinstance(space, str):
            from ..spaces import SPACES

            space = SPACES.get(space)()
        self.space = space
        self.proxy = proxy
        if data is None:
            from ..data import DataSpec

            data = DataSpec("digits", test_size=0)
        self.data = data
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.space_config = dict(space_config if space_config is not None else space.default_config("search"))
        self.seed = check_int("seed", seed, minimum=0)
        self.cost_ = 0.0
        self._cache: dict[Any, float] = {}
        self._batch: Any = None

    def _minibatch(self) -> Any:
        if self._batch is None:
            tr = self.data.load()[0]
            g = np.random.default_rng(self.seed)
            idx = g.choice(len(tr), size=min(self.batch_size, len(tr)), replace=False)
            sub = tr.subset(np.sort(idx))
            x, y = next(iter(sub.batches(len(sub))))
            self._batch = (x, y, tr.num_classes, tr.image_shape[0])
        return self._batch

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        import torch

        from ..estimators.zero_cost import compute_proxies

        out = np.empty(len(archs))
        t0 = time.perf_counter()
        for i, a in enumerate(archs):
            k = self.space.canonical_key(a)
            if k not in self._cache:
                x, y, n_cls, in_ch = self._minibatch()
                torch.manual_seed(self.seed)
                kw = dict(self.space_config)
                kw.setdefault("in_channels", in_ch)
                net = self.space.build(a, num_classes=n_cls, **kw)
                self._cache[k] = float(compute_proxies(net, (x, y), names=[self.proxy], seed=self.seed)[self.proxy])
            out[i] = self._cache[k]
        self.cost_ += time.perf_counter() - t0
        return out

    def config(self) -> dict[str, Any]:
        return {"kind": "proxy", "proxy": self.proxy, "data": self.data.key(), "batch_size": self.batch_size,
                "space_config": self.space_config, "seed": self.seed}


def pick_best(archs: Sequence[Arch], scores: np.ndarray) -> Arch:
    """The architecture with the highest score (NaN last; ties: the earliest).

    Example:
        >>> pick_best([(0,), (1,), (2,)], np.array([1.0, np.nan, 1.0]))
        (0,)
    """
    s = np.where(np.isnan(scores), -np.inf, scores)
    return archs[int(np.argmax(s))]
