"""Training: the NAS-Bench-201 protocol trainer, training jobs and the ``TrainingSpeed`` hook.

:class:`LearningCurve` is defined in :mod:`nasrank.records` (the bottom layer) and re-exported
here; :class:`TrainJob` / :func:`run_train_job` describe and run one training run in a worker.

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

from ..records import LearningCurve
from ._hook import TrainingSpeed
from ._job import PROTOCOL_VERSION, TrainJob, run_train_job
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
    "TrainJob",
    "run_train_job",
    "PROTOCOL_VERSION",
]
