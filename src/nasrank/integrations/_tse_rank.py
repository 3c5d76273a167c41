"""Engine-independent ranking of running trials by training speed (shared by the integrations).

The Optuna pruner (:mod:`._optuna`), the Ray Tune scheduler (:mod:`._ray_tune`) and the
trainer callbacks (:mod:`._callbacks`, which may import the public names below) all make the same
decision: at a *rung* (an epoch budget T), score the trial with a training-speed estimator over
its first T per-epoch training losses, compare that score with the scores other trials had at the
same T, and keep the trial only if it ranks in the top ``keep_fraction``.

Public names (importable by the other integration modules):

* :data:`TSE_ESTIMATORS` — the estimator names accepted (the TSE family, which reads only the
  per-epoch training loss);
* :func:`tse_estimator` — an estimator spec (``"tse-ema:gamma=0.9"``) or instance, validated;
* :func:`epoch_loss` — the (batch-size weighted) mean of one epoch's minibatch losses;
* :func:`tse_score` — the signed score (higher = predicted better) from per-epoch losses;
* :func:`rung_epochs` — a successive-halving rung schedule;
* :func:`rung_plan` / :class:`RungPlan` — the validated rung schedule, keep fraction and warm-up
  of a pruner or scheduler;
* :func:`rank_decision` / :class:`RankDecision` — keep or stop one trial at one rung.

The estimators themselves are :mod:`nasrank.estimators.curve`; nothing is re-implemented here.

Example:
    >>> s = tse_score([2.0, 1.0], "tse")  # TSE = 2 + 1, signed so that higher = better
    >>> s
    -3.0
    >>> rank_decision(s, [-2.5, -4.0, -5.0], keep_fraction=0.5).kept  # 2nd of 4, top 2 kept
    True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import check_float, check_int
from ..estimators import EstimatorSpec
from ..estimators.curve import TSE, TSEE, TSEEMA, CurveEstimator
from ..exceptions import ConfigError
from ..records import LearningCurve

__all__ = [
    "TSE_ESTIMATORS",
    "tse_estimator",
    "epoch_loss",
    "tse_score",
    "rung_epochs",
    "rung_plan",
    "RungPlan",
    "rank_decision",
    "RankDecision",
]

#: Estimators a training-speed pruner can rank by (each reads the per-epoch training loss only).
TSE_ESTIMATORS = ("tse", "tse-e", "tse-ema")


def tse_estimator(estimator: str | CurveEstimator = "tse-ema") -> CurveEstimator:
    """The training-speed estimator named by ``estimator`` (a spec string or an instance).

    Args:
        estimator: ``"tse"``, ``"tse-e"`` or ``"tse-ema"``, optionally with parameters in the
            spec form (``"tse-e:E=2"``, ``"tse-ema:gamma=0.9"``), or an instance of one of them.

    Raises:
        ConfigError: for any other estimator (the message lists the accepted ones).

    Example:
        >>> tse_estimator("tse-ema:gamma=0.9")
        TSEEMA(gamma=0.9)
    """
    if isinstance(estimator, str):
        spec = EstimatorSpec.parse(estimator)
        if spec.name not in TSE_ESTIMATORS:
            raise ConfigError(
                f"estimator {estimator!r} is not a training-speed estimator; use one of {', '.join(TSE_ESTIMATORS)}"
            )
        estimator = spec.create()
    if not isinstance(estimator, (TSE, TSEE, TSEEMA)):
        raise ConfigError(
            f"estimator must be one of {', '.join(TSE_ESTIMATORS)} (name or instance), got {estimator!r}"
        )
    return estimator


def _as_float(x: Any, what: str) -> float:
    if hasattr(x, "detach"):  # a torch tensor: avoid importing torch here
        if x.numel() != 1:
            raise ConfigError(f"{what} must be scalars, got a tensor of shape {tuple(x.shape)}")
        return float(x.detach().cpu().item())
    if isinstance(x, bool) or not isinstance(x, (numbers.Real, np.floating, np.integer)):
        raise ConfigError(f"{what} must be numbers (or scalar tensors), got {type(x).__name__}")
    return float(x)


def _finite_or_nan(x: float) -> float:
    return x if math.isfinite(x) else math.nan


def epoch_loss(losses: float | Sequence[Any], batch_sizes: Sequence[float] | None = None) -> float:
    """One epoch's training loss: the mean of its minibatch losses, weighted by ``batch_sizes``.

    A single number is taken as the epoch mean already. A non-finite loss gives NaN (a diverged
    run ranks last), never an error.

    Raises:
        ConfigError: for an empty sequence, non-numeric entries or mismatched ``batch_sizes``.

    Example:
        >>> epoch_loss([3.0, 1.0], batch_sizes=[1, 3])
        1.5
    """
    if not isinstance(losses, (Sequence, np.ndarray)) or isinstance(losses, str):
        return _finite_or_nan(_as_float(losses, "losses"))
    vals = np.array([_as_float(v, "losses") for v in losses], dtype=np.float64)
    if vals.size == 0:
        raise ConfigError("an epoch needs at least one minibatch loss, got an empty sequence")
    if batch_sizes is None:
        return _finite_or_nan(float(vals.mean()))
    w = np.array([_as_float(b, "batch_sizes") for b in batch_sizes], dtype=np.float64)
    if w.shape != vals.shape or np.any(w <= 0):
        raise ConfigError(f"batch_sizes must be {vals.size} positive numbers, one per minibatch loss")
    return _finite_or_nan(float(np.dot(vals, w) / w.sum()))


def tse_score(
    epoch_losses: Sequence[float], estimator: str | CurveEstimator = "tse-ema", epochs: int | None = None
) -> float:
    """Training-speed score of a run, signed so that higher = predicted better.

    Args:
        epoch_losses: The run's per-epoch mean training losses (epoch 1 first).
        estimator: See :func:`tse_estimator`.
        epochs: The budget T (default: all the epochs given). Runs are only comparable at the
            same T (TSE sums T losses).

    Returns:
        ``-estimator(first T losses)``; NaN when a loss among those read is NaN/inf.

    Raises:
        ConfigError: if fewer than ``epochs`` losses are given, or the estimator needs more
            epochs than T (TSE-E's window).

    Example:
        >>> tse_score([4.0, 2.0, 1.0], "tse-ema:gamma=0.5", epochs=3)
        -3.0
    """
    est = tse_estimator(estimator)
    vals = [math.nan if v is None else float(v) for v in epoch_losses]
    T = len(vals) if epochs is None else check_int("epochs", epochs, 1)
    if T < 1 or T > len(vals):
        raise ConfigError(f"a score at epochs={T} needs {T} epoch losses, got {len(vals)}")
    return float(est.score(LearningCurve(train_loss=vals[:T]), T))


def rung_epochs(
    min_epochs: int = 1, reduction_factor: int = 3, max_epochs: int | None = None
) -> Iterable[int]:
    """Successive-halving rungs: ``min_epochs * reduction_factor**k`` (below ``max_epochs`` if given).

    Without ``max_epochs`` the sequence is infinite (a generator).

    Example:
        >>> list(rung_epochs(1, 3, max_epochs=20))
        [1, 3, 9]
    """
    r = check_int("min_epochs", min_epochs, 1)
    eta = check_int("reduction_factor", reduction_factor, 2)
    cap = None if max_epochs is None else check_int("max_epochs", max_epochs, 1)

    def gen() -> Iterable[int]:
        e = r
        while cap is None or e < cap:
            yield e
            e *= eta

    return list(gen()) if cap is not None else gen()


@dataclass(frozen=True)
class RungPlan:
    """When trials are compared (explicit ``rungs`` or ``min_epochs * reduction_factor**k``), which
    fraction survives a rung and how many peers must have reached it first."""

    min_epochs: int
    reduction_factor: int
    rungs: list[int] | None
    keep_fraction: float
    min_peers: int

    def upto(self, epochs: int) -> list[int]:
        """The rung epochs <= ``epochs``.

        Example:
            >>> rung_plan("tse", rungs=[2, 5, 8]).upto(6)
            [2, 5]
        """
        if self.rungs is not None:
            return [r for r in self.rungs if r <= epochs]
        return list(rung_epochs(self.min_epochs, self.reduction_factor, max_epochs=epochs + 1))


def rung_plan(
    estimator: CurveEstimator | str,
    *,
    min_epochs: int = 1,
    reduction_factor: int = 3,
    rungs: Sequence[int] | None = None,
    keep_fraction: float | None = None,
    min_peers: int = 0,
    rung_word: str = "rung",
) -> RungPlan:
    """Validate the rung options of a pruner / scheduler (``keep_fraction`` defaults to
    ``1 / reduction_factor``: successive halving); a first rung shorter than TSE-E's window is
    an error, since its score would be undefined there.

    Example:
        >>> p = rung_plan("tse-ema", min_epochs=2, reduction_factor=2)
        >>> p.upto(10), p.keep_fraction
        ([2, 4, 8], 0.5)
    """
    est = tse_estimator(estimator)
    factor = check_int("reduction_factor", reduction_factor, 2)
    first_epochs = check_int("min_epochs", min_epochs, 1)
    rs: list[int] | None = None
    if rungs is not None:
        rs = sorted({check_int("rungs[]", r, 1) for r in rungs})
        if not rs:
            raise ConfigError("`rungs` must hold at least one epoch, e.g. rungs=[1, 3, 9]")
    first = rs[0] if rs else first_epochs
    if isinstance(est, TSEE) and first < est.E:
        raise ConfigError(
            f"the first {rung_word} ({first} epochs) is shorter than the tse-e window E={est.E}; "
            f"raise min_epochs / the rungs to >= {est.E} or lower E"
        )
    frac = 1.0 / factor if keep_fraction is None else keep_fraction
    return RungPlan(first_epochs, factor, rs,
                    check_float("keep_fraction", frac, 0.0, 1.0, exclusive_min=True),
                    check_int("min_peers", min_peers, 0))


@dataclass(frozen=True)
class RankDecision:
    """The outcome of comparing one trial with its peers at one rung.

    Attributes:
        score: The trial's score (higher = better; NaN if its losses were not finite).
        rank: 1-based rank among the trial and its peers (ties share the better rank; NaN last).
        n: Number of trials compared (peers + this one).
        keep: How many of the ``n`` survive the rung.
        kept: Whether this trial survives (``rank <= keep``, or too few peers to compare).

    Example:
        >>> RankDecision(score=-3.0, rank=1, n=2, keep=1, kept=True).as_dict()["rank"]
        1
    """

    score: float
    rank: int
    n: int
    keep: int
    kept: bool

    def as_dict(self) -> dict[str, Any]:
        """The fields as a JSON-friendly dict (NaN score -> ``None``)."""
        return {
            "score": self.score if math.isfinite(self.score) else None,
            "rank": self.rank, "n": self.n, "keep": self.keep, "kept": self.kept,
        }


def rank_decision(
    score: float, peer_scores: Iterable[float | None], keep_fraction: float, min_peers: int = 0
) -> RankDecision:
    """Keep or stop a trial at a rung: it survives if it ranks in the top ``keep_fraction``.

    ``keep = max(1, floor(n * keep_fraction))`` of the ``n`` = peers + 1 trials survive (so the
    best one always does, as in Optuna's successive halving). A NaN score is always stopped;
    NaN/``None`` peers rank below every finite score. With fewer than ``min_peers`` peers the
    trial is kept (nothing to compare with yet).

    Args:
        score: This trial's score (higher = better).
        peer_scores: Scores of the other trials at the same rung.
        keep_fraction: Fraction in (0, 1] that survives (``1/reduction_factor`` for successive
            halving, 0.5 for median pruning).
        min_peers: Peers needed before anything is stopped.

    Example:
        >>> rank_decision(-1.0, [-2.0, -0.5], keep_fraction=1 / 3)
        RankDecision(score=-1.0, rank=2, n=3, keep=1, kept=False)
    """
    frac = check_float("keep_fraction", keep_fraction, 0.0, 1.0, exclusive_min=True)
    min_peers = check_int("min_peers", min_peers, 0)
    peers = [math.nan if p is None else float(p) for p in peer_scores]
    s = float(score)
    n = len(peers) + 1
    keep = max(1, int(math.floor(n * frac + 1e-9)))
    if not math.isfinite(s):
        return RankDecision(s, n, n, keep, False)
    rank = 1 + sum(1 for p in peers if math.isfinite(p) and p > s)
    kept = rank <= keep or len(peers) < min_peers
    return RankDecision(s, rank, n, keep, kept)
