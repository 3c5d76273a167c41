"""Optional PyTorch Lightning adapter for :class:`~nasrank.training.TrainingSpeed` (lazy import)."""

from __future__ import annotations

from typing import Any

from ..exceptions import MissingDependencyError
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


def lightning_callback(ts: TrainingSpeed | None = None) -> Any:
    """A Lightning ``Callback`` feeding each training step's loss into a :class:`TrainingSpeed`.

    The loss is taken from the ``training_step`` output (a tensor or a dict with ``"loss"``);
    :meth:`TrainingSpeed.end_epoch` runs at the end of every training epoch. The hook is
    available as ``callback.ts``.

    Raises:
        MissingDependencyError: if neither ``lightning`` nor ``pytorch_lightning`` is installed.

    Example:
        >>> cb = lightning_callback()  # doctest: +SKIP
        >>> trainer = lightning.Trainer(callbacks=[cb], max_epochs=3)  # doctest: +SKIP
        >>> trainer.fit(module, loader); cb.ts.tse_ema()  # doctest: +SKIP
    """
    base = _import_callback_base()
    hook = TrainingSpeed() if ts is None else ts

    class TrainingSpeedCallback(base):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.ts = hook

        def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
            loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
            if loss is not None:
                self.ts.update(loss)

        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            if self.ts._losses:
                self.ts.end_epoch()

    return TrainingSpeedCallback()
