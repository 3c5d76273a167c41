"""The search driver: a strategy, an evaluator, an executor, a budget and (optionally) a store.

Every finished evaluation is committed to the results store, and right after it the trajectory
step and the strategy's :meth:`~nasrank.search.Strategy.state_dict` are committed together. A
killed search therefore resumes from its last committed step: queries that were in flight are
asked again (the restored state still lists them as pending) and a finished evaluation whose
step was not yet committed is found in the store instead of being recomputed. With the serial
executor the resumed trajectory is identical to an uninterrupted one.

A run holds a lock on its run id in the store while it runs (see
:meth:`~nasrank.store.ResultStore.lock`), so the same run started a second time on the same store
stops at once with :class:`~nasrank.exceptions.AlreadyRunningError` instead of repeating the
first one's work; other runs on the store are not held up. A run stopped by Ctrl-C is marked
``interrupted`` in the store (``failed`` when an error stopped it) and re-running it resumes it.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import os
import re
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..exceptions import ConfigError
from ..records import EvalRecord, fingerprint
from ..store import ResultStore
from ._base import Query, Strategy
from ._evaluators import Evaluator

__all__ = ["Budget", "parse_budget", "SearchResult", "run_search", "run_id_for"]


@dataclass(frozen=True)
class Budget:
    """How much a search may spend: ``amount`` seconds of evaluation cost, or queries.

    Example:
        >>> parse_budget("5m"), parse_budget("100q")
        (Budget(amount=300.0, unit='s'), Budget(amount=100.0, unit='query'))
    """

    amount: float
    unit: str = "s"

    def __post_init__(self) -> None:
        if self.unit not in ("s", "query"):
            raise ConfigError(f"budget unit must be 's' or 'query', got {self.unit!r}")
        if not (isinstance(self.amount, (int, float)) and math.isfinite(self.amount) and self.amount > 0):
            raise ConfigError(f"budget must be a positive number, got {self.amount!r}")


_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}


def parse_budget(text: str | float | Budget) -> Budget:
    """``"300"``/``"300s"``, ``"5m"``, ``"2h"``, ``"1d"`` (seconds of cost) or ``"100q"`` (queries).

    Example:
        >>> parse_budget("1.5h").amount
        5400.0
    """
    if isinstance(text, Budget):
        return text
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return Budget(float(text), "s")
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-z]*)\s*", str(text).lower())
    if m is None:
        raise ConfigError(f"malformed budget {text!r}; expected e.g. 300s, 5m, 2h (cost) or 100q (queries)")
    value, unit = float(m.group(1)), m.group(2)
    if unit in ("q", "queries", "query", "evals"):
        return Budget(value, "query")
    if unit not in _UNITS:
        raise ConfigError(f"unknown budget unit {unit!r} in {text!r}; use s, m, h, d or q (queries)")
    return Budget(value * _UNITS[unit], "s")


@dataclass
class SearchResult:
    """The outcome of one search run.

    Attributes:
        run_id: Identity of the run in the store (strategy, its parameters, evaluator, seed).
        strategy: Strategy name.
        evaluator: Evaluator label (estimator and budget).
        seed: Strategy seed.
        steps: The trajectory: one dict per finished evaluation with ``arch``, ``fidelity``,
            ``score``, ``cost``, ``spent`` (cumulative), ``status``, ``reused`` (found in the store),
            ``metrics`` and the incumbent so far (``best_arch``, ``best_score``, ``best_metrics``);
            a step whose evaluation failed (``status="error"``) also has the one-line ``error``.
        spent: Cost charged to the budget.
        finished: Whether the budget was used up (``False`` only for an interrupted run).
        evaluated: Evaluations actually run in this call (not found in the store).
    """

    run_id: str
    strategy: str
    evaluator: str
    seed: int
    steps: list[dict[str, Any]] = field(default_factory=list)
    spent: float = 0.0
    finished: bool = False
    evaluated: int = 0
    cost_unit: str = "s"

    @property
    def best(self) -> dict[str, Any] | None:
        """The final incumbent ``{"arch", "score", "metrics", "step"}`` (``None`` before any result)."""
        for st in reversed(self.steps):
            if st.get("best_arch") is not None:
                return {"arch": st["best_arch"], "score": st["best_score"], "metrics": st["best_metrics"],
                        "step": st["best_step"]}
        return None


def run_id_for(strategy: Strategy, evaluator: Evaluator) -> str:
    """Identity of a search run: strategy name + parameters + scorer + evaluator + seed (not the budget)."""
    scorer = getattr(strategy, "scorer", None)
    return fingerprint({
        "strategy": strategy.name, "params": strategy.params(),
        "scorer": None if scorer is None else scorer.config(),
        "evaluator": evaluator.config(), "estimator": getattr(evaluator, "estimator", None),
        "epochs": getattr(evaluator, "epochs", None),
    })


class _Progress:
    """A rich progress bar over the budget (or one log line per step when stderr is not a tty).

    A query budget is counted in queries (the cost so far is shown next to it), a time budget in
    seconds of cost.

    Example:
        >>> import contextlib, io
        >>> step = {"step": 14, "arch": "|...|", "best_score": 0.5}
        >>> with contextlib.redirect_stderr(io.StringIO()) as err:
        ...     _Progress(True, Budget(40, "query"), "random seed 0", 0.0, 0).update(14.94, step)
        >>> err.getvalue().split("best")[0]
        '[random seed 0] queries=15/40 cost=14.9s '
        >>> with contextlib.redirect_stderr(io.StringIO()) as err:
        ...     _Progress(True, Budget(300), "random seed 0", 0.0, 0).update(14.94, step)
        >>> err.getvalue().split("best")[0]
        '[random seed 0] spent=14.9/300s evals=15 '
    """

    def __init__(self, enabled: bool, budget: Budget, label: str, spent: float, steps: int = 0,
                 cost_unit: str = "s") -> None:
        self.enabled = enabled
        self.budget = budget
        self.label = label
        self.spent = spent
        self.steps = steps
        self.cost_unit = cost_unit
        self._p: Any = None

    @property
    def _queries(self) -> bool:
        return self.budget.unit == "query"

    def __enter__(self) -> _Progress:
        if self.enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            unit = "q" if self.budget.unit == "query" else "s"
            self._p = Progress(
                TextColumn(f"[bold]{self.label}"), BarColumn(),
                TextColumn(f"{{task.completed:.0f}}/{{task.total:.0f}} {unit}"), TimeElapsedColumn(),
                TextColumn("{task.fields[info]}"), console=Console(file=sys.stderr),
            )
            self._p.start()
            done = self.steps if self._queries else self.spent
            self._task = self._p.add_task("search", total=self.budget.amount, completed=done, info="")
        return self

    def update(self, spent: float, step: dict[str, Any]) -> None:
        if not self.enabled:
            return
        n = step["step"] + 1
        bs = step.get("best_score")
        parts = [] if self._queries else [f"evals={n}"]
        if isinstance(bs, float):
            parts.append(f"best={bs:.4g}")
        acc = (step.get("best_metrics") or {}).get("test_acc")
        if isinstance(acc, float):
            parts.append(f"test_acc={acc:.4f}")
        info = " ".join(parts)
        done = n if self._queries else spent
        if self._p is not None:
            self._p.update(self._task, completed=min(done, self.budget.amount), info=info)
            return
        if self._queries:
            where = f"queries={n}/{self.budget.amount:.0f}"
            if self.cost_unit != "query":
                where += f" cost={spent:.1f}{self.cost_unit}"
        else:
            where = f"spent={spent:.1f}/{self.budget.amount:.0f}{'s' if self.cost_unit == 's' else ''}"
        print(" ".join(x for x in (f"[{self.label}]", where, info, str(step["arch"])) if x),
              file=sys.stderr, flush=True)

    def __exit__(self, *exc: object) -> None:
        if self._p is not None:
            self._p.stop()


def _error_record(evaluator: Evaluator, q: Query, exc: BaseException) -> EvalRecord:
    key = evaluator.key(q.arch)
    return EvalRecord(getattr(evaluator.space, "name", "space"), evaluator.space.to_str(q.arch), key,
                      evaluator.fingerprint(q.fidelity), "error", cost=0.0,
                      error=" ".join(f"{type(exc).__name__}: {exc}".split())[:500])


def run_search(
    strategy: Strategy,
    evaluator: Evaluator,
    budget: str | float | Budget,
    *,
    executor: Any = None,
    store: ResultStore | str | os.PathLike | None = None,
    progress: bool = False,
    label: str | None = None,
    on_step: Callable[[dict[str, Any]], None] | None = None,
    max_failures: int = 5,
    deadline: float | None = None,
) -> SearchResult:
    """Run ``strategy`` with ``evaluator`` until ``budget`` is spent; resume if the store has the run.

    Args:
        strategy: A freshly constructed strategy (its seed defines the run).
        evaluator: Where the scores come from.
        budget: Seconds of evaluation cost (``"5m"``) or queries (``"100q"``). A new query is
            only started while the projected cost (spent + in flight + the mean cost so far)
            fits the budget; for query budgets, while fewer than ``budget`` are asked.
        executor: A :class:`~nasrank.execution.Executor` (default: evaluate in this process).
            With ``workers > 1`` the search is asynchronous: a new query is asked whenever a
            worker is free.
        store: Results store (path or open store). Every record and every trajectory step is
            committed as it happens; a run found in the store (same strategy, parameters, seed
            and evaluator) is continued, not restarted. The run is locked in the store while it
            runs: the same run started meanwhile by another process raises
            :class:`~nasrank.exceptions.AlreadyRunningError`. Stopped by ``KeyboardInterrupt``,
            the run is marked ``interrupted`` (by another exception: ``failed``) and the
            exception re-raised; its committed steps stay.
        progress: Show a progress bar on stderr.
        label: Progress-bar label.
        on_step: Called with every trajectory step.
        max_failures: Stop with an error when this many first evaluations all fail.
        deadline: A ``time.monotonic()`` value after which no new query is started (a
            wall-clock cap on top of the budget; the CLI sets it for live searches so that
            ``--budget 5m`` ends within five minutes including start-up). Runs cut by a
            deadline are not reproducible step for step; leave it ``None`` for that.

    Returns:
        The :class:`SearchResult`. A step of a failed evaluation has ``status="error"`` and the
        evaluation's one-line ``error`` message.

    Example:
        >>> from nasrank.benchmarks import load_benchmark
        >>> from nasrank.search import RegularizedEvolution, TabularEvaluator
        >>> ev = TabularEvaluator(load_benchmark("nb201-mini"), "tse-ema", epochs=5)
        >>> res = run_search(RegularizedEvolution(ev.space, seed=0), ev, "20q")
        >>> len(res.steps), res.best["metrics"]["test_acc"] > 0.3
        (20, True)
    """
    if not isinstance(strategy, Strategy):
        raise ConfigError(f"`strategy` must be a nasrank.search.Strategy, got {type(strategy).__name__}")
    if not isinstance(evaluator, Evaluator):
        raise ConfigError(f"`evaluator` must be a nasrank.search.Evaluator, got {type(evaluator).__name__}")
    if strategy.multi_fidelity and evaluator.max_fidelity is None:
        raise ConfigError(
            f"strategy {strategy.name!r} varies the training budget, but this evaluator has no epochs "
            f"(use a live evaluator or a learning-curve benchmark with an estimator)"
        )
    budget = parse_budget(budget)
    if store is not None and not isinstance(store, (str, os.PathLike, ResultStore)):
        raise ConfigError(f"`store` must be a path or a ResultStore, got {type(store).__name__}")
    run_id = run_id_for(strategy, evaluator)
    own_store = isinstance(store, (str, os.PathLike))
    st: ResultStore | None = ResultStore(store) if own_store else store  # type: ignore[arg-type]
    lock = None
    try:
        if st is not None:
            lock = st.lock(f"search:{run_id}", what=f"search run {run_id} ({strategy.name}, seed {strategy.seed})",
                           hint="wait for it to finish, or use another --store / --seeds").acquire()
        return _search(strategy, evaluator, budget, executor, st, run_id, progress, label, on_step, max_failures,
                       deadline)
    except BaseException as exc:
        if lock is not None and st is not None:
            status = "failed" if isinstance(exc, Exception) else "interrupted"
            try:
                st.set_search_status(run_id, status)
            except sqlite3.Error:
                pass  # the store is unusable; the original exception says why
        raise
    finally:
        if lock is not None:
            lock.release()
        if own_store and st is not None:
            st.close()


def _search(
    strategy: Strategy, evaluator: Evaluator, budget: Budget, executor: Any, st: ResultStore | None, run_id: str,
    progress: bool, label: str | None, on_step: Callable[[dict[str, Any]], None] | None, max_failures: int,
    deadline: float | None,
) -> SearchResult:
    """The search loop of :func:`run_search` (the store, if any, is open and the run locked)."""
    res = SearchResult(run_id, strategy.name, evaluator.label(), strategy.seed, cost_unit=evaluator.cost_unit)
    charged_keys: set[tuple[str, int | None]] = set()
    costs_charged: list[float] = []
    n_failed = 0
    max_fid = evaluator.max_fidelity
    best: dict[str, Any] | None = None

    if st is not None:
        scorer = getattr(strategy, "scorer", None)
        row = st.start_search_run(run_id, {
            "strategy": strategy.name, "params": strategy.params(), "evaluator": evaluator.config(),
            "label": evaluator.label(), "seed": strategy.seed, "budget": [budget.amount, budget.unit],
            "cost_unit": evaluator.cost_unit, **({} if scorer is None else {"scorer": scorer.config()}),
        })
        if row["state"] is not None:
            s = row["state"]
            strategy.load_state_dict(s["strategy"])
            res.spent = float(s["spent"])
            charged_keys = {(k, f) for k, f in s["charged"]}
            costs_charged = list(s["costs"])
            n_failed = int(s.get("failed", 0))
            res.steps = st.search_steps(run_id)
            for step in res.steps:
                if step.get("best_arch") is not None:
                    best = {"arch": step["best_arch"], "score": step["best_score"], "metrics": step["best_metrics"],
                            "step": step["best_step"]}

    def state() -> dict[str, Any]:
        return {"strategy": strategy.state_dict(), "spent": res.spent,
                "charged": [[k, f] for k, f in sorted(charged_keys, key=str)], "costs": costs_charged,
                "failed": n_failed}

    scorer = getattr(strategy, "scorer", None)
    workers = executor.workers if executor is not None else 1
    inflight: dict[cf.Future, Query] = {}
    ready: list[tuple[Query, EvalRecord, bool]] = []  # finished without an executor
    # queries left pending by an interrupted run go first, in ask order
    resubmit = sorted(strategy.pending_.values(), key=lambda q: q.id)

    def mean_cost() -> float:
        return sum(costs_charged) / len(costs_charged) if costs_charged else 0.0

    t_loop = time.monotonic()
    n_at_loop = len(costs_charged)

    def mean_wall() -> float:
        """Wall seconds per finished evaluation in this call (evaluation + overhead), for the deadline."""
        n = len(costs_charged) - n_at_loop
        return (time.monotonic() - t_loop) / n if n > 0 else mean_cost()

    def can_ask() -> bool:
        n_out = len(inflight) + len(ready)
        if budget.unit == "query":
            if deadline is not None and time.monotonic() > deadline:
                return False
            return len(res.steps) + n_out < budget.amount
        if res.spent >= budget.amount:
            return False
        per = max(mean_cost(), mean_wall() * max(workers, 1))
        if deadline is not None and time.monotonic() + (n_out + 1) * per / max(workers, 1) > deadline:
            return False
        return res.spent + (n_out + 1) * mean_cost() <= budget.amount

    def submit(q: Query) -> None:
        fp = evaluator.fingerprint(q.fidelity)
        key = evaluator.key(q.arch)
        if st is not None:
            rec = st.get(getattr(evaluator.space, "name", "space"), key, fp)
            if rec is not None and rec.status != "error":
                ready.append((q, rec, True))
                return
        if executor is None or not evaluator.remote:
            try:
                rec = evaluator.evaluate(q.arch, q.fidelity)
            except Exception as exc:  # noqa: BLE001  (recorded; the search goes on)
                rec = _error_record(evaluator, q, exc)
            ready.append((q, rec, False))
        else:
            fn, args = evaluator.call(q.arch, q.fidelity)
            inflight[executor.submit(fn, *args)] = q

    def finish(q: Query, rec: EvalRecord, reused: bool) -> None:
        nonlocal best, n_failed
        if st is not None and not reused:
            st.add(rec)
        if not reused:
            res.evaluated += 1
        score = evaluator.score(rec, q.fidelity) if rec.status != "error" else math.nan
        ck = (rec.arch_key, q.fidelity)
        cost = evaluator.cost(rec)
        charge = cost if (evaluator.charge_repeats or ck not in charged_keys) else 0.0
        charged_keys.add(ck)
        costs_charged.append(charge)
        res.spent += charge
        if rec.status == "error":
            n_failed += 1
            if n_failed >= max_failures and n_failed == len(res.steps) + 1:
                raise ConfigError(
                    f"the first {n_failed} evaluations all failed ({rec.error}); fix the configuration and re-run"
                )
        strategy.tell(q, score)
        metrics = evaluator.metrics(rec)
        step_i = len(res.steps)
        full = max_fid is None or q.fidelity is None or q.fidelity >= max_fid
        arch_s = evaluator.arch_str(q.arch)
        if full and math.isfinite(score) and (best is None or score > best["score"]):
            best = {"arch": arch_s, "score": score, "metrics": metrics, "step": step_i}
        step = {
            "step": step_i, "query": q.id, "arch": arch_s, "fidelity": q.fidelity, "score": score,
            "cost": charge, "spent": res.spent, "status": rec.status,
            **({"error": rec.error} if rec.status == "error" else {}), "reused": reused, "metrics": metrics,
            "best_arch": None if best is None else best["arch"], "best_score": None if best is None else best["score"],
            "best_metrics": None if best is None else best["metrics"], "best_step": None if best is None else best["step"],
        }
        res.steps.append(step)
        if st is not None:
            st.save_search_step(run_id, step_i, step, state(), res.spent)
        if on_step is not None:
            on_step(step)
        bar.update(res.spent, step)

    scorer_cost = getattr(scorer, "cost_", 0.0) if scorer is not None else 0.0
    with _Progress(progress, budget, label or f"{strategy.name} seed {strategy.seed}", res.spent, len(res.steps),
                   evaluator.cost_unit) as bar:
        while True:
            while len(inflight) + len(ready) < workers:
                if resubmit:
                    q: Query | None = resubmit.pop(0)
                elif can_ask():
                    q = strategy.ask()
                    if scorer is not None:  # proxy time spent choosing the query
                        now = getattr(scorer, "cost_", 0.0)
                        if evaluator.cost_unit == "s":  # seconds do not add to a count of queries
                            res.spent += now - scorer_cost
                        scorer_cost = now
                else:
                    q = None
                if q is None:
                    break
                submit(q)
            if ready:
                finish(*ready.pop(0))
                continue
            if not inflight:
                break
            done, _ = cf.wait(list(inflight), return_when=cf.FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: inflight[f].id):
                q = inflight.pop(fut)
                exc = fut.exception()
                rec = _error_record(evaluator, q, exc) if exc is not None else fut.result()
                finish(q, rec, False)
        res.finished = True
        if st is not None:
            st.save_search_step(run_id, None, None, state(), res.spent, status="done")
    return res


def run_searches(
    make_strategy: Callable[[int], Strategy],
    evaluator: Evaluator,
    budget: str | float | Budget,
    seeds: Sequence[int],
    **kwargs: Any,
) -> list[SearchResult]:
    """:func:`run_search` once per seed (``make_strategy(seed)`` builds each run's strategy).

    Example:
        >>> from nasrank.benchmarks import load_benchmark
        >>> from nasrank.search import RandomSearch, TabularEvaluator
        >>> ev = TabularEvaluator(load_benchmark("nb201-mini"), "vacc-es")
        >>> rs = run_searches(lambda s: RandomSearch(ev.space, seed=s), ev, "5q", seeds=[0, 1])
        >>> [len(r.steps) for r in rs]
        [5, 5]
    """
    return [run_search(make_strategy(int(s)), evaluator, budget, **kwargs) for s in seeds]


__all__.append("run_searches")
