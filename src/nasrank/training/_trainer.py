"""A reusable supervised trainer implementing the NAS-Bench-201 protocol."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._validate import check_int, check_opt_int
from ..data import ImageDataset
from ..exceptions import ConfigError
from ..execution import autocast, compile_model, grad_scaler, resolve_device, resolve_precision
from ..records import LearningCurve

__all__ = ["TrainConfig", "train", "evaluate", "TrainCallback"]

_SCHEDULES = ("cosine", "constant")


class TrainCallback(Protocol):
    """What :func:`train` calls on each callback (e.g. a :class:`TrainingSpeed`)."""

    def update(self, loss: torch.Tensor, batch_size: int | None = None) -> None: ...

    def end_epoch(self) -> None: ...


@dataclass
class TrainConfig:
    """Training hyper-parameters; the defaults are the NAS-Bench-201 protocol (reference §5.4).

    SGD with Nesterov momentum 0.9, learning rate 0.1 annealed by a cosine of the *epoch index*
    (constant within an epoch) to ``eta_min`` = 0 over ``schedule_epochs`` (default: ``epochs``),
    weight decay 5e-4 on all parameters, batch size 256, plain cross-entropy, random crop + flip.
    NB201's "12E" setting is ``TrainConfig(epochs=12)``; training the first 12 epochs of the
    200-epoch schedule is ``TrainConfig(epochs=12, schedule_epochs=200)``.

    Attributes:
        epochs: Epochs to train.
        batch_size: Minibatch size.
        lr: Initial learning rate.
        momentum: SGD momentum.
        nesterov: Nesterov momentum.
        weight_decay: L2 penalty applied by SGD to every parameter.
        schedule: ``"cosine"`` or ``"constant"``.
        schedule_epochs: Length of the cosine period in epochs (``None`` = ``epochs``).
        eta_min: Final learning rate of the cosine schedule.
        augment: Batch-level random crop (padding = the dataset's ``crop_padding``) + flip.
        drop_last: Drop the last incomplete minibatch of each epoch.
        eval_batch_size: Batch size for validation / test evaluation.
        track_gradients: Accumulate gradient sums for the SoG / SoGN estimators (costs one extra
            add per parameter per step).
        precision: ``"32"`` (float32), ``"bf16"`` (bfloat16 autocast) or ``"16"`` (float16
            autocast with dynamic loss scaling). Weights, optimiser state and the recorded
            losses stay float32. It changes the numbers, so it is part of a run's fingerprint.

    Example:
        >>> cfg = TrainConfig(epochs=4)
        >>> [round(cfg.lr_at(e), 4) for e in range(4)]
        [0.1, 0.0854, 0.05, 0.0146]
    """

    epochs: int = 200
    batch_size: int = 256
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    schedule: str = "cosine"
    schedule_epochs: int | None = None
    eta_min: float = 0.0
    augment: bool = True
    drop_last: bool = False
    eval_batch_size: int = 1024
    track_gradients: bool = False
    precision: str = "32"

    def __post_init__(self) -> None:
        self.precision = resolve_precision(self.precision)
        for name in ("epochs", "batch_size", "eval_batch_size"):
            check_int(name, getattr(self, name), 1)
        check_opt_int("schedule_epochs", self.schedule_epochs, 1)
        for name in ("lr", "momentum", "weight_decay", "eta_min"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ConfigError(f"`{name}` must be a finite number >= 0, got {v!r}")
        if self.schedule not in _SCHEDULES:
            raise ConfigError(f"`schedule` must be one of {', '.join(_SCHEDULES)}, got {self.schedule!r}")
        if self.nesterov and self.momentum == 0:
            raise ConfigError("nesterov=True needs momentum > 0")

    def key(self) -> dict[str, Any]:
        """The fields that identify a run's results, for fingerprints and resume checks.

        All fields, except that ``precision`` is left out at its default ``"32"``, so that the
        fingerprints of runs recorded before the field existed stay valid.

        Example:
            >>> "precision" in TrainConfig().key(), TrainConfig(precision="bf16").key()["precision"]
            (False, 'bf16')
        """
        d = asdict(self)
        if d["precision"] == "32":
            del d["precision"]
        return d

    def lr_at(self, epoch: int) -> float:
        """Learning rate of 0-based ``epoch``.

        Example:
            >>> TrainConfig(epochs=200).lr_at(100)
            0.05
        """
        if self.schedule == "constant":
            return float(self.lr)
        period = self.schedule_epochs or self.epochs
        e = min(epoch, period)
        return float(self.eta_min + 0.5 * (self.lr - self.eta_min) * (1 + math.cos(math.pi * e / period)))


def _check_dataset(ds: Any, name: str) -> ImageDataset:
    if not isinstance(ds, ImageDataset):
        raise ConfigError(f"`{name}` must be a nasrank.data.ImageDataset, got {type(ds).__name__}")
    if len(ds) == 0:
        raise ConfigError(f"`{name}` is empty")
    return ds


@torch.no_grad()
def evaluate(
    model: nn.Module,
    dataset: ImageDataset,
    batch_size: int = 1024,
    device: str | torch.device = "cpu",
    precision: str = "32",
    channels_last: bool = False,
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``dataset`` in eval mode.

    Restores the model's previous train/eval mode afterwards. ``precision`` and
    ``channels_last`` are as in :func:`train`; the sums accumulate in float64 on the device.

    Example:
        >>> from nasrank.data import load_dataset
        >>> ds = load_dataset("digits", train=False)
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
        >>> loss, acc = evaluate(net, ds)
        >>> 0.0 <= acc <= 1.0
        True
    """
    _check_dataset(dataset, "dataset")
    device = resolve_device(device)
    dataset = dataset.to(device)
    was_training = model.training
    model.eval()
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    correct = torch.zeros((), dtype=torch.int64, device=device)
    try:
        for x, y in dataset.batches(batch_size):
            if channels_last and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            with autocast(device, precision):
                out = model(x)
            out = out.float()
            total_loss += F.cross_entropy(out, y, reduction="sum").to(torch.float64)
            correct += (out.argmax(1) == y).sum()
    finally:
        model.train(was_training)
    n = len(dataset)
    return float(total_loss) / n, int(correct) / n


def train(
    model: nn.Module,
    train_set: ImageDataset,
    val_set: ImageDataset | None = None,
    config: TrainConfig | None = None,
    seed: int = 0,
    *,
    test_set: ImageDataset | None = None,
    device: str | torch.device = "cpu",
    callbacks: Sequence[TrainCallback] = (),
    compile: bool = False,
    channels_last: bool = False,
) -> LearningCurve:
    """Train ``model`` (in place) with minibatch SGD and record its :class:`LearningCurve`.

    Each minibatch loss is computed in train mode before its optimiser step and kept on the
    device; the host reads the losses once per epoch (no per-step synchronisation). If an epoch's
    loss is NaN/inf, training stops after that epoch and the curve is flagged ``diverged`` (no
    exception). The shuffling order and the augmentation are drawn from ``seed``, so the same
    seed and the same initial weights give the same curve on the same machine. Seed the model's
    initialisation yourself (e.g. ``torch.manual_seed`` before building it).

    Args:
        model: Network returning logits.
        train_set: Training data.
        val_set: Evaluated (loss, accuracy) after every epoch if given.
        config: Hyper-parameters (default: NB201 protocol, 200 epochs).
        seed: Seed of the data order and augmentation.
        test_set: Evaluated once after training if given.
        device: Where to train: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"`` (see
            :func:`~nasrank.execution.resolve_device`). The datasets move there once; batching
            and augmentation run there.
        compile: Run the forward pass through ``torch.compile`` (falls back to the plain model,
            with a warning, where no compiler backend works); the curve's ``meta["compiled"]``
            says which ran.
        channels_last: Keep the network's weights and inputs in channels-last memory layout
            (faster convolutions on recent GPUs, especially with ``bf16``).
        callbacks: Objects with ``update(loss, batch_size)`` (called every step with the detached
            device loss) and ``end_epoch()``, e.g. :class:`~nasrank.training.TrainingSpeed`.

    Returns:
        The run's learning curve.

    Example:
        >>> from nasrank.data import load_dataset
        >>> ds = load_dataset("digits")
        >>> _ = torch.manual_seed(0)
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
        >>> curve = train(net, ds, config=TrainConfig(epochs=2, augment=False), seed=0)
        >>> curve.epochs, bool(curve.train_loss[1] < curve.train_loss[0])
        (2, True)
    """
    config = TrainConfig() if config is None else config
    if not isinstance(config, TrainConfig):
        raise ConfigError(f"`config` must be a TrainConfig, got {type(config).__name__}")
    if not isinstance(model, nn.Module):
        raise ConfigError(f"`model` must be a torch.nn.Module, got {type(model).__name__}")
    check_int("seed", seed, 0)
    device = resolve_device(device)
    train_set = _check_dataset(train_set, "train_set").to(device)
    val_set = None if val_set is None else _check_dataset(val_set, "val_set").to(device)
    test_set = None if test_set is None else _check_dataset(test_set, "test_set").to(device)
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    precision = config.precision
    fwd = compile_model(model, compile)
    scaler = grad_scaler(device, precision)

    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(
        params, lr=config.lr, momentum=config.momentum, nesterov=config.nesterov,
        weight_decay=config.weight_decay,
    )
    order_rng = np.random.default_rng(seed)
    aug_gen = torch.Generator(device=device).manual_seed(int(seed))

    n = len(train_set)
    bs = config.batch_size
    if config.drop_last and n < bs:
        raise ConfigError(f"drop_last=True with batch_size={bs} > {n} training examples leaves no batch")
    sizes = [min(bs, n - s) for s in range(0, n, bs)]
    if config.drop_last:
        sizes = [s for s in sizes if s == bs]
    steps = len(sizes)
    n_seen = sum(sizes)
    sizes_t = torch.tensor(sizes, dtype=torch.float32, device=device)

    rec: dict[str, list[float]] = {
        k: [] for k in ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time", "lr", "sog", "sogn")
    }
    minibatch: list[np.ndarray] = []
    grad_sums: dict[int, torch.Tensor] = {}
    gnorm_sum = torch.zeros((), dtype=torch.float64, device=device)
    diverged = False

    for epoch in range(config.epochs):
        lr = config.lr_at(epoch)
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        losses = torch.empty(steps, dtype=torch.float32, device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        t0 = time.perf_counter()
        batches = train_set.batches(
            bs, shuffle=True, seed=order_rng, augment=config.augment, drop_last=config.drop_last,
            generator=aug_gen,
        )
        for i, (x, y) in enumerate(batches):
            if channels_last and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            opt.zero_grad(set_to_none=True)
            with autocast(device, precision):
                out = fwd(x)
                loss = F.cross_entropy(out, y)
            d = loss.detach().float()
            losses[i] = d
            correct += (out.detach().argmax(1) == y).sum()
            for cb in callbacks:
                cb.update(d, sizes[i])
            if scaler is None:
                loss.backward()
                if config.track_gradients:
                    gnorm_sum += _accumulate_grads(params, grad_sums)
                opt.step()
            else:  # float16: scaled backward, true gradients for the statistics, skipped inf steps
                scaler.scale(loss).backward()
                if config.track_gradients:
                    scaler.unscale_(opt)
                    gnorm_sum += _accumulate_grads(params, grad_sums)
                scaler.step(opt)
                scaler.update()
        host_losses = losses.cpu().numpy().astype(np.float64)  # the one sync of the epoch
        epoch_loss = float((losses.to(torch.float64) * sizes_t.to(torch.float64)).sum().cpu()) / n_seen
        dt = time.perf_counter() - t0
        for cb in callbacks:
            cb.end_epoch()

        minibatch.append(host_losses)
        rec["train_loss"].append(epoch_loss)
        rec["train_acc"].append(int(correct) / n_seen)
        rec["epoch_time"].append(dt)
        rec["lr"].append(lr)
        if config.track_gradients:
            rec["sog"].append(float(sum(g.abs().sum(dtype=torch.float64) for g in grad_sums.values())))
            rec["sogn"].append(float(gnorm_sum))
        if not np.all(np.isfinite(host_losses)) or not math.isfinite(epoch_loss):
            diverged = True
            if val_set is not None:
                rec["val_loss"].append(math.nan)
                rec["val_acc"].append(math.nan)
            break
        if val_set is not None:
            vl, va = evaluate(model, val_set, config.eval_batch_size, device, precision, channels_last)
            rec["val_loss"].append(vl)
            rec["val_acc"].append(va)

    test_loss = test_acc = None
    if test_set is not None:
        if diverged:
            test_loss, test_acc = math.nan, math.nan
        else:
            test_loss, test_acc = evaluate(model, test_set, config.eval_batch_size, device, precision, channels_last)
    return LearningCurve(
        train_loss=rec["train_loss"],
        train_acc=rec["train_acc"],
        val_loss=rec["val_loss"] if val_set is not None else None,
        val_acc=rec["val_acc"] if val_set is not None else None,
        epoch_time=rec["epoch_time"],
        lr=rec["lr"],
        minibatch_loss=np.concatenate(minibatch) if minibatch else np.zeros(0),
        minibatch_size=np.tile(np.asarray(sizes, dtype=np.float64), len(minibatch)),
        steps_per_epoch=steps,
        sog=rec["sog"] if config.track_gradients else None,
        sogn=rec["sogn"] if config.track_gradients else None,
        test_loss=test_loss,
        test_acc=test_acc,
        diverged=diverged,
        planned_epochs=config.epochs,
        meta={"config": asdict(config), "seed": int(seed), "device": str(device), "compiled": fwd.compiled,
              "channels_last": bool(channels_last)},
    )


def _accumulate_grads(params: list[torch.Tensor], sums: dict[int, torch.Tensor]) -> torch.Tensor:
    """Add each gradient into its running sum; return the step's total L1 gradient norm (device)."""
    norms = []
    for k, p in enumerate(params):
        g = p.grad
        if g is None:
            continue
        if k in sums:
            sums[k].add_(g)
        else:
            sums[k] = g.detach().clone()
        norms.append(g.abs().sum(dtype=torch.float64))
    if not norms:
        return torch.zeros((), dtype=torch.float64, device=params[0].device if params else "cpu")
    return torch.stack(norms).sum()
