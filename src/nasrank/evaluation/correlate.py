"""The correlation harness: how well each estimator's ranking at budget T agrees with the truth.

:func:`correlation_table` is a pure data function: learning curves + true final values +
estimator specs + budgets in, one :class:`CorrelationRow` per (estimator, T) out, with a rank
correlation (Spearman by default), its percentile-bootstrap confidence interval and the number of
architectures used / dropped (NaN rule of :mod:`nasrank.evaluation.metrics`: pairs with a NaN/inf
score or target are dropped and counted). :func:`correlate_benchmark` does the same for a
:class:`~nasrank.benchmarks.TabularBenchmark`; :func:`~nasrank.evaluation.plot_correlations` draws
the table.

Estimators that must be fitted (LcSVR; any estimator with a ``fit`` method) follow the protocol of
the TSE paper (seed 000, Sec. 4.1, and its code, reference §4.3): a seeded random subset of the
fully trained curves (``fit_size``, default ``min(100, n // 2)``: seed 000 cites 100 fully
evaluated architectures; the released code uses 200 of ~6,500) is used to fit the model on the
first T epochs, with each curve's final validation accuracy as the regression target (the final
value of the record it extrapolates: ``lcsvr:field=val_loss`` predicts the final validation loss,
which is negated, so that a higher score means predicted better), and the
rank correlation is computed on the remaining architectures only. Its rows therefore have a
smaller ``n``; pass ``holdout_only=True`` to evaluate every estimator on that same held-out set.
The hyper-parameter search of LcSVR is kept small by default (``lcsvr_n_search=20`` random draws
instead of the reference 1000) so that a 200-architecture, 20-epoch table takes seconds;
``"lcsvr:n_search=1000"`` restores the reference. Architecture meta-features (parameters, FLOPs,
latency in the paper) are not used: curves alone.

Example:
    >>> import numpy as np
    >>> from nasrank.training import LearningCurve
    >>> rng = np.random.default_rng(0)
    >>> quality = rng.uniform(size=30)
    >>> curves = [LearningCurve(train_loss=2.0 - q * np.arange(1, 6) / 5 + rng.normal(0, 0.1, 5))
    ...           for q in quality]
    >>> rows = correlation_table(curves, quality, ["tse", "tse-e"], epochs=[1, 5], n_boot=200)
    >>> [(r.estimator, r.epochs) for r in rows]
    [('tse', 1), ('tse', 5), ('tse-e', 1), ('tse-e', 5)]
    >>> rows[1].value > rows[0].value
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._rng import as_generator
from .._validate import check_int as _check_int
from ..estimators import EstimatorSpec, parse_estimators  # defined in nasrank.estimators
from ..estimators.lcsvr import LcSVR
from ..exceptions import BenchmarkDataError, ConfigError, NasrankError
from ..records import LearningCurve
from .metrics import _percentile_interval, _SpearmanResampler, bootstrap_ci, get_metric

__all__ = [
    "EstimatorSpec",
    "CorrelationRow",
    "DEFAULT_ESTIMATORS",
    "parse_estimators",
    "parse_epochs",
    "correlation_table",
    "correlate_benchmark",
    "cross_seeds",
    "cross_seed_targets",
]

#: The estimators of seed 000's Fig. 1 that work on any learning-curve benchmark: TSE, TSE-E,
#: TSE-EMA with the paper's gamma and with the released code's, SoVL, VAccES, LcSVR.
DEFAULT_ESTIMATORS: tuple[str, ...] = (
    "tse", "tse-e", "tse-ema", "tse-ema:gamma=0.1", "sovl", "vacc-es", "lcsvr",
)

def _budget_token(tok: str, t_end: int) -> int:
    tok = tok.strip().lower()
    if tok == "end":
        return t_end
    if tok.endswith("%"):
        try:
            frac = float(tok[:-1]) / 100.0
        except ValueError:
            raise ConfigError(f"malformed budget {tok!r}") from None
        if not 0 < frac <= 1:
            raise ConfigError(f"a percentage budget must be in (0%, 100%], got {tok!r}")
        return max(1, int(math.floor(frac * t_end + 0.5)))
    try:
        return int(tok)
    except ValueError:
        raise ConfigError(
            f"malformed budget {tok!r}; expected an epoch number, a range a:b[:step], 'end' or a percentage like 50%"
        ) from None


def parse_epochs(spec: str | int | Sequence[int] | None, t_end: int) -> list[int]:
    """Budgets T (1-based epoch counts) from a spec, sorted and without duplicates.

    Accepted: an int, a sequence of ints, or a comma-separated string of epoch numbers, inclusive
    ranges ``a:b`` / ``a:b:step``, ``end`` (= ``t_end``) and percentages of ``t_end`` (``50%``).
    ``None`` means every epoch ``1:end``.

    Raises:
        ConfigError: if a budget is malformed or outside ``1..t_end``.

    Example:
        >>> parse_epochs("1,2,5,10,50%,end", t_end=20)
        [1, 2, 5, 10, 20]
        >>> parse_epochs("1:9:4", t_end=20)
        [1, 5, 9]
    """
    if isinstance(t_end, bool) or not isinstance(t_end, (int, np.integer)) or t_end < 1:
        raise ConfigError(f"the curves have no epochs (t_end={t_end!r})")
    t_end = int(t_end)
    if spec is None:
        spec = "1:end"
    values: list[int] = []
    if isinstance(spec, str):
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            if ":" in part:
                bits = part.split(":")
                if len(bits) not in (2, 3):
                    raise ConfigError(f"malformed budget range {part!r}; expected a:b or a:b:step")
                a, b = _budget_token(bits[0], t_end), _budget_token(bits[1], t_end)
                step = _budget_token(bits[2], t_end) if len(bits) == 3 else 1
                if step < 1 or b < a:
                    raise ConfigError(f"budget range {part!r} is empty (needs a <= b and step >= 1)")
                values.extend(range(a, b + 1, step))
            else:
                values.append(_budget_token(part, t_end))
    else:
        seq = [spec] if isinstance(spec, (int, np.integer)) else list(spec)
        for v in seq:
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ConfigError(f"budgets must be ints, got {v!r}")
            values.append(int(v))
    if not values:
        raise ConfigError("no budgets given; e.g. --epochs 1:20 or 1,2,5,10")
    bad = [v for v in values if not 1 <= v <= t_end]
    if bad:
        raise ConfigError(f"budget(s) {sorted(set(bad))} outside 1..{t_end} (the curves have {t_end} epochs)")
    return sorted(set(values))


@dataclass(frozen=True)
class CorrelationRow:
    """One (estimator, budget) cell of a correlation table.

    Attributes:
        estimator: The estimator's label (``EstimatorSpec.label``).
        epochs: Budget T.
        metric: Correlation used (``"spearman"``, ``"kendall"``, ``"sparse_kendall"``).
        value: The correlation between the estimator's scores (higher = better) and the targets.
        ci_low: Lower end of the bootstrap confidence interval.
        ci_high: Upper end.
        n: Architectures used (finite score and target).
        n_dropped: Architectures of the evaluation set dropped for a NaN/inf score or target.
        n_fit: Curves used to fit the estimator (0 for estimators that need no fitting).
    """

    estimator: str
    epochs: int
    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    n_dropped: int
    n_fit: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (NaN stays NaN; the CLI's JSON output turns it into ``null``)."""
        return asdict(self)


def _needs_fit(est: Any) -> bool:
    return callable(getattr(est, "fit", None))


def correlation_table(
    curves: Sequence[LearningCurve],
    targets: Sequence[float],
    estimators: str | Sequence[str | EstimatorSpec] = DEFAULT_ESTIMATORS,
    epochs: str | int | Sequence[int] | None = None,
    *,
    metric: str = "spearman",
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    fit_size: int | None = None,
    lcsvr_n_search: int = 20,
    holdout_only: bool = False,
) -> list[CorrelationRow]:
    """Rank correlation of every estimator at every budget T with the true final values.

    Args:
        curves: One :class:`~nasrank.training.LearningCurve` per architecture.
        targets: True final performance per architecture (e.g. test accuracy), higher = better.
        estimators: Specs (see :class:`EstimatorSpec`), as a list or a comma-separated string;
            default :data:`DEFAULT_ESTIMATORS`.
        epochs: Budgets (see :func:`parse_epochs`); default every epoch ``1..T_end`` where
            ``T_end`` is the longest curve.
        metric: ``"spearman"`` (default), ``"kendall"`` or ``"sparse_kendall"``.
        n_boot: Bootstrap resamples per row (the same seeded resamples for every row, i.e. a
            paired bootstrap when rows share an evaluation set).
        confidence: Coverage of the interval.
        seed: Seed of the fit/held-out split, of LcSVR's search and of the bootstrap.
        fit_size: Fully trained curves used to fit estimators that need fitting (default
            ``min(100, n // 2)`` of the curves that reach ``T_end`` with a finite target).
        lcsvr_n_search: LcSVR hyper-parameter draws unless the spec sets ``n_search``.
        holdout_only: Evaluate every estimator on the held-out set only (same architectures as
            the fitted estimators); without a fitted estimator the split is still drawn.

    Returns:
        Rows ordered by estimator (as given) then budget.

    Raises:
        ConfigError: on mismatched inputs, malformed specs/budgets, a record an estimator needs
            but the curves lack, or too few curves to fit an estimator.
        UnknownNameError: for an unknown estimator or metric.
    """
    curves = list(curves)
    for i, c in enumerate(curves):
        if not isinstance(c, LearningCurve):
            raise ConfigError(f"curves[{i}] is a {type(c).__name__}, not a LearningCurve")
    y = np.asarray(targets, dtype=np.float64)
    if y.ndim != 1 or len(y) != len(curves):
        raise ConfigError(f"`targets` must have one value per curve ({len(curves)}), got shape {y.shape}")
    if len(curves) < 3:
        raise ConfigError(f"a correlation table needs at least 3 architectures, got {len(curves)}")
    metric_fn = get_metric(metric)
    if metric_fn.__name__ not in ("spearman", "kendall_tau", "sparse_kendall_tau"):
        raise ConfigError(f"`metric` must be spearman, kendall or sparse_kendall, got {metric!r}")
    metric_name = {"spearman": "spearman", "kendall_tau": "kendall",
                   "sparse_kendall_tau": "sparse_kendall"}[metric_fn.__name__]
    n_boot = _check_int("n_boot", n_boot, 1)
    lcsvr_n_search = _check_int("lcsvr_n_search", lcsvr_n_search, 1)
    t_end = max(c.epochs for c in curves)
    budgets = parse_epochs(epochs, t_end)
    specs = parse_estimators(estimators)
    made = [(s, s.create()) for s in specs]  # validates parameters before any work

    n = len(curves)
    all_idx = np.arange(n)
    fit_idx = np.zeros(0, dtype=np.int64)
    eval_idx = all_idx
    if holdout_only or any(_needs_fit(e) for _, e in made):
        pool = np.array([i for i, c in enumerate(curves)
                         if c.epochs == t_end and not c.diverged and np.isfinite(y[i])], dtype=np.int64)
        size = min(100, len(pool) // 2) if fit_size is None else _check_int("fit_size", fit_size, 1)
        if size > len(pool) - 1:
            raise ConfigError(
                f"`fit_size`={size} leaves no held-out architecture: only {len(pool)} curves are fully "
                f"trained ({t_end} epochs) with a finite target"
            )
        perm = as_generator(seed).permutation(pool)
        fit_idx = np.sort(perm[:size])
        eval_idx = np.setdiff1d(all_idx, fit_idx)

    rows: list[CorrelationRow] = []
    resamplers: dict[tuple, _SpearmanResampler] = {}
    for spec, proto in made:
        fitted = _needs_fit(proto)
        idx = eval_idx if (fitted or holdout_only) else all_idx
        for T in budgets:
            try:
                if fitted:
                    defaults: dict[str, Any] = {}
                    if isinstance(proto, LcSVR):
                        defaults = {"n_search": lcsvr_n_search, "seed": seed}
                    est = spec.create(**defaults)
                    est.fit([curves[i] for i in fit_idx], epochs=T)
                    raw = np.asarray(est.predict([curves[i] for i in idx], epochs=T), dtype=np.float64)
                    scores = raw if est.higher_is_better else -raw
                else:
                    scores = np.array([proto.score(curves[i], T) for i in idx], dtype=np.float64)
            except NasrankError as exc:
                raise type(exc)(f"{spec.label} at T={T}: {exc}") from None
            tgt = y[idx]
            ok = np.isfinite(scores) & np.isfinite(tgt)
            dropped = int((~ok).sum())
            value = metric_fn(scores, tgt)
            if metric_name == "spearman" and ok.any():
                # same draws as bootstrap_ci(seed=seed); the targets are ranked once per evaluation set
                key = (len(idx), idx[:1].tobytes(), ok.tobytes())
                if key not in resamplers:
                    resamplers[key] = _SpearmanResampler(tgt[ok], n_boot, seed)
                lo, hi = _percentile_interval(resamplers[key].replicates(scores[ok]), confidence)
            else:
                lo, hi = bootstrap_ci(metric_fn, scores, tgt, n_boot=n_boot, confidence=confidence, seed=seed)
            rows.append(CorrelationRow(
                estimator=spec.label, epochs=int(T), metric=metric_name, value=float(value),
                ci_low=lo, ci_high=hi, n=len(idx) - dropped, n_dropped=dropped,
                n_fit=len(fit_idx) if fitted else 0,
            ))
    return rows


def correlate_benchmark(
    bench: Any,
    target: str = "test_acc",
    dataset: str | None = None,
    estimators: str | Sequence[str | EstimatorSpec] = DEFAULT_ESTIMATORS,
    epochs: str | int | Sequence[int] | None = None,
    *,
    target_seed: int | None = None,
    curve_seed: int | None = None,
    **kwargs: Any,
) -> list[CorrelationRow]:
    """:func:`correlation_table` over every architecture of a tabular benchmark with curves.

    Uses ``bench.has_curves``, ``bench.archs()``, ``bench.curve(arch, dataset)`` and
    ``bench.table(target, dataset)`` (the target values aligned with ``archs()``).

    By default the estimators read each cell's first training run and the target is the mean
    over its runs, so on most cells the target comes from the same run as the curve. With
    ``target_seed`` the target is the final value of that seed's run and the curves are those of
    ``curve_seed`` (default: the benchmark's lowest other seed), over the cells trained with both:
    the estimators then predict an independent run, and the seed-to-seed correlation of the target
    (:func:`~nasrank.evaluation.references.noise_ceiling` with the same two seeds) is what a
    second full training run would score.

    Args:
        target_seed: Training seed whose final ``target`` the estimators are compared with (needs
            a benchmark with ``seeds`` and ``curve``/``query`` taking ``seed=``, such as
            :class:`~nasrank.benchmarks.CurveBenchmark`).
        curve_seed: Training seed of the curves the estimators read (only with ``target_seed``).

    Raises:
        ConfigError: if the benchmark has no per-epoch learning curves, or the seeds are not
            two different seeds of it, or fewer than 3 cells were trained with both.

    Example:
        >>> from nasrank.benchmarks import load_benchmark  # doctest: +SKIP
        >>> rows = correlate_benchmark(load_benchmark("nb201-mini"), epochs="1,5,10")  # doctest: +SKIP
    """
    if not getattr(bench, "has_curves", False):
        raise ConfigError(
            f"benchmark {getattr(bench, 'name', bench)!r} has no per-epoch learning curves; "
            "nasrank correlate needs a learning-curve benchmark (e.g. nb201-mini or a directory "
            "written by nasrank bench build)"
        )
    archs = bench.archs()
    if target_seed is None:
        if curve_seed is not None:
            raise ConfigError("`curve_seed` picks the curves' run against a `target_seed`: give target_seed too")
        curves = [bench.curve(a, dataset) for a in archs]
        y = np.asarray(bench.table(target, dataset), dtype=np.float64)
        return correlation_table(curves, y, estimators, epochs, **kwargs)
    curve_seed, target_seed = cross_seeds(bench, target_seed, curve_seed)
    archs, ys = cross_seed_targets(bench, target, dataset, (curve_seed, target_seed))
    if len(archs) < 3:
        raise ConfigError(f"only {len(archs)} cells of {getattr(bench, 'name', bench)!r} were trained with both "
                          f"seeds {curve_seed} and {target_seed}: a cross-seed correlation needs at least 3")
    curves = [bench.curve(a, dataset, seed=curve_seed) for a in archs]
    return correlation_table(curves, np.asarray(ys, dtype=np.float64), estimators, epochs, **kwargs)


def cross_seed_targets(
    bench: Any, target: str, dataset: str | None, seeds: tuple[int, int]
) -> tuple[list[Any], list[float]]:
    """The cells trained with both ``seeds = (curve seed, target seed)`` and the target seed's
    final ``target`` on each, in ``bench.archs()`` order (what
    :func:`correlate_benchmark` with ``target_seed`` scores on).

    Example:
        >>> class Bench:
        ...     def archs(self): return ["a", "b"]
        ...     def query(self, arch, metric, dataset=None, seed=None):
        ...         if arch == "b" and seed == 1:
        ...             raise BenchmarkDataError("no run of seed 1")
        ...         return 0.5 + seed
        >>> cross_seed_targets(Bench(), "test_acc", None, (0, 1))
        (['a'], [1.5])
    """
    archs, values = [], []
    for a in bench.archs():
        try:
            bench.query(a, target, dataset, seed=seeds[0])  # the curve's run exists
            values.append(float(bench.query(a, target, dataset, seed=seeds[1])))
        except BenchmarkDataError:  # a cell not trained with both seeds
            continue
        archs.append(a)
    return archs, values


def cross_seeds(bench: Any, target_seed: int, curve_seed: int | None = None) -> tuple[int, int]:
    """Check a (curve seed, target seed) pair against the benchmark's training seeds.

    Returns ``(curve_seed, target_seed)``; ``curve_seed`` defaults to the lowest seed other than
    ``target_seed``.

    Example:
        >>> class Bench:
        ...     name, seeds = "toy", [0, 1]
        >>> cross_seeds(Bench(), 1)
        (0, 1)
    """
    name = getattr(bench, "name", bench)
    present = sorted(int(s) for s in (getattr(bench, "seeds", None) or ()))
    if len(present) < 2:
        raise ConfigError(f"benchmark {name!r} records one training run per cell: a target from another "
                          "seed's run needs a benchmark built with two seeds (nasrank bench build --seeds 0,1:200)")
    target_seed = _check_int("target_seed", target_seed, 0)
    if curve_seed is None:
        curve_seed = next((s for s in present if s != target_seed), present[0])
    curve_seed = _check_int("curve_seed", curve_seed, 0)
    for what, s in (("target", target_seed), ("curve", curve_seed)):
        if s not in present:
            raise ConfigError(f"benchmark {name!r} has no runs of {what} seed {s} (seeds: {present})")
    if curve_seed == target_seed:
        raise ConfigError(f"the curves and the target come from the same seed ({target_seed}): pick two "
                          f"different seeds of {present}")
    return curve_seed, target_seed
