"""Learning-rate hypergradients: SoTL over ``T`` unrolled steps vs Baydin's ``T = 2`` and the
validation loss (seed 002 §4.1.1), on scikit-learn's digits.

The weight learning rate ``eta`` plays the architecture: an MLP with one hidden layer is trained by
plain SGD with rate ``eta``, and ``eta`` itself by SGD (rate ``arch_lr``) on the exact hypergradient
of the sum of ``T`` unrolled training losses; the weights are then restored and retrained for the
same ``T`` batches with the new ``eta`` (seed 002 Algorithm 1 with ``eta`` as ``alpha``). ``T = 2`` is
Baydin et al.'s hypergradient ``-grad f(theta_{t-1}) . grad f(theta_{t-2})``. The validation
baseline differentiates the loss of a held-out batch after one unrolled step and retrains one step.
As in the seed: ``eta`` starts at ``1e-3``, ``arch_lr = 1e-2``, the hypergradient is clipped to norm
10, and an update that would make ``eta`` negative halves it instead. A ``"fixed"`` run keeps
``eta`` at its initial value (no hypergradient) for reference.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .._rng import as_generator
from .._validate import check_float, check_int
from ..exceptions import ConfigError
from ._unroll import hyper_step, sgd_steps

__all__ = ["LRHypergradConfig", "LRRun", "LRHypergradResult", "lr_hypergradient_run", "run_lr_hypergradient"]


@dataclass(frozen=True)
class LRHypergradConfig:
    """Setup of the learning-rate hypergradient experiment.

    Attributes:
        hidden: Hidden units of the MLP (64 -> hidden -> 10).
        batch_size: Minibatch size.
        epochs: Passes over the training part.
        lr_init: Initial weight learning rate ``eta``.
        arch_lr: SGD learning rate of ``eta``.
        clip: Hypergradient norm clip.
        T_values: Unroll lengths of the SoTL runs (``2`` = Baydin et al.).
        val_fraction: Share of the digits training images held out as validation data (used only
            by the validation baseline; every run trains on the rest).
        seed: Seed of the split, the initial weights and the batch order (shared by all runs).

    Example:
        >>> LRHypergradConfig(epochs=2).T_values
        (2, 10, 50)
    """

    hidden: int = 100
    batch_size: int = 32
    epochs: int = 20
    lr_init: float = 1e-3
    arch_lr: float = 1e-2
    clip: float = 10.0
    T_values: tuple[int, ...] = (2, 10, 50)
    val_fraction: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("hidden", self.hidden, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1, maximum=256)
        check_int("epochs", self.epochs, minimum=1)
        check_float("lr_init", self.lr_init, minimum=0.0, exclusive_min=True)
        check_float("arch_lr", self.arch_lr, minimum=0.0, exclusive_min=True)
        check_float("clip", self.clip, minimum=0.0, exclusive_min=True)
        for t in self.T_values:
            check_int("T_values entry", t, minimum=1)
        check_float("val_fraction", self.val_fraction, minimum=0.0, maximum=0.5, exclusive_min=True)
        check_int("seed", self.seed, minimum=0)


@dataclass(frozen=True)
class LRRun:
    """One run.

    Attributes:
        label: ``"SoTL T=10"``, ``"Baydin T=2"``, ``"val"`` or ``"fixed"``.
        T: Unroll length (1 for ``val``, 0 for ``fixed``).
        epoch_test_acc: Test accuracy (%) after every epoch, shape ``(epochs,)``.
        epoch_train_loss: Mean training loss of every epoch, shape ``(epochs,)``.
        epoch_lr: ``eta`` at the end of every epoch, shape ``(epochs,)``.
        final_test_acc: ``epoch_test_acc[-1]``.
        final_lr: ``epoch_lr[-1]``.
    """

    label: str
    T: int
    epoch_test_acc: np.ndarray
    epoch_train_loss: np.ndarray
    epoch_lr: np.ndarray
    final_test_acc: float
    final_lr: float

    def summary(self) -> dict[str, Any]:
        """JSON-ready scalars.

        Example:
            >>> r = lr_hypergradient_run(LRHypergradConfig(epochs=1, hidden=8), T=2)
            >>> sorted(r.summary())
            ['T', 'best_test_acc', 'final_lr', 'final_test_acc', 'label']
        """
        return {"label": self.label, "T": self.T, "final_test_acc": self.final_test_acc,
                "best_test_acc": float(np.max(self.epoch_test_acc)), "final_lr": self.final_lr}


@dataclass(frozen=True)
class LRHypergradResult:
    """All runs of the experiment.

    Attributes:
        config: The setup.
        runs: ``fixed``, ``val``, then one SoTL run per ``T_values`` entry.
    """

    config: LRHypergradConfig
    runs: list[LRRun] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready numbers.

        Example:
            >>> r = run_lr_hypergradient(LRHypergradConfig(epochs=1, hidden=8, T_values=(2,)))
            >>> [x["label"] for x in r.to_dict()["runs"]]
            ['fixed', 'val', 'Baydin T=2']
        """
        return {"config": asdict(self.config), "runs": [r.summary() for r in self.runs]}


def _cfg(config: LRHypergradConfig | None) -> LRHypergradConfig:
    if config is None:
        return LRHypergradConfig()
    if not isinstance(config, LRHypergradConfig):
        raise ConfigError(f"config must be an LRHypergradConfig, got {type(config).__name__}")
    return config


def _digits(cfg: LRHypergradConfig) -> tuple[torch.Tensor, ...]:
    from ..data import load_dataset

    def flat(ds: Any) -> tuple[torch.Tensor, torch.Tensor]:
        x = ds.images.reshape(len(ds.labels), -1).to(torch.float32) / 255.0
        return (x - ds.mean[0]) / ds.std[0], ds.labels

    xtr, ytr = flat(load_dataset("digits", train=True))
    xte, yte = flat(load_dataset("digits", train=False))
    perm = as_generator(cfg.seed).permutation(len(ytr))
    nval = max(1, int(round(cfg.val_fraction * len(ytr))))
    va, tr = perm[:nval], perm[nval:]
    return xtr[tr], ytr[tr], xtr[va], ytr[va], xte, yte


def _init(cfg: LRHypergradConfig, d_in: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(cfg.seed)
    out = []
    for fan_in, fan_out in ((d_in, cfg.hidden), (cfg.hidden, 10)):
        bound = 1.0 / math.sqrt(fan_in)
        out.append((torch.rand(fan_out, fan_in, generator=g) * 2 - 1) * bound)
        out.append((torch.rand(fan_out, generator=g) * 2 - 1) * bound)
    return out


def _forward(ws: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    return F.linear(F.relu(F.linear(x, ws[0], ws[1])), ws[2], ws[3])


def lr_hypergradient_run(config: LRHypergradConfig | None = None, *, T: int | None = 10,
                         objective: str = "sotl") -> LRRun:
    """Train the MLP on digits while tuning ``eta`` by hypergradients.

    Args:
        config: The setup.
        T: Unroll length of the SoTL objective (``2``: Baydin et al.).
        objective: ``"sotl"``, ``"val"`` (one-step validation loss) or ``"fixed"`` (no tuning).

    Example:
        >>> r = lr_hypergradient_run(LRHypergradConfig(epochs=2, hidden=16), T=10)
        >>> len(r.epoch_test_acc), r.final_lr > 1e-3
        (2, True)
    """
    cfg = _cfg(config)
    if objective not in ("sotl", "val", "fixed"):
        raise ConfigError(f"objective must be 'sotl', 'val' or 'fixed', got {objective!r}")
    if objective == "sotl":
        T = check_int("T", T, minimum=1)
    inner = T if objective == "sotl" else 1
    xtr, ytr, xva, yva, xte, yte = _digits(cfg)
    rng = as_generator(cfg.seed + 1)
    n = len(ytr)
    spe = max(1, n // cfg.batch_size)  # steps per epoch (last partial batch dropped)
    order: list[np.ndarray] = []

    def batch(k: int) -> tuple[torch.Tensor, torch.Tensor]:
        while len(order) <= k // spe:
            order.append(rng.permutation(n))
        idx = order[k // spe][(k % spe) * cfg.batch_size: (k % spe + 1) * cfg.batch_size]
        return xtr[idx], ytr[idx]

    vrng = as_generator(cfg.seed + 2)

    def loss(ws: list[torch.Tensor], b: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        return F.cross_entropy(_forward(ws, b[0]), b[1])

    eta = torch.tensor(cfg.lr_init, requires_grad=True)
    weights = _init(cfg, xtr.shape[1])
    total = cfg.epochs * spe
    done = 0
    accs, losses_ep, lrs, cur = [], [], [], []
    while done < total:
        batches = [batch(done + i) for i in range(min(inner, total - done))]
        if objective != "fixed":
            vidx = vrng.choice(len(yva), size=min(cfg.batch_size, len(yva)), replace=False)
            grad, _ = hyper_step(loss, weights, batches, eta, eta, objective=objective, val_loss=loss,
                                 val_batch=(xva[vidx], yva[vidx]))
            g = float(grad)
            if not math.isfinite(g):
                g = 0.0
            g = max(-cfg.clip, min(cfg.clip, g))
            with torch.no_grad():
                old = float(eta.detach())
                new = old - cfg.arch_lr * g
                eta.fill_(new if new > 0 else old / 2)
        weights, vals = sgd_steps(loss, weights, batches, eta)
        cur.extend(vals)
        done += len(batches)
        while len(accs) < done // spe:  # epoch boundary crossed
            with torch.no_grad():
                acc = float((_forward(weights, xte).argmax(1) == yte).float().mean()) * 100
            accs.append(acc)
            losses_ep.append(float(np.mean(cur)) if cur else math.nan)
            lrs.append(float(eta.detach()))
            cur = []
    label = {"fixed": "fixed", "val": "val"}.get(objective, "Baydin T=2" if inner == 2 else f"SoTL T={inner}")
    return LRRun(label, 0 if objective == "fixed" else inner, np.array(accs), np.array(losses_ep), np.array(lrs),
                 accs[-1], lrs[-1])


def run_lr_hypergradient(config: LRHypergradConfig | None = None) -> LRHypergradResult:
    """The fixed-rate reference, the validation baseline and one SoTL run per ``T`` (same data,
    initial weights and batch order).

    Example:
        >>> r = run_lr_hypergradient(LRHypergradConfig(epochs=1, hidden=8, T_values=(2, 5)))
        >>> [x.label for x in r.runs]
        ['fixed', 'val', 'Baydin T=2', 'SoTL T=5']
    """
    cfg = _cfg(config)
    runs = [lr_hypergradient_run(cfg, objective="fixed"), lr_hypergradient_run(cfg, objective="val")]
    runs += [lr_hypergradient_run(cfg, T=t) for t in cfg.T_values]
    return LRHypergradResult(cfg, runs)
