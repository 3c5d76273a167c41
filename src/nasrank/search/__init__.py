"""Query-based NAS with pluggable estimators.

* **Strategies** (registered in :data:`STRATEGIES`; ask/tell, own RNG, ``state_dict``):
  ``random``, ``evolution`` (regularised evolution), ``tpe`` (Optuna's TPE sampler),
  ``reinforce``, ``hyperband``, ``bohb`` and the proxy-assisted ``g-rs``, ``g-rea``,
  ``g-reinforce``, ``g-hb`` (seed 003, Appendix A);
* **Evaluators**: :class:`TabularEvaluator` (benchmark + estimator at T epochs),
  :class:`LiveEvaluator` (real training + estimator), :class:`ProxyEvaluator` (zero-cost proxy);
* **Driver**: :func:`run_search` — budget in seconds of cost or queries, any executor,
  every evaluation and trajectory step in the results store, resume after interruption;
* **Report**: :func:`anytime_curves`, :func:`plot_anytime`, :func:`write_report`.

Example:
    >>> from nasrank.benchmarks import load_benchmark
    >>> from nasrank.search import TabularEvaluator, create_strategy, run_search
    >>> ev = TabularEvaluator(load_benchmark("nb201-mini"), "tse-ema", epochs=5)
    >>> res = run_search(create_strategy("evolution", ev.space, seed=0), ev, "30q")
    >>> len(res.steps)
    30
"""

from __future__ import annotations

from typing import Any

from .._registry import check_params
from ..exceptions import ConfigError
from . import _strategies  # noqa: F401  (registers the strategies)
from ._base import STRATEGIES, ProxyScorer, Query, Scorer, Strategy, TableScorer
from ._driver import Budget, SearchResult, parse_budget, run_id_for, run_search, run_searches
from ._evaluators import BenchmarkSpace, Evaluator, LiveEvaluator, ProxyEvaluator, TabularEvaluator
from ._report import (
    AnytimeCurve,
    anytime_curves,
    incumbent_at,
    load_runs,
    plot_anytime,
    write_report,
)
from ._strategies import (
    BOHB,
    TPE,
    AssistedEvolution,
    AssistedHyperband,
    AssistedRandomSearch,
    AssistedReinforce,
    Hyperband,
    RandomSearch,
    RegularizedEvolution,
    Reinforce,
)

__all__ = [
    "STRATEGIES", "Strategy", "Query", "Scorer", "TableScorer", "ProxyScorer", "create_strategy", "list_strategies",
    "RandomSearch", "RegularizedEvolution", "TPE", "Reinforce", "Hyperband", "BOHB", "AssistedRandomSearch",
    "AssistedEvolution", "AssistedReinforce", "AssistedHyperband",
    "Evaluator", "TabularEvaluator", "LiveEvaluator", "ProxyEvaluator", "BenchmarkSpace",
    "Budget", "parse_budget", "SearchResult", "run_search", "run_searches", "run_id_for",
    "AnytimeCurve", "anytime_curves", "incumbent_at", "load_runs", "plot_anytime", "write_report",
]


def create_strategy(name: str, space: Any = "nb201", seed: int = 0, **params: Any) -> Strategy:
    """Instantiate the strategy registered as ``name``.

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
    cls = STRATEGIES.get(name)
    hidden = ("space", "seed") if cls.needs_scorer else ("space", "seed", "scorer", "pool_size")
    check_params("strategy", name, cls, params, skip=hidden)
    try:
        return cls(space, seed=seed, **params)
    except TypeError as exc:  # e.g. an option the wrapped library (Optuna's TPESampler) rejects
        raise ConfigError(f"invalid parameters {params!r} for strategy {name!r}: {' '.join(str(exc).split())}") from None


def list_strategies(pattern: str | None = None) -> list[str]:
    """Names of the registered strategies, optionally filtered by a glob.

    Example:
        >>> list_strategies("g-*")
        ['g-hb', 'g-rea', 'g-reinforce', 'g-rs']
    """
    return STRATEGIES.list(pattern)
