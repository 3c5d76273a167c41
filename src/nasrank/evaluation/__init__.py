"""Evaluation of performance estimators: rank-agreement metrics and the correlation harness.

* :mod:`~nasrank.evaluation.metrics` — pure functions: :func:`spearman`, :func:`kendall_tau`,
  :func:`sparse_kendall_tau`, :func:`top_k_mean`, :func:`precision_at_k`, :func:`regret`,
  :func:`bootstrap_ci` (one NaN rule: pairs with a NaN/inf score or target are dropped);
* :func:`correlation_table` / :func:`correlate_benchmark` — rho (with bootstrap CIs) per estimator
  per training budget T, as a list of :class:`CorrelationRow`;
* :func:`load_curves` / :func:`correlate_curves` — learning curves nasrank did not train, read
  from a CSV, JSON or JSON Lines file (a :class:`CurveSet`), and their correlation table;
* :func:`noise_ceiling` / :func:`proxy_references` — the budget-free lines of that plot: the
  seed-to-seed agreement of the target and the zero-cost proxies, as :class:`ReferenceRow`;
* :func:`plot_correlations` — the seed-000-Fig.-1-style plot (needs ``nasrank[plot]``);
* :mod:`~nasrank.evaluation.ensembles` — label-free rank aggregation of several proxies over a
  set of architectures: :func:`aggregate` (mean rank, log-rank sum), :func:`az_nas_aggregate`.

Example:
    >>> from nasrank.evaluation import spearman, precision_at_k
    >>> spearman([3, 1, 2], [0.9, 0.7, 0.8]), precision_at_k([3, 1, 2], [0.9, 0.7, 0.8], k=1)
    (1.0, 1.0)
"""

from __future__ import annotations

from ..estimators import EstimatorSpec, parse_estimators  # defined in nasrank.estimators
from .correlate import (
    DEFAULT_ESTIMATORS,
    CorrelationRow,
    correlate_benchmark,
    correlation_table,
    cross_seed_targets,
    cross_seeds,
    parse_epochs,
)
from .curves_file import (
    CURVE_FILE_FORMATS,
    PER_EPOCH_RECORDS,
    CurveSet,
    correlate_curves,
    load_curves,
)
from .ensembles import (
    AZ_NAS_COMPONENTS,
    COMBINER_MODELS,
    FewLabelCombiner,
    aggregate,
    az_nas_aggregate,
    few_label_study,
    log_rank_sum,
    mean_rank,
    rank_table,
    signed_log,
)
from .metrics import (
    METRICS,
    bootstrap_ci,
    finite_pairs,
    get_metric,
    kendall_tau,
    precision_at_k,
    regret,
    sparse_kendall_tau,
    spearman,
    top_k_mean,
)
from .plots import plot_correlations
from .references import ReferenceRow, noise_ceiling, proxy_references, reference_row

__all__ = [
    "spearman",
    "kendall_tau",
    "sparse_kendall_tau",
    "top_k_mean",
    "precision_at_k",
    "regret",
    "bootstrap_ci",
    "finite_pairs",
    "get_metric",
    "METRICS",
    "EstimatorSpec",
    "CorrelationRow",
    "DEFAULT_ESTIMATORS",
    "parse_estimators",
    "parse_epochs",
    "correlation_table",
    "correlate_benchmark",
    "cross_seeds",
    "cross_seed_targets",
    "ReferenceRow",
    "reference_row",
    "noise_ceiling",
    "proxy_references",
    "CurveSet",
    "PER_EPOCH_RECORDS",
    "CURVE_FILE_FORMATS",
    "load_curves",
    "correlate_curves",
    "plot_correlations",
    "aggregate",
    "FewLabelCombiner",
    "few_label_study",
    "signed_log",
    "COMBINER_MODELS",
    "mean_rank",
    "log_rank_sum",
    "az_nas_aggregate",
    "rank_table",
    "AZ_NAS_COMPONENTS",
]
