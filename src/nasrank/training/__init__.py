"""Training: the NAS-Bench-201 protocol trainer, learning curves and the ``TrainingSpeed`` hook.

Example:
    >>> import torch
    >>> from nasrank.data import load_dataset
    >>> from nasrank.training import TrainConfig, train
    >>> ds = load_dataset("digits")
    >>> tr, va = ds.split(0.5, seed=0)
    >>> _ = torch.manual_seed(0)
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    >>> curve = train(net, tr, va, TrainConfig(epochs=3), seed=0)
    >>> curve.epochs, curve.val_acc.shape
    (3, (3,))
"""

from __future__ import annotations

from ._curve import LearningCurve
from ._hook import TrainingSpeed
from ._lightning import lightning_callback
from ._trainer import TrainCallback, TrainConfig, evaluate, train

__all__ = [
    "TrainConfig",
    "train",
    "evaluate",
    "LearningCurve",
    "TrainingSpeed",
    "TrainCallback",
    "lightning_callback",
]
