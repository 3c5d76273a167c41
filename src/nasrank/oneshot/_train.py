"""Training a supernet method epoch by epoch: lr schedule, checkpoints, resume, progress.

:func:`train_supernet` runs ``method.step(batch)`` over the minibatches of a training set for a
number of epochs. Everything random is derived from the method's seed and the epoch index, so an
epoch is the same whether it runs in one go or after a resume:

* the learning rate of epoch ``e`` is ``config.lr_at(e, method.lr)`` (cosine by default, set with
  ``method.set_lr`` before the epoch's first step);
* the minibatch order is the permutation drawn by ``np.random.default_rng([seed, e])``;
* the augmentation (random crop + flip) is drawn by a ``torch.Generator`` seeded from
  ``np.random.default_rng([seed, e, 1])``.

With ``checkpoint=PATH`` the method's whole state and the training record are saved to ``PATH``
(:func:`~nasrank.oneshot.save_checkpoint`) after every epoch; running the same call again resumes
after the last saved epoch and ends bit-identical (every tensor) to a run that was never
interrupted (CPU, same machine). A NaN or infinite loss stops training: the result (and the
checkpoint) record ``diverged``, the method (and the checkpoint) keep the state from before the
diverging epoch; no exception is raised.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._validate import check_float, check_int, output_file
from ..data import DataSpec, ImageDataset
from ..exceptions import ConfigError
from ..execution import device_info, resolve_device, resolve_precision
from ._checkpoint import CheckpointError, _dumps, _read_state, _restore, _to_device, save_checkpoint
from ._methods import SupernetMethod

__all__ = ["SupernetTrainConfig", "SupernetTrainResult", "train_supernet", "SCHEDULES"]

#: Learning-rate schedules of :class:`SupernetTrainConfig`.
SCHEDULES = ("cosine", "constant")


@dataclass(frozen=True)
class SupernetTrainConfig:
    """How a supernet is trained; the defaults are the NAS-Bench-201 search protocol.

    NB201 trains its weight-sharing searches for 50 epochs with batch size 64 and a cosine
    learning rate from the method's ``lr`` (0.025) to 0.001; SGD momentum / Nesterov / weight
    decay are parameters of the method (its optimiser), not of the trainer.

    Attributes:
        epochs: Epochs to train. The only field that may differ when a checkpoint is resumed
            (raise it to train on; the cosine then anneals over the new length from that epoch on).
        batch_size: Minibatch size.
        schedule: ``"cosine"`` (per epoch, from the method's ``lr`` to ``eta_min`` over
            ``epochs``) or ``"constant"`` (the method's ``lr`` throughout).
        eta_min: Final learning rate of the cosine schedule.
        augment: Random crop (padding = the dataset's ``crop_padding``) + horizontal flip.
        drop_last: Skip each epoch's last incomplete minibatch.

    Example:
        >>> cfg = SupernetTrainConfig(epochs=4, eta_min=0.0)
        >>> [round(cfg.lr_at(e, 0.1), 4) for e in range(4)]
        [0.1, 0.0854, 0.05, 0.0146]
        >>> SupernetTrainConfig(schedule="step")
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: `schedule` must be one of cosine, constant, got 'step'
    """

    epochs: int = 50
    batch_size: int = 64
    schedule: str = "cosine"
    eta_min: float = 0.001
    augment: bool = True
    drop_last: bool = True

    def __post_init__(self) -> None:
        check_int("epochs", self.epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        check_float("eta_min", self.eta_min, minimum=0.0)
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"`schedule` must be one of {', '.join(SCHEDULES)}, "
                              f"got {self.schedule!r}")
        for name in ("augment", "drop_last"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"`{name}` must be true or false, got {getattr(self, name)!r}")

    def lr_at(self, epoch: int, base_lr: float) -> float:
        """Learning rate of the 0-based ``epoch`` for a method whose base rate is ``base_lr``.

        Example:
            >>> SupernetTrainConfig(epochs=50).lr_at(0, 0.025)
            0.025
            >>> SupernetTrainConfig(epochs=50, schedule="constant").lr_at(49, 0.025)
            0.025
        """
        if self.schedule == "constant":
            return float(base_lr)
        e = min(max(int(epoch), 0), self.epochs)
        return float(self.eta_min + 0.5 * (base_lr - self.eta_min)
                     * (1 + math.cos(math.pi * e / self.epochs)))


@dataclass
class SupernetTrainResult:
    """What :func:`train_supernet` returns.

    Attributes:
        method: The trained method (the object that was passed in).
        history: One dict per epoch done (resumed epochs included, read from the checkpoint):
            ``{"epoch" (0-based), "loss" (mean step loss), "lr", "seconds", "steps",
            "diverged"}``.
        config: The trainer configuration.
        resumed_from: Epochs already done in the checkpoint this run resumed (0: a fresh start).
        diverged: A step's loss was NaN or infinite; training stopped in that epoch, and the
            method was reset to its state from before that epoch (the last finite weights).
        checkpoint: The checkpoint file, if any.
        precision: The arithmetic of the training forward passes (``"32"``, ``"bf16"``, ``"16"``).
        device: Where this run trained: ``{"device": "cuda:0", "device_name": "..."}``
            (:func:`nasrank.execution.device_info`; also in the checkpoint's ``train`` record).
    """

    method: SupernetMethod
    history: list[dict[str, Any]] = field(default_factory=list)
    config: SupernetTrainConfig = field(default_factory=SupernetTrainConfig)
    resumed_from: int = 0
    diverged: bool = False
    checkpoint: Path | None = None
    precision: str = "32"
    device: dict[str, str] = field(default_factory=dict)

    @property
    def epochs_done(self) -> int:
        """Epochs trained in total (including resumed ones)."""
        return len(self.history)

    @property
    def final_loss(self) -> float:
        """Mean step loss of the last epoch (NaN before any)."""
        return float(self.history[-1]["loss"]) if self.history else math.nan


def _aug_seed(seed: int, epoch: int) -> int:
    return int(np.random.default_rng([seed, epoch, 1]).integers(2**63 - 1))


def _val_stream(val_set: ImageDataset, config: SupernetTrainConfig, seed: int, epoch: int,
                device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Validation minibatches of an epoch, endless: pass ``k`` visits ``val_set`` in the order
    drawn by ``[seed, epoch, 2, k]`` with the augmentation drawn by ``[seed, epoch, 3, k]``."""
    k = 0
    while True:
        aug = int(np.random.default_rng([seed, epoch, 3, k]).integers(2**63 - 1))
        gen = torch.Generator(device=device).manual_seed(aug)
        yield from val_set.batches(
            config.batch_size, shuffle=True, seed=np.random.default_rng([seed, epoch, 2, k]),
            device=device, augment=config.augment, drop_last=config.drop_last, generator=gen)
        k += 1


def _data_key(data_key: Any, train_set: ImageDataset, val_set: ImageDataset | None = None) -> Any:
    if isinstance(data_key, DataSpec):
        data_key = data_key.key()
    if data_key is None:  # a description of the examples: resuming on other data is refused
        data_key = {"dataset": train_set.name, "examples": len(train_set),
                    "image_shape": list(train_set.image_shape),
                    "num_classes": int(train_set.num_classes)}
        if val_set is not None:
            data_key["val_examples"] = len(val_set)
    try:
        return json.loads(json.dumps(data_key, allow_nan=False))
    except (TypeError, ValueError):
        raise ConfigError(f"`data_key` must be JSON-able (str, numbers, lists, dicts) or a "
                          f"DataSpec, got {type(data_key).__name__}") from None


def _jsonable(info: Any, name: str) -> dict[str, Any]:
    if not isinstance(info, Mapping):
        raise ConfigError(f"supernet method {name!r}: epoch_info() must return a dict")
    try:
        return json.loads(json.dumps(dict(info)))
    except (TypeError, ValueError):
        raise ConfigError(f"supernet method {name!r}: epoch_info() must return JSON-able "
                          "values (str, numbers, lists, dicts)") from None


def _norm(value: Any) -> Any:
    """Comparable form of a JSON-able value (tuples and lists alike, tags resolved as stored)."""
    return json.loads(_dumps(value, "a value"))


def _first_difference(stored: Mapping[str, Any], current: Mapping[str, Any],
                      skip: tuple[str, ...] = ()) -> str | None:
    a, b = _norm(dict(stored)), _norm(dict(current))
    for key in sorted(set(a) | set(b)):
        if key not in skip and a.get(key) != b.get(key):
            return key
    return None


def _check_resume(path: Path, info: Mapping[str, Any], method: SupernetMethod,
                  config: SupernetTrainConfig, data: Any, precision: str = "32") -> None:
    """Refuse to resume a checkpoint of other settings. The device is not checked (a run moves
    freely between devices); the precision is (it changes the numbers): a checkpoint without one
    was trained in ``"32"``."""
    fix = "pass the same settings to resume it, or give a new checkpoint path to start afresh"
    stored = info["method"]
    key = _first_difference(stored, method.config())
    if key is not None:
        raise CheckpointError(
            f"checkpoint {str(path)!r} was trained with method {key}={stored.get(key)!r}, this run "
            f"has {key}={method.config().get(key)!r}; {fix}")
    train = info["train"]
    stored_cfg = train.get("config")
    if not isinstance(stored_cfg, dict):
        raise CheckpointError(f"checkpoint {str(path)!r} was not written by train_supernet (no "
                              f"trainer config); give a new checkpoint path to start afresh")
    key = _first_difference(stored_cfg, asdict(config), skip=("epochs",))
    if key is not None:
        raise CheckpointError(
            f"checkpoint {str(path)!r} was trained with {key}={stored_cfg.get(key)!r}, this run "
            f"has {key}={getattr(config, key, None)!r}; {fix}")
    trained = str(train.get("precision", "32"))
    if trained != precision:
        raise CheckpointError(
            f"checkpoint {str(path)!r} was trained in precision {trained}, this run has precision "
            f"{precision}; pass precision={trained} (--precision {trained}) to resume it, or give a "
            "new checkpoint path to start afresh")
    if _norm(train.get("data")) != _norm(data):
        raise CheckpointError(
            f"checkpoint {str(path)!r} was trained on data {train.get('data')!r}, this run uses "
            f"{data!r}; {fix}")
    done = int(info["epochs_done"])
    if done > config.epochs:
        raise CheckpointError(
            f"checkpoint {str(path)!r} has {done} epochs done, more than epochs={config.epochs}; "
            f"pass epochs >= {done} to resume it, or give a new checkpoint path")


class _Progress:
    """A rich progress bar over all steps (ETA, loss) on a tty, else one line per epoch.

    Example:
        >>> import contextlib, io
        >>> entry = {"epoch": 1, "loss": 2.25, "lr": 0.0125, "seconds": 1.5, "steps": 10,
        ...          "diverged": False}
        >>> with contextlib.redirect_stderr(io.StringIO()) as err:
        ...     with _Progress(True, "spos nb201 seed 0", 4, 1, 10) as p:
        ...         p.epoch(entry)
        >>> err.getvalue()
        '[spos nb201 seed 0] epoch 2/4 loss=2.2500 lr=0.0125 steps=10 time=1.5s eta=3s\\n'
    """

    def __init__(self, enabled: bool, label: str, epochs: int, start: int,
                 steps_per_epoch: int) -> None:
        self.enabled = enabled
        self.label = label
        self.epochs = epochs
        self.start = start
        self.steps_per_epoch = steps_per_epoch
        self._p: Any = None
        self._seconds: list[float] = []

    def __enter__(self) -> _Progress:
        if self.enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._p = Progress(
                TextColumn(f"[bold]{self.label}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("steps"), TimeElapsedColumn(), TextColumn("eta"),
                TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                console=Console(file=sys.stderr), transient=False,
            )
            self._p.start()
            self._task = self._p.add_task(
                "train", total=self.epochs * self.steps_per_epoch,
                completed=self.start * self.steps_per_epoch, info="")
        return self

    def message(self, text: str) -> None:
        if not self.enabled:
            return
        if self._p is not None:
            self._p.console.print(f"[{self.label}] {text}", markup=False, highlight=False)
        else:
            print(f"[{self.label}] {text}", file=sys.stderr, flush=True)

    def step(self, epoch: int, mean_loss: float) -> None:
        if self._p is not None:
            self._p.update(self._task, advance=1,
                           info=f"epoch {epoch + 1}/{self.epochs} loss={mean_loss:.4f}")

    def epoch(self, entry: Mapping[str, Any]) -> None:
        if not self.enabled:
            return
        self._seconds.append(float(entry["seconds"]))
        e = int(entry["epoch"])
        if self._p is not None:
            self._p.update(self._task, completed=(e + 1) * self.steps_per_epoch,
                           info=f"epoch {e + 1}/{self.epochs} loss={entry['loss']:.4f}")
            return
        eta = sum(self._seconds) / len(self._seconds) * (self.epochs - e - 1)
        print(f"[{self.label}] epoch {e + 1}/{self.epochs} loss={entry['loss']:.4f} "
              f"lr={entry['lr']:.4g} steps={entry['steps']} time={entry['seconds']:.1f}s "
              f"eta={eta:.0f}s", file=sys.stderr, flush=True)

    def __exit__(self, *exc: object) -> None:
        if self._p is not None:
            self._p.stop()


def train_supernet(
    method: SupernetMethod,
    train_set: ImageDataset,
    config: SupernetTrainConfig | None = None,
    *,
    val_set: ImageDataset | None = None,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = False,
    device: str | torch.device = "cpu",
    data_key: Any = None,
    on_epoch: Callable[[dict[str, Any]], Any] | None = None,
    precision: str = "32",
) -> SupernetTrainResult:
    """Train ``method``'s supernet on ``train_set`` for ``config.epochs`` epochs (in place).

    Each epoch ``e`` calls ``method.begin_epoch(e, config.epochs)``, sets the learning rate
    ``config.lr_at(e, method.lr)`` and calls ``method.step(batch)`` on every minibatch, in an order
    and with an augmentation drawn from ``(method.seed, e)``; a method that
    :attr:`~nasrank.oneshot.SupernetMethod.needs_validation` (DARTS-style bilevel search) gets
    ``method.step(batch, val_batch)`` with validation minibatches drawn the same way from
    ``val_set`` (cycled when it has fewer). After each epoch the history entry gets the mean
    ``val_loss`` (when steps report one) and ``method.epoch_info(probe)`` (``probe``: the first
    ``batch_size`` examples of ``val_set``, else of ``train_set``, not augmented), the checkpoint
    (if any) is saved, then ``on_epoch`` is called with the entry. A NaN or infinite step loss
    ends training at once:
    the epoch's entry says ``diverged``, the method is reset to its state from before the epoch
    (so the checkpoint keeps finite weights) and the result says ``diverged``; nothing is raised.

    Args:
        method: A supernet method (e.g. from :func:`~nasrank.oneshot.create_supernet_method`),
            trained in place. Its ``num_classes`` / ``in_channels`` must fit ``train_set``.
        train_set: Training images.
        config: Trainer settings (default :class:`SupernetTrainConfig`).
        val_set: Validation images (required by methods that need validation minibatches; for
            the others only the per-epoch probe minibatch comes from it).
        checkpoint: File saved after every epoch. If it exists, training resumes from it: the
            method's config, the trainer config (but ``epochs``), the precision and the data key
            must match (else a :class:`~nasrank.oneshot.CheckpointError` names the difference),
            the method's state is replaced by the saved one and training continues after its
            last epoch. The device may differ: a run checkpointed on a GPU resumes on the CPU
            and vice versa.
        progress: Show progress on stderr: a rich bar (steps, ETA, loss) on a terminal, one line
            per epoch otherwise. ``False`` prints nothing.
        device: Where to train (the dataset and the supernet are moved there): ``"cpu"``,
            ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"`` (the executor's device for this
            worker, else the first GPU, else the CPU); an unavailable device is a one-line
            :class:`~nasrank.exceptions.ConfigError`. Recorded in the result and the
            checkpoint, never checked on resume.
        data_key: JSON-able identity of the training data (e.g. a
            :class:`~nasrank.data.DataSpec` or its ``key()``), stored in the checkpoint and
            checked on resume; default: the dataset's name, size, image shape and classes.
        on_epoch: Called after each epoch (and its checkpoint) with the epoch's history entry;
            an exception raised there stops training (the checkpoint keeps that epoch).
        precision: ``"32"``, ``"bf16"`` (bfloat16 autocast of the forward passes) or ``"16"``
            (float16 autocast with dynamic loss scaling; methods with one plain optimiser step
            per training step only, e.g. spos, fairnas, multipath; the others raise a one-line
            :class:`~nasrank.exceptions.ConfigError` suggesting ``"bf16"``). Weights, optimiser
            state and the recorded losses stay float32 / float64. Part of the resume check.

    Returns:
        A :class:`SupernetTrainResult`.

    Example:
        >>> import nasrank
        >>> from nasrank.data import load_dataset
        >>> from nasrank.oneshot import create_supernet_method
        >>> ds = load_dataset("digits").sample(256, seed=0)
        >>> m = create_supernet_method("spos", "nb201", seed=0, in_channels=1,
        ...                            supernet_config={"C": 2, "N": 1})
        >>> res = train_supernet(m, ds, SupernetTrainConfig(epochs=2, batch_size=64))
        >>> [(h["epoch"], h["steps"], round(h["lr"], 4)) for h in res.history]
        [(0, 4, 0.025), (1, 4, 0.013)]
        >>> m.steps, res.diverged, res.device["device"], res.precision
        (8, False, 'cpu', '32')
        >>> m2 = create_supernet_method("spos", "nb201", seed=0, in_channels=1,
        ...                             supernet_config={"C": 2, "N": 1})
        >>> train_supernet(m2, ds, SupernetTrainConfig(epochs=1), precision="bf16").precision
        'bf16'
    """
    config = SupernetTrainConfig() if config is None else config
    if not isinstance(config, SupernetTrainConfig):
        raise ConfigError(f"`config` must be a SupernetTrainConfig, got {type(config).__name__}")
    if not isinstance(method, SupernetMethod):
        raise ConfigError(f"`method` must be a SupernetMethod, got {type(method).__name__}")
    if not isinstance(train_set, ImageDataset):
        raise ConfigError(f"`train_set` must be a nasrank.data.ImageDataset, got "
                          f"{type(train_set).__name__}")
    base_lr = getattr(method, "lr", None)
    if not isinstance(base_lr, float):
        raise ConfigError(f"supernet method {method.name!r} has no base learning rate `lr`; "
                          "train_supernet needs one to schedule")
    channels = train_set.image_shape[0]
    if channels != method.in_channels:
        raise ConfigError(f"the training images have {channels} channel(s) but the supernet "
                          f"takes {method.in_channels}; build the method with "
                          f"in_channels={channels}")
    if train_set.num_classes > method.num_classes:
        raise ConfigError(f"the training set has {train_set.num_classes} classes but the supernet "
                          f"has {method.num_classes} outputs; build the method with "
                          f"num_classes={train_set.num_classes}")
    n = len(train_set)
    steps_per_epoch = n // config.batch_size if config.drop_last else -(-n // config.batch_size)
    if steps_per_epoch == 0:
        raise ConfigError(f"the training set has {n} examples, fewer than batch_size="
                          f"{config.batch_size} with drop_last=True: no step would run; lower "
                          "batch_size")
    if val_set is not None and not isinstance(val_set, ImageDataset):
        raise ConfigError(f"`val_set` must be a nasrank.data.ImageDataset, got {type(val_set).__name__}")
    if method.needs_validation:
        if val_set is None:
            raise ConfigError(f"supernet method {method.name!r} searches on validation data: pass "
                              "val_set (e.g. hold out half of the training data)")
        if val_set.image_shape[0] != channels:
            raise ConfigError(f"the validation images have {val_set.image_shape[0]} channel(s) but "
                              f"the training images {channels}; use the same dataset for both")
        n_val = len(val_set)
        if n_val == 0 or (config.drop_last and n_val < config.batch_size):
            raise ConfigError(f"the validation set has {n_val} examples, fewer than batch_size="
                              f"{config.batch_size}: no validation minibatch; use more validation "
                              "examples or a smaller batch_size")
    if on_epoch is not None and not callable(on_epoch):
        raise ConfigError("`on_epoch` must be a callable taking the epoch's history entry")
    device = resolve_device(device)
    precision = resolve_precision(precision)
    method.set_precision(precision)  # a method without loss scaling refuses "16" here
    data = _data_key(data_key, train_set, val_set)
    path = output_file(checkpoint, "checkpoint") if checkpoint is not None else None

    result = SupernetTrainResult(method=method, config=config, checkpoint=path, precision=precision,
                                 device=device_info(device))
    _to_device(method, device)
    if path is not None and path.exists():
        info, state = _read_state(path, method.space)
        _check_resume(path, info, method, config, data, precision)
        _restore(path, method, state)
        result.history = [dict(h) for h in info["train"].get("history", [])]
        result.resumed_from = int(info["epochs_done"])
        result.diverged = bool(info["train"].get("diverged", False))

    def save() -> None:
        if path is not None:
            record = {"config": asdict(config), "epochs_done": len(result.history),
                      "history": result.history, "diverged": result.diverged, "data": data,
                      "precision": precision, **result.device}
            save_checkpoint(path, method, record)

    label = f"{method.name} {method.space.name} seed {method.seed}"
    start = len(result.history)
    train_set = train_set.to(device)
    val_set = val_set.to(device) if val_set is not None else None
    probe_set = val_set if val_set is not None and len(val_set) else train_set
    probe = next(iter(probe_set.batches(config.batch_size, shuffle=False, device=device)))
    with _Progress(progress, label, config.epochs, start, steps_per_epoch) as bar:
        if result.resumed_from:
            bar.message(f"resumed from {str(path)!r} after epoch {result.resumed_from}"
                        + (" (diverged: nothing to train)" if result.diverged else ""))
        for e in range(start, config.epochs):
            if result.diverged:
                break
            before = method.state_dict()  # restored if this epoch diverges
            method.begin_epoch(e, config.epochs)
            lr = config.lr_at(e, base_lr)
            method.set_lr(lr)
            gen = torch.Generator(device=device).manual_seed(_aug_seed(method.seed, e))
            batches = train_set.batches(
                config.batch_size, shuffle=True, seed=np.random.default_rng([method.seed, e]),
                device=device, augment=config.augment, drop_last=config.drop_last, generator=gen)
            vals = (_val_stream(val_set, config, method.seed, e, device)
                    if method.needs_validation and val_set is not None else None)
            t0 = time.perf_counter()
            total, steps, bad = 0.0, 0, False
            val_total, val_steps = 0.0, 0
            for batch in batches:
                out = method.step(batch, next(vals)) if vals is not None else method.step(batch)
                loss = float(out["loss"])
                if out.get("val_loss") is not None:
                    val_total += float(out["val_loss"])
                    val_steps += 1
                total += loss
                steps += 1
                bar.step(e, total / steps)
                if not math.isfinite(loss):
                    bad = True
                    break
            entry = {"epoch": e, "loss": total / steps, "lr": lr,
                     "seconds": time.perf_counter() - t0, "steps": steps, "diverged": bad}
            if val_steps:
                entry["val_loss"] = val_total / val_steps
            result.history.append(entry)
            result.diverged = bad
            if bad:  # keep the last finite weights (in memory and in the checkpoint)
                method.load_state_dict(before)
            else:
                entry.update(_jsonable(method.epoch_info(probe), method.name))
            save()
            bar.epoch(entry)
            if bad:
                bar.message(f"diverged in epoch {e + 1} at step {steps} (loss {loss}); stopped")
            if on_epoch is not None:
                on_epoch(dict(entry))
    return result
