"""Query-based NAS with pluggable estimators.

* **Strategies** (registered in :data:`STRATEGIES`; ask/tell, own RNG, ``state_dict``):
  ``random``, ``evolution`` (regularised evolution), ``tpe`` (Optuna's TPE sampler),
  ``reinforce``, ``hyperband``, ``bohb`` (one private module per family, registered where
  defined); TPE and REINFORCE draw from ``space.choices()`` and repair with ``space.project()``,
  so they work on any space that declares per-position choices;
* **Proxy assistance** (seed 003, Appendix A) as composition: :func:`assist` attaches a
  :class:`ProxyAssist` (any :class:`Scorer`, e.g. :class:`TableScorer`, :class:`ProxyScorer`)
  to any strategy, whose proposals become the scorer's best of ``pool_size`` candidates; the
  published ``g-rs``, ``g-rea``, ``g-reinforce``, ``g-hb`` are :class:`Assisted` registry entries;
* **Evaluators**: :class:`TabularEvaluator` (benchmark + estimator at T epochs),
  :class:`LiveEvaluator` (real training + estimator), :class:`ProxyEvaluator` (zero-cost proxy),
  :class:`SupernetEvaluator` (subnets of a trained supernet, fine-tuned for B minibatches and
  scored by TSE, validation accuracy, ...: one-shot NAS with any strategy);
* **Driver**: :func:`run_search` — budget in seconds of cost or queries, any executor,
  every evaluation and trajectory step in the results store, resume after interruption;
* **Assembly**: :class:`SearchConfig` (the options of ``nasrank search``) -> :func:`assemble`
  -> :class:`SearchSetup` (evaluator, scorer, strategies, executor) -> :meth:`SearchSetup.run`;
* **Report**: :func:`anytime_curves`, :func:`plot_anytime`, :func:`write_report`, and one
  self-contained HTML page: :func:`write_html_report` (data: :func:`html_report_data`).

Example:
    >>> from nasrank.benchmarks import load_benchmark
    >>> from nasrank.search import TabularEvaluator, create_strategy, run_search
    >>> ev = TabularEvaluator(load_benchmark("nb201-mini"), "tse-ema", epochs=5)
    >>> res = run_search(create_strategy("evolution", ev.space, seed=0), ev, "30q")
    >>> len(res.steps)
    30
"""

from __future__ import annotations

from . import _evolution, _hyperband, _random, _reinforce, _tpe  # noqa: F401  (register the strategies)
from ._assist import Assisted, ProxyAssist, assist
from ._base import STRATEGIES, Query, Strategy, create_strategy, list_strategies
from ._driver import Budget, SearchResult, parse_budget, run_id_for, run_search, run_searches
from ._ensemble import CombinerScorer, EnsembleScorer, ensemble_scorer, reference_quantiles
from ._evaluators import BenchmarkSpace, Evaluator, LiveEvaluator, ProxyEvaluator, TabularEvaluator
from ._evolution import AssistedEvolution, RegularizedEvolution
from ._html import html_report_data, render_html, write_html_report
from ._hyperband import BOHB, AssistedHyperband, Hyperband
from ._random import AssistedRandomSearch, RandomSearch
from ._reinforce import AssistedReinforce, Reinforce
from ._report import (
    AnytimeCurve,
    anytime_curves,
    group_label,
    incumbent_at,
    load_runs,
    plot_anytime,
    scorer_label,
    write_report,
)
from ._scorers import ProxyScorer, Scorer, TableScorer, pick_best
from ._setup import (
    SearchConfig,
    SearchSetup,
    assemble,
    build_evaluator,
    build_scorer,
    parse_assignments,
    parse_seeds,
    proxy_table_scorer,
)
from ._supernet_eval import SupernetEvaluator, checkpoint_data
from ._tpe import TPE

__all__ = [
    "STRATEGIES", "Strategy", "Query", "create_strategy", "list_strategies",
    "RandomSearch", "RegularizedEvolution", "TPE", "Reinforce", "Hyperband", "BOHB",
    "ProxyAssist", "assist", "Assisted", "Scorer", "TableScorer", "ProxyScorer", "pick_best",
    "EnsembleScorer", "CombinerScorer", "ensemble_scorer", "reference_quantiles",
    "AssistedRandomSearch", "AssistedEvolution", "AssistedReinforce", "AssistedHyperband",
    "Evaluator", "TabularEvaluator", "LiveEvaluator", "ProxyEvaluator", "BenchmarkSpace",
    "SupernetEvaluator", "checkpoint_data",
    "SearchConfig", "SearchSetup", "assemble", "build_evaluator", "build_scorer", "parse_seeds",
    "parse_assignments", "proxy_table_scorer",
    "Budget", "parse_budget", "SearchResult", "run_search", "run_searches", "run_id_for",
    "AnytimeCurve", "anytime_curves", "group_label", "incumbent_at", "load_runs", "plot_anytime",
    "scorer_label", "write_report",
    "html_report_data", "render_html", "write_html_report",
]
