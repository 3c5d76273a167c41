"""``TrainingSpeed``: collect training losses in any training loop and compute the TSE family."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch

from ..exceptions import ConfigError
from ..records import LearningCurve

__all__ = ["TrainingSpeed"]


class TrainingSpeed:
    """Training-speed estimation hook for a user-written training loop.

    Call :meth:`update` with each minibatch's training loss (the loss you back-propagate,
    computed before the optimiser step) and :meth:`end_epoch` after each epoch; then read
    :meth:`tse`, :meth:`tse_e`, :meth:`tse_ema` or any registered curve estimator through
    :meth:`estimate`. Tensor losses are detached and kept on their device until
    :meth:`end_epoch`, so the hook adds no host synchronisation per step.

    An epoch's loss is the mean of its minibatch losses, weighted by ``batch_size`` when given
    (as :func:`nasrank.training.train` records it).

    Example:
        >>> ts = TrainingSpeed()
        >>> for epoch_losses in ([2.0, 1.0], [1.0, 0.5]):
        ...     for loss in epoch_losses:
        ...         ts.update(torch.tensor(loss))
        ...     _ = ts.end_epoch()
        >>> ts.epochs, ts.tse(), ts.tse_e(), round(ts.tse_ema(gamma=0.5), 4)
        (2, 2.25, 0.75, 1.5)
    """

    def __init__(self) -> None:
        self._losses: list[Any] = []
        self._sizes: list[float | None] = []
        self.epoch_losses_: list[float] = []
        self.minibatch_losses_: list[np.ndarray] = []
        self.minibatch_sizes_: list[np.ndarray] = []

    def update(self, loss: torch.Tensor | float, batch_size: int | None = None) -> None:
        """Record one minibatch loss (a scalar tensor or number)."""
        if isinstance(loss, torch.Tensor):
            if loss.numel() != 1:
                raise ConfigError(f"TrainingSpeed.update expects a scalar loss, got shape {tuple(loss.shape)}")
            self._losses.append(loss.detach())
        elif isinstance(loss, numbers.Real) and not isinstance(loss, bool):
            self._losses.append(float(loss))
        else:
            raise ConfigError(f"TrainingSpeed.update expects a scalar tensor or number, got {type(loss).__name__}")
        self._sizes.append(batch_size)

    def end_epoch(self) -> float:
        """Close the current epoch; returns its (weighted) mean minibatch loss."""
        if not self._losses:
            raise ConfigError("end_epoch() called with no update() since the last epoch")
        tensors = [v for v in self._losses if isinstance(v, torch.Tensor)]
        if len(tensors) == len(self._losses):
            vals = torch.stack([t.reshape(()).to(torch.float64) for t in tensors]).cpu().numpy()
        else:
            vals = np.array([float(v) for v in self._losses], dtype=np.float64)
        if all(s is None for s in self._sizes):
            w = np.ones(len(vals))
        elif any(s is None for s in self._sizes):
            raise ConfigError("give batch_size to every update() of an epoch or to none")
        else:
            w = np.asarray(self._sizes, dtype=np.float64)
        mean = float(np.sum(vals * w) / np.sum(w))
        self.epoch_losses_.append(mean)
        self.minibatch_losses_.append(vals)
        self.minibatch_sizes_.append(w)
        self._losses, self._sizes = [], []
        return mean

    @property
    def epochs(self) -> int:
        """Completed epochs."""
        return len(self.epoch_losses_)

    def curve(self) -> LearningCurve:
        """The recorded losses as a :class:`LearningCurve` (training losses only).

        Example:
            >>> ts = TrainingSpeed(); ts.update(1.0); _ = ts.end_epoch()
            >>> ts.curve().train_loss.tolist()
            [1.0]
        """
        steps = {len(v) for v in self.minibatch_losses_}
        return LearningCurve(
            train_loss=self.epoch_losses_,
            minibatch_loss=np.concatenate(self.minibatch_losses_) if self.minibatch_losses_ else np.zeros(0),
            minibatch_size=np.concatenate(self.minibatch_sizes_) if self.minibatch_sizes_ else np.zeros(0),
            steps_per_epoch=steps.pop() if len(steps) == 1 else None,
            diverged=bool(not np.all(np.isfinite(self.epoch_losses_))),
        )

    def estimate(self, name: str, epochs: int | None = None, **params: Any) -> float:
        """Raw value of the registered curve estimator ``name`` at ``epochs`` (default: all).

        Example:
            >>> ts = TrainingSpeed(); ts.update(2.0); _ = ts.end_epoch()
            >>> ts.estimate("tse")
            2.0
        """
        from ..estimators import create_estimator

        return create_estimator(name, **params).compute(self.curve(), self.epochs if epochs is None else epochs)

    def tse(self, epochs: int | None = None) -> float:
        """Sum of the per-epoch training losses of the first ``epochs`` epochs (lower = better)."""
        return self.estimate("tse", epochs)

    def tse_e(self, E: int = 1, epochs: int | None = None) -> float:
        """Sum of the last ``E`` epochs' training losses (lower = better)."""
        return self.estimate("tse-e", epochs, E=E)

    def tse_ema(self, gamma: float = 0.999, epochs: int | None = None) -> float:
        """Sum over epochs t of gamma^(T-t) * L_t (lower = better)."""
        return self.estimate("tse-ema", epochs, gamma=gamma)

    def reset(self) -> None:
        """Forget everything recorded."""
        self.__init__()  # type: ignore[misc]
