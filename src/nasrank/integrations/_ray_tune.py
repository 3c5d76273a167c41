"""Ray Tune integration: a trial scheduler that stops trials by their training-speed rank at milestones.

Contract with the trainable
---------------------------
Report one result per training epoch with the epoch's mean training loss (the mean of the
minibatch losses back-propagated during the epoch) under ``loss_attr`` (default
``"train_loss"``); Ray's ``training_iteration`` counts the epochs::

    def trainable(config):
        for epoch in range(epochs):
            losses = train_one_epoch(model)                        # minibatch losses
            tune.report({"train_loss": sum(losses) / len(losses), "val_acc": evaluate(model)})

:class:`TSEScheduler` runs trials like FIFO scheduling and, at each milestone T (successive-
halving rungs), scores the trial with TSE / TSE-E / TSE-EMA over its first T epoch losses; a trial
not in the top ``keep_fraction`` of the scores recorded at T so far is stopped (asynchronous, like
ASHA: an early trial has few peers and is kept). The objective metric and mode are not used.

Decisions are kept in :attr:`TSEScheduler.decisions_` and, when the callback from
:meth:`TSEScheduler.result_callback` is passed to ``RunConfig(callbacks=...)``, added to every
trial result as ``tse_score`` (score over the epochs so far), ``tse_rung``, ``tse_rank``,
``tse_n`` (rank among the ``tse_n`` trials compared at the last rung reached) and
``tse_decision`` (``"CONTINUE"`` / ``"STOP"``).

Example:
    >>> sched = TSEScheduler("tse-ema", min_epochs=1, reduction_factor=3)
    >>> sched.rungs_upto(10)
    [1, 3, 9]
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from ..estimators.curve import CurveEstimator
from ..exceptions import ConfigError, MissingDependencyError
from ._tse_rank import (
    RankDecision,
    epoch_loss,
    rank_decision,
    rung_plan,
    tse_estimator,
    tse_score,
)

try:
    from ray.tune import Callback as _Callback
    from ray.tune.schedulers import FIFOScheduler as _FIFOScheduler
    from ray.tune.schedulers import TrialScheduler as _TrialScheduler
except ImportError:  # the class still exists; constructing it raises the install hint
    _FIFOScheduler = object  # type: ignore[assignment, misc]
    _Callback = None  # type: ignore[assignment, misc]
    _TrialScheduler = None  # type: ignore[assignment, misc]
    _HAVE_RAY = False
else:
    _HAVE_RAY = True

__all__ = ["TSEScheduler"]

_INSTALL_HINT = "the Ray Tune integration needs Ray Tune: pip install 'ray[tune]'"
#: Attribute of a Ray ``Trial`` holding the scheduler's latest information about it.
_TRIAL_ATTR = "_nasrank_tse"


def _require_ray() -> None:
    if not _HAVE_RAY:
        raise MissingDependencyError(_INSTALL_HINT)


class TSEScheduler(_FIFOScheduler):
    """Ray Tune scheduler stopping trials whose training-speed rank is low at milestones.

    Args:
        estimator: ``"tse"``, ``"tse-e"`` or ``"tse-ema"`` with optional parameters
            (``"tse-ema:gamma=0.9"``), or an estimator instance.
        loss_attr: Result key holding the epoch's mean training loss (a list of minibatch losses
            is averaged).
        time_attr: Result key counting epochs (1-based).
        min_epochs: First milestone.
        reduction_factor: Growth of the milestones (and default 1/keep fraction), >= 2.
        rungs: Explicit milestone epochs instead of the geometric schedule.
        keep_fraction: Fraction in (0, 1] of the trials recorded at a milestone that continue.
        min_peers: Other trials that must have reached a milestone before it can stop one.

    Raises:
        MissingDependencyError: if Ray Tune is not installed.
        ConfigError: on invalid parameters.

    Example:
        >>> from ray import tune  # doctest: +SKIP
        >>> sched = TSEScheduler("tse-ema:gamma=0.9", min_epochs=1, reduction_factor=2)
        >>> sched.keep_fraction
        0.5
        >>> tuner = tune.Tuner(trainable, param_space=space,  # doctest: +SKIP
        ...                    tune_config=tune.TuneConfig(scheduler=sched, num_samples=20),
        ...                    run_config=tune.RunConfig(callbacks=[sched.result_callback()]))
        >>> results = tuner.fit()  # doctest: +SKIP
    """

    def __init__(
        self,
        estimator: str | CurveEstimator = "tse-ema",
        *,
        loss_attr: str = "train_loss",
        time_attr: str = "training_iteration",
        min_epochs: int = 1,
        reduction_factor: int = 3,
        rungs: Sequence[int] | None = None,
        keep_fraction: float | None = None,
        min_peers: int = 0,
    ) -> None:
        _require_ray()
        super().__init__()
        for name, v in (("loss_attr", loss_attr), ("time_attr", time_attr)):
            if not isinstance(v, str) or not v:
                raise ConfigError(f"`{name}` must be a non-empty result key, got {v!r}")
        self.estimator = tse_estimator(estimator)
        self.loss_attr = loss_attr
        self.time_attr = time_attr
        self._plan = rung_plan(self.estimator, min_epochs=min_epochs, reduction_factor=reduction_factor,
                               rungs=rungs, keep_fraction=keep_fraction, min_peers=min_peers,
                               rung_word="milestone")
        self.min_epochs, self.reduction_factor = self._plan.min_epochs, self._plan.reduction_factor
        self.rungs, self.keep_fraction, self.min_peers = self._plan.rungs, self._plan.keep_fraction, self._plan.min_peers
        self.losses_: dict[str, list[float]] = {}
        self.rung_scores_: dict[int, dict[str, float]] = {}
        self.decisions_: list[dict[str, Any]] = []
        self._warned = False

    def rungs_upto(self, epochs: int) -> list[int]:
        """The milestone epochs <= ``epochs``.

        Example:
            >>> TSEScheduler(rungs=[2, 5, 8]).rungs_upto(6)
            [2, 5]
        """
        return self._plan.upto(epochs)

    # ------------------------------------------------------------------ Ray hooks

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        """Accept any metric / mode: the ranking uses only the training losses."""
        return True

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        """Record the epoch loss; at a milestone, continue or stop by the training-speed rank."""
        tid = str(trial.trial_id)
        if self.loss_attr not in result or self.time_attr not in result:
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"TSEScheduler: trial {tid} reported no {self.loss_attr!r} (or {self.time_attr!r}), so it is never "
                    f"stopped; report the epoch's mean training loss as tune.report({{{self.loss_attr!r}: loss}})",
                    stacklevel=2,
                )
            return _TrialScheduler.CONTINUE
        epoch = int(result[self.time_attr])
        losses = self.losses_.setdefault(tid, [])
        if epoch < 1 or epoch > len(losses) + 1:
            raise ConfigError(
                f"TSEScheduler: trial {tid} reported {self.time_attr}={epoch} after {len(losses)} epoch(s); report "
                f"one result per epoch (or set time_attr to a 1-based epoch counter)"
            )
        del losses[epoch - 1:]  # a restored trial may replay epochs
        losses.append(epoch_loss(result[self.loss_attr]))
        info: dict[str, Any] = {"tse_rung": 0, "tse_rank": None, "tse_n": None}
        info.update(getattr(trial, _TRIAL_ATTR, None) or {})  # the last milestone's rank stays visible
        info["tse_score"] = _none_if_nan(tse_score(losses, self.estimator))
        decision = _TrialScheduler.CONTINUE
        for r in self.rungs_upto(epoch):
            scores = self.rung_scores_.setdefault(r, {})
            if tid in scores:
                continue
            score = tse_score(losses, self.estimator, r)
            d: RankDecision = rank_decision(score, [v for k, v in scores.items() if k != tid],
                                            self.keep_fraction, self.min_peers)
            scores[tid] = score
            self.decisions_.append({"trial_id": tid, "rung": r, **d.as_dict()})
            info.update(tse_rung=r, tse_rank=d.rank, tse_n=d.n)
            if not d.kept:
                decision = _TrialScheduler.STOP
                break
        info["tse_decision"] = decision
        setattr(trial, _TRIAL_ATTR, info)
        return decision

    def result_callback(self) -> Any:
        """A ``ray.tune.Callback`` that adds the scheduler's decision to every trial result.

        Pass it as ``tune.RunConfig(callbacks=[sched.result_callback()])``; the keys it adds are
        listed in the module docstring.

        Example:
            >>> cb = TSEScheduler().result_callback()
            >>> type(cb).__name__
            'TSEResultCallback'
        """
        return _make_callback()

    def debug_string(self) -> str:
        n_stop = sum(1 for d in self.decisions_ if not d["kept"])
        return (f"Using TSEScheduler ({self.estimator!r}, keep {self.keep_fraction:.3g} at milestones): "
                f"{n_stop} trial(s) stopped.")


def _none_if_nan(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _make_callback() -> Any:
    _require_ray()

    class TSEResultCallback(_Callback):  # type: ignore[misc, valid-type]
        """Copies :class:`TSEScheduler`'s latest decision about a trial into its result."""

        def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
            rec = getattr(trial, _TRIAL_ATTR, None)
            if rec:
                result.update(rec)

    return TSEResultCallback()
