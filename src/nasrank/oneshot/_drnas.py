"""DrNAS and DrNAS-TSE: differentiable search with Dirichlet architecture weights and a
progressive (pruning) schedule; plus the stage machinery shared with P-DARTS.

DrNAS (Chen et al., 2021, "DrNAS: Dirichlet Neural Architecture Search") treats the mixing weights
of every edge as a sample of a Dirichlet distribution whose concentration ``elu(theta) + 1`` is
learnt (:class:`~nasrank.oneshot.DirichletConcentration`): every forward pass of a search step
draws a fresh sample with the pathwise (reparameterised) gradient, and the architecture optimiser
descends the expected loss. The search is progressive: after the first stage each edge keeps only
its strongest operations (a :attr:`~nasrank.oneshot.DifferentiableMethod.mask`; pruned operations
get weight 0 and are not run) and the second stage searches among them. Architecture updates
start only after a warm-up of ``warmup_epochs`` epochs in each stage (the weights alone are
trained before).

Registered methods:

* ``drnas`` (:class:`DrNAS`): per step an Adam step of ``theta`` on the validation loss under a
  Dirichlet sample, then an SGD step of the weights under another sample (the reference's
  first-order ``Architect``);
* ``drnas-tse`` (:class:`DrNASTSE`; seed 000 App. G.3 Eq. 10; TSE ``drnas_nb201/201-space/
  train_search_tse.py``): the window of :class:`~nasrank.oneshot.SoTLDARTS` (first-order sum of
  the training-loss gradients over ``inner_steps`` = 100 unrolled steps, reset and re-train) with
  the Dirichlet parameterisation and DrNAS' schedule; no validation data.

Defaults (read from the reference code, xiangning-chen/DrNAS ``201-space/
train_search_progressive.py``, ``DARTS-space/train_search.py``, ``architect.py``, ``utils.py``):

=====================  ==========================  ==========================
                       NAS-Bench-201               DARTS
=====================  ==========================  ==========================
weights                SGD lr 0.025 (cosine to     SGD lr 0.1 (cosine to 0),
                       0.001), momentum 0.9, no    momentum 0.9, no Nesterov,
                       Nesterov, wd 3e-4, clip 5   wd 3e-4, clip 5
architecture           Adam lr 3e-4, betas (0.5,   Adam lr 6e-4, betas (0.5,
                       0.999), wd 1e-3 (the "l2"   0.999), wd 1e-3
                       regulariser, reg_scale)
stages                 50 + 50 epochs              25 + 25 epochs
operations per edge    5, then the best 3          7 (no ``none``), then 4
arch warm-up           10 epochs per stage         10 epochs per stage
=====================  ==========================  ==========================

The stage's learning-rate schedule is the trainer's (one cosine over all epochs, as the reference
continues its scheduler across the stages). Not implemented: DrNAS' partial channel connections
(``k`` = 4 then 2 on NB201, 6 then 4 on DARTS, with the operations widened between the stages:
every operation here sees all channels) and its optional KL regulariser (``reg_type="kl"``; the
default ``"l2"`` regulariser is Adam's weight decay, which is implemented).

Progressive schedules (:class:`StageSchedule`) are defined for ``sum(stage_epochs)`` epochs; a run
of another length scales every stage (and its warm-up) proportionally, so the relative shape is
kept. Stage changes happen in :meth:`~ProgressiveMixin.begin_epoch` (the trainer calls it before
every epoch), from the epoch index alone: a method restored from a checkpoint of any epoch is in
the same stage, with the same mask, as the original.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from .._validate import check_int
from ..exceptions import ConfigError
from ..spaces.base import SearchSpace
from ._darts import DARTS, DifferentiableMethod, SoTLDARTS
from ._methods import SUPERNET_METHODS, Arch, Batch
from ._params import DirichletConcentration

__all__ = ["StageSchedule", "ProgressiveMixin", "DrNAS", "DrNASTSE"]


def _round(x: float) -> int:
    """Round half up (not to even), so that scaled boundaries do not depend on parity."""
    return int(math.floor(x + 0.5))


def _int_tuple(name: str, value: Any, minimum: int, length: int | None = None) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise ConfigError(f"`{name}` must be a list of ints, got {value!r}")
    out = tuple(check_int(name, v, minimum) for v in value)
    if length is not None and len(out) != length:
        raise ConfigError(f"`{name}` must have {length} entries (one per stage change), "
                          f"got {len(out)}")
    return out


class StageSchedule:
    """The epochs of a progressive search: stages of ``stage_epochs`` epochs, each starting with
    ``warmup_epochs`` epochs without architecture updates.

    A run of ``epochs != sum(stage_epochs)`` epochs is scaled: stage ``s`` starts at epoch
    ``round(epochs * sum(stage_epochs[:s]) / sum(stage_epochs))`` (half up) and its warm-up lasts
    ``round(warmup_epochs * length / stage_epochs[s])`` of its ``length`` epochs. With fewer
    epochs than stages some stages are empty (they are passed through at once).

    Args:
        stage_epochs: Epochs of each stage (the published schedule).
        warmup_epochs: Epochs at the start of every stage without architecture updates.

    Example:
        >>> s = StageSchedule((50, 50), 10)
        >>> s.plan(100)
        [(0, 50, 10), (50, 50, 10)]
        >>> s.plan(20)
        [(0, 10, 2), (10, 10, 2)]
        >>> s.locate(12, 20)   # (stage, epoch within the stage, stage length, warm-up)
        (1, 2, 10, 2)
    """

    def __init__(self, stage_epochs: Sequence[int], warmup_epochs: int) -> None:
        self.stage_epochs = _int_tuple("stage_epochs", stage_epochs, 1)
        if not self.stage_epochs:
            raise ConfigError("`stage_epochs` needs at least one stage")
        self.warmup_epochs = check_int("warmup_epochs", warmup_epochs, 0)

    @property
    def stages(self) -> int:
        """Number of stages."""
        return len(self.stage_epochs)

    @property
    def total(self) -> int:
        """``sum(stage_epochs)``: the length the schedule is defined for."""
        return sum(self.stage_epochs)

    def plan(self, epochs: int) -> list[tuple[int, int, int]]:
        """``(first epoch, length, warm-up epochs)`` of every stage of a run of ``epochs``."""
        epochs = check_int("epochs", epochs, 1)
        cum = np.cumsum((0, *self.stage_epochs))
        starts = [_round(epochs * int(c) / self.total) for c in cum]
        out = []
        for s, nominal in enumerate(self.stage_epochs):
            length = starts[s + 1] - starts[s]
            warm = min(length, _round(self.warmup_epochs * length / nominal))
            out.append((starts[s], length, warm))
        return out

    def locate(self, epoch: int, epochs: int) -> tuple[int, int, int, int]:
        """``(stage, epoch within it, its length, its warm-up)`` of the 0-based ``epoch`` of a run
        of ``epochs`` (epochs past the end belong to the last stage)."""
        epoch = check_int("epoch", epoch, 0)
        plan = self.plan(epochs)
        stage = max(s for s, (start, _, _) in enumerate(plan) if start <= epoch)
        start, length, warm = plan[stage]
        return stage, epoch - start, length, warm


class ProgressiveMixin:
    """Stage machinery of progressive differentiable searches (DrNAS, P-DARTS).

    Mixed into a :class:`~nasrank.oneshot.DifferentiableMethod` subclass (listed first). It keeps
    the current ``stage`` and the trainer's epoch position as state, changes stage in
    :meth:`begin_epoch` (:meth:`_advance_stage`, one stage at a time), and runs weight-only steps
    during each stage's architecture warm-up (:attr:`arch_active`). Before the first
    :meth:`begin_epoch` the method is at epoch 0 of a run of ``sum(stage_epochs)`` epochs.
    """

    stage: int
    schedule: StageSchedule
    keep: tuple[int, ...]
    _position: tuple[int, int] | None

    def _init_progressive(self, stage_epochs: Sequence[int], warmup_epochs: int,
                          keep: Sequence[int]) -> None:
        self.schedule = StageSchedule(stage_epochs, warmup_epochs)
        self.keep = _int_tuple("keep", keep, 1, length=self.schedule.stages - 1)
        self.stage = 0
        self._position = None

    # --- where we are -------------------------------------------------------------------------
    @property
    def stage_epochs(self) -> tuple[int, ...]:
        """Epochs of each stage (as configured)."""
        return self.schedule.stage_epochs

    @property
    def warmup_epochs(self) -> int:
        """Epochs per stage without architecture updates (as configured)."""
        return self.schedule.warmup_epochs

    def position(self) -> tuple[int, int, int, int]:
        """``(target stage, epoch within it, stage length, warm-up)`` of the current epoch
        (:meth:`StageSchedule.locate` of the last :meth:`begin_epoch`)."""
        epoch, epochs = self._position if self._position is not None else (0, self.schedule.total)
        return self.schedule.locate(epoch, epochs)

    @property
    def arch_active(self) -> bool:
        """Whether the current epoch updates the architecture (past the stage's warm-up)."""
        _, e_in, _, warm = self.position()
        return e_in >= warm

    # --- stage changes ------------------------------------------------------------------------
    def begin_epoch(self, epoch: int, epochs: int) -> None:
        """Start the 0-based ``epoch`` of ``epochs``: close what the previous epoch left open
        (the base class's hook), then enter the epoch's stage if it is a later one (stages are
        never left backwards, e.g. when a resumed run is lengthened)."""
        super().begin_epoch(epoch, epochs)  # type: ignore[misc]
        self._position = (check_int("epoch", epoch, 0), check_int("epochs", epochs, 1))
        target = self.schedule.locate(epoch, epochs)[0]
        while self.stage < target:
            self._advance_stage()

    def _advance_stage(self) -> None:
        """Enter stage ``stage + 1``: prune every edge to its ``keep[stage]`` best operations."""
        self.mask = self.pruned_mask(self.keep[self.stage])
        self.stage += 1

    def _prune_scores(self) -> np.ndarray:
        """The per-edge strength of each operation used for pruning (masked entries ignored)."""
        return self.arch_weights()  # type: ignore[attr-defined, no-any-return]

    def pruned_mask(self, keep: int) -> np.ndarray:
        """The mask that keeps, on every edge, the ``keep`` allowed operations with the largest
        :meth:`_prune_scores` (ties: the earlier column); fewer allowed ones are all kept.

        Example:
            >>> from nasrank.oneshot import create_supernet_method
            >>> m = create_supernet_method("drnas", "nb201", supernet_config={"C": 2, "N": 1})
            >>> m.pruned_mask(3).sum(axis=1).tolist()
            [3, 3, 3, 3, 3, 3]
        """
        keep = check_int("keep", keep, 1)
        scores = np.asarray(self._prune_scores(), dtype=np.float64)
        current = self.mask  # type: ignore[attr-defined]
        allowed = np.ones(scores.shape, dtype=bool) if current is None else current.astype(bool)
        out = np.zeros(scores.shape, dtype=np.int64)
        for e in range(scores.shape[0]):
            cols = [o for o in range(scores.shape[1]) if allowed[e, o]]
            best = sorted(cols, key=lambda o: (-scores[e, o], o))[:keep]
            out[e, best] = 1
        return out

    def _gated_step(self, batch: Batch, val_batch: Batch | None) -> dict[str, Any] | None:
        """A weight-only step during the warm-up (``None`` when the architecture is active)."""
        if self.arch_active:
            return None
        loss = self.weight_step(batch)  # type: ignore[attr-defined]
        self.steps += 1  # type: ignore[has-type]
        return self._out(loss)  # type: ignore[attr-defined, no-any-return]

    # --- state and config ---------------------------------------------------------------------
    def _progress_state(self) -> dict[str, Any]:
        return {"stage": self.stage,
                "position": None if self._position is None else list(self._position)}

    def _load_progress(self, progress: Mapping[str, Any]) -> None:
        pos = progress["position"]
        self._position = None if pos is None else (int(pos[0]), int(pos[1]))
        self.stage = int(progress["stage"])

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "progress": self._progress_state()}  # type: ignore[misc]

    def _load_state(self, state: Mapping[str, Any]) -> None:
        self._load_progress(state["progress"])
        super()._load_state(state)  # type: ignore[misc]

    def _progress_config(self) -> dict[str, Any]:
        return {"stage_epochs": list(self.stage_epochs), "warmup_epochs": self.warmup_epochs,
                "keep": list(self.keep)}


# --- DrNAS ------------------------------------------------------------------------------------

#: DrNAS defaults per space (reference code, see the module docstring).
_DRNAS_DEFAULTS: dict[str, dict[str, Any]] = {
    "nb201": {"lr": 0.025, "arch_lr": 3e-4, "stage_epochs": (50, 50)},
    "darts": {"lr": 0.1, "arch_lr": 6e-4, "stage_epochs": (25, 25)},
}


class _DrNASBase(ProgressiveMixin):
    """The DrNAS parts shared by ``drnas`` and ``drnas-tse``: the Dirichlet parameterisation,
    the defaults and the genotype weights."""

    def _setup(self, keep: Sequence[int] | None, stage_epochs: Sequence[int] | None,
               warmup_epochs: int) -> None:
        d = _DRNAS_DEFAULTS.get(self.space.name, _DRNAS_DEFAULTS["nb201"])  # type: ignore[attr-defined]
        stages = tuple(d["stage_epochs"]) if stage_epochs is None else stage_epochs
        if keep is None:  # half of the operations, rounded up (NB201: 5 -> 3, DARTS: 7 -> 4)
            n = len(self.supernet.ops)  # type: ignore[attr-defined]
            keep = tuple(max(1, -(-n // 2**s)) for s in range(1, len(stages)))
        self._init_progressive(stages, warmup_epochs, keep)

    def _make_arch(self) -> DirichletConcentration:
        """Dirichlet parameters ``theta ~ 1e-3 N(0, 1)`` (concentration ~ 1: uniform), as the
        reference initialises them; drawn from ``(seed, 0x44)`` so that nothing else moves."""
        net = self.supernet  # type: ignore[attr-defined]
        arch = DirichletConcentration(net.num_edges, len(net.ops))
        gen = np.random.default_rng([self.seed, 0x44])  # type: ignore[attr-defined]
        with torch.no_grad():
            arch.theta.copy_(torch.as_tensor(1e-3 * gen.standard_normal(tuple(arch.theta.shape)),
                                             dtype=arch.theta.dtype))
        return arch

    def mixed_weights(self) -> torch.Tensor:
        """One reparameterised Dirichlet sample per edge (drawn with the method's :attr:`rng`,
        so restored methods draw the same), restricted to the allowed operations and
        renormalised (the reference samples every operation and renormalises the kept ones)."""
        (sample,) = self.arch.draw(self.rng)  # type: ignore[attr-defined]
        return self._renormalised(sample)  # type: ignore[attr-defined, no-any-return]

    def genotype_weights(self) -> np.ndarray:
        """The weights the reference derives its genotype from: ``softmax(theta)`` per edge over
        the allowed operations (the same per-edge order as the Dirichlet mean
        :meth:`arch_weights`; the DARTS genotype also ranks edges by these values).

        Example:
            >>> from nasrank.oneshot import create_supernet_method
            >>> m = create_supernet_method("drnas", "nb201", supernet_config={"C": 2, "N": 1})
            >>> m.genotype_weights().shape
            (6, 5)
        """
        with torch.no_grad():
            theta = self.arch.theta.detach().double()  # type: ignore[attr-defined]
            w = self._renormalised(torch.softmax(theta, dim=-1))  # type: ignore[attr-defined]
        return w.cpu().numpy()  # type: ignore[no-any-return]

    def derive(self, batch: Batch | None = None, score: Any = None,
               candidates: int | None = None) -> Arch:
        """``supernet.arch_from_weights(genotype_weights())``: per edge the strongest allowed
        operation (DARTS: the genotype rule); the arguments are not used; nothing changes."""
        return self.supernet.arch_from_weights(self.genotype_weights())  # type: ignore[attr-defined, no-any-return]

    def _drnas_config(self) -> dict[str, Any]:
        return self._progress_config()


@SUPERNET_METHODS.register("drnas")
class DrNAS(_DrNASBase, DARTS):
    """DrNAS (Chen et al., 2021) with its progressive NAS-Bench-201 / DARTS schedule.

    Each :meth:`step` (after the stage's warm-up) takes an Adam step of the Dirichlet parameters
    ``theta`` on the validation loss under a reparameterised sample, then an SGD step of the
    weights on the training minibatch under a new sample; during the warm-up only the weight
    step. At the stage change each edge keeps its ``keep`` operations with the largest Dirichlet
    mean (equivalently the largest ``theta``, as the reference prunes). Defaults: see
    :mod:`~nasrank.oneshot._drnas` (``lr``, ``arch_lr``, ``stage_epochs`` and ``keep`` depend on
    the space when not given). Published on NAS-Bench-201 CIFAR-10: 94.36 % (Chen et al.);
    93.76 % as rerun in seed 002 Tab. 4.6.

    Args:
        stage_epochs: Epochs of each stage (NB201: (50, 50); DARTS: (25, 25)); a run of another
            length is scaled (:class:`StageSchedule`).
        warmup_epochs: Epochs at the start of each stage without architecture updates (10).
        keep: Operations kept per edge at each stage change (default: half, rounded up).
        space, seed, supernet_config, num_classes, in_channels, lr, momentum, nesterov,
        weight_decay, grad_clip, arch_lr, arch_betas, arch_weight_decay, hessian: see
            :class:`~nasrank.oneshot.DifferentiableMethod` (``arch_weight_decay`` is DrNAS'
            ``reg_scale`` of its "l2" regulariser).

    Example:
        >>> import torch
        >>> from nasrank.oneshot import create_supernet_method
        >>> m = create_supernet_method("drnas", "nb201", supernet_config={"C": 2, "N": 1},
        ...                            stage_epochs=[2, 2], warmup_epochs=1)
        >>> b = (torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,)))
        >>> m.begin_epoch(0, 4); sorted(m.step(b, b))          # warm-up: weights only
        ['arch', 'archs', 'loss']
        >>> m.begin_epoch(1, 4); sorted(m.step(b, b))
        ['arch', 'archs', 'loss', 'val_loss']
        >>> m.begin_epoch(2, 4); m.stage, m.mask.sum(axis=1).tolist()
        (1, [3, 3, 3, 3, 3, 3])
    """

    name: ClassVar[str] = "drnas"
    needs_validation: ClassVar[bool] = True

    def __init__(self, space: str | SearchSpace = "nb201", seed: int = 0,
                 supernet_config: Mapping[str, Any] | None = None, num_classes: int = 10,
                 in_channels: int = 3, lr: float | None = None, momentum: float = 0.9,
                 nesterov: bool = False, weight_decay: float = 3e-4,
                 grad_clip: float | None = 5.0, arch_lr: float | None = None,
                 arch_betas: Sequence[float] = (0.5, 0.999), arch_weight_decay: float = 1e-3,
                 hessian: bool = False, stage_epochs: Sequence[int] | None = None,
                 warmup_epochs: int = 10, keep: Sequence[int] | None = None) -> None:
        d = _space_defaults(space)
        DifferentiableMethod.__init__(
            self, space, seed, supernet_config, num_classes, in_channels,
            lr=d["lr"] if lr is None else lr, momentum=momentum, nesterov=nesterov,
            weight_decay=weight_decay, grad_clip=grad_clip,
            arch_lr=d["arch_lr"] if arch_lr is None else arch_lr, arch_betas=arch_betas,
            arch_weight_decay=arch_weight_decay, hessian=hessian)
        self._setup(keep, stage_epochs, warmup_epochs)

    def step(self, batch: Batch, val_batch: Batch | None = None) -> dict[str, Any]:
        """During a warm-up: one SGD step of the weights on ``batch``; else the DARTS step
        (architecture on ``val_batch``, then weights on ``batch``) with Dirichlet samples.

        Returns:
            ``{"loss", "val_loss" (not during the warm-up), "arch": None, "archs": []}``.
        """
        out = self._gated_step(batch, val_batch)
        return out if out is not None else DARTS.step(self, batch, val_batch)

    def config(self) -> dict[str, Any]:
        return {**DARTS.config(self), **self._drnas_config()}


@SUPERNET_METHODS.register("drnas-tse")
class DrNASTSE(_DrNASBase, SoTLDARTS):
    """DrNAS-TSE / SoTL-DrNAS (seed 000 App. G.3, Eq. 10; seed 002 §3.3.4, Tab. 4.6: 93.76 %;
    TSE ``drnas_nb201/201-space/train_search_tse.py``).

    DrNAS' Dirichlet parameterisation and progressive schedule with the architecture gradient of
    :class:`~nasrank.oneshot.SoTLDARTS`: the first-order sum of the training-loss gradients over
    ``inner_steps`` (100) unrolled steps, each under its own Dirichlet sample, then reset and
    re-training of the weights on the window's minibatches. During each stage's warm-up (10
    epochs, as the reference's ``epoch >= 10`` test) the steps are plain SGD steps of the weights.
    No validation data. Defaults as :class:`DrNAS` (the TSE code uses DrNAS' NB201 settings:
    SGD lr 0.025, wd 3e-4, no Nesterov; Adam lr 3e-4, betas (0.5, 0.999), wd 1e-3; 50 + 50
    epochs).

    Args:
        inner_steps: K, minibatches per architecture update.
        retrain: Reset and re-train the weights after each update (the reference: yes).
        stage_epochs, warmup_epochs, keep, **kwargs: see :class:`DrNAS`.

    Example:
        >>> import torch
        >>> from nasrank.oneshot import create_supernet_method
        >>> m = create_supernet_method("drnas-tse", "nb201", supernet_config={"C": 2, "N": 1},
        ...                            inner_steps=2, stage_epochs=[1, 1], warmup_epochs=0)
        >>> b = (torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,)))
        >>> m.begin_epoch(0, 2); _ = [m.step(b) for _ in range(2)]
        >>> m.arch_updates, m.needs_validation
        (1, False)
    """

    name: ClassVar[str] = "drnas-tse"
    needs_validation: ClassVar[bool] = False

    def __init__(self, space: str | SearchSpace = "nb201", seed: int = 0,
                 supernet_config: Mapping[str, Any] | None = None, num_classes: int = 10,
                 in_channels: int = 3, lr: float | None = None, momentum: float = 0.9,
                 nesterov: bool = False, weight_decay: float = 3e-4,
                 grad_clip: float | None = 5.0, arch_lr: float | None = None,
                 arch_betas: Sequence[float] = (0.5, 0.999), arch_weight_decay: float = 1e-3,
                 hessian: bool = False, inner_steps: int = 100, retrain: bool = True,
                 stage_epochs: Sequence[int] | None = None, warmup_epochs: int = 10,
                 keep: Sequence[int] | None = None) -> None:
        d = _space_defaults(space)
        SoTLDARTS.__init__(
            self, space, seed, supernet_config, num_classes, in_channels,
            lr=d["lr"] if lr is None else lr, momentum=momentum, nesterov=nesterov,
            weight_decay=weight_decay, grad_clip=grad_clip,
            arch_lr=d["arch_lr"] if arch_lr is None else arch_lr, arch_betas=arch_betas,
            arch_weight_decay=arch_weight_decay, hessian=hessian, inner_steps=inner_steps,
            retrain=retrain)
        self._setup(keep, stage_epochs, warmup_epochs)

    def step(self, batch: Batch, val_batch: Batch | None = None) -> dict[str, Any]:
        """During a warm-up: one SGD step on ``batch``; else one unrolled step of the window
        (``val_batch`` is ignored).

        Returns:
            ``{"loss", "arch": None, "archs": []}``.
        """
        out = self._gated_step(batch, None)
        return out if out is not None else SoTLDARTS.step(self, batch, None)

    def config(self) -> dict[str, Any]:
        return {**SoTLDARTS.config(self), **self._drnas_config()}


def _space_defaults(space: str | SearchSpace) -> dict[str, Any]:
    name = space if isinstance(space, str) else getattr(space, "name", "")
    return _DRNAS_DEFAULTS.get(name, _DRNAS_DEFAULTS["nb201"])
