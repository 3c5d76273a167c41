"""Label-free ensembles of proxy scores: rank aggregation over a set of architectures (pure functions).

A *score table* maps each proxy name to its scores on the same architectures, in the same order
(``{"snip": [...], "flops": [...]}``, or any mapping of names to 1-D sequences of equal length).
Each proxy is first turned into ranks among the architectures (:func:`rank_table`: 1 = predicted
worst, n = predicted best, ties share the average of their ranks, ``higher_is_better`` of each
proxy respected), then the ranks are combined per architecture:

* :func:`mean_rank` — the mean of the ranks;
* :func:`log_rank_sum` — ``sum_j log(rank_j / n)`` (AZ-NAS, Lee & Ham, CVPR 2024: its "rank
  aggregation"; rewards being good on every proxy, a product of normalised ranks);
* :func:`az_nas_aggregate` — :func:`log_rank_sum` of AZ-NAS's four components
  (:data:`AZ_NAS_COMPONENTS`: ``az-nas-expressivity``, ``az-nas-progressivity``,
  ``az-nas-trainability`` and ``flops`` for complexity), as in the authors' notebook
  (cvlab-yonsei/AZ-NAS ``NB201/tss_general.ipynb``: ``np.log(stats.rankdata(x) / l)`` summed);
* :func:`aggregate` — either one by name.

Every aggregate is signed so that **higher = predicted better** (ready for
:mod:`nasrank.evaluation.metrics`).

NaN rule (``nan_policy``; a proxy returns NaN where it is undefined):

* ``"worst"`` (default) — a NaN score ranks below every number of that proxy (NaNs tie among
  themselves). This is what the AZ-NAS reference does, which maps NaN to -inf before ranking.
* ``"omit"`` — a NaN score is left out: ranks are taken among the architectures with a number
  (``n`` is their count), and an architecture's aggregate uses only its proxies with a number
  (:func:`log_rank_sum` is rescaled to the full number of proxies: ``k * mean_j log(rank_j/n_j)``,
  so that missing terms do not count as perfect ones). NaN if it has no number at all.
* ``"propagate"`` — an architecture with any NaN score gets a NaN aggregate.

``+inf``/``-inf`` are ordinary (extreme) values for ranking.

Example:
    >>> table = {"snip": [1.0, 3.0, 2.0], "flops": [10.0, 30.0, 20.0]}
    >>> mean_rank(table).tolist()
    [1.0, 3.0, 2.0]
    >>> [round(v, 4) for v in log_rank_sum(table).tolist()]
    [-2.1972, 0.0, -0.8109]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import rankdata

from ..estimators import PROXIES
from ..exceptions import ConfigError

__all__ = [
    "AZ_NAS_COMPONENTS",
    "NAN_POLICIES",
    "AGGREGATIONS",
    "rank_table",
    "mean_rank",
    "log_rank_sum",
    "az_nas_aggregate",
    "aggregate",
]

#: AZ-NAS's components: expressivity, progressivity, trainability and complexity (FLOPs).
AZ_NAS_COMPONENTS: tuple[str, ...] = (
    "az-nas-expressivity",
    "az-nas-progressivity",
    "az-nas-trainability",
    "flops",
)
#: How NaN scores enter the ranking (see the module docstring).
NAN_POLICIES: tuple[str, ...] = ("worst", "omit", "propagate")
#: The aggregations :func:`aggregate` knows.
AGGREGATIONS: tuple[str, ...] = ("mean-rank", "log-rank")

ScoreTable = Mapping[str, Sequence[float] | np.ndarray]


def _signs(names: Sequence[str], higher_is_better: bool | Mapping[str, bool] | None) -> list[bool]:
    if isinstance(higher_is_better, bool):
        return [higher_is_better] * len(names)
    given = dict(higher_is_better or {})
    out = []
    for n in names:
        if n in given:
            out.append(bool(given[n]))
        elif n in PROXIES:
            out.append(bool(PROXIES.get(n).higher_is_better))
        else:
            raise ConfigError(
                f"no sign for {n!r}: it is not a registered proxy; pass higher_is_better={{{n!r}: True/False}}"
            )
    return out


def _matrix(table: ScoreTable) -> tuple[list[str], np.ndarray]:
    if not isinstance(table, Mapping) or not table:
        raise ConfigError("`table` must be a non-empty mapping of proxy name -> scores per architecture")
    names = list(table)
    cols = []
    for n in names:
        try:
            a = np.asarray(table[n], dtype=np.float64)
        except (TypeError, ValueError):
            raise ConfigError(f"`table[{n!r}]` must be a 1-D sequence of numbers") from None
        if a.ndim != 1:
            raise ConfigError(f"`table[{n!r}]` must be 1-D, got shape {a.shape}")
        cols.append(a)
    lengths = {len(c) for c in cols}
    if len(lengths) != 1 or 0 in lengths:
        raise ConfigError(
            "every proxy in `table` needs one score per architecture (same non-zero length), got lengths "
            + ", ".join(f"{n}={len(c)}" for n, c in zip(names, cols, strict=True))
        )
    return names, np.stack(cols, axis=1)


def _check_policy(nan_policy: str) -> None:
    if nan_policy not in NAN_POLICIES:
        raise ConfigError(f"`nan_policy` must be one of {list(NAN_POLICIES)}, got {nan_policy!r}")


def _ranks(scores: np.ndarray, signs: Sequence[bool], nan_policy: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-proxy ranks (NaN where omitted/propagated) and the number ranked per proxy."""
    n, k = scores.shape
    ranks = np.full((n, k), np.nan)
    counts = np.zeros(k)
    for j in range(k):
        col = scores[:, j] if signs[j] else -scores[:, j]
        nan = np.isnan(col)
        if nan_policy == "worst":
            # the NaNs tie below every number (-inf included), the numbers rank above them
            bad = int(nan.sum())
            ranks[nan, j] = (bad + 1) / 2.0
            if bad < n:
                ranks[~nan, j] = rankdata(col[~nan]) + bad
            counts[j] = n
        else:
            if (~nan).any():
                ranks[~nan, j] = rankdata(col[~nan])
            counts[j] = (~nan).sum()
    return ranks, counts


def rank_table(
    table: ScoreTable,
    higher_is_better: bool | Mapping[str, bool] | None = None,
    nan_policy: str = "worst",
) -> dict[str, np.ndarray]:
    """Each proxy's scores as ranks among the architectures (1 = predicted worst, n = best).

    Args:
        table: Proxy name -> scores, one per architecture, same order for every proxy.
        higher_is_better: The sign of every proxy (one bool), or per name; names not given are
            looked up in the proxy registry (an unregistered name without a sign is an error).
        nan_policy: ``"worst"`` (NaN ranks last), ``"omit"`` or ``"propagate"`` (NaN stays NaN).

    Returns:
        Proxy name -> float ranks (ties share the average rank).

    Raises:
        ConfigError: for an empty or ragged table, an unknown policy or a missing sign.

    Example:
        >>> rank_table({"snip": [0.5, float("nan"), 2.0]})["snip"].tolist()
        [2.0, 1.0, 3.0]
    """
    _check_policy(nan_policy)
    names, scores = _matrix(table)
    ranks, _ = _ranks(scores, _signs(names, higher_is_better), nan_policy)
    return {n: ranks[:, j].copy() for j, n in enumerate(names)}


def _combine(
    table: ScoreTable,
    higher_is_better: bool | Mapping[str, bool] | None,
    nan_policy: str,
    log: bool,
) -> np.ndarray:
    _check_policy(nan_policy)
    names, scores = _matrix(table)
    ranks, counts = _ranks(scores, _signs(names, higher_is_better), nan_policy)
    k = ranks.shape[1]
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.log(ranks / counts[None, :])
    else:
        terms = ranks
    if nan_policy == "omit":
        have = ~np.isnan(terms)
        m = have.sum(axis=1)
        total = np.where(have, terms, 0.0).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(m > 0, total / np.maximum(m, 1), np.nan)
        return mean * k if log else mean
    out = terms.sum(axis=1)  # NaN propagates ("propagate"); "worst" has no NaN
    return out if log else out / k


def mean_rank(
    table: ScoreTable,
    higher_is_better: bool | Mapping[str, bool] | None = None,
    nan_policy: str = "worst",
) -> np.ndarray:
    """The mean over proxies of each architecture's rank (higher = predicted better).

    Args:
        table: Proxy name -> scores, one per architecture.
        higher_is_better: Signs (see :func:`rank_table`).
        nan_policy: See the module docstring.

    Example:
        >>> mean_rank({"snip": [1.0, 2.0, 3.0], "params": [3.0, 2.0, 1.0]}).tolist()
        [2.0, 2.0, 2.0]
    """
    return _combine(table, higher_is_better, nan_policy, log=False)


def log_rank_sum(
    table: ScoreTable,
    higher_is_better: bool | Mapping[str, bool] | None = None,
    nan_policy: str = "worst",
) -> np.ndarray:
    """AZ-NAS rank aggregation: ``sum over proxies of log(rank / n)`` (at most 0; higher = better).

    Args:
        table: Proxy name -> scores, one per architecture.
        higher_is_better: Signs (see :func:`rank_table`).
        nan_policy: See the module docstring.

    Example:
        >>> log_rank_sum({"a": [1.0, 2.0], "b": [2.0, 1.0]}, higher_is_better=True).tolist() == [np.log(0.5)] * 2
        True
    """
    return _combine(table, higher_is_better, nan_policy, log=True)


def az_nas_aggregate(table: ScoreTable, nan_policy: str = "worst") -> np.ndarray:
    """AZ-NAS's score of each architecture: :func:`log_rank_sum` of :data:`AZ_NAS_COMPONENTS`.

    ``table`` must hold the four components (extra columns are ignored), e.g. from
    ``compute_proxies(net, batch, AZ_NAS_COMPONENTS)`` per architecture. The reference ranks the
    benchmark's FLOPs (which count operations that cannot reach the output); nasrank's ``flops``
    counts only the operations that run, so the two differ on such cells.

    Raises:
        ConfigError: if a component is missing.

    Example:
        >>> t = {"az-nas-expressivity": [1.0, 2.0], "az-nas-progressivity": [0.1, 0.2],
        ...      "az-nas-trainability": [-1.0, -0.5], "flops": [3.0, 4.0]}
        >>> az_nas_aggregate(t).tolist() == [4 * np.log(0.5), 0.0]
        True
    """
    missing = [c for c in AZ_NAS_COMPONENTS if c not in table]
    if missing:
        raise ConfigError(f"`table` lacks the AZ-NAS component(s) {', '.join(missing)}")
    return log_rank_sum({c: table[c] for c in AZ_NAS_COMPONENTS}, None, nan_policy)


def aggregate(
    table: ScoreTable,
    method: str = "mean-rank",
    higher_is_better: bool | Mapping[str, bool] | None = None,
    nan_policy: str = "worst",
) -> np.ndarray:
    """Label-free rank aggregation of a proxy score table by name of the method.

    Args:
        table: Proxy name -> scores, one per architecture.
        method: ``"mean-rank"`` (:func:`mean_rank`) or ``"log-rank"`` (:func:`log_rank_sum`).
        higher_is_better: Signs (see :func:`rank_table`).
        nan_policy: See the module docstring.

    Returns:
        One aggregate per architecture, higher = predicted better.

    Example:
        >>> aggregate({"snip": [1.0, 2.0]}, "log-rank").tolist() == [np.log(0.5), 0.0]
        True
    """
    key = str(method).strip().lower().replace("_", "-")
    if key not in AGGREGATIONS:
        raise ConfigError(f"`method` must be one of {list(AGGREGATIONS)}, got {method!r}")
    return _combine(table, higher_is_better, nan_policy, log=key == "log-rank")

