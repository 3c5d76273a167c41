"""Conformance suite for search strategies (``nasrank.search.Strategy``).

Every registered strategy is checked by the tests on every registered space; third-party
strategies can use it too::

    from nasrank.testing import check_strategy
    check_strategy(lambda seed: MyStrategy("nb201", seed=seed))
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..exceptions import ConfigError

__all__ = ["STRATEGY_CHECKS", "check_strategy", "strategy_factory", "toy_objective", "toy_scorer"]


def toy_objective(arch: tuple[int, ...], fidelity: int | None = None) -> float:
    """A deterministic, rugged score of a cell (NaN for a few cells, like failed evaluations).

    Example:
        >>> toy_objective((3, 3, 0, 1, 3, 4)) == toy_objective((3, 3, 0, 1, 3, 4))
        True
    """
    h = 0
    for a in arch:
        h = (h * 31 + int(a) + 7) % 1_000_003
    if h % 17 == 0:
        return math.nan
    base = sum((i + 1) * a for i, a in enumerate(arch)) / 100.0 + (h % 101) / 1000.0
    return base + (0.0 if fidelity is None else math.log1p(fidelity) / 10.0)


class _ToyScorer:
    cost_ = 0.0

    def __call__(self, archs: Any) -> np.ndarray:
        return np.array([toy_objective(tuple(a)) + 0.01 * (a[0] if len(a) else 0) for a in archs])

    def config(self) -> dict[str, Any]:
        return {"kind": "toy"}


def toy_scorer() -> Any:
    """A cheap deterministic proxy for strategies that need a ``scorer``.

    Example:
        >>> toy_scorer()([(3, 3, 0, 1, 3, 4)]).shape
        (1,)
    """
    return _ToyScorer()


def strategy_factory(name: str, space: Any = "nb201", **params: Any) -> Callable[[int], Any]:
    """``seed -> strategy`` for a registered name, with a toy scorer and small fidelities as needed.

    Example:
        >>> make = strategy_factory("g-hb", "darts")
        >>> make(0).ask().fidelity, make(0).scorer.config()
        (1, {'kind': 'toy'})
    """
    from ..search import STRATEGIES

    cls = STRATEGIES.get(name)
    kw = dict(params)
    if getattr(cls, "needs_scorer", False):
        kw.setdefault("scorer", toy_scorer())
    if getattr(cls, "multi_fidelity", False):
        kw.setdefault("min_fidelity", 1)
        kw.setdefault("max_fidelity", 9)
    if name in ("evolution", "g-rea"):
        kw.setdefault("population_size", 5)
    if name in ("tpe",):
        kw.setdefault("n_startup_trials", 4)
    return lambda seed: cls(space, seed=seed, **kw)


def _drive(strategy: Any, n: int, batch: int = 1) -> list[tuple[int, tuple[int, ...], int | None, float]]:
    """Ask up to ``batch`` queries, tell them in ask order, until ``n`` results were told."""
    out = []
    while len(out) < n:
        qs = []
        for _ in range(batch):
            q = strategy.ask()
            if q is None:
                break
            qs.append(q)
        if not qs:
            raise AssertionError("ask() returned None although no query was pending")
        for q in qs:
            s = toy_objective(q.arch, q.fidelity)
            strategy.tell(q, s)
            out.append((q.id, q.arch, q.fidelity, s))
    return out


def _same(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=False):
        if x[:3] != y[:3]:
            return False
        if not (x[3] == y[3] or (math.isnan(x[3]) and math.isnan(y[3]))):
            return False
    return True


def check_ask_tell(factory: Callable[[int], Any], n: int = 30) -> None:
    """Queries are valid, ids sequential, and misuse of tell() is a ConfigError."""
    from ..search import Query

    s = factory(0)
    q = s.ask()
    assert isinstance(q, Query), f"ask() must return a Query, got {type(q).__name__}"
    assert q.id == 0 and s.space.validate(q.arch) == q.arch
    for bad in (Query(99, q.arch), "arch"):
        try:
            s.tell(bad, 0.5)  # type: ignore[arg-type]
        except ConfigError:
            pass
        else:
            raise AssertionError(f"tell({bad!r}) with a query that is not pending must raise ConfigError")
    try:
        s.tell(q, "high")  # type: ignore[arg-type]
    except ConfigError:
        pass
    else:
        raise AssertionError("tell() with a non-numeric score must raise ConfigError")
    s.tell(q, 0.5)
    try:
        s.tell(q, 0.5)
    except ConfigError:
        pass
    else:
        raise AssertionError("telling the same query twice must raise ConfigError")
    ids = [r[0] for r in _drive(s, n)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), "query ids must be sequential"
    for qq, _ in s.history_:
        assert s.space.validate(qq.arch) == qq.arch
        if qq.fidelity is not None:
            assert isinstance(qq.fidelity, int) and qq.fidelity >= 1
    assert s.best() is not None


def _check_pending(strategy: Any, inflight: dict[int, Any]) -> None:
    assert set(strategy.pending_) == set(inflight), (
        f"pending queries {sorted(strategy.pending_)} differ from the asked-and-not-told ones {sorted(inflight)}"
    )


def check_async(factory: Callable[[int], Any], n: int = 24, in_flight: int = 4) -> None:
    """Asynchronous workers: up to ``in_flight`` queries pending, told out of ask order.

    Each round asks until ``in_flight`` queries are pending (or ``ask()`` returns ``None``, which
    it may only do while some query is pending), then tells every other pending query, newest
    first, so that the oldest stay pending across rounds. Checked throughout: ids are unique and
    sequential, a pending query is never proposed again, ``pending_`` holds exactly the queries
    asked and not yet told, ``history_`` grows by each told query in tell order, and
    ``best()`` is a told architecture.
    """
    from ..search import Query

    s = factory(0)
    inflight: dict[int, Any] = {}
    told: list[Any] = []
    n_asked = 0
    while len(told) < n:
        while len(inflight) < in_flight:
            q = s.ask()
            if q is None:
                assert inflight, "ask() returned None although no query was pending"
                break
            assert isinstance(q, Query), f"ask() must return a Query, got {type(q).__name__}"
            assert q.id not in inflight, f"query {q.id} was proposed twice while pending"
            assert q.id == n_asked, f"query ids must be sequential: expected {n_asked}, got {q.id}"
            assert s.space.validate(q.arch) == q.arch, f"query {q.id} proposes an invalid architecture"
            n_asked += 1
            inflight[q.id] = q
        _check_pending(s, inflight)
        order = sorted(inflight, reverse=True)
        for qid in order[::2] if len(order) > 1 else order:
            q = inflight.pop(qid)
            s.tell(q, toy_objective(q.arch, q.fidelity))
            told.append(q)
            _check_pending(s, inflight)
        assert [q for q, _ in s.history_] == told, "history_ must hold the told queries in tell order"
    best = s.best()
    assert best is not None and best[0] in {q.arch for q in told}, "best() must be a told architecture"


def check_determinism(factory: Callable[[int], Any], n: int = 40) -> None:
    """Same seed -> same trajectory; (usually) another seed -> another one."""
    a, b = _drive(factory(0), n), _drive(factory(0), n)
    assert _same(a, b), "the same seed gave different trajectories"
    c = _drive(factory(1), n)
    assert not _same(a, c), "seeds 0 and 1 gave the same trajectory: is the seed used?"


def check_state_dict(factory: Callable[[int], Any], n: int = 40, cut: tuple[int, ...] = (3, 17)) -> None:
    """``state_dict()`` mid-run (also with queries pending), JSON round trip, ``load_state_dict``
    into a fresh instance: the continuation is identical."""
    ref = factory(0)
    full = _drive(ref, n)
    for k in cut:
        s = factory(0)
        head = _drive(s, k)
        pend = s.ask()  # one query in flight at save time
        state = json.loads(json.dumps(s.state_dict()))
        s2 = factory(0)
        s2.load_state_dict(state)
        assert s2.state_dict() == state, "state_dict() after load_state_dict() differs from the loaded state"
        if pend is not None:
            assert pend in s2.pending_.values(), "a pending query was lost by the state round trip"
            for strat in (s, s2):
                strat.tell(pend, toy_objective(pend.arch, pend.fidelity))
            head = head + [(pend.id, pend.arch, pend.fidelity, toy_objective(pend.arch, pend.fidelity))]
        a = _drive(s, n - len(head))
        b = _drive(s2, n - len(head))
        assert _same(a, b), f"the restored strategy diverged from the original after {k} results"
        assert _same(head + b, full), "a saved-and-restored run differs from an uninterrupted one"
    try:
        factory(0).load_state_dict({"name": "not-" + ref.name})
    except ConfigError:
        pass
    else:
        raise AssertionError("loading another strategy's state must raise ConfigError")


STRATEGY_CHECKS: dict[str, Callable[..., None]] = {
    "ask_tell": check_ask_tell,
    "async": check_async,
    "determinism": check_determinism,
    "state_dict": check_state_dict,
}


def check_strategy(factory: Callable[[int], Any], checks: list[str] | None = None) -> None:
    """Run the conformance checks on ``factory(seed) -> Strategy``; raises AssertionError on failure.

    Example:
        >>> check_strategy(strategy_factory("random"))
    """
    for name in checks or list(STRATEGY_CHECKS):
        STRATEGY_CHECKS[name](factory)
