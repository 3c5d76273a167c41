"""Ordered feature selection on Fourier data: SoTL picks the true degree (seed 002 §4.1.2).

Data (seed 002 Eq. 4.3-4.4): ``n_points`` scalars ``x ~ U[-x_range, x_range]`` expanded to the
``num_terms + 1`` features ``phi_0 = 1`` and ``phi_j = cos(2 pi j x) + sin(2 pi j x)``
(``j = 1..num_terms``); targets ``y = 1 + sum_{j<=true_degree} phi_j(x)`` plus Gaussian noise of
standard deviation ``noise_std`` (the seed states no noise level; 0.5 is this package's choice). The
points are split in half: the first half trains the weights, the second is the validation data of
the one-step validation-loss baseline (never used by SoTL).

(a) :func:`fixed_degree_sotl`: linear models that use features ``0..k`` only, trained by SGD, and
their SoTL (Fig. 4.2). (b) :func:`maxdeg_search`: one linear model over all features whose feature
``j`` is gated by ``f(MaxDeg - j)``, ``f(z) = (tanh(z) + 1) / 2`` (Eq. 4.5); ``MaxDeg`` is trained by
SGD on the exact SoTL hypergradient over ``T`` unrolled weight steps, with L2 decay on ``MaxDeg``
(Fig. 4.3); after each update the weights are restored and retrained on the same ``T`` batches with
the new ``MaxDeg`` (seed 002 Algorithm 3 / Appendix A). The decay term is ``decay * T * MaxDeg^2 / 2``
per update -- ``decay`` per unrolled step -- so its weight against the ``T``-term SoTL does not
change with ``T``. The baseline (``objective="val"``) differentiates the validation loss after one
unrolled step (DARTS' second-order step, "T = 2 (val)") and retrains one step per update.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from .._rng import as_generator
from .._validate import check_float, check_int
from ..exceptions import ConfigError
from ._unroll import hyper_step, sgd_steps

__all__ = [
    "FourierConfig",
    "FixedDegreeResult",
    "MaxDegRun",
    "FourierResult",
    "fourier_data",
    "fourier_gate",
    "fixed_degree_sotl",
    "maxdeg_search",
    "run_fourier",
]


@dataclass(frozen=True)
class FourierConfig:
    """Setup of the Fourier ordered-feature-selection experiments (seed 002 §4.1.2).

    Attributes:
        n_points: Data points (half train, half validation).
        x_range: ``x`` is uniform on ``[-x_range, x_range]``.
        num_terms: Fourier degrees available, ``D`` (features ``0..D``).
        true_degree: Ground-truth degree ``k``.
        noise_std: Target noise standard deviation.
        batch_size: SGD minibatch size.
        lr: Weight learning rate (plain SGD).
        fixed_degrees: Degrees ``k_fixed`` of the fixed models (Fig. 4.2).
        fixed_steps: SGD steps of each fixed model (SoTL sums all of them).
        init_std: Std of the fixed models' initial weights (a draw from the weight prior).
        steps: Weight-training steps of each MaxDeg search.
        arch_lr: SGD learning rate of ``MaxDeg``.
        decay: L2 decay of ``MaxDeg`` per unrolled step.
        T: Unroll length of the initialisation sweep (Fig. 4.3a).
        inits: ``MaxDeg`` initialisations of the sweep (below and above ``true_degree``).
        T_values: Unroll lengths compared from ``T_init`` (Fig. 4.3b).
        T_init: The initial ``MaxDeg`` of the ``T`` comparison and of the validation baseline.
        seed: Seed of the data and the batch order.

    Example:
        >>> FourierConfig(steps=100).T
        25
    """

    n_points: int = 10_000
    x_range: float = 10.0
    num_terms: int = 25
    true_degree: int = 3
    noise_std: float = 0.5
    batch_size: int = 32
    lr: float = 0.05
    fixed_degrees: tuple[int, ...] = (0, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21)
    fixed_steps: int = 300
    init_std: float = 1.0
    steps: int = 6000
    arch_lr: float = 0.03
    decay: float = 0.005
    T: int = 25
    inits: tuple[float, ...] = (-1.0, 1.0, 5.0, 7.0)
    T_values: tuple[int, ...] = (2, 10, 25, 50, 100)
    T_init: float = -1.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("n_points", self.n_points, minimum=4)
        check_float("x_range", self.x_range, minimum=0.0, exclusive_min=True)
        check_int("num_terms", self.num_terms, minimum=1)
        check_int("true_degree", self.true_degree, minimum=0, maximum=self.num_terms)
        check_float("noise_std", self.noise_std, minimum=0.0)
        check_int("batch_size", self.batch_size, minimum=1, maximum=self.n_points // 2)
        check_float("lr", self.lr, minimum=0.0, exclusive_min=True)
        for k in self.fixed_degrees:
            check_int("fixed_degrees entry", k, minimum=0)
        check_int("fixed_steps", self.fixed_steps, minimum=1)
        check_float("init_std", self.init_std, minimum=0.0)
        check_int("steps", self.steps, minimum=1)
        check_float("arch_lr", self.arch_lr, minimum=0.0, exclusive_min=True)
        check_float("decay", self.decay, minimum=0.0)
        check_int("T", self.T, minimum=1)
        for t in self.T_values:
            check_int("T_values entry", t, minimum=1)
        for v in (*self.inits, self.T_init):
            check_float("MaxDeg initialisation", v)
        check_int("seed", self.seed, minimum=0)


@dataclass(frozen=True)
class FixedDegreeResult:
    """Fixed-degree models (Fig. 4.2).

    Attributes:
        degrees: ``k_fixed`` of each model.
        losses: Minibatch training loss per step, shape ``(len(degrees), fixed_steps)``.
        sotl: Sum of each row of ``losses``.
        best_degree: The degree with the lowest SoTL.
    """

    degrees: tuple[int, ...]
    losses: np.ndarray
    sotl: np.ndarray
    best_degree: int


@dataclass(frozen=True)
class MaxDegRun:
    """One MaxDeg search.

    Attributes:
        label: e.g. ``"T=25, init=-1"`` or ``"val, init=-1"``.
        objective: ``"sotl"`` or ``"val"``.
        T: Unroll length (1 for the validation baseline).
        init: Initial ``MaxDeg``.
        step: Weight-training steps done after each update, shape ``(updates,)``.
        maxdeg: ``MaxDeg`` after each update, shape ``(updates,)``.
        final: ``maxdeg[-1]``.
        steps_to_target: First weight step at which ``MaxDeg`` is within 0.5 of ``true_degree`` or has
            crossed it (``None``: never).
    """

    label: str
    objective: str
    T: int
    init: float
    step: np.ndarray
    maxdeg: np.ndarray
    final: float
    steps_to_target: int | None

    def summary(self) -> dict[str, Any]:
        """JSON-ready scalars.

        Example:
            >>> r = maxdeg_search(FourierConfig(n_points=200, steps=4, num_terms=5), T=2, init=0.0)
            >>> sorted(r.summary())
            ['T', 'final', 'init', 'label', 'objective', 'steps_to_target']
        """
        return {"label": self.label, "objective": self.objective, "T": self.T, "init": self.init,
                "final": self.final, "steps_to_target": self.steps_to_target}


@dataclass(frozen=True)
class FourierResult:
    """Both Fourier experiments.

    Attributes:
        config: The setup.
        fixed: Fixed-degree models (Fig. 4.2).
        init_sweep: MaxDeg searches at ``T`` from every ``inits`` value (Fig. 4.3a).
        T_sweep: MaxDeg searches from ``T_init`` for every ``T_values`` entry (Fig. 4.3b).
        val_baseline: The one-step validation-loss baseline from ``T_init``.
    """

    config: FourierConfig
    fixed: FixedDegreeResult
    init_sweep: list[MaxDegRun] = field(default_factory=list)
    T_sweep: list[MaxDegRun] = field(default_factory=list)
    val_baseline: MaxDegRun | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready numbers (no per-step curves).

        Example:
            >>> cfg = FourierConfig(n_points=200, num_terms=5, fixed_degrees=(1, 3), fixed_steps=5, steps=4,
            ...                     inits=(0.0,), T_values=(2,))
            >>> sorted(run_fourier(cfg).to_dict())
            ['T_sweep', 'config', 'fixed', 'init_sweep', 'val_baseline']
        """
        f = self.fixed
        return {
            "config": asdict(self.config),
            "fixed": {"degrees": list(f.degrees), "sotl": [float(v) for v in f.sotl], "best_degree": f.best_degree},
            "init_sweep": [r.summary() for r in self.init_sweep],
            "T_sweep": [r.summary() for r in self.T_sweep],
            "val_baseline": None if self.val_baseline is None else self.val_baseline.summary(),
        }


def fourier_gate(maxdeg: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """The ordered-selection gate ``f(MaxDeg - d) = (tanh(MaxDeg - d) + 1) / 2`` (seed 002 Eq. 4.5).

    Example:
        >>> [round(float(v), 3) for v in fourier_gate(torch.tensor(1.0), torch.arange(3.0))]
        [0.881, 0.5, 0.119]
    """
    return (torch.tanh(maxdeg - degrees) + 1.0) / 2.0


def fourier_data(config: FourierConfig | None = None, dtype: torch.dtype = torch.float32
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x, features, y)``: the scalars, their ``(n, num_terms + 1)`` Fourier features and the targets.

    Example:
        >>> x, X, y = fourier_data(FourierConfig(n_points=8, num_terms=4, noise_std=0.0, batch_size=4))
        >>> X.shape, bool(torch.allclose(y, X[:, :4].sum(1)))
        (torch.Size([8, 5]), True)
    """
    cfg = _cfg(config)
    rng = as_generator(cfg.seed)
    x = rng.uniform(-cfg.x_range, cfg.x_range, cfg.n_points)
    j = np.arange(cfg.num_terms + 1)
    arg = 2.0 * math.pi * np.outer(x, j)
    feats = np.cos(arg) + np.sin(arg)
    feats[:, 0] = 1.0
    y = feats[:, : cfg.true_degree + 1].sum(axis=1) + cfg.noise_std * rng.standard_normal(cfg.n_points)
    return (torch.tensor(x, dtype=dtype), torch.tensor(feats, dtype=dtype), torch.tensor(y, dtype=dtype))


def _cfg(config: FourierConfig | None) -> FourierConfig:
    if config is None:
        return FourierConfig()
    if not isinstance(config, FourierConfig):
        raise ConfigError(f"config must be a FourierConfig, got {type(config).__name__}")
    return config


class _Stream:
    """Minibatches of indices into ``[lo, hi)``: reshuffled epochs, reproducible from ``rng``."""

    def __init__(self, lo: int, hi: int, batch_size: int, rng: np.random.Generator) -> None:
        self.lo, self.hi, self.bs, self.rng = lo, hi, batch_size, rng
        self.order = np.empty(0, dtype=np.int64)
        self.pos = 0

    def next(self) -> np.ndarray:
        if self.pos + self.bs > len(self.order):
            self.order = self.lo + self.rng.permutation(self.hi - self.lo)
            self.pos = 0
        out = self.order[self.pos: self.pos + self.bs]
        self.pos += self.bs
        return out


def fixed_degree_sotl(config: FourierConfig | None = None) -> FixedDegreeResult:
    """Train one linear model per ``k_fixed`` (features ``0..k`` only) by SGD; record SoTL (Fig. 4.2).

    Every model sees the same batches from the same initial weights (masked to its features).

    Example:
        >>> r = fixed_degree_sotl(FourierConfig(n_points=400, fixed_degrees=(1, 3, 9), fixed_steps=60))
        >>> r.best_degree
        3
    """
    cfg = _cfg(config)
    if max(cfg.fixed_degrees, default=0) > cfg.num_terms:
        raise ConfigError(f"fixed_degrees go up to {max(cfg.fixed_degrees)} but the data has {cfg.num_terms} terms; "
                          f"raise num_terms or drop the larger degrees")
    _, X, y = fourier_data(cfg)
    rng = as_generator(cfg.seed + 1)
    stream = _Stream(0, cfg.n_points // 2, cfg.batch_size, rng)
    batches = [stream.next() for _ in range(cfg.fixed_steps)]
    w0 = torch.tensor(rng.standard_normal(cfg.num_terms + 1) * cfg.init_std, dtype=X.dtype)
    rows = []
    for k in cfg.fixed_degrees:
        mask = (torch.arange(cfg.num_terms + 1) <= k).to(X.dtype)
        w = w0 * mask
        losses = np.empty(cfg.fixed_steps)
        for t, b in enumerate(batches):
            xb, yb = X[b], y[b]
            r = xb @ w - yb
            losses[t] = float((r * r).mean())
            w = w - cfg.lr * (2.0 / len(b)) * (xb.T @ r) * mask
        rows.append(losses)
    losses_arr = np.stack(rows)
    sotl = losses_arr.sum(axis=1)
    return FixedDegreeResult(tuple(cfg.fixed_degrees), losses_arr, sotl, int(cfg.fixed_degrees[int(np.argmin(sotl))]))


def maxdeg_search(config: FourierConfig | None = None, *, T: int = 25, init: float = -1.0,
                  objective: str = "sotl", steps: int | None = None, dtype: torch.dtype = torch.float32) -> MaxDegRun:
    """Optimise the differentiable ``MaxDeg`` by hypergradients (Fig. 4.3).

    Args:
        config: The setup (data, learning rates, decay).
        T: Unroll length of the SoTL objective (ignored by ``objective="val"``, which unrolls one step).
        init: Initial ``MaxDeg``.
        objective: ``"sotl"`` or ``"val"`` (one-step validation loss, DARTS-style).
        steps: Weight-training steps (default ``config.steps``).
        dtype: Torch dtype of the computation.

    Example:
        >>> r = maxdeg_search(FourierConfig(n_points=400, num_terms=6), T=10, init=1.0, steps=40)
        >>> len(r.step), int(r.step[-1])
        (4, 40)
    """
    cfg = _cfg(config)
    T = check_int("T", T, minimum=1)
    init = check_float("init", init)
    if objective not in ("sotl", "val"):
        raise ConfigError(f"objective must be 'sotl' or 'val', got {objective!r}")
    steps = cfg.steps if steps is None else check_int("steps", steps, minimum=1)
    _, X, y = fourier_data(cfg, dtype=dtype)
    half = cfg.n_points // 2
    rng = as_generator(cfg.seed + 1)
    train, val = _Stream(0, half, cfg.batch_size, rng), _Stream(half, cfg.n_points, cfg.batch_size, rng)
    degrees = torch.arange(cfg.num_terms + 1, dtype=dtype)
    m = torch.tensor(init, dtype=dtype, requires_grad=True)

    def loss(ws: list[torch.Tensor], b: np.ndarray) -> torch.Tensor:
        r = X[b] @ (ws[0] * fourier_gate(m, degrees)) - y[b]
        return (r * r).mean()

    inner = T if objective == "sotl" else 1
    weights = [torch.zeros(cfg.num_terms + 1, dtype=dtype)]
    done, step_log, deg_log = 0, [], []
    hit: int | None = None
    while done < steps:
        batches = [train.next() for _ in range(min(inner, steps - done))]
        vb = val.next() if objective == "val" else None
        scale = len(batches)
        grad, _ = hyper_step(loss, weights, batches, cfg.lr, m, objective=objective, val_loss=loss, val_batch=vb,
                             penalty=lambda a, s=scale: 0.5 * cfg.decay * s * a * a)
        with torch.no_grad():
            m -= cfg.arch_lr * grad
        weights, _ = sgd_steps(loss, weights, batches, cfg.lr)
        done += len(batches)
        step_log.append(done)
        deg_log.append(float(m.detach()))
        gap = deg_log[-1] - cfg.true_degree
        if hit is None and (abs(gap) <= 0.5 or gap * (init - cfg.true_degree) < 0):
            hit = done
    label = f"T={T}" if objective == "sotl" else "val (T=2)"
    return MaxDegRun(f"{label}, init={init:g}", objective, inner, init, np.array(step_log), np.array(deg_log),
                     deg_log[-1], hit)


def run_fourier(config: FourierConfig | None = None) -> FourierResult:
    """Fig. 4.2 and Fig. 4.3 a/b: fixed-degree SoTL, MaxDeg from every init at ``T``, MaxDeg for every
    ``T`` from ``T_init``, and the validation-loss baseline.

    Example:
        >>> cfg = FourierConfig(n_points=400, num_terms=6, fixed_degrees=(1, 3), fixed_steps=20, steps=20,
        ...                     inits=(0.0,), T_values=(5,))
        >>> r = run_fourier(cfg)
        >>> len(r.init_sweep), len(r.T_sweep), r.val_baseline.objective
        (1, 1, 'val')
    """
    cfg = _cfg(config)
    fixed = fixed_degree_sotl(cfg)
    init_sweep = [maxdeg_search(cfg, T=cfg.T, init=v) for v in cfg.inits]
    T_sweep = [maxdeg_search(cfg, T=t, init=cfg.T_init) for t in cfg.T_values]
    val = maxdeg_search(cfg, init=cfg.T_init, objective="val")
    return FourierResult(cfg, fixed, init_sweep, T_sweep, val)
