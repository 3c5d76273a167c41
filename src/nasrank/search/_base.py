"""The strategy contract: ``ask() -> Query``, ``tell(query, score)``, ``state_dict()``.

A strategy only proposes architectures. It owns its random generator (seeded at construction),
never evaluates anything itself (a proxy-assisted strategy asks the cheap scorer of its
:class:`~nasrank.search.ProxyAssist` to pick among candidates), and its whole state — generator
included — round-trips through a JSON-serialisable :meth:`Strategy.state_dict`, so a search saved
mid-run continues exactly as if uninterrupted.

Constructors take the space and keyword-only parameters (``Strategy(space, *, seed=0, ...)``),
store each parameter under its own name, and :meth:`Strategy.params` reads them back through
the signature: the parameters are part of a search run's identity.
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from .._registry import Registry, check_params
from .._validate import check_int
from ..exceptions import ConfigError

__all__ = ["Query", "Strategy", "STRATEGIES", "Assistance", "create_strategy", "list_strategies"]

#: Registered search strategies: ``name -> Strategy subclass`` (or, for the proxy-assisted
#: ``g-*`` names, an :class:`~nasrank.search.Assisted` entry that builds one).
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
        """``[id, arch, fidelity]`` (what a saved state holds).

        Example:
            >>> Query(2, (1, 2), 3).to_json()
            [2, [1, 2], 3]
        """
        return [self.id, list(self.arch), self.fidelity]

    @classmethod
    def from_json(cls, v: Sequence[Any]) -> Query:
        """Inverse of :meth:`to_json`.

        Example:
            >>> Query.from_json([2, [1, 2], None])
            Query(id=2, arch=(1, 2), fidelity=None)
        """
        return cls(int(v[0]), tuple(int(a) for a in v[1]), None if v[2] is None else int(v[2]))


def _key(v: float) -> float:
    """Ranking key of a score: NaN (a failed or undefined evaluation) ranks last."""
    return v if not math.isnan(v) else -math.inf


class Assistance(Protocol):
    """What a strategy's :attr:`Strategy.assistance` provides (see
    :class:`~nasrank.search.ProxyAssist`): a scorer, a pool size and the pick among candidates."""

    scorer: Any
    pool_size: int

    def pick(self, draw: Callable[[], Arch]) -> Arch:
        """One proposal out of the candidates ``draw()`` generates."""
        ...


def space_choices(space: Any, strategy: str) -> tuple[tuple[int, ...], ...]:
    """``space.choices()``, or a one-line error naming the strategy that needs them.

    Example:
        >>> space_choices(__import__("nasrank").create_space("nb201"), "tpe")[0]
        (0, 1, 2, 3, 4)
    """
    try:
        choices = tuple(tuple(int(v) for v in c) for c in space.choices())
    except NotImplementedError:
        raise ConfigError(
            f"strategy {strategy!r} draws one categorical value per position, but space "
            f"{getattr(space, 'name', type(space).__name__)!r} declares no per-position choices(); "
            f"use random, evolution or hyperband on it"
        ) from None
    if not choices or any(not c for c in choices):
        raise ConfigError(f"space {getattr(space, 'name', '?')!r} declares an empty choice; strategy {strategy!r} cannot use it")
    return choices


class Strategy(ABC):
    """Base class of search strategies (ask/tell, own RNG, saveable state).

    Subclasses implement :meth:`_ask` (return an architecture, or ``(arch, fidelity)``, or
    ``None`` when nothing can be proposed until a pending query is told) and :meth:`_tell`,
    and extend :meth:`_state` / :meth:`_load_state` with their own state. Where a subclass
    generates candidate cells for a proposal (random cells, mutations of a parent or of a
    model's sample) it passes the generator to :meth:`_propose`, which is where a
    :class:`~nasrank.search.ProxyAssist` (see :func:`~nasrank.search.assist`) screens a pool of
    them. The base class assigns query ids, tracks pending queries and the history of told
    results, validates every call and (de)serialises the random generator.

    Args:
        space: A :class:`~nasrank.spaces.SearchSpace` or its registry name.
        seed: Seed of the strategy's generator.

    Contract (checked by :func:`nasrank.testing.check_strategy` for every registered strategy
    on every registered space):

    * ``ask()`` returns a :class:`Query` whose ``arch`` is valid for the space; several queries
      may be pending at once (asynchronous workers); ``ask()`` returns ``None`` only while some
      query is pending;
    * ``tell(query, score)`` takes a pending query and a float, higher = better (NaN = failed);
    * the same seed and the same told scores give the same queries;
    * ``load_state_dict(state_dict())`` on a fresh instance continues identically.

    Example:
        >>> class Fixed(Strategy):
        ...     name = "fixed"
        ...     def _ask(self):
        ...         return self.space.sample(self.rng_)
        >>> s = Fixed("nb201", seed=1)
        >>> q = s.ask(); s.tell(q, 0.5); s.best()[1], s.params()
        (0.5, {'seed': 1})
    """

    #: The registry name (a proxy-assisted instance carries its own, e.g. ``"g-rs"``).
    name: str = ""
    #: Whether the strategy varies :attr:`Query.fidelity` (needs an evaluator with epochs).
    multi_fidelity: ClassVar[bool] = False
    #: Whether the registry entry needs a ``scorer`` (only the proxy-assisted ``g-*`` entries).
    needs_scorer: ClassVar[bool] = False

    def __init__(self, space: Any = "nb201", *, seed: int = 0) -> None:
        if isinstance(space, str):
            from ..spaces import SPACES

            space = SPACES.get(space)()
        for m in ("sample", "mutate", "validate"):
            if not callable(getattr(space, m, None)):
                raise ConfigError(f"`space` must be a SearchSpace (or its name), got {type(space).__name__}")
        self.space = space
        self.seed = check_int("seed", seed, minimum=0)
        #: Pre-screening of candidate cells (set by :func:`~nasrank.search.assist`).
        self.assistance: Assistance | None = None
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

    @property
    def scorer(self) -> Any:
        """The scorer of the strategy's :attr:`assistance` (``None`` when not proxy-assisted);
        the driver charges its ``cost_`` (seconds) to a budget counted in seconds."""
        return None if self.assistance is None else self.assistance.scorer

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
        """The constructor's keyword parameters, read through its signature (without ``space``),
        plus ``pool_size`` when proxy-assisted: the strategy part of a search run's identity.

        A ``**kwargs`` parameter is reported under its own name (e.g. TPE's ``tpe_kwargs``).
        """
        out: dict[str, Any] = {}
        for n, p in inspect.signature(type(self).__init__).parameters.items():
            if n in ("self", "space") or p.kind is inspect.Parameter.VAR_POSITIONAL:
                continue
            out[n] = getattr(self, n)
        if self.assistance is not None:
            out["pool_size"] = self.assistance.pool_size
        return out

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

    def _propose(self, draw: Callable[[], Arch], default: Arch | None = None) -> Arch:
        """One proposal out of the candidate cells ``draw()`` generates.

        Plain: ``default`` when given (a proposal whose candidates are variations of it, e.g.
        REINFORCE's policy sample and its mutations), else a single draw. Proxy-assisted: the
        scorer's best of ``pool_size`` draws (:meth:`ProxyAssist.pick`).
        """
        if self.assistance is None:
            return draw() if default is None else default
        return self.assistance.pick(draw)

    def _random_arch(self) -> Arch:
        return self.space.sample(self.rng_)

    def _mutate(self, arch: Arch) -> Arch:
        return self.space.mutate(arch, self.rng_)


def create_strategy(name: str, space: Any = "nb201", seed: int = 0, **params: Any) -> Strategy:
    """Instantiate the strategy registered as ``name``.

    Parameters are checked against the registry entry's signature first, so a misspelt one is a
    one-line error that lists the valid ones.

    Args:
        name: See :func:`list_strategies`.
        space: A search space or its name.
        seed: Seed of the strategy's generator.
        **params: Strategy parameters (e.g. ``population_size=10``, ``scorer=...``).

    Example:
        >>> create_strategy("evolution", "nb201", seed=0, population_size=20).population_size
        20
        >>> create_strategy("evolution", "nb201", populaton_size=20)
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: strategy 'evolution' has no parameter 'populaton_size'; its parameters: population_size, sample_size, exclude_seen
    """
    entry = STRATEGIES.get(name)
    check_params("strategy", name, entry, params, skip=("space", "seed"))
    try:
        return entry(space, seed=seed, **params)
    except TypeError as exc:  # e.g. an option the wrapped library (Optuna's TPESampler) rejects
        raise ConfigError(f"invalid parameters {params!r} for strategy {name!r}: {' '.join(str(exc).split())}") from None


def list_strategies(pattern: str | None = None) -> list[str]:
    """Names of the registered strategies, optionally filtered by a glob.

    Example:
        >>> list_strategies("g-*")
        ['g-hb', 'g-rea', 'g-reinforce', 'g-rs']
    """
    return STRATEGIES.list(pattern)
