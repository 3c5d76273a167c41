"""Optuna integration: a pruner that ranks running trials by training speed (TSE / TSE-E / TSE-EMA).

Contract with the objective
---------------------------
After every training epoch the objective calls :func:`report_losses` with that epoch's minibatch
training losses (each the loss it back-propagated, computed *before* its optimiser step; a single
number is read as the epoch mean), then ``trial.should_prune()``::

    for epoch in range(1, epochs + 1):
        losses = train_one_epoch(model)              # list of minibatch losses
        report_losses(trial, losses, value=val_acc)  # value: optional, goes to trial.report
        if trial.should_prune():
            raise optuna.TrialPruned()

:func:`report_losses` stores the epoch mean as the user attribute ``nasrank_loss_<epoch>``
(1-based, JSON-serialisable, so any storage works: in-memory, RDB, journal) and, when ``value`` is
given, also calls ``trial.report(value, epoch)`` so Optuna's dashboards and other pruners see it.
:class:`TSEPruner` ignores intermediate values and the study direction: it only reads the losses.

Decisions are recorded on the trial as user attributes ``nasrank_tse_rung_<T>``: a dict
``{"score", "rank", "n", "keep", "kept"}`` (see :class:`~._tse_rank.RankDecision`) for each rung T
it reached, and ``nasrank_tse_pruned_at`` = T when it was pruned.

Example:
    >>> import optuna
    >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
    >>> def objective(trial):  # a toy "training run": the loss decays at a rate set by x
    ...     x = trial.suggest_float("x", 0.1, 1.0)
    ...     for epoch in range(1, 10):
    ...         report_losses(trial, [2.0 * (1 - x) ** epoch + 0.1])
    ...         if trial.should_prune():
    ...             raise optuna.TrialPruned()
    ...     return x
    >>> study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0),
    ...                             pruner=TSEPruner("tse-ema", min_epochs=1, reduction_factor=3))
    >>> study.optimize(objective, n_trials=8)
    >>> pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    >>> len(pruned) > 0, all(t.user_attrs["nasrank_tse_pruned_at"] in (1, 3, 9) for t in pruned)
    (True, True)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._validate import check_int
from ..estimators.curve import CurveEstimator
from ..exceptions import ConfigError, MissingDependencyError
from ._tse_rank import epoch_loss, rank_decision, rung_plan, tse_estimator, tse_score

if TYPE_CHECKING:
    import optuna

try:
    from optuna.pruners import BasePruner as _BasePruner
except ImportError:  # the class still exists; constructing it raises the install hint
    _BasePruner = object  # type: ignore[assignment, misc]
    _HAVE_OPTUNA = False
else:
    _HAVE_OPTUNA = True

__all__ = ["TSEPruner", "report_losses", "trial_losses", "LOSS_KEY", "RUNG_KEY", "PRUNED_KEY"]

#: User-attribute key of epoch ``e``'s training loss (``LOSS_KEY.format(epoch=e)``).
LOSS_KEY = "nasrank_loss_{epoch}"
#: User-attribute key of the decision at rung ``T``.
RUNG_KEY = "nasrank_tse_rung_{epoch}"
#: User-attribute key holding the rung at which the trial was pruned.
PRUNED_KEY = "nasrank_tse_pruned_at"

_INSTALL_HINT = "the Optuna integration needs Optuna: pip install optuna"


def _require_optuna() -> None:
    if not _HAVE_OPTUNA:
        raise MissingDependencyError(_INSTALL_HINT)


def trial_losses(trial: Any) -> list[float]:
    """The per-epoch training losses a trial reported with :func:`report_losses` (epoch 1 first).

    Works on a live ``optuna.trial.Trial`` and on a ``FrozenTrial`` (e.g. from
    ``study.trials``). Non-finite losses read back as NaN.

    Example:
        >>> import optuna
        >>> trial_losses(optuna.trial.create_trial(value=0.0, user_attrs={"nasrank_loss_1": 2.0}))
        [2.0]
    """
    attrs = getattr(trial, "user_attrs", None)
    if not isinstance(attrs, dict):
        raise ConfigError(f"trial_losses needs an Optuna trial (with user_attrs), got {type(trial).__name__}")
    out: list[float] = []
    while (key := LOSS_KEY.format(epoch=len(out) + 1)) in attrs:
        v = attrs[key]
        out.append(math.nan if v is None else float(v))
    return out


def report_losses(
    trial: Any,
    losses: float | Sequence[Any],
    epoch: int | None = None,
    *,
    batch_sizes: Sequence[float] | None = None,
    value: float | None = None,
) -> float:
    """Report one epoch's training losses of an Optuna trial (for :class:`TSEPruner`).

    Args:
        trial: The ``optuna.trial.Trial`` the objective received.
        losses: The epoch's minibatch losses (numbers or scalar tensors), or their mean.
        epoch: 1-based epoch number; default the next one. Epochs must be reported in order,
            each once.
        batch_sizes: Optional minibatch sizes to weight the mean (a short last batch).
        value: Optional intermediate objective value (e.g. validation accuracy) passed on to
            ``trial.report(value, epoch)``.

    Returns:
        The epoch's mean loss as stored.

    Raises:
        ConfigError: for an epoch out of order, or malformed losses.

    Example:
        >>> import optuna
        >>> trial = optuna.create_study().ask()
        >>> report_losses(trial, [2.0, 1.0]), report_losses(trial, 0.5, value=0.9)
        (1.5, 0.5)
        >>> trial_losses(trial), trial.user_attrs["nasrank_loss_2"]
        ([1.5, 0.5], 0.5)
    """
    _require_optuna()
    done = len(trial_losses(trial))
    if epoch is None:
        epoch = done + 1
    epoch = check_int("epoch", epoch, 1)
    if epoch != done + 1:
        raise ConfigError(
            f"report_losses got epoch {epoch} but this trial has reported {done} epoch(s); "
            f"epochs are 1-based and reported in order, so the next one is {done + 1}"
        )
    mean = epoch_loss(losses, batch_sizes)
    trial.set_user_attr(LOSS_KEY.format(epoch=epoch), mean if math.isfinite(mean) else None)
    if value is not None:
        trial.report(float(value), epoch)
    return mean


class TSEPruner(_BasePruner):
    """Optuna pruner ranking trials by a training-speed estimator at successive-halving rungs.

    At each rung T (an epoch count) a trial that has reported T epochs of losses is scored with
    the estimator over epochs 1..T, and compared with the scores every other trial had at the
    same T; it survives if it ranks in the top ``keep_fraction`` (ties survive; the best trial
    always does). Rungs default to ``min_epochs * reduction_factor**k`` and ``keep_fraction`` to
    ``1/reduction_factor`` (successive halving); ``rungs=range(w, E)`` with ``keep_fraction=0.5``
    is median pruning on the training-speed signal. Works with any sampler and storage (the state
    lives in trial user attributes) and with several workers (decisions then depend on which peers
    reached a rung first, as with Optuna's own successive halving).

    Args:
        estimator: ``"tse"``, ``"tse-e"`` or ``"tse-ema"`` with optional parameters
            (``"tse-ema:gamma=0.9"``), or an estimator instance. Default TSE-EMA with the paper's
            gamma.
        min_epochs: First rung.
        reduction_factor: Growth of the rungs (and default 1/keep fraction), >= 2.
        rungs: Explicit rung epochs instead of the geometric schedule.
        keep_fraction: Fraction in (0, 1] that survives a rung.
        min_peers: Other trials that must have reached a rung before it can prune (a warm-up,
            like ``n_startup_trials``).

    Raises:
        MissingDependencyError: if Optuna is not installed.
        ConfigError: on invalid parameters (e.g. a first rung shorter than TSE-E's window).

    Example:
        >>> import optuna
        >>> pruner = TSEPruner("tse-ema:gamma=0.9", min_epochs=2, reduction_factor=2)
        >>> pruner.rungs_upto(10), pruner.keep_fraction
        ([2, 4, 8], 0.5)
        >>> study = optuna.create_study(pruner=pruner)  # any sampler, any storage (e.g. "sqlite:///hpo.db")
    """

    def __init__(
        self,
        estimator: str | CurveEstimator = "tse-ema",
        *,
        min_epochs: int = 1,
        reduction_factor: int = 3,
        rungs: Sequence[int] | None = None,
        keep_fraction: float | None = None,
        min_peers: int = 0,
    ) -> None:
        _require_optuna()
        self.estimator = tse_estimator(estimator)
        self._plan = rung_plan(self.estimator, min_epochs=min_epochs, reduction_factor=reduction_factor,
                               rungs=rungs, keep_fraction=keep_fraction, min_peers=min_peers)
        self.min_epochs, self.reduction_factor = self._plan.min_epochs, self._plan.reduction_factor
        self.rungs, self.keep_fraction, self.min_peers = self._plan.rungs, self._plan.keep_fraction, self._plan.min_peers
        self._warned = False

    def __repr__(self) -> str:
        sched = f"rungs={self.rungs}" if self.rungs else f"min_epochs={self.min_epochs}"
        return (f"TSEPruner({self.estimator!r}, {sched}, reduction_factor={self.reduction_factor}, "
                f"keep_fraction={self.keep_fraction:.3g}, min_peers={self.min_peers})")

    def rungs_upto(self, epochs: int) -> list[int]:
        """The rung epochs <= ``epochs``.

        Example:
            >>> TSEPruner(rungs=[2, 5, 8]).rungs_upto(6)
            [2, 5]
        """
        return self._plan.upto(epochs)

    def prune(self, study: optuna.study.Study, trial: optuna.trial.FrozenTrial) -> bool:
        """Whether ``trial`` should stop now (Optuna calls this from ``trial.should_prune()``)."""
        losses = trial_losses(trial)
        if not losses:
            if trial.last_step is not None and not self._warned:
                self._warned = True
                warnings.warn(
                    f"TSEPruner: trial {trial.number} reports intermediate values but no training losses, so it is "
                    f"never pruned; call nasrank.integrations.report_losses(trial, losses) every epoch",
                    stacklevel=2,
                )
            return False
        todo = [r for r in self.rungs_upto(len(losses)) if RUNG_KEY.format(epoch=r) not in trial.user_attrs]
        if not todo:
            return False
        others = [t for t in study.get_trials(deepcopy=False) if t.number != trial.number]
        for r in todo:
            key = RUNG_KEY.format(epoch=r)
            score = tse_score(losses, self.estimator, r)
            peers = [t.user_attrs[key].get("score") for t in others if isinstance(t.user_attrs.get(key), dict)]
            decision = rank_decision(score, peers, self.keep_fraction, self.min_peers)
            study._storage.set_trial_user_attr(trial._trial_id, key, decision.as_dict())
            if not decision.kept:
                study._storage.set_trial_user_attr(trial._trial_id, PRUNED_KEY, r)
                return True
        return False
