"""First-order meta-learning of the supernet: paths (architectures) as tasks (seed 002 ch. 3.4.2,
Alg. 4).

Each step draws ``paths`` tasks (architectures drawn uniformly). Per task, a copy of the weights
the path uses is adapted by ``inner_steps`` plain SGD steps (learning rate ``inner_lr``, no
momentum or weight decay) on the step's minibatch (the same minibatch at every inner step, as in
Alg. 4), starting from the supernet's (meta) weights ``theta``; Metaprox adds the proximal term
``prox / 2 * ||theta_hat - theta||^2`` to the inner loss. The meta-gradient of a task is
``(theta - theta_hat) / inner_lr`` on the weights its path uses: the *sum* of the inner steps'
gradients, i.e. Reptile's direction ``theta_hat - theta`` rescaled by the inner learning rate,
which is seed 002's approximate SoTL gradient (Eq. 3.24); the step averages it over its tasks (a
weight a task does not use contributes 0) and the outer SGD optimiser (lr / momentum / Nesterov /
weight decay, :class:`~nasrank.oneshot.PathMethod`) takes one step with it -- with the outer lr
equal to ``inner_lr`` and no momentum that is Alg. 4's ``theta <- theta + (theta_hat - theta)``.
(Averaging over the inner steps instead makes every meta-step as short as one SPOS step for
``inner_steps`` times the compute: a Metaprox supernet trained that way for 50 NB201 epochs ended
at a training loss of 2.02, SPOS's at 1.68.) With ``inner_steps=1`` and ``prox=0`` a step equals
an ``spos`` (``paths=1``) or a
``multipath`` step.

* ``reptile`` (:class:`Reptile`; Nichol et al., 2018): ``prox=0``, one task per step;
* ``metaprox`` (:class:`Metaprox`; MetaMinibatchProx, Zhou et al., 2019): ``prox=10``;
* ``multipath+metaprox`` (:class:`MultiPathMetaprox`, seed 002 Tab. 4.2): Metaprox with 4 tasks
  per step.

BatchNorm running statistics follow every forward pass, inner steps included (they are not part of
the meta-update; the estimators evaluate paths on batch statistics).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from .._validate import check_float, check_int
from ..spaces.base import SearchSpace
from ._methods import SUPERNET_METHODS, Arch, Batch, PathMethod
from ._params import UniformPath

__all__ = ["Reptile", "Metaprox", "MultiPathMetaprox"]


@SUPERNET_METHODS.register("reptile")
class Reptile(PathMethod):
    """Reptile on the supernet: per task (a uniformly drawn path) ``inner_steps`` SGD steps of
    adaptation, the meta-weights move towards the adapted ones through the outer optimiser.

    Args:
        paths: Tasks (architectures) per step (the meta-batch size).
        inner_steps: Adaptation steps per task.
        inner_lr: Learning rate of the adaptation steps (default: ``lr``; fixed, not changed by
            :meth:`set_lr`).
        prox: Coefficient ``lambda`` of the proximal term ``lambda / 2 ||theta_hat - theta||^2``
            of the inner loss (0: Reptile).
        **kwargs: The parameters of :class:`~nasrank.oneshot.PathMethod` (space, seed,
            supernet_config, num_classes, in_channels, lr, momentum, nesterov, weight_decay,
            candidates).

    Example:
        >>> import torch
        >>> from nasrank.oneshot import create_supernet_method
        >>> m = create_supernet_method("reptile", "nb201", supernet_config={"C": 2, "N": 1})
        >>> out = m.step((torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3])))
        >>> len(out["archs"]), out["arch"] == out["archs"][0], m.inner_steps, m.inner_lr
        (1, True, 4, 0.025)
    """

    name: ClassVar[str] = "reptile"

    def __init__(self, space: str | SearchSpace = "nb201", seed: int = 0,
                 supernet_config: Mapping[str, Any] | None = None, num_classes: int = 10,
                 in_channels: int = 3, lr: float = 0.025, momentum: float = 0.9,
                 nesterov: bool = True, weight_decay: float = 5e-4, candidates: int = 10,
                 paths: int = 1, inner_steps: int = 4, inner_lr: float | None = None,
                 prox: float = 0.0) -> None:
        super().__init__(space, seed, supernet_config, num_classes, in_channels, lr=lr,
                         momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                         candidates=candidates)
        self.paths = check_int("paths", paths, 1)
        self.inner_steps = check_int("inner_steps", inner_steps, 1)
        self.inner_lr = (self.lr if inner_lr is None
                         else check_float("inner_lr", inner_lr, minimum=0.0, exclusive_min=True))
        self.prox = check_float("prox", prox, minimum=0.0)
        self.sampler = UniformPath(self.supernet)

    def sample_paths(self) -> list[Arch]:
        """``paths`` architectures (tasks) drawn uniformly (independently)."""
        return [self.sampler.sample_archs(self.rng)[0] for _ in range(self.paths)]

    def _gradients(self, archs: list[Arch], batch: Batch) -> list[torch.Tensor]:
        x, y = batch
        net, weights = self.supernet, self.weights
        steps, lr, prox = self.inner_steps, self.inner_lr, self.prox
        meta: list[torch.Tensor | None] = [None] * len(weights)
        losses: list[torch.Tensor] = []
        for arch in archs:
            w = net.run_weights(arch)
            idx: list[int] = []
            theta: list[torch.Tensor] = []  # the meta-weights of the path
            gsum: list[torch.Tensor] = []  # sum of the inner steps' gradients
            for t in range(steps):
                loss = F.cross_entropy(net(x, w), y)
                loss.backward()
                with torch.no_grad():
                    if t == 0:
                        losses.append(loss.detach())
                        idx = [i for i, p in enumerate(weights) if p.grad is not None]
                        gsum = [weights[i].grad for i in idx]  # type: ignore[misc]
                        if steps > 1:
                            theta = [weights[i].detach().clone() for i in idx]
                        grads = gsum
                    else:
                        grads = []
                        for j, i in enumerate(idx):
                            p = weights[i]
                            g = p.grad if p.grad is not None else torch.zeros_like(p)
                            if prox:  # the gradient of prox / 2 ||theta_hat - theta||^2
                                g = g.add(p - theta[j], alpha=prox)
                            gsum[j].add_(g)
                            grads.append(g)
                    if t < steps - 1:  # the last step's update is not needed: theta_hat - theta
                        for j, i in enumerate(idx):  # = -inner_lr * gsum
                            weights[i].sub_(grads[j], alpha=lr)
                    for i in idx:
                        weights[i].grad = None
            with torch.no_grad():
                for j, i in enumerate(idx):
                    if steps > 1:
                        weights[i].copy_(theta[j])
                    acc = meta[i]
                    meta[i] = gsum[j] if acc is None else acc.add_(gsum[j])
        n = len(archs)
        for i, p in enumerate(weights):
            g = meta[i]
            p.grad = g if g is None or n == 1 else g.div_(n)
        return losses

    def config(self) -> dict[str, Any]:
        return {**super().config(), "paths": self.paths, "inner_steps": self.inner_steps,
                "inner_lr": self.inner_lr, "prox": self.prox}


@SUPERNET_METHODS.register("metaprox")
class Metaprox(Reptile):
    """MetaMinibatchProx on the supernet: :class:`Reptile` whose inner loss adds the proximal
    term ``prox / 2 * ||theta_hat - theta||^2`` (``prox`` = lambda = 10, seed 002), keeping the
    adapted weights near the meta-weights.

    Args:
        prox: Coefficient of the proximal term.
        **kwargs: The other parameters of :class:`Reptile` (paths=1, inner_steps=4, inner_lr, lr,
            momentum, nesterov, weight_decay, ...).

    Example:
        >>> from nasrank.oneshot import create_supernet_method
        >>> m = create_supernet_method("metaprox", "nb201", supernet_config={"C": 2, "N": 1})
        >>> m.prox, m.paths, m.inner_steps
        (10.0, 1, 4)
    """

    name: ClassVar[str] = "metaprox"

    def __init__(self, space: str | SearchSpace = "nb201", seed: int = 0,
                 supernet_config: Mapping[str, Any] | None = None, num_classes: int = 10,
                 in_channels: int = 3, lr: float = 0.025, momentum: float = 0.9,
                 nesterov: bool = True, weight_decay: float = 5e-4, candidates: int = 10,
                 paths: int = 1, inner_steps: int = 4, inner_lr: float | None = None,
                 prox: float = 10.0) -> None:
        super().__init__(space, seed, supernet_config, num_classes, in_channels, lr=lr,
                         momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                         candidates=candidates, paths=paths, inner_steps=inner_steps,
                         inner_lr=inner_lr, prox=prox)


@SUPERNET_METHODS.register("multipath+metaprox")
class MultiPathMetaprox(Metaprox):
    """MultiPath + Metaprox (seed 002 Tab. 4.2): :class:`Metaprox` with a meta-batch of
    ``paths`` = 4 tasks (uniformly drawn paths) per step, their meta-gradients averaged.

    Args:
        paths: Tasks per step.
        **kwargs: The other parameters of :class:`Metaprox`.

    Example:
        >>> from nasrank.oneshot import create_supernet_method
        >>> m = create_supernet_method("multipath+metaprox", "nb201",
        ...                            supernet_config={"C": 2, "N": 1})
        >>> m.paths, m.prox
        (4, 10.0)
    """

    name: ClassVar[str] = "multipath+metaprox"

    def __init__(self, space: str | SearchSpace = "nb201", seed: int = 0,
                 supernet_config: Mapping[str, Any] | None = None, num_classes: int = 10,
                 in_channels: int = 3, lr: float = 0.025, momentum: float = 0.9,
                 nesterov: bool = True, weight_decay: float = 5e-4, candidates: int = 10,
                 paths: int = 4, inner_steps: int = 4, inner_lr: float | None = None,
                 prox: float = 10.0) -> None:
        super().__init__(space, seed, supernet_config, num_classes, in_channels, lr=lr,
                         momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                         candidates=candidates, paths=paths, inner_steps=inner_steps,
                         inner_lr=inner_lr, prox=prox)
