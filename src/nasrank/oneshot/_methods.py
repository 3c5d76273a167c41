"""Supernet (one-shot) training methods: a registry, the method protocol and the shared
path-training base.

A method owns the supernet of a space, trains it one minibatch at a time (:meth:`~SupernetMethod.step`),
saves and restores its whole state (:meth:`~SupernetMethod.state_dict` /
:meth:`~SupernetMethod.load_state_dict`: a restored method continues exactly as the original would
have), rebuilds itself from its :meth:`~SupernetMethod.config`, and derives an architecture of the
space (:meth:`~SupernetMethod.derive`). Registered methods (:data:`SUPERNET_METHODS`) pass
:func:`nasrank.testing.supernets.check_supernet_method`.

Every registered method trains *paths* (architectures of the space run as single paths of the
supernet) with SGD over all supernet weights except the architecture parameters ``alpha``
(:class:`PathMethod`; NAS-Bench-201 search-protocol defaults: lr 0.025, Nesterov momentum 0.9,
weight decay 5e-4). The operations no path of a step uses are not executed, get no gradient and
are not changed by that step (not even by weight decay or momentum).

* ``spos`` — Single-Path One-Shot / RandNAS (Guo et al., 2020; Li & Talwalkar, 2019): one
  architecture drawn uniformly (:class:`~nasrank.oneshot.UniformPath`) per step;
* ``multipath`` — ``paths`` (4) uniform architectures per step, gradients averaged, one update
  (:class:`~nasrank.oneshot.MultiPath`);
* ``fairnas`` — strict fairness (Chu et al., 2021): :class:`~nasrank.oneshot.FairPath` paths that
  use every operation of every edge exactly once, gradients summed, one update
  (:class:`~nasrank.oneshot.FairNAS`);
* ``reptile``, ``metaprox``, ``multipath+metaprox`` — first-order meta-learning with paths as tasks
  (seed 002 Alg. 4; :class:`~nasrank.oneshot.Reptile`, :class:`~nasrank.oneshot.Metaprox`,
  :class:`~nasrank.oneshot.MultiPathMetaprox`).

``derive`` (every method) returns the best of ``candidates`` sampled architectures by a given
score or by the supernet's loss on a validation batch.
"""

from __future__ import annotations

import contextlib
import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from .._registry import Registry, check_params
from .._validate import check_float, check_int
from ..exceptions import ConfigError, NasrankError
from ..execution import autocast, grad_scaler, resolve_precision
from ..spaces import SPACES
from ..spaces.base import SearchSpace
from ._params import UniformPath

__all__ = ["SUPERNET_METHODS", "SupernetMethod", "SGDLearningRate", "PathMethod", "SPOS", "create_supernet_method",
           "list_supernet_methods"]

Arch = tuple[int, ...]
Batch = tuple[torch.Tensor, torch.Tensor]

#: Supernet training methods (classes), by name.
SUPERNET_METHODS: Registry[type[SupernetMethod]] = Registry("supernet method")


def _space(space: str | SearchSpace) -> SearchSpace:
    sp = SPACES.get(space)() if isinstance(space, str) else space
    if not isinstance(sp, SearchSpace):
        raise ConfigError(f"`space` must be a space name or a SearchSpace, got {type(space).__name__}")
    if not sp.has_supernet:
        with_one = [n for n in SPACES.list() if SPACES.get(n)().has_supernet]
        raise ConfigError(f"space {sp.name!r} has no weight-sharing supernet; spaces with one: "
                          f"{', '.join(with_one)}")
    return sp


def _best(values: Sequence[float]) -> int:
    v = np.array([x if math.isfinite(x) else -np.inf for x in values])
    return int(np.argmax(v))


class SupernetMethod(ABC):
    """Base class of supernet training methods.

    The constructor builds the space's supernet with ``supernet_config`` (default
    ``space.default_config("search")``) under ``torch.manual_seed(seed)``, and seeds the
    method's own generator :attr:`rng` (architecture draws) with ``seed``. Subclasses implement
    :meth:`step` and :meth:`set_lr`, extend :meth:`config` with their parameters, and
    :meth:`_state` / :meth:`_load_state` with their own state (e.g. an optimiser's).
    :class:`PathMethod` does all of that for methods that train sampled paths with SGD.

    Args:
        space: A space name or instance with a supernet.
        seed: Seed of the supernet's initial weights and of the architecture draws.
        supernet_config: Keyword arguments of ``space.supernet``.
        num_classes: Classifier outputs.
        in_channels: Image channels.

    Attributes:
        supernet: The :class:`~nasrank.oneshot.Supernet` being trained.
        steps: Training steps taken.
        candidates: Architectures :meth:`derive` samples by default.
        precision: Arithmetic of the training forward passes (``"32"``, ``"bf16"`` or ``"16"``;
            :meth:`set_precision`); a run-time setting, not part of :meth:`config`.
    """

    name: ClassVar[str] = ""
    #: Whether :meth:`step` needs a validation minibatch (``val_batch``) next to the training
    #: one (bilevel differentiable searches such as DARTS); the trainer then requires a
    #: validation set.
    needs_validation: ClassVar[bool] = False
    candidates: int = 10
    precision: str = "32"

    @classmethod
    def supports(cls, space: str | SearchSpace) -> bool:
        """Whether the method applies to ``space``: it has a weight-sharing supernet (and
        whatever else a method assumes; constructing the method on a space it does not support
        raises a :class:`~nasrank.exceptions.ConfigError` that says why).

        Example:
            >>> from nasrank.oneshot import SUPERNET_METHODS
            >>> SUPERNET_METHODS.get("spos").supports("nb201")
            True
        """
        try:
            return bool(_space(space).has_supernet)
        except NasrankError:  # unknown name, no supernet: the constructor says why
            return False

    def __init__(self, space: str | SearchSpace = "nb201", seed: int = 0,
                 supernet_config: Mapping[str, Any] | None = None, num_classes: int = 10,
                 in_channels: int = 3) -> None:
        self.space = _space(space)
        self.seed = check_int("seed", seed, 0)
        self.num_classes = check_int("num_classes", num_classes, 1)
        self.in_channels = check_int("in_channels", in_channels, 1)
        self.supernet_config = dict(supernet_config if supernet_config is not None
                                    else self.space.default_config("search"))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            self.supernet = self.space.supernet(num_classes=self.num_classes,
                                                in_channels=self.in_channels,
                                                **self.supernet_config)
        self.rng = np.random.default_rng(self.seed)
        self.steps = 0
        self.precision = "32"

    @classmethod
    def supports_precision(cls, precision: str) -> bool:
        """Whether the method trains in ``precision``: every method trains in ``"32"`` and
        ``"bf16"``; ``"16"`` needs loss scaling, which only methods with one optimiser step over
        plainly back-propagated losses implement (:class:`PathMethod` when it keeps its
        :meth:`~PathMethod._gradients`).

        Example:
            >>> from nasrank.oneshot import SUPERNET_METHODS
            >>> [SUPERNET_METHODS.get(n).supports_precision("16") for n in ("spos", "reptile", "darts")]
            [True, False, False]
        """
        return resolve_precision(precision) != "16"

    def set_precision(self, precision: str) -> None:
        """Train the next steps under ``precision`` (``"32"``, ``"bf16"``: bfloat16 autocast,
        ``"16"``: float16 autocast with dynamic loss scaling). Weights, optimiser state and the
        returned losses stay float32; a precision the method does not support is a one-line
        :class:`~nasrank.exceptions.ConfigError`.

        Example:
            >>> m = create_supernet_method("reptile", "nb201", supernet_config={"C": 2, "N": 1})
            >>> m.set_precision("bfloat16"); m.precision
            'bf16'
            >>> m.set_precision("16")
            Traceback (most recent call last):
            ...
            nasrank.exceptions.ConfigError: supernet method 'reptile' cannot train in precision 16 (its updates have no loss scaling): use precision bf16
        """
        p = resolve_precision(precision)
        if not self.supports_precision(p):
            raise ConfigError(f"supernet method {self.name!r} cannot train in precision {p} (its updates have no "
                              "loss scaling): use precision bf16")
        if p != self.precision:
            self._scaler = None
        self.precision = p

    @property
    def device(self) -> torch.device:
        """The device of the supernet's parameters.

        Example:
            >>> create_supernet_method("spos", "nb201", supernet_config={"C": 2, "N": 1}).device
            device(type='cpu')
        """
        first = next(iter(self.supernet.parameters()), None)
        return first.device if first is not None else torch.device("cpu")

    def to(self, device: str | torch.device) -> SupernetMethod:
        """Move the method (supernet weights and buffers, optimiser state) to ``device``
        (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"``; an unavailable one is a
        one-line :class:`~nasrank.exceptions.ConfigError`); returns the method.

        Example:
            >>> m = create_supernet_method("spos", "nb201", supernet_config={"C": 2, "N": 1})
            >>> m.to("cpu").device
            device(type='cpu')
        """
        from ..execution import resolve_device

        dev = resolve_device(device)
        if self.device != dev:
            state = self.state_dict()
            self.supernet.to(dev)
            self._scaler = None  # a loss scaler lives on one device: restored anew from the state
            self.load_state_dict(state)  # re-homes the optimiser state on the parameters' device
        return self

    def _autocast(self) -> contextlib.AbstractContextManager:
        """Autocast of the training forward passes in :attr:`precision` (no-op for ``"32"``)."""
        return autocast(self.device, self.precision)

    def _grad_scaler(self) -> Any:
        """The loss scaler of precision ``"16"`` (created on first use on the supernet's device),
        else ``None``."""
        if self.precision != "16":
            return None
        scaler = getattr(self, "_scaler", None)
        if scaler is None:
            scaler = self._scaler = grad_scaler(self.device, "16")
        return scaler

    @abstractmethod
    def step(self, batch: Batch, val_batch: Batch | None = None) -> dict[str, Any]:
        """One training step on ``batch``; returns ``{"loss": float, "arch": arch or None,
        "archs": [arch, ...]}`` (``archs``: the paths trained, empty for a mixture of all of
        them; ``arch``: the path when there is exactly one). ``val_batch`` is a validation
        minibatch for methods with :attr:`needs_validation` (ignored by the others); such a step
        may also return ``"val_loss"``."""

    def begin_epoch(self, epoch: int, epochs: int) -> None:  # noqa: B027  (optional hook)
        """Called by the trainer at the start of every (0-based) ``epoch`` of ``epochs``, before
        the epoch's learning rate is set. Progressive methods change stage here (the stage is
        part of their state); the default does nothing."""

    def epoch_info(self, batch: Batch | None = None) -> dict[str, Any]:
        """JSON-able facts recorded in the trainer's history after every epoch (``batch``: a
        fixed probe minibatch, e.g. for a Hessian eigenvalue); default none."""
        return {}

    @abstractmethod
    def set_lr(self, lr: float) -> None:
        """Set the learning rate of the (outer) optimiser for the next steps."""

    def derive(self, batch: Batch | None = None, score: Callable[[Arch], float] | None = None,
               candidates: int | None = None) -> Arch:
        """The best of ``candidates`` (default :attr:`candidates`) sampled architectures.

        The candidates come from a generator seeded by ``(seed, steps)``: ``derive`` neither
        depends on nor disturbs the training draws, and changes nothing.

        Args:
            batch: Validation minibatch: candidates are ranked by :meth:`path_loss` (lower wins).
            score: ``score(arch) -> float``, higher is better (used instead of ``batch``).
            candidates: Number of architectures to sample.

        Example:
            >>> m = create_supernet_method("spos", "nb201", supernet_config={"C": 2, "N": 1})
            >>> m.derive(score=lambda a: -sum(a), candidates=3)
            (0, 0, 1, 0, 1, 3)
        """
        if score is None and batch is None:
            raise ConfigError("derive() needs `batch` (a validation minibatch) or `score` "
                              "(a callable arch -> value, higher is better)")
        n = self.candidates if candidates is None else check_int("candidates", candidates, 1)
        gen = np.random.default_rng([self.seed, self.steps, 1])
        archs = list(dict.fromkeys(self.space.sample(gen) for _ in range(n)))
        if score is not None:
            values = [float(score(a)) for a in archs]
        else:
            assert batch is not None
            values = [-self.path_loss(a, batch) for a in archs]
        return archs[_best(values)]

    def state_dict(self) -> dict[str, Any]:
        """Everything a restored method needs to continue identically (a deep copy)."""
        state = {"name": self.name, "steps": self.steps, "rng": self.rng.bit_generator.state,
                 "supernet": self.supernet.state_dict(), **self._state()}
        return copy.deepcopy(state)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` of a method of the same name and configuration."""
        if state.get("name") != self.name:
            raise ConfigError(f"state of supernet method {state.get('name')!r} cannot be loaded "
                              f"into {self.name!r}")
        state = copy.deepcopy(dict(state))
        self.supernet.load_state_dict(state["supernet"])
        self.rng.bit_generator.state = state["rng"]
        self.steps = int(state["steps"])
        self._load_state(state)

    def _state(self) -> dict[str, Any]:
        return {}

    def _load_state(self, state: Mapping[str, Any]) -> None:  # noqa: B027  (optional hook)
        pass

    def config(self) -> dict[str, Any]:
        """The method's configuration (JSON-able): ``create_supernet_method(cfg["name"],
        cfg["space"], seed=cfg["seed"], **rest)`` rebuilds an identical method."""
        return {"name": self.name, "space": self.space.name, "seed": self.seed,
                "supernet_config": dict(self.supernet_config), "num_classes": self.num_classes,
                "in_channels": self.in_channels}

    def path_loss(self, arch: Sequence[int], batch: Batch) -> float:
        """Cross-entropy of the supernet's path of ``arch`` on ``batch``, BatchNorm on the
        batch's statistics (the supernet's running statistics mix every path), nothing changed.

        Example:
            >>> import torch
            >>> m = create_supernet_method("spos", "nb201", supernet_config={"C": 2, "N": 1})
            >>> b = (torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3]))
            >>> m.path_loss((3, 3, 0, 1, 3, 4), b) > 0
            True
        """
        x, y = batch
        net = self.supernet
        buffers = {k: v.clone() for k, v in net.named_buffers()}
        was_training = net.training
        net.train()
        try:
            with torch.no_grad():
                loss = F.cross_entropy(net(x, net.run_weights(arch)), y)
        finally:
            with torch.no_grad():
                for k, v in net.named_buffers():
                    v.copy_(buffers[k])
            net.train(was_training)
        return float(loss)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(space={self.space.name!r}, seed={self.seed}, steps={self.steps})"


class SGDLearningRate:
    """The learning rate of a method's weight optimiser (``self.optimizer``): shared by the path
    methods and the differentiable searches (whose architecture optimiser keeps its own)."""

    optimizer: torch.optim.Optimizer

    @property
    def current_lr(self) -> float:
        """The optimiser's learning rate for the next step (:attr:`lr` until :meth:`set_lr`).

        Example:
            >>> m = create_supernet_method("spos", "nb201", supernet_config={"C": 2, "N": 1})
            >>> m.set_lr(0.01); m.current_lr, m.lr
            (0.01, 0.025)
        """
        return float(self.optimizer.param_groups[0]["lr"])

    def set_lr(self, lr: float) -> None:
        """Set the optimiser's learning rate for the next steps (e.g. a per-epoch cosine
        schedule); :attr:`lr` stays the configured base rate. Part of the saved state."""
        lr = check_float("lr", lr, minimum=0.0)
        for group in self.optimizer.param_groups:
            group["lr"] = lr


class PathMethod(SGDLearningRate, SupernetMethod):
    """Base of the methods that train sampled paths of the supernet with one SGD update per step.

    A step draws its paths (:meth:`sample_paths`), computes the gradient of the step
    (:meth:`_gradients`; default: each path's cross-entropy on the step's minibatch, scaled by
    :attr:`_scale` and accumulated) and takes one step of the SGD optimiser over every supernet
    weight except the architecture parameters ``alpha``. Weights no path of the step uses get no
    gradient (``None``) and are skipped by the optimiser. Subclasses set :meth:`sample_paths`,
    and may override :meth:`_gradients` (the meta-learning methods do).

    Args:
        space: A space name or instance with a supernet.
        seed: Seed of the supernet's weights and of the path draws.
        supernet_config: Keyword arguments of ``space.supernet`` (default: ``"search"`` config).
        num_classes: Classifier outputs.
        in_channels: Image channels.
        lr: Base learning rate of the SGD optimiser (:meth:`set_lr` changes the current one).
        momentum: SGD momentum.
        nesterov: Nesterov momentum (ignored when ``momentum`` is 0).
        weight_decay: SGD weight decay (L2), applied to the weights that get a gradient.
        candidates: Architectures sampled by :meth:`derive`.

    Attributes:
        optimizer: The ``torch.optim.SGD`` optimiser (its state is part of :meth:`state_dict`).
        weights: The parameters it trains.
    """

    #: Factor of each path's loss in the accumulated gradient (1: sum; ``1 / paths``: mean).
    _scale: float = 1.0

    @classmethod
    def supports_precision(cls, precision: str) -> bool:
        # float16 loss scaling needs the plain back-propagation of :meth:`_gradients`; an override
        # (meta-learning inner loops) uses raw gradients.
        return resolve_precision(precision) != "16" or cls._gradients is PathMethod._gradients

    def __init__(self, space: str | SearchSpace = "nb201", seed: int = 0,
                 supernet_config: Mapping[str, Any] | None = None, num_classes: int = 10,
                 in_channels: int = 3, lr: float = 0.025, momentum: float = 0.9,
                 nesterov: bool = True, weight_decay: float = 5e-4, candidates: int = 10) -> None:
        super().__init__(space, seed, supernet_config, num_classes, in_channels)
        self.lr = check_float("lr", lr, minimum=0.0, exclusive_min=True)
        self.momentum = check_float("momentum", momentum, minimum=0.0, maximum=1.0)
        if not isinstance(nesterov, bool | np.bool_):
            raise ConfigError(f"`nesterov` must be true or false, got {nesterov!r}")
        self.nesterov = bool(nesterov)
        self.weight_decay = check_float("weight_decay", weight_decay, minimum=0.0)
        self.candidates = check_int("candidates", candidates, 1)
        arch_param = getattr(self.supernet, "arch_param", None)
        skip = {id(p) for p in arch_param.parameters()} if arch_param is not None else set()
        self.weights = [p for p in self.supernet.parameters() if id(p) not in skip]
        self.optimizer = torch.optim.SGD(self.weights, lr=self.lr, momentum=self.momentum,
                                         nesterov=self.nesterov and self.momentum > 0,
                                         weight_decay=self.weight_decay)

    @abstractmethod
    def sample_paths(self) -> list[Arch]:
        """The architectures (paths) of the next step, drawn with :attr:`rng`."""

    def step(self, batch: Batch, val_batch: Batch | None = None) -> dict[str, Any]:
        """Train the step's paths on ``batch`` with one optimiser update (``val_batch`` unused).

        Returns:
            ``{"loss": mean cross-entropy of the paths (before the update), "arch": the path if
            there is one, else None, "archs": the paths}``.
        """
        archs = self.sample_paths()
        self.supernet.train()
        self.optimizer.zero_grad(set_to_none=True)
        if type(self)._gradients is PathMethod._gradients:  # autocasts its forward passes itself
            losses = self._gradients(archs, batch)
        else:
            with self._autocast():
                losses = self._gradients(archs, batch)
        scaler = self._grad_scaler()
        if scaler is None:
            self.optimizer.step()
        else:  # skips the update when a scaled gradient overflowed, then adapts the scale
            scaler.step(self.optimizer)
            scaler.update()
        self.steps += 1
        loss = losses[0] if len(losses) == 1 else torch.stack(losses).mean()
        return {"loss": float(loss), "arch": archs[0] if len(archs) == 1 else None,
                "archs": archs}

    def _gradients(self, archs: list[Arch], batch: Batch) -> list[torch.Tensor]:
        """Write the step's gradient into ``.grad`` (zeroed: ``None``); return the paths' losses."""
        x, y = batch
        net = self.supernet
        scaler = self._grad_scaler()
        losses = []
        for arch in archs:
            with self._autocast():
                logits = net(x, net.run_weights(arch))
            loss = F.cross_entropy(logits.float(), y)
            scaled = loss if self._scale == 1.0 else loss * self._scale
            (scaled if scaler is None else scaler.scale(scaled)).backward()
            losses.append(loss.detach())
        return losses

    def _state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"optimizer": self.optimizer.state_dict()}
        scaler = getattr(self, "_scaler", None)
        if scaler is not None:
            state["grad_scaler"] = {k: v for k, v in scaler.state_dict().items()}
        return state

    def _load_state(self, state: Mapping[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        if state.get("grad_scaler") and self.precision == "16":
            self._grad_scaler().load_state_dict(dict(state["grad_scaler"]))

    def config(self) -> dict[str, Any]:
        return {**super().config(), "lr": self.lr, "momentum": self.momentum,
                "nesterov": self.nesterov, "weight_decay": self.weight_decay,
                "candidates": self.candidates}


@SUPERNET_METHODS.register("spos")
class SPOS(PathMethod):
    """Single-Path One-Shot / RandNAS: one uniformly drawn path per step, one SGD step.

    Each :meth:`step` draws an architecture uniformly from the space (:class:`UniformPath`) and
    takes one SGD step on the cross-entropy of its path; only the weights of that path (and the
    shared stem, reductions and classifier) change; ``alpha`` is not trained. Parameters: those of
    :class:`PathMethod`.

    Example:
        >>> import torch
        >>> m = create_supernet_method("spos", "nb201", seed=0, supernet_config={"C": 2, "N": 1})
        >>> b = (torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,)))
        >>> out = m.step(b)
        >>> sorted(out), out["archs"] == [out["arch"]], m.steps
        (['arch', 'archs', 'loss'], True, 1)
        >>> len(m.derive(batch=b))
        6
    """

    name: ClassVar[str] = "spos"

    def __init__(self, space: str | SearchSpace = "nb201", seed: int = 0,
                 supernet_config: Mapping[str, Any] | None = None, num_classes: int = 10,
                 in_channels: int = 3, lr: float = 0.025, momentum: float = 0.9,
                 nesterov: bool = True, weight_decay: float = 5e-4, candidates: int = 10) -> None:
        super().__init__(space, seed, supernet_config, num_classes, in_channels, lr=lr,
                         momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                         candidates=candidates)
        self.sampler = UniformPath(self.supernet)

    def sample_paths(self) -> list[Arch]:
        """One architecture drawn uniformly."""
        return self.sampler.sample_archs(self.rng)


def create_supernet_method(name: str, space: str | SearchSpace = "nb201", seed: int = 0,
                           **params: Any) -> SupernetMethod:
    """Instantiate the supernet method registered as ``name``.

    Example:
        >>> create_supernet_method("spos", "nb201", supernet_config={"C": 2, "N": 1}).name
        'spos'
        >>> create_supernet_method("spos", "nb201", lr_=0.1)
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: supernet method 'spos' has no parameter 'lr_'; its parameters: supernet_config, num_classes, in_channels, lr, momentum, nesterov, weight_decay, candidates
    """
    cls = SUPERNET_METHODS.get(name)
    check_params("supernet method", name, cls, params, skip=("space", "seed"))
    return cls(space, seed=seed, **params)


def list_supernet_methods(pattern: str | None = None) -> list[str]:
    """Names of the registered supernet methods.

    Example:
        >>> list_supernet_methods("*darts*")
        ['darts', 'darts-tse', 'darts2', 'pdarts', 'pdarts-sotl', 'sotl-darts', 'sovl-darts']
    """
    return SUPERNET_METHODS.list(pattern)
