"""Optional PyTorch Lightning adapter for :class:`~nasrank.training.TrainingSpeed` (lazy import).

Notes from reviewing the adapter against Lightning 2.x (``lightning.pytorch.loops.optimization``):

* with automatic optimisation the ``outputs`` of ``on_train_batch_end`` is ``{"loss": l / k, ...}``
  where ``k = trainer.accumulate_grad_batches``; the adapter multiplies by ``k`` again so that the
  recorded loss is the one ``training_step`` returned, whatever the accumulation;
* with manual optimisation ``outputs`` is whatever ``training_step`` returned (a tensor, a dict
  with ``"loss"``, or ``None``): tensors and ``"loss"`` entries are recorded, anything else skipped;
* an epoch in which no loss was recorded (all steps skipped) is not closed, so it adds no epoch;
* the recorded losses are part of Lightning checkpoints (``state_dict`` / ``load_state_dict``),
  so a run resumed from a checkpoint keeps its training-speed history;
* under multi-process strategies (DDP) each process records the losses of its own shard.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from ..exceptions import ConfigError, MissingDependencyError
from ._hook import TrainingSpeed

__all__ = ["lightning_callback"]


def _import_callback_base() -> type:
    try:
        from lightning.pytorch.callbacks import Callback  # lightning >= 2.0
    except ImportError:
        try:
            from pytorch_lightning.callbacks import Callback  # older package name
        except ImportError:
            raise MissingDependencyError(
                "the Lightning adapter needs PyTorch Lightning: pip install lightning"
            ) from None
    return Callback


def _epoch_stats(hook: Any, out: Any) -> dict[str, float]:
    """Numbers to log after ``hook.end_epoch()`` returned ``out``."""
    if isinstance(out, Mapping):  # numbers and flags (as 0/1); None (not computed) is left out
        return {str(k): float(v) for k, v in out.items() if isinstance(v, (numbers.Real, np.bool_))}
    return {"train_loss": float(out), "tse": hook.tse(), "tse-e": hook.tse_e(), "tse-ema": hook.tse_ema()}


def _speed_state(ts: TrainingSpeed) -> dict[str, Any]:
    return {"epoch_losses": list(ts.epoch_losses_),
            "minibatch_losses": [v.tolist() for v in ts.minibatch_losses_],
            "minibatch_sizes": [v.tolist() for v in ts.minibatch_sizes_]}


def _load_speed_state(ts: TrainingSpeed, state: Mapping[str, Any]) -> None:
    try:
        ts.epoch_losses_ = [float(v) for v in state["epoch_losses"]]
        ts.minibatch_losses_ = [np.asarray(v, dtype=np.float64) for v in state["minibatch_losses"]]
        ts.minibatch_sizes_ = [np.asarray(v, dtype=np.float64) for v in state["minibatch_sizes"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"not a training-speed callback state ({exc}); load a checkpoint written with it") from None


def lightning_callback(ts: Any = None, *, log: bool = True, prefix: str = "tse/") -> Any:
    """A Lightning ``Callback`` feeding each training step's loss into a :class:`TrainingSpeed`.

    The loss is taken from the ``training_step`` output (a tensor or a dict with ``"loss"``,
    undoing Lightning's division by ``accumulate_grad_batches``); ``end_epoch()`` runs at the end
    of every training epoch. The hook is available as ``callback.ts``.

    ``ts`` may also be any object with ``update(loss)`` and ``end_epoch()`` methods, such as a
    :class:`nasrank.integrations.TSEMonitor`: when its ``end_epoch()`` returns a dict, its numbers
    are what is logged, and when it has a true ``should_stop`` attribute after an epoch the
    callback sets ``trainer.should_stop`` (the run ends after that epoch).

    Args:
        ts: The hook to feed (default: a new :class:`TrainingSpeed`).
        log: Log the epoch's statistics through ``pl_module.log`` (``tse/train_loss``,
            ``tse/tse``, ``tse/tse-e``, ``tse/tse-ema`` for a plain hook).
        prefix: Prefix of the logged names.

    Raises:
        MissingDependencyError: if neither ``lightning`` nor ``pytorch_lightning`` is installed.

    Example:
        >>> cb = lightning_callback()  # doctest: +SKIP
        >>> trainer = lightning.Trainer(callbacks=[cb], max_epochs=3)  # doctest: +SKIP
        >>> trainer.fit(module, loader); cb.ts.tse_ema()  # doctest: +SKIP
    """
    base = _import_callback_base()
    hook = TrainingSpeed() if ts is None else ts
    if not (callable(getattr(hook, "update", None)) and callable(getattr(hook, "end_epoch", None))):
        raise ConfigError(f"lightning_callback needs a TrainingSpeed-like hook with update() and end_epoch(), "
                          f"got {type(hook).__name__}")
    do_log, name_prefix = bool(log), str(prefix)

    class TrainingSpeedCallback(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.ts = hook
            self._pending = 0

        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
            loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
            if not isinstance(loss, (torch.Tensor, numbers.Real)) or isinstance(loss, bool):
                return
            if isinstance(outputs, Mapping) and getattr(pl_module, "automatic_optimization", False):
                k = getattr(trainer, "accumulate_grad_batches", 1) or 1
                if k != 1:
                    loss = loss * k  # Lightning divides the returned loss by accumulate_grad_batches
            self.ts.update(loss)
            self._pending += 1

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if not self._pending:
                return
            self._pending = 0
            out = self.ts.end_epoch()
            if do_log and pl_module is not None and callable(getattr(pl_module, "log", None)):
                for name, value in _epoch_stats(self.ts, out).items():
                    pl_module.log(name_prefix + name, value, on_step=False, on_epoch=True)
            if getattr(self.ts, "should_stop", False) and trainer is not None:
                trainer.should_stop = True

        def state_dict(self) -> dict[str, Any]:
            if callable(getattr(self.ts, "state_dict", None)):
                return dict(self.ts.state_dict())
            if isinstance(self.ts, TrainingSpeed):
                return _speed_state(self.ts)
            return {}

        def load_state_dict(self, state_dict: dict[str, Any]) -> None:
            if not state_dict:
                return
            if callable(getattr(self.ts, "load_state_dict", None)):
                self.ts.load_state_dict(state_dict)
            elif isinstance(self.ts, TrainingSpeed):
                _load_speed_state(self.ts, state_dict)

    return TrainingSpeedCallback()
