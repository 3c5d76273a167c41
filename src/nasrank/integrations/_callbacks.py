"""Training-speed statistics from any training loop, shared between runs through a results store.

* :class:`TSEMonitor` — a plain-PyTorch object / context manager: feed it every minibatch loss
  (:meth:`~TSEMonitor.update`) and close each epoch (:meth:`~TSEMonitor.end_epoch`); it logs TSE,
  TSE-E and TSE-EMA, and, given a shared store, registers the run's per-epoch losses there and says
  whether the run should stop (:attr:`~TSEMonitor.should_stop`) because its training-speed rank
  among the runs of the same study at the same epoch fell below the kept fraction.
  ``monitor.lightning_callback()`` / :func:`hf_callback` plug the same monitor into PyTorch
  Lightning's ``Trainer`` and the Hugging Face ``Trainer``.
* :class:`TSELeaderboard` — the shared store protocol, readable on its own (e.g. to print a study).

How runs share their running TSE (the store protocol)
------------------------------------------------------
The store is an ordinary nasrank results store (:class:`~nasrank.store.ResultStore`, SQLite in WAL
mode), so any number of processes, on one machine or on a shared local file system, can use it at
once: each opens its own connection, and each write is one short transaction. After epoch ``t`` a
run appends one immutable record:

* ``space`` = :data:`MONITOR_SPACE` (a namespace: these records describe training runs, not
  architectures of a search space), ``fingerprint`` = :func:`study_fingerprint` of the study name;
* ``arch`` = the run name, ``arch_key`` = ``"<run>@<t>"``;
* ``curve`` = the run's first ``t`` per-epoch training losses (``LearningCurve.to_dict()``);
* ``metrics`` = ``epoch``, ``train_loss`` and the TSE statistics at ``t``; ``cost`` = seconds since
  the run's first loss; ``info`` = estimator, decision, process id and host.

Ranks are computed by the reader from the stored losses (so runs compare under the reader's
estimator), only between records of the same epoch ``t`` (TSE sums ``t`` losses: runs are
comparable at equal budgets only). The keep-or-stop rule is the one of the Optuna pruner and the
Ray Tune scheduler (:func:`nasrank.integrations.rank_decision`): of the ``n`` runs that
reached epoch ``t`` (this one included), the best ``max(1, floor(n * keep_fraction))`` continue.
Records are append-only: a run name registers each epoch once (re-registering identical losses,
e.g. after resuming from a checkpoint, is a no-op; different losses under a used name are an error).
A dedicated store file per study family is recommended, but the records coexist with search
records in any store.

Example:
    >>> import torch
    >>> from nasrank.store import ResultStore
    >>> store = ResultStore(":memory:")
    >>> for name, losses in (("a", [2.0, 1.0]), ("b", [2.5, 2.0]), ("c", [3.0, 2.6])):
    ...     with TSEMonitor(name, store=store, study="demo", keep_fraction=0.5, min_peers=2) as mon:
    ...         for epoch_loss in losses:
    ...             mon.update(torch.tensor(epoch_loss))
    ...             stats = mon.end_epoch()
    ...             if mon.should_stop:
    ...                 break
    >>> stats["epoch"], stats["rank"], stats["n"], stats["stop"]  # run c, worst of 3 at epoch 1
    (1, 3, 3, True)
    >>> TSELeaderboard(store, "demo").runs()
    ['a', 'b', 'c']
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._validate import check_float, check_int
from ..estimators.curve import CurveEstimator
from ..exceptions import ConfigError, MissingDependencyError
from ..records import EvalRecord, LearningCurve, fingerprint
from ..store import ResultStore
from ..training import TrainingSpeed, lightning_callback
from ._tse_rank import rank_decision, tse_estimator, tse_score

__all__ = ["TSEMonitor", "TSELeaderboard", "hf_callback", "MONITOR_SPACE", "study_fingerprint"]

#: The ``space`` column of the records a :class:`TSEMonitor` writes (a namespace, not a search space).
MONITOR_SPACE = "tse-monitor"

_log = logging.getLogger("nasrank.integrations")


def study_fingerprint(study: str) -> str:
    """The ``fingerprint`` column of a study's monitor records.

    Example:
        >>> study_fingerprint("demo") == study_fingerprint("demo") != study_fingerprint("other")
        True
    """
    return fingerprint({"kind": MONITOR_SPACE, "study": str(study)})


def _check_name(what: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or "@" in value:
        raise ConfigError(f"`{what}` must be a non-empty string without '@', got {value!r}")
    return value


class TSELeaderboard:
    """The per-epoch training losses of the runs of one study in a results store.

    Args:
        store: A results-store path (opened on first use, created if missing) or an open
            :class:`~nasrank.store.ResultStore` (left open).
        study: Runs are compared within a study only.

    Example:
        >>> from nasrank.store import ResultStore
        >>> board = TSELeaderboard(ResultStore(":memory:"), "s")
        >>> board.register("r1", [2.0, 1.0]), board.register("r2", [1.5])
        (True, True)
        >>> board.scores(1, "tse")
        {'r1': -2.0, 'r2': -1.5}
        >>> board.epoch_losses()
        {'r1': [2.0, 1.0], 'r2': [1.5]}
    """

    def __init__(self, store: str | os.PathLike | ResultStore, study: str = "default") -> None:
        if not isinstance(store, (str, os.PathLike, ResultStore)):
            raise ConfigError(f"`store` must be a results-store path or a ResultStore, got {type(store).__name__}")
        self.store = store
        self.study = _check_name("study", study)
        self._db: ResultStore | None = store if isinstance(store, ResultStore) else None

    @property
    def db(self) -> ResultStore:
        """The open results store (opened, and created if missing, on first use)."""
        if self._db is None:
            self._db = ResultStore(self.store)
        return self._db

    def close(self) -> None:
        """Close the store if this object opened it."""
        if self._db is not None and not isinstance(self.store, ResultStore):
            self._db.close()
            self._db = None

    def register(self, run: str, epoch_losses: list[float], stats: Mapping[str, Any] | None = None,
                 cost: float = 0.0, info: Mapping[str, Any] | None = None) -> bool:
        """Append the record of ``run`` after ``len(epoch_losses)`` epochs.

        Returns:
            ``True`` if written, ``False`` if the same losses were registered before (a resumed run).

        Raises:
            ConfigError: if the run name already registered different losses at that epoch.
        """
        run = _check_name("run", run)
        t = len(epoch_losses)
        if t < 1:
            raise ConfigError("register needs the losses of at least one epoch")
        curve = LearningCurve(train_loss=[float(v) for v in epoch_losses])
        metrics = {"epoch": t, "train_loss": float(epoch_losses[-1]), **dict(stats or {})}
        rec = EvalRecord(MONITOR_SPACE, run, f"{run}@{t}", study_fingerprint(self.study), "ok", metrics,
                         curve=curve.to_dict(), cost=float(cost), info=dict(info or {}))
        if self.db.add(rec):
            return True
        old = self.db.get(MONITOR_SPACE, rec.arch_key, rec.fingerprint)
        old_losses = None if old is None or old.curve is None else old.curve.get("train_loss")
        if old_losses != rec.curve["train_loss"]:
            raise ConfigError(f"run {run!r} of study {self.study!r} already registered other losses at epoch {t} "
                              f"in store {self.db.path}; give each run a unique name")
        return False

    def _records(self) -> list[EvalRecord]:
        return list(self.db.records(fingerprint=study_fingerprint(self.study), space=MONITOR_SPACE))

    def runs(self) -> list[str]:
        """Names of the runs registered in the study, in order of first registration."""
        return list(dict.fromkeys(r.arch for r in self._records()))

    def epoch_losses(self) -> dict[str, list[float]]:
        """Every run's per-epoch training losses so far (its latest record)."""
        out: dict[str, tuple[int, list[float]]] = {}
        for r in self._records():
            losses = [math.nan if v is None else float(v) for v in (r.curve or {}).get("train_loss") or []]
            if r.arch not in out or len(losses) > out[r.arch][0]:
                out[r.arch] = (len(losses), losses)
        return {k: v for k, (_, v) in out.items()}

    def scores(self, epoch: int, estimator: str | CurveEstimator = "tse-ema") -> dict[str, float]:
        """Score (higher = predicted better; NaN for a diverged run) of every run that reached ``epoch``.

        Each run is scored on its first ``epoch`` losses, so all scores are at the same budget.
        """
        t = check_int("epoch", epoch, 1)
        est = tse_estimator(estimator)
        return {run: _score(losses, est, t) for run, losses in self.epoch_losses().items() if len(losses) >= t}

    def __repr__(self) -> str:
        return f"TSELeaderboard({getattr(self.store, 'path', self.store)!r}, study={self.study!r})"


def _score(losses: list[float], est: CurveEstimator, t: int) -> float:
    try:
        return tse_score(losses, est, epochs=t)
    except ConfigError:  # e.g. TSE-E's window longer than t
        return math.nan


class TSEMonitor:
    """Log training-speed statistics from a training loop; optionally stop runs that rank low.

    Feed :meth:`update` every minibatch's training loss (the loss you back-propagate, before the
    optimiser step) and call :meth:`end_epoch` after each epoch. It returns (and logs at INFO to
    the ``nasrank.integrations`` logger) the epoch's statistics: ``train_loss``, ``tse``,
    ``tse-e`` (E=1), ``tse-ema`` (raw values: lower = better), ``score`` (the chosen
    ``estimator``, signed so that higher = better) and, with a ``store``, the run's ``rank`` among
    the ``n`` runs of the study that reached this epoch and the decision ``stop``.

    Args:
        run: This run's unique name in the study (default: a random one).
        store: A results store (path or open :class:`~nasrank.store.ResultStore`) shared by the
            runs to compare; ``None`` logs only (a run never stops).
        study: Name of the group of runs that are compared with each other.
        estimator: ``"tse"``, ``"tse-e"``, ``"tse-ema"`` with optional parameters
            (``"tse-ema:gamma=0.9"``): the ranking signal.
        keep_fraction: Fraction in (0, 1] of the runs at an epoch that continue; ``None`` never
            stops (statistics and registration only).
        min_peers: Other runs that must have reached the epoch before this one can be stopped.
        grace_epochs: No stopping decision before this many epochs.
        on_epoch: Called with each epoch's statistics dict (e.g. to send them to a tracker).

    Attributes:
        speed_: The underlying :class:`~nasrank.training.TrainingSpeed` (all its estimators).
        history_: The statistics of every closed epoch.

    Example:
        >>> mon = TSEMonitor()
        >>> for losses in ([2.0, 1.0], [1.0, 0.5]):
        ...     for loss in losses:
        ...         mon.update(loss)
        ...     stats = mon.end_epoch()
        >>> stats["epoch"], stats["tse"], stats["tse-e"], mon.should_stop
        (2, 2.25, 0.75, False)
    """

    def __init__(
        self, run: str | None = None, *, store: str | os.PathLike | ResultStore | None = None,
        study: str = "default", estimator: str = "tse-ema", keep_fraction: float | None = None,
        min_peers: int = 2, grace_epochs: int = 1, on_epoch: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self.run = _check_name("run", run) if run is not None else f"run-{uuid.uuid4().hex[:10]}"
        self.study = _check_name("study", study)
        self.estimator = estimator
        self._est = tse_estimator(estimator)
        self.keep_fraction = None if keep_fraction is None else check_float(
            "keep_fraction", keep_fraction, 0.0, 1.0, exclusive_min=True)
        if self.keep_fraction is not None and store is None:
            raise ConfigError("keep_fraction needs a shared store to rank the run against; pass store=PATH")
        self.min_peers = check_int("min_peers", min_peers, 0)
        self.grace_epochs = check_int("grace_epochs", grace_epochs, 1)
        if on_epoch is not None and not callable(on_epoch):
            raise ConfigError(f"`on_epoch` must be callable, got {type(on_epoch).__name__}")
        self.on_epoch = on_epoch
        self.store = store
        self._board = None if store is None else TSELeaderboard(store, self.study)
        self.speed_ = TrainingSpeed()
        self.history_: list[dict[str, Any]] = []
        self.should_stop = False
        self._t0: float | None = None
        self._elapsed0 = 0.0

    # --- the training-loop API --------------------------------------------------------------
    def update(self, loss: Any, batch_size: int | None = None) -> None:
        """Record one minibatch loss (a scalar tensor or number; tensors are not synchronised now)."""
        if self._t0 is None:
            self._t0 = time.perf_counter()
        self.speed_.update(loss, batch_size)

    def end_epoch(self) -> dict[str, Any]:
        """Close the epoch: compute, register and log its statistics, and decide :attr:`should_stop`."""
        loss = self.speed_.end_epoch()
        t = self.speed_.epochs
        losses = list(self.speed_.epoch_losses_)
        elapsed = self._elapsed0 + (0.0 if self._t0 is None else time.perf_counter() - self._t0)
        curve = LearningCurve(train_loss=losses)
        stats: dict[str, Any] = {
            "epoch": t, "train_loss": loss,
            **{name: tse_estimator(name).compute(curve, t) for name in ("tse", "tse-e", "tse-ema")},
            "score": _score(losses, self._est, t), "elapsed": elapsed,
            "rank": None, "n": None, "keep": None, "stop": False,
        }
        if self._board is not None:
            info = {"estimator": str(self.estimator), "pid": os.getpid(), "host": socket.gethostname()}
            peers = {r: s for r, s in self._board.scores(t, self._est).items() if r != self.run}
            if self.keep_fraction is not None:
                d = rank_decision(stats["score"], peers.values(), self.keep_fraction, self.min_peers)
                stop = t >= self.grace_epochs and not d.kept
                stats.update(rank=d.rank, n=d.n, keep=d.keep, stop=stop)
                info["decision"] = d.as_dict()
            else:
                finite = [p for p in peers.values() if math.isfinite(p)]
                s = stats["score"]
                stats.update(rank=(1 + sum(p > s for p in finite)) if math.isfinite(s) else len(peers) + 1,
                             n=len(peers) + 1)
            self._board.register(self.run, losses, {k: stats[k] for k in ("tse", "tse-e", "tse-ema", "score",
                                                                           "rank", "n", "stop")},
                                 cost=elapsed, info=info)
        self.should_stop = bool(stats["stop"])
        self.history_.append(stats)
        _log.info("%s", self._line(stats))
        if self.on_epoch is not None:
            self.on_epoch(dict(stats))
        return stats

    def _line(self, s: dict[str, Any]) -> str:
        rank = "" if s["rank"] is None else f", rank {s['rank']}/{s['n']}"
        keep = "" if s["keep"] is None else f" (best {s['keep']} continue) -> {'stop' if s['stop'] else 'continue'}"
        return (f"{self.study}/{self.run} epoch {s['epoch']}: train loss {s['train_loss']:.4g}, tse {s['tse']:.4g}, "
                f"tse-ema {s['tse-ema']:.4g}{rank}{keep}")

    @property
    def epochs(self) -> int:
        """Closed epochs."""
        return self.speed_.epochs

    def curve(self) -> LearningCurve:
        """The recorded losses as a :class:`~nasrank.records.LearningCurve`."""
        return self.speed_.curve()

    def leaderboard(self) -> TSELeaderboard | None:
        """The shared :class:`TSELeaderboard` (``None`` without a store)."""
        return self._board

    # --- context manager, checkpoints ---------------------------------------------------------
    def __enter__(self) -> TSEMonitor:
        if self._board is not None:
            self._board.db  # noqa: B018  (open the store now: a bad path fails before training)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the store if the monitor opened it (a later epoch reopens it)."""
        if self._board is not None:
            self._board.close()

    def state_dict(self) -> dict[str, Any]:
        """The recorded losses, for checkpoints (inverse of :meth:`load_state_dict`).

        Example:
            >>> a = TSEMonitor(); a.update(2.0); _ = a.end_epoch()
            >>> b = TSEMonitor(); b.load_state_dict(a.state_dict()); b.speed_.epoch_losses_
            [2.0]
        """
        s = self.speed_
        return {"run": self.run, "epoch_losses": list(s.epoch_losses_),
                "minibatch_losses": [v.tolist() for v in s.minibatch_losses_],
                "minibatch_sizes": [v.tolist() for v in s.minibatch_sizes_],
                "history": [dict(h) for h in self.history_], "elapsed": self.history_[-1]["elapsed"]
                if self.history_ else 0.0}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved (the run then continues after its last epoch)."""
        try:
            self.speed_.reset()
            self.speed_.epoch_losses_ = [float(v) for v in state["epoch_losses"]]
            self.speed_.minibatch_losses_ = [np.asarray(v, dtype=np.float64) for v in state["minibatch_losses"]]
            self.speed_.minibatch_sizes_ = [np.asarray(v, dtype=np.float64) for v in state["minibatch_sizes"]]
            self.history_ = [dict(h) for h in state.get("history", [])]
            self._elapsed0, self._t0 = float(state.get("elapsed", 0.0)), None
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"not a TSEMonitor state ({exc}); pass what TSEMonitor.state_dict() returned") from None
        self.should_stop = bool(self.history_ and self.history_[-1].get("stop"))

    # --- trainer adapters ---------------------------------------------------------------------
    def lightning_callback(self, log: bool = True, prefix: str = "tse/") -> Any:
        """A PyTorch Lightning callback feeding this monitor (stops the trainer when the run should stop).

        See :func:`nasrank.training.lightning_callback`.

        Example:
            >>> cb = TSEMonitor("r1", store="runs.db", keep_fraction=0.5).lightning_callback()  # doctest: +SKIP
            >>> lightning.Trainer(callbacks=[cb]).fit(module, loader)  # doctest: +SKIP
        """
        return lightning_callback(self, log=log, prefix=prefix)

    def __repr__(self) -> str:
        where = "" if self._board is None else f", store={getattr(self.store, 'path', self.store)!r}"
        return f"TSEMonitor({self.run!r}, study={self.study!r}, estimator={self.estimator!r}{where})"


def _import_trainer_callback() -> type:
    try:
        from transformers import TrainerCallback
    except ImportError:
        raise MissingDependencyError(
            "the Hugging Face callback needs transformers: pip install transformers"
        ) from None
    return TrainerCallback


def hf_callback(monitor: TSEMonitor | None = None) -> Any:
    """A Hugging Face ``transformers.TrainerCallback`` feeding a :class:`TSEMonitor`.

    The ``Trainer`` does not hand callbacks the per-step loss; it logs the mean training loss
    since the last log every ``logging_steps`` steps. The callback records each logged ``loss``
    weighted by the number of optimiser steps it covers, so with ``logging_steps=1`` (recommended)
    the epoch losses are exact, and with larger values they are step-weighted means of the logged
    means. Each epoch is closed at ``on_epoch_end`` (with ``logging_strategy="epoch"``, when the
    epoch's log arrives right after it). When the monitor says the run should stop, the callback
    sets ``control.should_training_stop``. The monitor is ``callback.monitor``.

    Raises:
        MissingDependencyError: if ``transformers`` is not installed.

    Example:
        >>> cb = hf_callback(TSEMonitor("r1", store="runs.db", keep_fraction=0.5))  # doctest: +SKIP
        >>> args = TrainingArguments("out", logging_steps=1, num_train_epochs=3)  # doctest: +SKIP
        >>> Trainer(model, args, train_dataset=ds, callbacks=[cb]).train()  # doctest: +SKIP
    """
    base = _import_trainer_callback()
    mon = TSEMonitor() if monitor is None else monitor
    if not isinstance(mon, TSEMonitor):
        raise ConfigError(f"hf_callback needs a TSEMonitor, got {type(mon).__name__}")

    class TSETrainerCallback(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.monitor = mon
            self._last_step = 0
            self._pending = 0
            self._close_on_log = False

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self._last_step = int(getattr(state, "global_step", 0) or 0)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            if not logs or "loss" not in logs:
                return
            step = int(getattr(state, "global_step", 0) or 0)
            steps, self._last_step = max(step - self._last_step, 1), step
            self.monitor.update(float(logs["loss"]), batch_size=steps)
            self._pending += 1
            if self._close_on_log:
                self._close_on_log = False
                self._close(control)

        def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self._pending:
                self._close(control)
            else:  # the epoch's loss is logged after on_epoch_end (logging_strategy="epoch")
                self._close_on_log = True

        def _close(self, control: Any) -> None:
            self._pending = 0
            self.monitor.end_epoch()
            if self.monitor.should_stop:
                control.should_training_stop = True

    return TSETrainerCallback()
