"""Records at the base of the package: learning curves, evaluation records and fingerprints.

Bottom layer (imports only :mod:`nasrank.exceptions` and numpy): the store, training, the
estimators, the benchmarks and the searches all exchange these plain data objects.

* :class:`LearningCurve` — the per-minibatch and per-epoch records of one training run;
* :class:`EvalRecord` — the immutable outcome of evaluating one architecture with one evaluator
  configuration (what the results store keeps and workers return);
* :func:`fingerprint` — the stable hash of an evaluator configuration that keys a record;
* :func:`json_safe` — the JSON-safe copy records are stored as (non-finite floats become ``None``).

Example:
    >>> from nasrank.records import EvalRecord, LearningCurve, fingerprint
    >>> curve = LearningCurve(train_loss=[2.0, 1.5])
    >>> rec = EvalRecord("nb201", "a", "k", fingerprint({"epochs": 2}), "ok", curve=curve.to_dict())
    >>> rec.learning_curve().train_loss.tolist()
    [2.0, 1.5]
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .exceptions import ConfigError

__all__ = ["LearningCurve", "EvalRecord", "fingerprint", "json_safe"]

_ARRAY_FIELDS = (
    "train_loss", "train_acc", "val_loss", "val_acc", "epoch_time", "lr",
    "minibatch_loss", "minibatch_size", "sog", "sogn",
)


def _arr(value: Any, name: str) -> np.ndarray | None:
    if value is None:
        return None
    a = np.asarray(value, dtype=np.float64)
    if a.ndim != 1:
        raise ConfigError(f"LearningCurve.{name} must be 1-D, got shape {a.shape}")
    return a


@dataclass
class LearningCurve:
    """Per-minibatch and per-epoch records of one training run.

    Every per-epoch array has one entry per completed epoch (index 0 = first epoch). Optional
    records are ``None`` when the run did not produce them (e.g. no validation set). Losses are
    mean cross-entropy, accuracies fractions in [0, 1].

    Attributes:
        train_loss: Epoch mean of the minibatch training losses, each computed in train mode
            *before* its optimiser step (NB201 protocol), weighted by batch size.
        train_acc: Epoch training accuracy, computed on the same forward passes.
        val_loss: Validation loss after each epoch (eval mode), or ``None``.
        val_acc: Validation accuracy after each epoch, or ``None``.
        epoch_time: Wall-clock seconds of each training epoch (excluding evaluation).
        lr: Learning rate used in each epoch.
        minibatch_loss: Every minibatch training loss, in order (``steps_per_epoch`` per epoch).
        minibatch_size: Examples in each minibatch.
        steps_per_epoch: Minibatches per epoch.
        sog: Sum of gradients: L1 norm of the element-wise sum of all minibatch gradients up to
            the end of each epoch (seed 002, §4.2.4), or ``None`` if not tracked.
        sogn: Sum of gradient norms: running sum of each minibatch gradient's L1 norm up to the
            end of each epoch, or ``None`` if not tracked.
        test_loss: Final test loss, if a test set was given.
        test_acc: Final test accuracy, if a test set was given.
        diverged: The loss became NaN/inf; training stopped after that epoch.
        planned_epochs: Epochs the run was configured for.
        meta: Free-form information (config, seed, ...).

    Example:
        >>> c = LearningCurve(train_loss=[2.0, 1.5, 1.2])
        >>> c.epochs, c.diverged
        (3, False)
    """

    train_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    train_acc: np.ndarray | None = None
    val_loss: np.ndarray | None = None
    val_acc: np.ndarray | None = None
    epoch_time: np.ndarray | None = None
    lr: np.ndarray | None = None
    minibatch_loss: np.ndarray | None = None
    minibatch_size: np.ndarray | None = None
    steps_per_epoch: int | None = None
    sog: np.ndarray | None = None
    sogn: np.ndarray | None = None
    test_loss: float | None = None
    test_acc: float | None = None
    diverged: bool = False
    planned_epochs: int | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in _ARRAY_FIELDS:
            setattr(self, name, _arr(getattr(self, name), name))
        if self.train_loss is None:
            self.train_loss = np.zeros(0)
        n = len(self.train_loss)
        for name in ("train_acc", "val_loss", "val_acc", "epoch_time", "lr", "sog", "sogn"):
            a = getattr(self, name)
            if a is not None and len(a) != n:
                raise ConfigError(
                    f"LearningCurve.{name} has {len(a)} entries but train_loss has {n} (one per epoch)"
                )
        if self.minibatch_loss is not None and self.steps_per_epoch is not None:
            if len(self.minibatch_loss) != n * self.steps_per_epoch:
                raise ConfigError(
                    f"LearningCurve.minibatch_loss has {len(self.minibatch_loss)} entries, expected "
                    f"epochs x steps_per_epoch = {n} x {self.steps_per_epoch}"
                )

    @property
    def epochs(self) -> int:
        """Number of recorded epochs.

        Example:
            >>> LearningCurve(train_loss=[1.0, 0.5]).epochs
            2
        """
        return len(self.train_loss)

    def minibatch_losses(self, epoch: int) -> np.ndarray:
        """The minibatch losses of 1-based ``epoch``.

        Example:
            >>> c = LearningCurve(train_loss=[2.5, 1.5], minibatch_loss=[3, 2, 2, 1], steps_per_epoch=2)
            >>> c.minibatch_losses(2).tolist()
            [2.0, 1.0]
        """
        if self.minibatch_loss is None or not self.steps_per_epoch:
            raise ConfigError("this curve has no per-minibatch losses (minibatch_loss / steps_per_epoch)")
        if not 1 <= epoch <= self.epochs:
            raise ConfigError(f"epoch must be in 1..{self.epochs}, got {epoch}")
        s = self.steps_per_epoch
        return self.minibatch_loss[(epoch - 1) * s : epoch * s]

    @classmethod
    def from_minibatch_losses(
        cls, losses: Sequence[Sequence[float]], sizes: Sequence[Sequence[float]] | None = None, **kw: Any
    ) -> LearningCurve:
        """Build a curve from per-epoch lists of minibatch losses (epoch loss = weighted mean).

        Example:
            >>> LearningCurve.from_minibatch_losses([[3.0, 1.0], [1.0, 1.0]]).train_loss.tolist()
            [2.0, 1.0]
        """
        if not losses:
            return cls(**kw)
        steps = {len(e) for e in losses}
        flat = np.concatenate([np.asarray(e, dtype=np.float64) for e in losses])
        if sizes is None:
            w = [np.ones(len(e)) for e in losses]
        else:
            w = [np.asarray(s, dtype=np.float64) for s in sizes]
        epoch = [float(np.sum(np.asarray(e, np.float64) * wi) / np.sum(wi)) for e, wi in zip(losses, w, strict=True)]
        return cls(
            train_loss=epoch,
            minibatch_loss=flat,
            minibatch_size=np.concatenate(w),
            steps_per_epoch=steps.pop() if len(steps) == 1 else None,
            **kw,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict (NaN/inf become ``None``); inverse of :meth:`from_dict`.

        Example:
            >>> c = LearningCurve(train_loss=[1.0, float("nan")], diverged=True)
            >>> LearningCurve.from_dict(c.to_dict()).diverged
            True
        """

        def clean(v: Any) -> Any:
            if isinstance(v, np.ndarray):
                return [None if not math.isfinite(x) else float(x) for x in v.tolist()]
            if isinstance(v, float) and not math.isfinite(v):
                return None
            return v

        return {f.name: clean(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LearningCurve:
        """Inverse of :meth:`to_dict` (``None`` inside arrays becomes NaN).

        Example:
            >>> LearningCurve.from_dict({"train_loss": [1.0, None]}).train_loss.tolist()
            [1.0, nan]
        """
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(f"unknown LearningCurve field(s) {sorted(unknown)}")
        kw = dict(d)
        for name in _ARRAY_FIELDS:
            if kw.get(name) is not None:
                kw[name] = [np.nan if x is None else x for x in kw[name]]
        return cls(**kw)


_STATUSES = ("ok", "diverged", "error")


def fingerprint(config: Mapping[str, Any]) -> str:
    """Stable 16-hex-digit hash of a JSON-serialisable evaluator configuration.

    Key order does not matter; any change of a value changes the fingerprint.

    Example:
        >>> fingerprint({"epochs": 5, "lr": 0.1}) == fingerprint({"lr": 0.1, "epochs": 5})
        True
        >>> fingerprint({"epochs": 5}) == fingerprint({"epochs": 6})
        False
    """
    try:
        text = json.dumps(config, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"evaluator configuration is not JSON-serialisable: {exc}") from None
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def json_safe(v: Any) -> Any:
    """JSON-safe copy of ``v``: non-finite floats become ``None``, tuples lists, numpy scalars
    Python numbers and mapping keys strings.

    Example:
        >>> json_safe({"acc": float("nan"), 1: (np.float32(0.5), float("inf"))})
        {'acc': None, '1': [0.5, None]}
    """
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, Mapping):
        return {str(k): json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    if hasattr(v, "item") and callable(v.item):  # numpy scalar
        return json_safe(v.item())
    return v


@dataclass(frozen=True)
class EvalRecord:
    """The outcome of evaluating one architecture with one evaluator configuration.

    Attributes:
        space: Search-space name.
        arch: The evaluated architecture as the space's string.
        arch_key: Canonical (isomorphism-invariant) key of the architecture.
        fingerprint: Hash of the evaluator configuration (see :func:`fingerprint`).
        status: ``"ok"``, ``"diverged"`` (NaN/inf loss, a recorded outcome) or ``"error"``.
        metrics: Scalar results (``None`` for NaN).
        curve: ``LearningCurve.to_dict()`` of a training run, if any.
        cost: Seconds the evaluation cost (training time for training evaluators).
        error: One-line error description when ``status == "error"``.
        info: Free-form extra information (seed, worker, ...).
        created: Unix time the record was made.

    Example:
        >>> r = EvalRecord("nb201", "a", "k", "fp", "ok", {"acc": float("nan")}, cost=1.0)
        >>> r.metrics
        {'acc': None}
    """

    space: str
    arch: str
    arch_key: str
    fingerprint: str
    status: str
    metrics: dict[str, Any] = field(default_factory=dict)
    curve: dict[str, Any] | None = None
    cost: float = 0.0
    error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    created: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if self.status not in _STATUSES:
            raise ConfigError(f"record status must be one of {', '.join(_STATUSES)}, got {self.status!r}")
        object.__setattr__(self, "metrics", json_safe(dict(self.metrics)))
        object.__setattr__(self, "info", json_safe(dict(self.info)))
        if self.curve is not None:
            object.__setattr__(self, "curve", json_safe(dict(self.curve)))
        object.__setattr__(self, "cost", float(self.cost))

    @property
    def key(self) -> tuple[str, str, str]:
        """``(space, arch_key, fingerprint)`` — the record's identity in the store."""
        return (self.space, self.arch_key, self.fingerprint)

    def learning_curve(self) -> LearningCurve | None:
        """The record's :class:`LearningCurve` (``None`` if it has none).

        Example:
            >>> EvalRecord("nb201", "a", "k", "fp", "error", error="boom").learning_curve() is None
            True
        """
        if self.curve is None:
            return None
        return LearningCurve.from_dict(self.curve)
