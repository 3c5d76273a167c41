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

With a few labelled architectures a supervised combiner can do better than any fixed rule:
:class:`FewLabelCombiner` fits a small model (gradient boosting or ridge) from the proxy scores
(optionally with an architecture encoding) to the labels of ``k`` evaluated architectures, and
:func:`few_label_study` measures, honestly (scored only on the architectures not fitted), how
much ``k`` labels buy over the label-free :func:`mean_rank`.

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
from typing import Any

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
    "COMBINER_MODELS",
    "signed_log",
    "FewLabelCombiner",
    "few_label_study",
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
#: The models :class:`FewLabelCombiner` knows.
COMBINER_MODELS: tuple[str, ...] = ("gbm", "ridge")

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



# --- few-label supervised combination ---------------------------------------------------------


def signed_log(x: Sequence[float] | np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)``: order-preserving, tames magnitudes such as synflow's 1e49.

    NaN stays NaN and ``±inf`` stays ``±inf``.

    Example:
        >>> [round(v, 3) for v in signed_log([-1.0, 0.0, 1e49]).tolist()]
        [-0.693, 0.0, 112.827]
    """
    a = np.asarray(x, dtype=np.float64)
    return np.sign(a) * np.log1p(np.abs(a))


def _encoding_matrix(encoding: Any, n: int) -> np.ndarray | None:
    if encoding is None:
        return None
    try:
        e = np.asarray(encoding, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError("`encoding` must be a 2-D array of numbers, one row per architecture") from None
    if e.ndim == 1 and n == 1:
        e = e[None, :]
    if e.ndim != 2 or e.shape[0] != n:
        raise ConfigError(f"`encoding` must have one row per architecture ({n}), got shape {e.shape}")
    if not np.isfinite(e).all():
        raise ConfigError("`encoding` must be finite (no NaN/inf)")
    return e


def _labels(y: Any, n: int) -> np.ndarray:
    try:
        t = np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError("`y` must be a 1-D sequence of numbers") from None
    if t.ndim != 1 or len(t) != n:
        raise ConfigError(f"`y` must hold one label per architecture ({n}), got shape {t.shape}")
    if not np.isfinite(t).all():
        raise ConfigError("`y` must be finite (drop the architectures without a label first)")
    return t


class FewLabelCombiner:
    """A supervised proxy combiner fitted on the labels of a few evaluated architectures.

    Features: every proxy of the score table through :func:`signed_log` (so 1e49 and 1e-3 sit on
    one scale); a NaN (or ``-inf``) becomes the *training* column's minimum minus 1 (below every
    value seen, i.e. "worst"; -1 for a column with no number), a ``+inf`` its maximum plus 1 — the
    fill values are learned by :meth:`fit` and reused by :meth:`predict`. Optionally an
    architecture encoding (e.g. rows of ``space.encode(arch)``) is appended. The model is
    ``"gbm"`` (scikit-learn ``GradientBoostingRegressor``: 200 trees of depth 3, learning rate
    0.05, subsample 0.8, ``random_state=seed``) or ``"ridge"`` (``Ridge(alpha=1.0)`` on
    standardised features). The proxies' signs need not be known: the model learns them.

    Args:
        model: ``"gbm"`` or ``"ridge"`` (:data:`COMBINER_MODELS`).
        seed: Seed of the model (gbm subsampling).

    Attributes:
        names_: The proxies fitted on, in column order.
        fill_low_: Per proxy, the transformed value a NaN/-inf becomes.
        fill_high_: Per proxy, the transformed value a +inf becomes.
        encoding_dim_: Width of the encoding fitted with (``None`` = none).
        model_: The fitted scikit-learn estimator.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> a, b = rng.normal(size=60), rng.normal(size=60)
        >>> table = {"a": np.exp(a) * 1e40, "b": b}
        >>> y = a - b                              # "b" is a lower-is-better proxy
        >>> comb = FewLabelCombiner("ridge").fit({k: v[:40] for k, v in table.items()}, y[:40])
        >>> from nasrank.evaluation.metrics import spearman
        >>> spearman(comb.predict({k: v[40:] for k, v in table.items()}), y[40:]) > 0.9
        True
    """

    def __init__(self, model: str = "gbm", seed: int = 0) -> None:
        self.model = model
        self.seed = seed

    def _check_params(self) -> str:
        key = str(self.model).strip().lower()
        if key not in COMBINER_MODELS:
            raise ConfigError(f"`model` must be one of {list(COMBINER_MODELS)}, got {self.model!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer) or self.seed < 0:
            raise ConfigError(f"`seed` must be an int >= 0, got {self.seed!r}")
        return key

    def _estimator(self, key: str) -> Any:
        try:
            from sklearn.ensemble import GradientBoostingRegressor
            from sklearn.linear_model import Ridge
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler
        except ImportError as exc:  # scikit-learn is a core dependency; guard anyway
            from ..exceptions import MissingDependencyError

            raise MissingDependencyError(
                "FewLabelCombiner needs scikit-learn: pip install scikit-learn") from exc
        if key == "gbm":
            return GradientBoostingRegressor(n_estimators=200, max_depth=3, learning_rate=0.05,
                                             subsample=0.8, random_state=int(self.seed))
        return make_pipeline(StandardScaler(), Ridge(alpha=1.0))

    def _features(self, scores: np.ndarray, encoding: np.ndarray | None) -> np.ndarray:
        x = signed_log(scores)
        x = np.where(np.isnan(x) | (x == -np.inf), self.fill_low_[None, :], x)
        x = np.where(x == np.inf, self.fill_high_[None, :], x)
        return x if encoding is None else np.concatenate([x, encoding], axis=1)

    def fit(self, table: ScoreTable, y: Sequence[float] | np.ndarray,
            encoding: Any = None) -> FewLabelCombiner:
        """Fit on the architectures of ``table`` and their labels.

        Args:
            table: Proxy name -> scores, one per architecture (at least 2 architectures).
            y: One finite label per architecture, higher = better (e.g. test accuracy; pass
                ``-loss`` for a loss).
            encoding: Optional ``(n, d)`` array of architecture features (finite).

        Returns:
            ``self``.

        Raises:
            ConfigError: for a bad model name or seed, a ragged table, fewer than 2
                architectures, labels of the wrong length or not finite, a bad encoding.
        """
        key = self._check_params()
        names, scores = _matrix(table)
        n = scores.shape[0]
        if n < 2:
            raise ConfigError(f"FewLabelCombiner needs at least 2 labelled architectures, got {n}")
        t = _labels(y, n)
        enc = _encoding_matrix(encoding, n)
        x = signed_log(scores)
        low, high = np.full(len(names), -1.0), np.full(len(names), 1.0)
        for j in range(len(names)):
            finite = x[:, j][np.isfinite(x[:, j])]
            if finite.size:
                low[j], high[j] = finite.min() - 1.0, finite.max() + 1.0
        self.names_ = names
        self.fill_low_ = low
        self.fill_high_ = high
        self.encoding_dim_ = None if enc is None else enc.shape[1]
        est = self._estimator(key)
        est.fit(self._features(scores, enc), t)
        self.model_ = est
        return self

    def predict(self, table: ScoreTable, encoding: Any = None) -> np.ndarray:
        """Predicted labels (higher = predicted better) of the architectures of ``table``.

        ``table`` must hold every proxy fitted on (extra columns are ignored); ``encoding`` is
        required exactly when :meth:`fit` had one, with the same width.

        Raises:
            ConfigError: before :meth:`fit`, or for a missing proxy or a mismatched encoding.
        """
        if not hasattr(self, "model_"):
            raise ConfigError("this FewLabelCombiner is not fitted yet: call fit(table, y) first")
        if not isinstance(table, Mapping) or not table:
            raise ConfigError("`table` must be a non-empty mapping of proxy name -> scores per architecture")
        missing = [n for n in self.names_ if n not in table]
        if missing:
            raise ConfigError(f"`table` lacks the proxy(ies) fitted on: {', '.join(missing)}")
        _, scores = _matrix({n: table[n] for n in self.names_})
        n = scores.shape[0]
        enc = _encoding_matrix(encoding, n)
        if (enc is None) != (self.encoding_dim_ is None):
            raise ConfigError("pass `encoding` to predict exactly when it was passed to fit")
        if enc is not None and enc.shape[1] != self.encoding_dim_:
            raise ConfigError(f"`encoding` must have {self.encoding_dim_} columns (as in fit), got {enc.shape[1]}")
        return np.asarray(self.model_.predict(self._features(scores, enc)), dtype=np.float64)


def _summary(values: list[float]) -> tuple[float, float]:
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=np.float64)
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std())


def few_label_study(
    table: ScoreTable,
    y: Sequence[float] | np.ndarray,
    ks: Sequence[int] = (20, 50, 100),
    repeats: int = 20,
    model: str = "gbm",
    encoding: Any = None,
    seed: int = 0,
    higher_is_better: bool | Mapping[str, bool] | None = None,
) -> dict[str, Any]:
    """How well a :class:`FewLabelCombiner` fitted on ``k`` labels ranks the *other* architectures.

    For each ``k`` and each repeat, ``k`` architectures are drawn without replacement (a
    generator seeded by ``(seed, k, repeat)``, so adding a ``k`` leaves the others' draws
    unchanged), the combiner is fitted on them, and Spearman's rho and Kendall's tau of its
    predictions against ``y`` are computed on the remaining ``n - k`` architectures only.
    For reference, the label-free :func:`mean_rank` (``nan_policy="worst"``) is scored on all
    ``n`` architectures.

    Args:
        table: Proxy name -> scores, one per architecture.
        y: One finite label per architecture, higher = better.
        ks: Label budgets; each an int with ``2 <= k < n - 2``.
        repeats: Draws per ``k`` (>= 1).
        model: ``"gbm"`` or ``"ridge"``.
        encoding: Optional ``(n, d)`` architecture features, appended to the proxies.
        seed: Seed of the draws and of the model.
        higher_is_better: Signs of the proxies for the label-free baseline (see
            :func:`rank_table`; default: the proxy registry's).

    Returns:
        ``{"label_free": rho, "by_k": [row, ...]}``, a row per ``k`` (in the order given):
        ``k``, ``repeats``, ``spearman_mean``, ``spearman_std`` (population std over repeats),
        ``kendall_mean``, ``n_scored`` (``n - k``). A repeat whose correlation is undefined
        (constant predictions) is left out of the means.

    Raises:
        ConfigError: for a bad ``k``, ``repeats``, table, labels or encoding.

    Example:
        >>> rng = np.random.default_rng(1)
        >>> a, noise = rng.normal(size=80), rng.normal(size=80)
        >>> y = a + 0.1 * rng.normal(size=80)
        >>> out = few_label_study({"a": a, "noise": noise}, y, ks=(20,), repeats=2, model="ridge",
        ...                       higher_is_better=True)
        >>> row = out["by_k"][0]
        >>> row["n_scored"], row["spearman_mean"] > out["label_free"]
        (60, True)
    """
    from .metrics import kendall_tau, spearman

    FewLabelCombiner(model, seed)._check_params()
    names, scores = _matrix(table)
    n = scores.shape[0]
    t = _labels(y, n)
    enc = _encoding_matrix(encoding, n)
    if isinstance(repeats, bool) or not isinstance(repeats, int | np.integer) or repeats < 1:
        raise ConfigError(f"`repeats` must be an int >= 1, got {repeats!r}")
    if isinstance(ks, int | np.integer):
        ks = (int(ks),)
    ks = list(ks)
    if not ks:
        raise ConfigError("`ks` must name at least one label budget, e.g. ks=(20, 50)")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 2 <= k < n - 2:
            raise ConfigError(f"every k must be an int with 2 <= k < n - 2 = {n - 2} (n = {n} architectures), got {k!r}")
    label_free = spearman(mean_rank(table, higher_is_better, "worst"), t)
    rows = []
    for k in ks:
        rhos, taus = [], []
        for r in range(repeats):
            rng = np.random.default_rng([int(seed), int(k), r])
            train = np.zeros(n, dtype=bool)
            train[rng.choice(n, size=int(k), replace=False)] = True
            test = ~train
            comb = FewLabelCombiner(model, seed).fit(
                {nm: scores[train, j] for j, nm in enumerate(names)}, t[train],
                None if enc is None else enc[train])
            pred = comb.predict({nm: scores[test, j] for j, nm in enumerate(names)},
                                None if enc is None else enc[test])
            rhos.append(spearman(pred, t[test]))
            taus.append(kendall_tau(pred, t[test]))
        rho_mean, rho_std = _summary(rhos)
        rows.append({"k": int(k), "repeats": int(repeats), "spearman_mean": rho_mean,
                     "spearman_std": rho_std, "kendall_mean": _summary(taus)[0],
                     "n_scored": int(test.sum())})
    return {"label_free": float(label_free), "by_k": rows}
