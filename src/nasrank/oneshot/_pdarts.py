"""P-DARTS and SoTL-PDARTS: progressive DARTS with a deepening supernet, operation pruning between
stages, skip-connection dropout and a final cap on skip connections.

P-DARTS (Chen et al., 2019, "Progressive Differentiable Architecture Search: Bridging the Depth
Gap between Search and Evaluation") searches in stages. Each stage builds a **new, deeper**
supernet (new weights, new ``alpha``, new optimisers) over the operations the previous stage
kept, trains it with DARTS (first order) after an architecture warm-up, and at its end every edge
drops its weakest operations by ``softmax(alpha)`` (here: a :attr:`~nasrank.oneshot.
DifferentiableMethod.mask`; dropped operations get weight 0 and are not run). During the search
the outputs of the identity ``skip_connect`` operations go through dropout, whose rate decays
within each stage; the final DARTS genotype keeps at most ``max_skip`` (2) skip connections in
the normal cell.

Registered methods:

* ``pdarts`` (:class:`PDARTS`): the DARTS step (architecture on the validation minibatch, then
  weights on the training minibatch);
* ``pdarts-sotl`` (:class:`PDARTSSoTL`; seed 002 §3.3.4, §4.3.3, Tab. 4.8): the same stages with
  the architecture gradient of :class:`~nasrank.oneshot.SoTLDARTS` (first-order sum of training
  losses over ``inner_steps`` unrolled steps, then reset and re-training); no validation data.

Defaults read from the reference code (chenxin061/pdarts ``train_search.py``, ``model_search.py``,
``README.md``) for the DARTS space: 3 stages of 25 epochs; 5, 11, 17 cells (the configured
``layers`` + ``add_depth`` (0, 6, 12)); the operations per edge go 8 -> 5 -> 3 (``keep`` = (5, 3);
``none`` is among the candidates, so the default DARTS supernet here is built with
``include_none=True``) and the genotype picks the best non-``none`` one; 10 warm-up epochs per
stage; skip dropout rates (0.1, 0.4, 0.7) per stage (the README's command; the script's default is
0), during the warm-up ``rate * (E - e - 1) / E``, then ``rate * exp(-0.2 (e - warm-up))`` (``e``
the epoch within the stage of ``E`` epochs); SGD lr 0.025, momentum 0.9 (no Nesterov), wd 3e-4,
gradient norm clipped to 5; Adam lr 6e-4, betas (0.5, 0.999), wd 1e-3, architecture gradient norm
clipped to 5 too; at most 2 skip connections in the final normal cell (the paper's choice among
the caps the script prints).

For NAS-Bench-201 (a fixed-depth space) the choices are **ours**: the depth that grows is ``N``
(cells per stage of the macro skeleton; ``add_depth`` = (0, 1, 2), so ``N`` = 1, 2, 3 from the
``"search"`` configuration), the operations per edge go 5 -> 4 -> 3, and there is no skip cap
(NAS-Bench-201's genotype takes every edge; ``none`` may win), with P-DARTS' other settings.

Deviations from the reference: the learning rate follows the trainer's schedule (one cosine over
all epochs) rather than restarting a cosine to 0 in every stage; a stage's supernet is built with a
seed derived from ``(seed, stage)`` (stage 0: ``seed``), not from the continuing global
generator; the skip-dropout masks come from generators seeded by ``(seed, stage, step, call)``
(the derived seed is part of the state: a restored method builds and drops the same). Skip dropout acts on every stride-1 identity ``skip_connect`` the
supernet runs as a module (the DARTS space: every normal-cell skip and reduction-cell skip between
intermediate nodes; the stride-2 ``FactorizedReduce`` skips are not dropped, as in the
reference; NAS-Bench-201: every skip). Stage changes happen in
:meth:`~nasrank.oneshot.ProgressiveMixin.begin_epoch` from the epoch index alone (see
:class:`~nasrank.oneshot.StageSchedule` for runs of other lengths than ``sum(stage_epochs)``).
"""

from __future__ import annotations

import contextlib
import math
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from .._validate import check_float, check_int
from ..exceptions import ConfigError
from ..nn.mixed import MixedOp
from ..nn.ops import Identity
from ..spaces.base import SearchSpace
from ._darts import DARTS, DifferentiableMethod, SoTLDARTS
from ._drnas import ProgressiveMixin, _int_tuple
from ._methods import SUPERNET_METHODS, Arch, Batch

__all__ = ["PDARTS", "PDARTSSoTL"]

#: Per space: (supernet depth argument, default ``add_depth``, default ``keep``, default
#: ``max_skip``).
_PDARTS_SPACES: dict[str, tuple[str, tuple[int, ...], tuple[int, ...], int | None]] = {
    "darts": ("layers", (0, 6, 12), (5, 3), 2),
    "nb201": ("N", (0, 1, 2), (4, 3), None),
}


def _space_name(space: str | SearchSpace) -> str:
    return space if isinstance(space, str) else str(getattr(space, "name", ""))


def _check_space(space: str | SearchSpace) -> tuple[str, tuple[int, ...], tuple[int, ...], int | None]:
    name = _space_name(space)
    if name not in _PDARTS_SPACES:
        raise ConfigError(f"P-DARTS deepens the supernet of nb201 or darts, not {name!r}; "
                          f"use one of {', '.join(sorted(_PDARTS_SPACES))}")
    return _PDARTS_SPACES[name]


def _default_supernet_config(space: str | SearchSpace,
                             supernet_config: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """P-DARTS searches DARTS with ``none`` among the candidates (8 operations)."""
    if supernet_config is not None or _space_name(space) != "darts":
        return supernet_config
    from ..spaces import SPACES

    sp = SPACES.get(space)() if isinstance(space, str) else space
    return {**sp.default_config("search"), "include_none": True}


class _SkipDropout:
    """Forward hook of an identity skip operation: dropout on its output while its owner's step
    runs (the owner is held weakly, so copying the supernet does not copy the method)."""

    def __init__(self, owner: _PDARTSBase) -> None:
        self._owner = weakref.ref(owner)

    def __call__(self, module: nn.Module, inputs: Any, output: torch.Tensor) -> Any:
        owner = self._owner()
        if owner is None or not module.training:
            return None
        return owner._drop(output)


class _PDARTSBase(ProgressiveMixin):
    """The P-DARTS parts shared by ``pdarts`` and ``pdarts-sotl``."""

    @classmethod
    def supports(cls, space: str | SearchSpace) -> bool:
        """Only the spaces whose supernet P-DARTS knows how to deepen (nb201, darts).

        Example:
            >>> from nasrank.oneshot import SUPERNET_METHODS
            >>> SUPERNET_METHODS.get("pdarts").supports("nb201")
            True
        """
        return _space_name(space) in _PDARTS_SPACES

    def _setup_pdarts(self, stage_epochs: Sequence[int], warmup_epochs: int,
                      keep: Sequence[int] | None, add_depth: Sequence[int] | None,
                      drop_rates: Sequence[float], max_skip: int | None | str,
                      arch_grad_clip: float | None) -> None:
        depth_key, d_add, d_keep, d_skip = _check_space(self.space)  # type: ignore[attr-defined]
        self._init_progressive(stage_epochs, warmup_epochs, d_keep if keep is None else keep)
        n = self.schedule.stages
        self.add_depth = _int_tuple("add_depth", d_add if add_depth is None else add_depth, 0)
        if len(self.add_depth) != n:
            raise ConfigError(f"`add_depth` must have {n} entries (one per stage), "
                              f"got {len(self.add_depth)}")
        if isinstance(drop_rates, str | bytes) or not isinstance(drop_rates, Sequence):
            raise ConfigError(f"`drop_rates` must be a list of {n} numbers in [0, 1), "
                              f"got {drop_rates!r}")
        rates = tuple(check_float("drop_rates", r, minimum=0.0, maximum=1.0) for r in drop_rates)
        if len(rates) != n or any(r >= 1.0 for r in rates):
            raise ConfigError(f"`drop_rates` must be {n} numbers in [0, 1) (one per stage), "
                              f"got {list(drop_rates)!r}")
        self.drop_rates = rates
        if max_skip == "default":
            max_skip = d_skip
        self.max_skip = None if max_skip is None else check_int("max_skip", max_skip, 0)
        self.arch_grad_clip = (None if arch_grad_clip is None else
                               check_float("arch_grad_clip", arch_grad_clip, minimum=0.0,
                                           exclusive_min=True))
        self._depth_key = depth_key
        net = self.supernet  # type: ignore[attr-defined]
        self._base_depth = int(self.supernet_config.get(  # type: ignore[attr-defined]
            depth_key, getattr(net, depth_key)))
        # the seed of every later random choice (stage supernets, dropout masks): part of the
        # state, so that a restored method makes the same choices whatever its own seed
        self._key = int(np.random.default_rng([self.seed, 0x50]).integers(2**62))  # type: ignore[attr-defined]
        self._drop_live = False
        self._drop_p = 0.0
        self._drop_key: tuple[int, ...] = ()
        self._drop_calls = 0
        if self.add_depth[0] != 0:
            self._build_stage(0)
        else:
            self._hook_skips()

    # --- the stage's supernet -----------------------------------------------------------------
    def stage_depth(self, stage: int) -> int:
        """The supernet depth (``layers`` for DARTS, ``N`` for NB201) of ``stage``.

        Example:
            >>> from nasrank.oneshot import create_supernet_method
            >>> m = create_supernet_method("pdarts", "darts", supernet_config={"C": 2, "layers": 5})
            >>> [m.stage_depth(s) for s in range(3)]
            [5, 11, 17]
        """
        return self._base_depth + self.add_depth[check_int("stage", stage, 0,
                                                           self.schedule.stages - 1)]

    def _stage_seed(self, stage: int) -> int:
        if stage == 0:
            return int(self.seed)  # type: ignore[attr-defined]
        return int(np.random.default_rng([self._key, stage]).integers(2**62))

    def _build_stage(self, stage: int) -> None:
        """A new supernet of ``stage``'s depth (seeded from ``(seed, stage)``), a new ``alpha``
        and new optimisers (the current learning rate is kept); the mask is left to the caller."""
        cfg = {**self.supernet_config, self._depth_key: self.stage_depth(stage)}  # type: ignore[attr-defined]
        old = self.supernet  # type: ignore[attr-defined]
        device = next(old.parameters()).device
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self._stage_seed(stage))
            net = self.space.supernet(num_classes=self.num_classes,  # type: ignore[attr-defined]
                                      in_channels=self.in_channels, **cfg)  # type: ignore[attr-defined]
        self.supernet = net.to(device)
        self.supernet.train(old.training)
        self.arch = self._make_arch()  # type: ignore[attr-defined]
        self._mask_cache = {}
        self._build_optimizers()  # type: ignore[attr-defined]
        self._hook_skips()

    def _advance_stage(self) -> None:
        """Prune every edge to its ``keep[stage]`` best operations by ``softmax(alpha)``, then
        build the next stage's deeper supernet (new weights, ``alpha`` and optimisers)."""
        mask = self.pruned_mask(self.keep[self.stage])
        self.stage += 1
        self._build_stage(self.stage)
        self.mask = mask

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`: the saved stage's supernet is built first (its depth
        differs between stages), then every weight and state is loaded."""
        if state.get("name") == self.name and "progress" in state:  # type: ignore[attr-defined]
            self._key = int(state["progress"]["key"])
            stage = int(state["progress"]["stage"])
            if stage != self.stage:
                self._build_stage(stage)
                self.stage = stage
        super().load_state_dict(state)  # type: ignore[misc]

    # --- skip-connection dropout --------------------------------------------------------------
    def _hook_skips(self) -> None:
        hook = _SkipDropout(self)
        self._skip_modules: list[nn.Module] = []
        for mod in self.supernet.modules():  # type: ignore[attr-defined]
            names = getattr(mod, "names", None)
            if isinstance(mod, MixedOp) and names is not None and "skip_connect" in names:
                op = mod.ops[list(names).index("skip_connect")]
                if isinstance(op, Identity | nn.Identity):
                    op.register_forward_hook(hook)
                    self._skip_modules.append(op)

    def skip_drop_rate(self) -> float:
        """The skip-connection dropout rate of the current epoch (stage ``s``, epoch ``e`` of the
        stage's ``E``, warm-up ``W``): ``rate[s] * (E - e - 1) / E`` during the warm-up, then
        ``rate[s] * exp(-0.2 (e - W))`` (time scaled by ``stage_epochs[s] / E`` for a scaled
        run).

        Example:
            >>> from nasrank.oneshot import create_supernet_method
            >>> m = create_supernet_method("pdarts", "darts", supernet_config={"C": 2, "layers": 3})
            >>> m.begin_epoch(0, 75); round(m.skip_drop_rate(), 4)
            0.096
            >>> m.begin_epoch(10, 75); round(m.skip_drop_rate(), 4)
            0.1
        """
        _, e_in, length, warm = self.position()
        if length == 0:
            return 0.0
        rate = self.drop_rates[self.stage]
        if e_in < warm:
            return rate * (length - e_in - 1) / length
        nominal = self.stage_epochs[self.stage]
        return rate * math.exp(-0.2 * (e_in - warm) * nominal / length)

    @contextlib.contextmanager
    def _dropping(self, phase: int) -> Iterator[None]:
        """Skip dropout on inside (masks seeded by ``(key, stage, steps, phase, call)``)."""
        self._drop_live = True
        self._drop_p = self.skip_drop_rate()
        self._drop_key = (self._key, self.stage, int(self.steps), phase)  # type: ignore[attr-defined]
        self._drop_calls = 0
        try:
            yield
        finally:
            self._drop_live = False

    def _drop(self, output: torch.Tensor) -> torch.Tensor | None:
        p = self._drop_p
        if not self._drop_live or p <= 0.0:
            return None
        self._drop_calls += 1
        seed = int(np.random.default_rng([*self._drop_key, self._drop_calls]).integers(2**62))
        gen = torch.Generator(device=output.device).manual_seed(seed)
        keep = torch.rand(output.shape, generator=gen, device=output.device) >= p
        return output * keep.to(output.dtype) / (1.0 - p)

    # --- architecture updates -----------------------------------------------------------------
    def arch_update(self, grads: Sequence[torch.Tensor]) -> None:
        """Adam step with the gradient clipped to norm ``arch_grad_clip`` (as the reference
        clips the architecture gradient with ``grad_clip``)."""
        grads = list(grads)
        if self.arch_grad_clip is not None and grads:
            norm = float(torch.sqrt(sum((g.detach().double() ** 2).sum() for g in grads)))
            coef = self.arch_grad_clip / (norm + 1e-6)
            if coef < 1.0:
                grads = [g * coef for g in grads]
        super().arch_update(grads)  # type: ignore[misc]

    # --- derived architecture -----------------------------------------------------------------
    def derive(self, batch: Batch | None = None, score: Any = None,
               candidates: int | None = None) -> Arch:
        """The genotype of the masked ``softmax(alpha)`` with at most ``max_skip`` skip
        connections in the normal cell: while there are more, the chosen skip with the smallest
        weight is removed (its weight set to 0, which also weakens its edge) and the genotype is
        derived again (P-DARTS' ``delete_min_sk_prob`` loop). The arguments are not used."""
        net = self.supernet  # type: ignore[attr-defined]
        w = self.arch_weights()  # type: ignore[attr-defined]
        arch = net.arch_from_weights(w)
        if self.max_skip is None or "skip_connect" not in net.ops:
            return arch  # type: ignore[no-any-return]
        col = list(net.ops).index("skip_connect")
        normal = list(net.edge_groups[0])
        while True:
            chosen = [e for e in normal if net.path_weights(arch)[e, col] > 0]
            if len(chosen) <= self.max_skip:
                return arch  # type: ignore[no-any-return]
            weakest = min(chosen, key=lambda e: (w[e, col], e))
            w[weakest, col] = 0.0
            arch = net.arch_from_weights(w)

    def _progress_state(self) -> dict[str, Any]:
        return {**super()._progress_state(), "key": self._key}

    def _load_progress(self, progress: Mapping[str, Any]) -> None:
        super()._load_progress(progress)
        self._key = int(progress["key"])

    def _pdarts_config(self) -> dict[str, Any]:
        return {**self._progress_config(), "add_depth": list(self.add_depth),
                "drop_rates": list(self.drop_rates), "max_skip": self.max_skip,
                "arch_grad_clip": self.arch_grad_clip}


@SUPERNET_METHODS.register("pdarts")
class PDARTS(_PDARTSBase, DARTS):
    """P-DARTS (Chen et al., 2019): progressive first-order DARTS, see :mod:`~nasrank.oneshot.
    _pdarts` for the schedule and its defaults. Published: 2.50 % CIFAR-10 test error on the
    DARTS space (seed 002 Tab. 4.8).

    Each :meth:`step` (after the stage's warm-up) takes an Adam step of ``alpha`` on the
    validation minibatch (gradient clipped to ``arch_grad_clip``), then an SGD step of the weights
    on the training minibatch; during the warm-up only the weight step. Skip dropout is on during
    both.

    Args:
        stage_epochs: Epochs of each stage ((25, 25, 25)); a run of another length is scaled.
        warmup_epochs: Epochs per stage without architecture updates (10).
        keep: Operations per edge kept at each stage change (DARTS (5, 3); NB201 (4, 3)).
        add_depth: Depth added to the configured one in each stage (DARTS (0, 6, 12) cells;
            NB201 (0, 1, 2) cells per stage).
        drop_rates: Skip-connection dropout rate of each stage ((0.1, 0.4, 0.7)).
        max_skip: Most skip connections in the normal cell of the derived genotype (DARTS 2;
            NB201 ``None``: no cap); ``"default"`` picks the space's.
        arch_grad_clip: Norm the architecture gradient is clipped to (5; ``None``: none).
        space, seed, supernet_config, num_classes, in_channels, lr, momentum, nesterov,
        weight_decay, grad_clip, arch_lr, arch_betas, arch_weight_decay, hessian: see
            :class:`~nasrank.oneshot.DifferentiableMethod` (DARTS' default supernet here
            includes ``none``).

    Example:
        >>> import torch
        >>> from nasrank.oneshot import create_supernet_method
        >>> m = create_supernet_method("pdarts", "nb201", supernet_config={"C": 2, "N": 1},
        ...                            stage_epochs=[1, 1, 1], warmup_epochs=0)
        >>> b = (torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,)))
        >>> for e in range(3):
        ...     m.begin_epoch(e, 3); _ = m.step(b, b)
        ...     print(m.stage, m.supernet.N, None if m.mask is None else int(m.mask[0].sum()))
        0 1 None
        1 2 4
        2 3 3
    """

    name: ClassVar[str] = "pdarts"
    needs_validation: ClassVar[bool] = True

    def __init__(self, space: str | SearchSpace = "nb201", seed: int = 0,
                 supernet_config: Mapping[str, Any] | None = None, num_classes: int = 10,
                 in_channels: int = 3, lr: float = 0.025, momentum: float = 0.9,
                 nesterov: bool = False, weight_decay: float = 3e-4,
                 grad_clip: float | None = 5.0, arch_lr: float = 6e-4,
                 arch_betas: Sequence[float] = (0.5, 0.999), arch_weight_decay: float = 1e-3,
                 hessian: bool = False, stage_epochs: Sequence[int] = (25, 25, 25),
                 warmup_epochs: int = 10, keep: Sequence[int] | None = None,
                 add_depth: Sequence[int] | None = None,
                 drop_rates: Sequence[float] = (0.1, 0.4, 0.7),
                 max_skip: int | None | str = "default", arch_grad_clip: float | None = 5.0
                 ) -> None:
        _check_space(space)
        DifferentiableMethod.__init__(
            self, space, seed, _default_supernet_config(space, supernet_config), num_classes,
            in_channels, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
            grad_clip=grad_clip, arch_lr=arch_lr, arch_betas=arch_betas,
            arch_weight_decay=arch_weight_decay, hessian=hessian)
        self._setup_pdarts(stage_epochs, warmup_epochs, keep, add_depth, drop_rates, max_skip,
                           arch_grad_clip)

    def begin_epoch(self, epoch: int, epochs: int) -> None:
        """Enter the epoch's stage (building its supernet at a stage change)."""
        with self._dropping(phase=1):
            super().begin_epoch(epoch, epochs)

    def step(self, batch: Batch, val_batch: Batch | None = None) -> dict[str, Any]:
        """During a warm-up: one SGD step of the weights on ``batch``; else the DARTS step
        (architecture on ``val_batch``, then weights on ``batch``); skip dropout on.

        Returns:
            ``{"loss", "val_loss" (not during the warm-up), "arch": None, "archs": []}``.
        """
        with self._dropping(phase=0):
            out = self._gated_step(batch, val_batch)
            return out if out is not None else DARTS.step(self, batch, val_batch)

    def config(self) -> dict[str, Any]:
        return {**DARTS.config(self), **self._pdarts_config()}


@SUPERNET_METHODS.register("pdarts-sotl")
class PDARTSSoTL(_PDARTSBase, SoTLDARTS):
    """SoTL-PDARTS (seed 002 §3.3.4, §4.3.3; Tab. 4.8: 3.19 % best CIFAR-10 test error): the
    stages, pruning, skip dropout and skip cap of :class:`PDARTS` with the architecture gradient
    of :class:`~nasrank.oneshot.SoTLDARTS` (sum of the first-order training-loss gradients over
    ``inner_steps`` unrolled steps, then reset and re-training). Windows close at every epoch
    boundary (before a stage change); the warm-up epochs take plain SGD steps. No validation
    data. The reference's architecture-gradient clipping is kept (``arch_grad_clip`` = 5) --
    how the SoTL adaptation treated it is not published **[our choice]**.

    Args:
        inner_steps: K, minibatches per architecture update.
        retrain: Reset and re-train the weights after each update.
        **kwargs: see :class:`PDARTS`.

    Example:
        >>> import torch
        >>> from nasrank.oneshot import create_supernet_method
        >>> m = create_supernet_method("pdarts-sotl", "nb201", supernet_config={"C": 2, "N": 1},
        ...                            inner_steps=2, warmup_epochs=0)
        >>> b = (torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,)))
        >>> _ = [m.step(b) for _ in range(2)]; m.arch_updates, m.needs_validation
        (1, False)
    """

    name: ClassVar[str] = "pdarts-sotl"
    needs_validation: ClassVar[bool] = False

    def __init__(self, space: str | SearchSpace = "nb201", seed: int = 0,
                 supernet_config: Mapping[str, Any] | None = None, num_classes: int = 10,
                 in_channels: int = 3, lr: float = 0.025, momentum: float = 0.9,
                 nesterov: bool = False, weight_decay: float = 3e-4,
                 grad_clip: float | None = 5.0, arch_lr: float = 6e-4,
                 arch_betas: Sequence[float] = (0.5, 0.999), arch_weight_decay: float = 1e-3,
                 hessian: bool = False, inner_steps: int = 100, retrain: bool = True,
                 stage_epochs: Sequence[int] = (25, 25, 25), warmup_epochs: int = 10,
                 keep: Sequence[int] | None = None, add_depth: Sequence[int] | None = None,
                 drop_rates: Sequence[float] = (0.1, 0.4, 0.7),
                 max_skip: int | None | str = "default", arch_grad_clip: float | None = 5.0
                 ) -> None:
        _check_space(space)
        SoTLDARTS.__init__(
            self, space, seed, _default_supernet_config(space, supernet_config), num_classes,
            in_channels, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
            grad_clip=grad_clip, arch_lr=arch_lr, arch_betas=arch_betas,
            arch_weight_decay=arch_weight_decay, hessian=hessian, inner_steps=inner_steps,
            retrain=retrain)
        self._setup_pdarts(stage_epochs, warmup_epochs, keep, add_depth, drop_rates, max_skip,
                           arch_grad_clip)

    def begin_epoch(self, epoch: int, epochs: int) -> None:
        """Close the previous epoch's window (skip dropout on, at that epoch's rate), then enter
        the epoch's stage (building its supernet at a stage change)."""
        with self._dropping(phase=1):
            super().begin_epoch(epoch, epochs)

    def step(self, batch: Batch, val_batch: Batch | None = None) -> dict[str, Any]:
        """During a warm-up: one SGD step on ``batch``; else one unrolled step of the window
        (``val_batch`` is ignored); skip dropout on.

        Returns:
            ``{"loss", "arch": None, "archs": []}``.
        """
        with self._dropping(phase=0):
            out = self._gated_step(batch, None)
            return out if out is not None else SoTLDARTS.step(self, batch, None)

    def config(self) -> dict[str, Any]:
        return {**SoTLDARTS.config(self), **self._pdarts_config()}
