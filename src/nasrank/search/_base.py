"""The strategy contract: ``ask() -> Query``, ``tell(query, score)``, ``state_dict()``.

A strategy only proposes architectures. It owns its random generator (seeded at construction),
never evaluates anything itself (proxy-assisted strategies call the cheap ``scorer`` they were
given), and its whole state — generator included — round-trips through a JSON-serialisable
:meth:`Strategy.state_dict`, so a search saved mid-run continues exactly as if uninterrupted.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .._registry import Registry
from ..exceptions import ConfigError

__all__ = ["Query", "Strategy", "STRATEGIES", "Scorer", "TableScorer", "ProxyScorer"]

#: Registered search strategies: ``name -> Strategy subclass``.
STRATEGIES: Registry = Registry("strategy")

Arch = tuple[int, ...]


@dataclass(frozen=True)
class Query:
    """One proposal of a strategy.

    Attributes:
        id: Sequential number of the proposal within its strategy (0, 1, 2, ...).
        arch: The architecture (the space's plain tuple).
        fidelity: Training budget in epochs for multi-fidelity strategies (Hyperband, BOHB);
            ``None`` = the evaluator's default.

    Example:
        >>> Query(0, (3, 3, 0, 1, 3, 4)).fidelity is None
        True
    """

    id: int
    arch: Arch
    fidelity: int | None = None

    def to_json(self) -> list[Any]:
        return [self.id, list(self.arch), self.fidelity]

    @classmethod
    def from_json(cls, v: Sequence[Any]) -> Query:
        return cls(int(v[0]), tuple(int(a) for a in v[1]), None if v[2] is None else int(v[2]))


def _check_pos_int(name: str, v: Any, minimum: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ConfigError(f"`{name}` must be an int >= {minimum}, got {v!r}")
    return int(v)


def _key(v: float) -> float:
    """Ranking key of a score: NaN (a failed or undefined evaluation) ranks last."""
    return v if not math.isnan(v) else -math.inf


class Strategy(ABC):
    """Base class of search strategies (ask/tell, own RNG, saveable state).

    Subclasses implement :meth:`_ask` (return an architecture, or ``(arch, fidelity)``, or
    ``None`` when nothing can be proposed until a pending query is told) and :meth:`_tell`,
    and extend :meth:`_state` / :meth:`_load_state` with their own state. The base class assigns
    query ids, tracks pending queries and the history of told results, validates every call and
    (de)serialises the random generator.

    Args:
        space: A :class:`~nasrank.spaces.SearchSpace` or its registry name.
        seed: Seed of the strategy's generator.

    Contract (checked by :func:`nasrank.testing.check_strategy` for every registered strategy):

    * ``ask()`` returns a :class:`Query` whose ``arch`` is valid for the space; several queries
      may be pending at once (asynchronous workers); ``ask()`` returns ``None`` only while some
      query is pending;
    * ``tell(query, score)`` takes a pending query and a float, higher = better (NaN = failed);
    * the same seed and the same told scores give the same queries;
    * ``load_state_dict(state_dict())`` on a fresh instance continues identically.
    """

    name: ClassVar[str] = ""
    #: Whether the strategy varies :attr:`Query.fidelity` (needs an evaluator with epochs).
    multi_fidelity: ClassVar[bool] = False
    #: Whether the strategy needs a ``scorer`` (proxy-assisted variants).
    needs_scorer: ClassVar[bool] = False

    def __init__(self, space: Any = "nb201", seed: int = 0) -> None:
        if isinstance(space, str):
            from ..spaces import SPACES

            space = SPACES.get(space)()
        for m in ("sample", "mutate", "validate"):
            if not callable(getattr(space, m, None)):
                raise ConfigError(f"`space` must be a SearchSpace (or its name), got {type(space).__name__}")
        self.space = space
        self.seed = _check_pos_int("seed", seed, 0)
        self.rng_ = np.random.default_rng(self.seed)
        self.n_asked_ = 0
        self.pending_: dict[int, Query] = {}
        self.history_: list[tuple[Query, float]] = []

    # --- public contract -------------------------------------------------------------------
    def ask(self) -> Query | None:
        """The next architecture to evaluate, or ``None`` while waiting for pending results."""
        out = self._ask()
        if out is None:
            if not self.pending_:
                raise RuntimeError(f"strategy {self.name!r} proposed nothing with no query pending")
            return None
        arch, fidelity = out if isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], tuple) else (out, None)
        q = Query(self.n_asked_, self.space.validate(tuple(int(a) for a in arch)),
                  None if fidelity is None else int(fidelity))
        self.n_asked_ += 1
        self.pending_[q.id] = q
        return q

    def tell(self, query: Query, score: float) -> None:
        """Report ``score`` (higher = better; NaN = failed) for a pending ``query``."""
        if not isinstance(query, Query):
            raise ConfigError(f"tell() needs the Query returned by ask(), got {type(query).__name__}")
        if self.pending_.get(query.id) != query:
            raise ConfigError(f"query {query.id} is not pending (told twice, or not asked by this strategy)")
        if isinstance(score, bool) or not isinstance(score, (int, float, np.floating, np.integer)):
            raise ConfigError(f"`score` must be a float (NaN for a failed evaluation), got {score!r}")
        score = float(score)
        if math.isinf(score):
            score = math.nan
        del self.pending_[query.id]
        self.history_.append((query, score))
        self._tell(query, score)

    def best(self) -> tuple[Arch, float] | None:
        """The told architecture with the highest score at the highest fidelity told so far."""
        if not self.history_:
            return None
        top = max((q.fidelity or 0) for q, _ in self.history_)
        cand = [(q, s) for q, s in self.history_ if (q.fidelity or 0) == top]
        q, s = max(cand, key=lambda t: _key(t[1]))
        return q.arch, s

    def state_dict(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot of everything the strategy's future depends on."""
        return {
            "name": self.name, "seed": self.seed, "rng": self.rng_.bit_generator.state,
            "n_asked": self.n_asked_, "pending": [q.to_json() for q in self.pending_.values()],
            "history": [[q.to_json(), None if math.isnan(s) else s] for q, s in self.history_],
            "state": self._state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (same strategy class and parameters)."""
        if not isinstance(state, dict) or state.get("name") != self.name:
            raise ConfigError(
                f"state of strategy {state.get('name') if isinstance(state, dict) else state!r} "
                f"cannot be loaded into {self.name!r}"
            )
        self.seed = int(state["seed"])
        self.rng_ = np.random.default_rng()
        self.rng_.bit_generator.state = state["rng"]
        self.n_asked_ = int(state["n_asked"])
        self.pending_ = {q.id: q for q in (Query.from_json(v) for v in state["pending"])}
        self.history_ = [(Query.from_json(q), math.nan if s is None else float(s)) for q, s in state["history"]]
        self._load_state(state.get("state") or {})

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({params})"

    def params(self) -> dict[str, Any]:
        """The constructor's keyword parameters (without space / scorer)."""
        return {k: v for k, v in vars(self).items()
                if not k.endswith("_") and k not in ("space", "scorer")}

    # --- for subclasses --------------------------------------------------------------------
    @abstractmethod
    def _ask(self) -> Arch | tuple[Arch, int] | None:
        """Propose an architecture (optionally with a fidelity)."""

    def _tell(self, query: Query, score: float) -> None:  # noqa: B027  (optional hook)
        """React to a result (default: nothing beyond the history)."""

    def _state(self) -> dict[str, Any]:
        """Extra JSON-serialisable state of the subclass."""
        return {}

    def _load_state(self, state: dict[str, Any]) -> None:  # noqa: B027  (optional hook)
        """Restore :meth:`_state`."""

    def _random_arch(self) -> Arch:
        return self.space.sample(self.rng_)

    def _mutate(self, arch: Arch) -> Arch:
        return self.space.mutate(arch, self.rng_)


# --- cheap scorers for proxy-assisted strategies -------------------------------------------
class Scorer(ABC):
    """A cheap score (higher = predicted better) of many architectures at once.

    ``cost_`` accumulates the seconds spent scoring (the driver charges it to the budget).
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
        space_config: ``space.build`` keyword arguments (e.g. ``{"C": 8, "N": 1}``).
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
        self.batch_size = _check_pos_int("batch_size", batch_size)
        self.space_config = dict(space_config or {})
        self.seed = _check_pos_int("seed", seed, 0)
        self.cost_ = 0.0
        self._cache: dict[Any, float] = {}
        self._batch: Any = None

    def _minibatch(self) -> Any:
        if self._batch is None:
            import torch

            tr = self.data.load()[0]
            g = np.random.default_rng(self.seed)
            idx = g.choice(len(tr), size=min(self.batch_size, len(tr)), replace=False)
            sub = tr.subset(np.sort(idx))
            x, y = next(iter(sub.batches(len(sub))))
            self._batch = (x, y, tr.num_classes, tr.image_shape[0])
            del torch
        return self._batch

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        import time

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
    """The architecture with the highest score (NaN last; ties: the earliest)."""
    s = np.where(np.isnan(scores), -np.inf, scores)
    return archs[int(np.argmax(s))]


Factory = Callable[..., Strategy]
