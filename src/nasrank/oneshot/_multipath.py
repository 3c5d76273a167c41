"""Multi-path supernet training: several paths per step, one optimiser update.

* ``multipath`` (:class:`MultiPath`) — ``paths`` architectures drawn uniformly per step, their
  gradients averaged (``reduction="mean"``), as MultiPath in seed 002 ch. 4.2 (k = 4);
* ``fairnas`` (:class:`FairNAS`) — strict fairness (Chu et al., 2021): the step's paths
  (:class:`~nasrank.oneshot.FairPath`) use every operation of every edge exactly once, their
  gradients are accumulated (``reduction="sum"``, as in FairNAS) and one update follows.

Every path runs on the step's minibatch; an operation no path uses gets no gradient and does not
change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from .._validate import check_int
from ..exceptions import ConfigError
from ..spaces.base import SearchSpace
from ._methods import SUPERNET_METHODS, Arch, PathMethod
from ._params import FairPath, UniformPath

__all__ = ["MultiPath", "FairNAS"]


def _reduction(reduction: Any) -> str:
    if reduction not in ("mean", "sum"):
        raise ConfigError(f"`reduction` must be 'mean' (average the paths' gradients) or 'sum' "
                          f"(accumulate them), got {reduction!r}")
    return str(reduction)


@SUPERNET_METHODS.register("multipath")
class MultiPath(PathMethod):
    """MultiPath: ``paths`` uniformly drawn architectures per step, gradients combined, one
    SGD update.

    Args:
        paths: Architectures per step (drawn independently with :class:`UniformPath`).
        reduction: ``"mean"`` (the gradient of the mean of the paths' losses) or ``"sum"``.
        **kwargs: The parameters of :class:`~nasrank.oneshot.PathMethod` (space, seed,
            supernet_config, num_classes, in_channels, lr, momentum, nesterov, weight_decay,
            candidates).

    Example:
        >>> import torch
        >>> from nasrank.oneshot import create_supernet_method
        >>> m = create_supernet_method("multipath", "nb201", supernet_config={"C": 2, "N": 1})
        >>> out = m.step((torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])))
        >>> len(out["archs"]), out["arch"]
        (4, None)
    """

    name: ClassVar[str] = "multipath"

    def __init__(self, space: str | SearchSpace = "nb201", seed: int = 0,
                 supernet_config: Mapping[str, Any] | None = None, num_classes: int = 10,
                 in_channels: int = 3, lr: float = 0.025, momentum: float = 0.9,
                 nesterov: bool = True, weight_decay: float = 5e-4, candidates: int = 10,
                 paths: int = 4, reduction: str = "mean") -> None:
        super().__init__(space, seed, supernet_config, num_classes, in_channels, lr=lr,
                         momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                         candidates=candidates)
        self.paths = check_int("paths", paths, 1)
        self.reduction = _reduction(reduction)
        self._scale = 1.0 / self.paths if self.reduction == "mean" else 1.0
        self.sampler = UniformPath(self.supernet)

    def sample_paths(self) -> list[Arch]:
        """``paths`` architectures drawn uniformly (independently)."""
        return [self.sampler.sample_archs(self.rng)[0] for _ in range(self.paths)]

    def config(self) -> dict[str, Any]:
        return {**super().config(), "paths": self.paths, "reduction": self.reduction}


@SUPERNET_METHODS.register("fairnas")
class FairNAS(PathMethod):
    """FairNAS (strict fairness): each step trains the :class:`FairPath` paths, which use every
    operation of every edge exactly once (|O| paths), accumulating their gradients before one
    SGD update.

    In spaces where positions have fewer choices than the widest one (DARTS inputs), FairPath
    keeps the operations fair and repairs the topology (see :class:`~nasrank.oneshot.FairPath`).

    Args:
        reduction: ``"sum"`` (FairNAS: accumulated gradients) or ``"mean"``.
        **kwargs: The parameters of :class:`~nasrank.oneshot.PathMethod`.

    Example:
        >>> import torch
        >>> from nasrank.oneshot import create_supernet_method
        >>> m = create_supernet_method("fairnas", "nb201", supernet_config={"C": 2, "N": 1})
        >>> out = m.step((torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])))
        >>> sorted(a[0] for a in out["archs"])  # edge 0 runs each of the 5 operations once
        [0, 1, 2, 3, 4]
    """

    name: ClassVar[str] = "fairnas"

    def __init__(self, space: str | SearchSpace = "nb201", seed: int = 0,
                 supernet_config: Mapping[str, Any] | None = None, num_classes: int = 10,
                 in_channels: int = 3, lr: float = 0.025, momentum: float = 0.9,
                 nesterov: bool = True, weight_decay: float = 5e-4, candidates: int = 10,
                 reduction: str = "sum") -> None:
        super().__init__(space, seed, supernet_config, num_classes, in_channels, lr=lr,
                         momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                         candidates=candidates)
        self.reduction = _reduction(reduction)
        self.sampler = FairPath(self.supernet)
        self._scale = 1.0 / self.sampler.m if self.reduction == "mean" else 1.0

    def sample_paths(self) -> list[Arch]:
        """The ``m`` fair paths of one step (``m``: the most choices of a position)."""
        return self.sampler.sample_archs(self.rng)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "reduction": self.reduction}
