"""Budget-free lines of a correlation study: zero-cost proxies and the noise ceiling.

Seed 000's Fig. 1 draws, beside the curves of rho against the training budget T, the zero-cost
proxies as horizontal lines: they see no training, so they have one value for every T. A second
line with no T is the **noise ceiling**: the rank correlation between the final values of two
training runs of the same cells that differ only in their seed. It says how well one run's
outcome can rank the cells by another run's, i.e. how much of the target is reproducible at all;
an estimator computed from one run and judged against the target cannot be expected to go much
above it (it is the exact bound only for an estimator that sees an independent run; an
estimator read off the same run shares that run's noise with the target).

:func:`reference_row` is the pure function (scores, targets -> a :class:`ReferenceRow` with a
percentile-bootstrap interval, the NaN rule of :mod:`~nasrank.evaluation.metrics`);
:func:`noise_ceiling` and :func:`proxy_references` read a benchmark and a proxy table (duck-typed:
anything with the same methods works).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> true = rng.normal(size=200)
    >>> row = reference_row("noise ceiling", "ceiling", true + rng.normal(0, .5, 200), true + rng.normal(0, .5, 200))
    >>> round(row.value, 2), row.n, row.ci_low < row.value < row.ci_high
    (0.79, 200, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._validate import check_int
from ..exceptions import ConfigError, NasrankError
from .metrics import _percentile_interval, _SpearmanResampler, bootstrap_ci, get_metric

__all__ = ["ReferenceRow", "reference_row", "noise_ceiling", "proxy_references", "REFERENCE_KINDS"]

#: ``"proxy"``: a zero-cost proxy; ``"ceiling"``: seed-to-seed agreement of the target.
REFERENCE_KINDS = ("proxy", "ceiling")
_METRIC_NAMES = {"spearman": "spearman", "kendall_tau": "kendall", "sparse_kendall_tau": "sparse_kendall"}


@dataclass(frozen=True)
class ReferenceRow:
    """One budget-free line of a correlation study.

    Attributes:
        label: What is drawn (the proxy's name, or ``"noise ceiling"``).
        kind: ``"proxy"`` or ``"ceiling"``.
        metric: Correlation used (as in :class:`~nasrank.evaluation.CorrelationRow`).
        value: The correlation (for a proxy: its scores, oriented so that higher is better,
            against the target; for the ceiling: one seed's target against another's).
        ci_low: Lower end of the bootstrap confidence interval.
        ci_high: Upper end.
        n: Architectures used.
        n_dropped: Architectures dropped for a NaN/inf score or target (for a proxy table:
            also those it does not hold).
        source: Where the scores come from (the proxy table's name, or ``"seeds 0 vs 1"``).
    """

    label: str
    kind: str
    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    n_dropped: int
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (NaN stays NaN)."""
        return asdict(self)


def reference_row(
    label: str,
    kind: str,
    scores: Sequence[float],
    targets: Sequence[float],
    *,
    metric: str = "spearman",
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    source: str = "",
) -> ReferenceRow:
    """The correlation of ``scores`` (higher = better) with ``targets``, with its bootstrap CI.

    Pairs with a NaN/inf score or target are dropped and counted in ``n_dropped``. For
    Spearman the resamples are those of :func:`~nasrank.evaluation.bootstrap_ci` with the same
    ``seed`` on the kept pairs.

    Raises:
        ConfigError: on a kind other than :data:`REFERENCE_KINDS`, mismatched lengths, or a
            metric other than spearman / kendall / sparse_kendall.
    """
    if kind not in REFERENCE_KINDS:
        raise ConfigError(f"`kind` must be one of {', '.join(REFERENCE_KINDS)}, got {kind!r}")
    s = np.asarray(scores, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    if s.ndim != 1 or s.shape != t.shape:
        raise ConfigError(f"`scores` and `targets` must be 1-d and of one length, got {s.shape} and {t.shape}")
    fn = get_metric(metric)
    if fn.__name__ not in _METRIC_NAMES:
        raise ConfigError(f"`metric` must be spearman, kendall or sparse_kendall, got {metric!r}")
    n_boot = check_int("n_boot", n_boot, 1)
    ok = np.isfinite(s) & np.isfinite(t)
    if ok.sum() < 3:
        lo = hi = value = float("nan")
    else:
        value = float(fn(s, t))
        if fn.__name__ == "spearman":
            lo, hi = _percentile_interval(_SpearmanResampler(t[ok], n_boot, seed).replicates(s[ok]), confidence)
        else:
            lo, hi = bootstrap_ci(fn, s, t, n_boot=n_boot, confidence=confidence, seed=seed)
    return ReferenceRow(label=label, kind=kind, metric=_METRIC_NAMES[fn.__name__], value=value, ci_low=lo,
                        ci_high=hi, n=int(ok.sum()), n_dropped=int((~ok).sum()), source=source)


def noise_ceiling(
    bench: Any,
    target: str = "test_acc",
    dataset: str | None = None,
    *,
    seeds: tuple[int, int] | None = None,
    metric: str = "spearman",
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> ReferenceRow | None:
    """Seed-to-seed rank correlation of ``target`` over the cells trained with two seeds.

    Args:
        bench: A benchmark with ``seeds`` (the training seeds present), ``archs()`` and
            ``query(arch, target, dataset, seed=s)`` (e.g. a
            :class:`~nasrank.benchmarks.CurveBenchmark`); a cell without a run of one of the
            two seeds is left out.
        target: The benchmark metric (e.g. ``test_acc``).
        dataset: Benchmark dataset.
        seeds: The two training seeds compared (default: the benchmark's first two).
        metric, n_boot, confidence, seed: As in :func:`reference_row`.

    Returns:
        The row (``source`` says which seeds, ``n`` on how many cells), or ``None`` when the
        benchmark has fewer than two seeds or fewer than 3 cells with both.

    Example:
        >>> from nasrank.benchmarks import load_benchmark
        >>> noise_ceiling(load_benchmark("nb201-mini")) is None  # one training seed
        True
    """
    present = sorted(int(s) for s in (getattr(bench, "seeds", None) or ()))
    if seeds is None:
        if len(present) < 2:
            return None
        seeds = (present[0], present[1])
    a, b = (int(s) for s in seeds)
    if a == b:
        raise ConfigError(f"the noise ceiling compares two different seeds, got {a} and {b}")
    missing = [s for s in (a, b) if s not in present]
    if missing:
        raise ConfigError(f"benchmark {getattr(bench, 'name', bench)!r} has no runs of seed {missing[0]} "
                          f"(seeds: {present or 'none'})")
    x, y = [], []
    for arch in bench.archs():
        try:
            va = bench.query(arch, target, dataset, seed=a)
            vb = bench.query(arch, target, dataset, seed=b)
        except NasrankError:  # a cell trained with one of the seeds only
            continue
        x.append(va)
        y.append(vb)
    if len(x) < 3:
        return None
    return reference_row("noise ceiling", "ceiling", x, y, metric=metric, n_boot=n_boot, confidence=confidence,
                         seed=seed, source=f"seeds {a} vs {b}")


def proxy_references(
    table: Any,
    archs: Sequence[Sequence[int]],
    targets: Sequence[float],
    proxies: Sequence[str] | None = None,
    *,
    metric: str = "spearman",
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[ReferenceRow]:
    """One :class:`ReferenceRow` per proxy of a proxy table, over ``archs`` against ``targets``.

    Args:
        table: A :class:`~nasrank.benchmarks.ProxyTable` (or anything with ``proxies``, ``name``,
            ``holds(archs)``, ``scores_of(archs, proxy, missing="nan")`` and
            ``higher_is_better(proxy)``).
            Architectures it does not hold are dropped (counted in ``n_dropped``).
        archs: The architectures, aligned with ``targets``.
        targets: True final values (higher = better).
        proxies: Which columns (default: all of the table's).
        metric, n_boot, confidence, seed: As in :func:`reference_row`.

    Raises:
        ConfigError: if the table holds none of ``archs``, or has no such proxy.
    """
    archs = list(archs)
    names = list(table.proxies if proxies is None else proxies)
    if not names:
        raise ConfigError("no proxies to compare: give at least one of the table's proxies")
    if archs and not np.asarray(table.holds(archs), dtype=bool).any():
        raise ConfigError(f"the proxy table {table.name} scores none of the {len(archs)} architectures; build one "
                          "for them: nasrank proxies table --arch-file FILE ...")
    rows = []
    for name in names:
        scores = np.asarray(table.scores_of(archs, name, missing="nan"), dtype=np.float64)
        if not table.higher_is_better(name):
            scores = -scores
        rows.append(reference_row(name, "proxy", scores, targets, metric=metric, n_boot=n_boot,
                                  confidence=confidence, seed=seed, source=str(table.name)))
    return rows
