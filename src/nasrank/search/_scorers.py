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
    """Looks scores up in a table, e.g. NAS-Bench-201's published NASWOT scores or a
    :class:`~nasrank.benchmarks.ProxyTable`.

    Args:
        archs: The table's architectures.
        scores: One score per architecture (higher = better; NaN allowed).
        name: Label recorded in the run configuration.
        seconds: Optional seconds each architecture's score cost when the table was made; the
            first lookup of an architecture adds them to ``cost_`` (as scoring it on the fly
            would), so a time budget stays honest.
        key: Optional function mapping an architecture to its lookup key (e.g. a space's
            ``canonical_key``, so one row serves a whole isomorphism class); default: the tuple.

    Example:
        >>> s = TableScorer([(0, 0, 0, 0, 0, 1), (1, 1, 1, 1, 1, 1)], [0.5, 2.0], seconds=[0.1, 0.3])
        >>> s([(1, 1, 1, 1, 1, 1)]).tolist(), s.cost_
        ([2.0], 0.3)
        >>> _ = s([(1, 1, 1, 1, 1, 1)]); s.cost_
        0.3
    """

    def __init__(self, archs: Sequence[Sequence[int]], scores: Sequence[float], name: str = "table",
                 seconds: Sequence[float] | None = None, key: Any = None) -> None:
        scores = np.asarray(scores, dtype=np.float64)
        if len(archs) != len(scores):
            raise ConfigError(f"TableScorer needs one score per architecture ({len(archs)} vs {len(scores)})")
        if seconds is not None and len(seconds) != len(scores):
            raise ConfigError(f"TableScorer needs one cost per architecture ({len(seconds)} vs {len(scores)})")
        self.name = name
        self._key = key if key is not None else (lambda a: tuple(int(x) for x in a))
        self._index = {self._key(a): i for i, a in enumerate(archs)}
        self._scores = scores
        self._seconds = None if seconds is None else np.asarray(seconds, dtype=np.float64)
        self._charged: set[int] = set()
        self.cost_ = 0.0

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        try:
            rows = [self._index[self._key(a)] for a in archs]
        except KeyError as exc:
            raise ConfigError(f"architecture {exc.args[0]} is not in the score table {self.name!r}") from None
        if self._seconds is not None:
            new = [r for r in dict.fromkeys(rows) if r not in self._charged]
            self._charged.update(new)
            self.cost_ += float(self._seconds[new].sum())
        return self._scores[rows]

    def config(self) -> dict[str, Any]:
        return {"kind": "table", "name": self.name}


class ProxyScorer(Scorer):
    """Scores architectures with a registered zero-cost proxy on one real minibatch.

    The protocol of :mod:`nasrank.benchmarks` proxy tables: each architecture's network is built
    with ``torch.manual_seed(seed)`` and scored on the first ``batch_size`` images of one
    :meth:`~nasrank.data.ImageDataset.proxy_batch` draw from the data's training part, so a
    :class:`~nasrank.benchmarks.ProxyTable` built with the same protocol holds the same values.
    Isomorphic cells share one score, that of their class's canonical representative
    (``space.canonical``): the initial weights drawn under the seed depend on the order of a
    network's modules, so two members of a class would otherwise get different draws, and the
    cached value would depend on which member came first. Scores are oriented (a lower-is-better
    proxy such as ``ntk-cond`` is negated, so higher is always better); the seconds spent are
    added to ``cost_``. A network that fails to build or score gets NaN (a recorded outcome; the
    search goes on).

    Args:
        space: Search space (object or name).
        proxy: Proxy name (:func:`nasrank.list_proxies`), e.g. ``"gradsign"``, ``"nwot"``.
        data: A :class:`~nasrank.data.DataSpec` (default: digits).
        batch_size: Minibatch size (at most the training examples there are); ``None`` = the
            proxy's published size (GradSign / NASWOT 128).
        space_config: ``space.build`` keyword arguments (default: the space's
            ``default_config("search")``).
        seed: Seed of the minibatch and the initial weights.
        device: Where the networks are scored: ``"cpu"`` (default), ``"auto"`` (the device an
            executor assigned to this process, else the first GPU, else the CPU), ``"cuda"``,
            ``"cuda:N"`` or ``"mps"``. Checked here, resolved when scoring. It is not part of
            :meth:`config` (nor of :meth:`protocol`): networks are built on the CPU under the
            seed and moved, so every device scores the same weights; ``device_`` records
            where the last scores were computed.

    Attributes:
        device_: ``{"device": ..., "device_name": ...}`` of the last scoring call (``None``
            before the first).

    Example:
        >>> s = ProxyScorer("nb201", "synflow", batch_size=16, space_config={"C": 4, "N": 1})
        >>> v = s([(3, 3, 0, 1, 3, 4)])
        >>> v.shape, s.cost_ > 0, s.device_["device"]
        ((1,), True, 'cpu')
    """

    def __init__(self, space: Any = "nb201", proxy: str = "gradsign", data: Any = None,
                 batch_size: int | None = None, space_config: dict[str, Any] | None = None,
                 seed: int = 0, device: Any = "cpu") -> None:
        from ..estimators.zero_cost import proxy_info
        from ..execution import resolve_device

        proxy = proxy_info(proxy)["name"]  # unknown names raise UnknownNameError
        if isinstance(space, str):
            from ..spaces import SPACES

            space = SPACES.get(space)()
        self.space = space
        self.proxy = proxy
        self.sign = 1.0 if proxy_info(proxy)["higher_is_better"] else -1.0
        if data is None:
            from ..data import DataSpec

            data = DataSpec("digits", test_size=0)
        self.data = data
        if batch_size is None:
            batch_size = proxy_info(proxy)["batch_size"] or 1
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.space_config = dict(space_config if space_config is not None else space.default_config("search"))
        self.seed = check_int("seed", seed, minimum=0)
        resolve_device(device)  # an unknown or absent device fails at construction
        self.device = device
        self.device_: dict[str, str] | None = None
        self.cost_ = 0.0
        self._cache: dict[Any, float] = {}
        self._batch: Any = None

    def protocol(self) -> dict[str, Any]:
        """The resolved proxy-table protocol this scorer follows (the batch size is capped at the
        training examples there are)."""
        size = len(self._minibatch()[1])
        return {"space": self.space.name, "space_config": dict(self.space_config),
                "dataset": self.data.dataset, "seed": self.seed, "proxies": [self.proxy],
                "batch_sizes": {self.proxy: size}}

    def _minibatch(self) -> Any:
        if self._batch is None:
            tr = self.data.load()[0]
            x, y = tr.proxy_batch(min(self.batch_size, len(tr)), self.seed)
            self._batch = (x, y, tr.num_classes, tr.image_shape[0])
        return self._batch

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        from ..benchmarks import score_protocol_cells
        from ..execution import device_info, resolve_device

        dev = resolve_device(self.device)  # here, not at construction: a worker's assignment counts
        self.device_ = device_info(dev)
        x, y, num_classes, in_ch = self._minibatch()
        batch = (x.to(dev), y.to(dev), num_classes, in_ch)  # moved once per call, not once per cell
        out = np.empty(len(archs))
        t0 = time.perf_counter()
        for i, a in enumerate(archs):
            k = self.space.canonical_key(a)
            if k not in self._cache:  # the class's representative: one value per class, in any order
                rep = self.space.canonical(a)
                rec = score_protocol_cells(self.protocol(), [rep], space=self.space, batch=batch, device=dev)[0]
                v = rec["scores"][self.proxy]
                self._cache[k] = float("nan") if v is None else self.sign * float(v)
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
