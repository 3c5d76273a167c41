"""Rank-agreement metrics between estimator scores and true performance (pure functions).

Every function takes ``scores`` (an estimator's output, signed so that **higher = predicted
better**, as :meth:`~nasrank.estimators.CurveEstimator.score` returns it) and ``targets`` (the
true performance, e.g. final test accuracy, higher = better), two 1-D sequences of equal length,
one entry per architecture.

NaN rule (one rule, used everywhere in :mod:`nasrank.evaluation`): a pair whose score **or**
target is NaN or +-inf is **dropped** before the metric is computed (pairwise deletion, like
``scipy.stats.spearmanr(..., nan_policy="omit")``). Nothing is replaced by a sentinel. Use
:func:`finite_pairs` to see how many pairs a metric dropped; the correlation harness reports that
count in every row. Beware that dropping is not neutral when NaN means "diverged": a diverged
architecture is usually a bad one, so an estimator that returns NaN for many architectures is
judged on the remaining, easier subset.

Degenerate inputs: with fewer than two pairs left, or when either side is constant, a
correlation is undefined and NaN is returned (no warning). ``k`` larger than the number of
architectures (or of the pairs left after dropping) raises
:class:`~nasrank.exceptions.ConfigError`.

Example:
    >>> scores = [0.1, 0.4, 0.3, float("nan")]
    >>> targets = [0.70, 0.90, 0.80, 0.95]
    >>> spearman(scores, targets), regret(scores, targets)
    (1.0, 0.0)
    >>> finite_pairs(scores, targets)[2]  # pairs dropped
    1
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._registry import normalize_name
from .._rng import as_generator
from ..exceptions import ConfigError, UnknownNameError

__all__ = [
    "finite_pairs",
    "spearman",
    "kendall_tau",
    "sparse_kendall_tau",
    "top_k_mean",
    "precision_at_k",
    "regret",
    "bootstrap_ci",
    "get_metric",
    "METRICS",
]

ArrayLike = Sequence[float] | np.ndarray


def _as_1d(x: Any, name: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"`{name}` must be a 1-D sequence of numbers, got {type(x).__name__}") from None
    if a.ndim != 1:
        raise ConfigError(f"`{name}` must be 1-D, got shape {a.shape}")
    return a


def finite_pairs(scores: ArrayLike, targets: ArrayLike) -> tuple[np.ndarray, np.ndarray, int]:
    """The pairs where both score and target are finite, and how many were dropped.

    Returns:
        ``(scores_kept, targets_kept, n_dropped)``.

    Raises:
        ConfigError: if the inputs are not 1-D or differ in length.

    Example:
        >>> s, t, dropped = finite_pairs([1.0, float("nan"), 3.0], [0.5, 0.6, float("inf")])
        >>> s.tolist(), t.tolist(), dropped
        ([1.0], [0.5], 2)
    """
    s = _as_1d(scores, "scores")
    t = _as_1d(targets, "targets")
    if s.shape != t.shape:
        raise ConfigError(f"`scores` and `targets` must have the same length, got {len(s)} and {len(t)}")
    ok = np.isfinite(s) & np.isfinite(t)
    return s[ok], t[ok], int((~ok).sum())


def _degenerate(s: np.ndarray, t: np.ndarray) -> bool:
    return len(s) < 2 or bool(np.all(s == s[0])) or bool(np.all(t == t[0]))


def spearman(scores: ArrayLike, targets: ArrayLike) -> float:
    """Spearman's rank correlation rho (``scipy.stats.spearmanr``; ties get average ranks).

    Example:
        >>> round(spearman([1, 2, 3, 4], [10, 20, 40, 30]), 4)
        0.8
    """
    from scipy.stats import spearmanr

    s, t, _ = finite_pairs(scores, targets)
    if _degenerate(s, t):
        return math.nan
    return float(spearmanr(s, t).statistic)


def kendall_tau(scores: ArrayLike, targets: ArrayLike, variant: str = "b") -> float:
    """Kendall's rank correlation tau (``scipy.stats.kendalltau``, tau-b by default: tie-corrected).

    Args:
        variant: ``"b"`` (default, adjusts for ties) or ``"c"`` (Stuart's tau-c).

    Example:
        >>> round(kendall_tau([1, 2, 3, 4], [10, 20, 40, 30]), 4)
        0.6667
    """
    from scipy.stats import kendalltau

    if variant not in ("b", "c"):
        raise ConfigError(f"`variant` must be 'b' or 'c', got {variant!r}")
    s, t, _ = finite_pairs(scores, targets)
    if _degenerate(s, t):
        return math.nan
    return float(kendalltau(s, t, variant=variant).statistic)


def _quantise(x: np.ndarray, precision: float, method: str) -> np.ndarray:
    q = x / precision
    # a tiny relative nudge so that e.g. 0.8125 / 0.001 = 812.4999999 rounds as written
    q = q + np.sign(q) * 1e-9 * np.maximum(1.0, np.abs(q))
    return np.round(q) if method == "round" else np.floor(q)


def sparse_kendall_tau(
    scores: ArrayLike,
    targets: ArrayLike,
    precision: float = 0.001,
    *,
    score_precision: float | None = None,
    method: str = "round",
) -> float:
    """Sparse Kendall tau (Yu et al. 2020): Kendall tau-b after quantising the true values.

    "How to Train Your Super-Net" (Yu, Ranftl, Salzmann, 2020) observes that accuracy
    differences below ~0.1% are noise (another seed reorders them) and computes Kendall tau on
    accuracies reduced to 0.1% precision, so that architectures within the same 0.1% bin count
    as ties (tau-b's tie correction then handles them). NAS-Bench-301 reports the same metric
    (``kendall_tau_1_dec``: accuracies in percent rounded to one decimal). Here the **targets**
    are quantised to multiples of ``precision`` (default 0.001 = 0.1% for accuracies given as
    fractions; use 0.1 for percentages). Estimator scores have arbitrary units (a sum of losses)
    and are left as they are unless ``score_precision`` is given.

    Args:
        precision: Bin width for the targets (> 0).
        score_precision: Optional bin width for the scores.
        method: ``"round"`` (to the nearest multiple, as NAS-Bench-301's code does) or
            ``"floor"`` (truncate).

    Example:
        >>> # 0.9001 and 0.9004 are one bin at 0.1% precision: the swapped pair is a tie, not discordant
        >>> round(kendall_tau([1, 2, 3], [0.9004, 0.9001, 0.95]), 4)
        0.3333
        >>> round(sparse_kendall_tau([1, 2, 3], [0.9004, 0.9001, 0.95]), 4)
        0.8165
    """
    if method not in ("round", "floor"):
        raise ConfigError(f"`method` must be 'round' or 'floor', got {method!r}")
    for name, p in (("precision", precision), ("score_precision", score_precision)):
        if p is not None and (isinstance(p, bool) or not isinstance(p, (int, float)) or not p > 0
                              or not math.isfinite(p)):
            raise ConfigError(f"`{name}` must be a positive number, got {p!r}")
    s, t, _ = finite_pairs(scores, targets)
    t = _quantise(t, float(precision), method)
    if score_precision is not None:
        s = _quantise(s, float(score_precision), method)
    return kendall_tau(s, t)


def _check_k(k: Any, n_total: int, n_kept: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"`k` must be an int >= 1, got {k!r}")
    if k > n_total:
        raise ConfigError(f"`k`={k} exceeds the number of architectures ({n_total})")
    if k > n_kept:
        raise ConfigError(
            f"`k`={k} exceeds the {n_kept} architectures left after dropping "
            f"{n_total - n_kept} with a NaN/inf score or target"
        )
    return int(k)


def _top(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values; ties broken by position (earlier first)."""
    return np.argsort(-values, kind="stable")[:k]


def top_k_mean(scores: ArrayLike, targets: ArrayLike, k: int = 10) -> float:
    """Mean true value of the ``k`` architectures the estimator ranks highest.

    Ties in the scores at the k-th place are broken by position (the earlier entry wins).

    Raises:
        ConfigError: if ``k`` < 1 or exceeds the number of (finite) pairs.

    Example:
        >>> top_k_mean([0.9, 0.1, 0.5], [70.0, 90.0, 80.0], k=2)
        75.0
    """
    n_total = len(_as_1d(scores, "scores"))
    s, t, _ = finite_pairs(scores, targets)
    k = _check_k(k, n_total, len(s))
    return float(np.mean(t[_top(s, k)]))


def precision_at_k(scores: ArrayLike, targets: ArrayLike, k: int = 10) -> float:
    """Fraction of the estimator's top ``k`` that are among the true top ``k``.

    Ties at the k-th place (on either side) are broken by position.

    Example:
        >>> precision_at_k([4, 3, 2, 1], [0.1, 0.9, 0.8, 0.2], k=2)
        0.5
    """
    n_total = len(_as_1d(scores, "scores"))
    s, t, _ = finite_pairs(scores, targets)
    k = _check_k(k, n_total, len(s))
    return len(set(_top(s, k).tolist()) & set(_top(t, k).tolist())) / k


def regret(scores: ArrayLike, targets: ArrayLike) -> float:
    """Best true value minus the true value of the estimator's top choice (>= 0, lower = better).

    Both are taken over the pairs kept by the NaN rule; ties in the scores go to the earlier entry.

    Raises:
        ConfigError: if no finite pair is left.

    Example:
        >>> regret([0.2, 0.9, 0.5], [0.93, 0.91, 0.92])
        0.020000000000000018
    """
    s, t, dropped = finite_pairs(scores, targets)
    if len(s) == 0:
        raise ConfigError(f"regret needs at least one finite (score, target) pair; all {dropped} were NaN/inf")
    return float(np.max(t) - t[int(_top(s, 1)[0])])


METRICS: dict[str, Callable[..., float]] = {
    "spearman": spearman,
    "kendall": kendall_tau,
    "sparse_kendall": sparse_kendall_tau,
    "top_k_mean": top_k_mean,
    "precision_at_k": precision_at_k,
    "regret": regret,
}


def get_metric(name: str | Callable[..., float]) -> Callable[..., float]:
    """The metric function called ``name`` (see :data:`METRICS`); a callable is returned as is.

    Names follow the registries' naming policy (case and ``_`` vs ``-`` do not matter).

    Example:
        >>> get_metric("spearman") is spearman, get_metric("Sparse-Kendall") is sparse_kendall_tau
        (True, True)
    """
    if callable(name):
        return name
    key = normalize_name(str(name))
    for k, fn in METRICS.items():
        if normalize_name(k) == key:
            return fn
    raise UnknownNameError(f"Unknown metric {name!r}. Available: {', '.join(METRICS)}.")


def _resample_ranks(v: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Average rank, within each resample, of every item of ``v``.

    ``counts[b, k]`` is how often item ``k`` was drawn in resample ``b``. Items with equal values
    (and repeated draws of one item) share the average of their ranks, as ``rankdata`` does.
    """
    order = np.argsort(v, kind="stable")
    sv = v[order]
    new_group = np.r_[True, sv[1:] != sv[:-1]]
    starts = np.flatnonzero(new_group)
    c = np.add.reduceat(counts[:, order], starts, axis=1)  # draws per distinct value, (B, G)
    below = np.cumsum(c, axis=1) - c
    group_rank = below + (c + 1) / 2.0
    gid = np.empty(len(v), dtype=np.int64)
    gid[order] = np.cumsum(new_group) - 1
    return group_rank[:, gid]


class _SpearmanResampler:
    """Bootstrap replicates of Spearman's rho against fixed ``targets``, for many score vectors.

    Draws the resamples (``n_boot`` x n indices from ``seed``, as :func:`bootstrap_ci` does) and
    ranks the targets once; :meth:`replicates` then only ranks the scores. Computed from the
    multiplicity of each item in each resample, no (n_boot x n) copies of the data.
    """

    def __init__(self, targets: np.ndarray, n_boot: int, seed: int | np.random.Generator | None) -> None:
        n = len(targets)
        idx = as_generator(seed).integers(0, n, size=(int(n_boot), n))
        flat = (idx + n * np.arange(int(n_boot))[:, None]).ravel()
        self.counts = np.bincount(flat, minlength=int(n_boot) * n).reshape(int(n_boot), n).astype(np.float64)
        self.mid = (n + 1) / 2.0  # the mean rank within every resample
        self.rt = _resample_ranks(np.asarray(targets, dtype=np.float64), self.counts) - self.mid
        self.crt = self.counts * self.rt
        self.st = np.sum(self.crt * self.rt, axis=1)

    def replicates(self, scores: np.ndarray) -> np.ndarray:
        rs = _resample_ranks(np.asarray(scores, dtype=np.float64), self.counts) - self.mid
        num = np.sum(self.crt * rs, axis=1)
        ss = np.sum(self.counts * rs * rs, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = num / np.sqrt(ss * self.st)
        rho[(ss <= 1e-9) | (self.st <= 1e-9)] = np.nan
        return np.clip(rho, -1.0, 1.0)


def _percentile_interval(reps: np.ndarray, confidence: float) -> tuple[float, float]:
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return math.nan, math.nan
    alpha = (1.0 - float(confidence)) / 2.0
    lo, hi = np.quantile(reps, [alpha, 1.0 - alpha])
    return float(lo), float(hi)


def _check_bootstrap_args(n_boot: Any, confidence: Any) -> None:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ConfigError(f"`n_boot` must be an int >= 1, got {n_boot!r}")
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ConfigError(f"`confidence` must be a number in (0, 1), got {confidence!r}")


def bootstrap_ci(
    metric: str | Callable[..., float],
    scores: ArrayLike,
    targets: ArrayLike,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int | np.random.Generator | None = 0,
    **metric_kwargs: Any,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of a metric.

    The finite pairs (NaN rule above) are resampled with replacement ``n_boot`` times, the
    metric is computed on each resample, and the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles of the finite replicates are returned. Replicates where the
    metric is undefined (e.g. a constant resample) are left out; if all are, ``(nan, nan)``.
    Spearman is computed for all replicates at once (vectorised); other metrics loop.

    Args:
        metric: A name from :data:`METRICS` or a function ``f(scores, targets, **kw) -> float``.
        n_boot: Number of bootstrap resamples (>= 1).
        confidence: Coverage of the interval, in (0, 1).
        seed: Seed or ``numpy.random.Generator`` of the resampling.
        **metric_kwargs: Passed to the metric (e.g. ``k=10``).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> t = rng.normal(size=200)
        >>> s = t + rng.normal(size=200)
        >>> lo, hi = bootstrap_ci("spearman", s, t, n_boot=500, seed=0)
        >>> lo < spearman(s, t) < hi
        True
    """
    fn = get_metric(metric)
    _check_bootstrap_args(n_boot, confidence)
    s, t, _ = finite_pairs(scores, targets)
    n = len(s)
    if n == 0:
        return math.nan, math.nan
    if fn is spearman and not metric_kwargs:
        return _percentile_interval(_SpearmanResampler(t, n_boot, seed).replicates(s), confidence)
    idx = as_generator(seed).integers(0, n, size=(int(n_boot), n))
    reps = np.empty(int(n_boot))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b in range(int(n_boot)):
            reps[b] = fn(s[idx[b]], t[idx[b]], **metric_kwargs)
    return _percentile_interval(reps, confidence)
