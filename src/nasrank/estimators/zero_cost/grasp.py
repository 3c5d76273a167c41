"""``grasp``: gradient signal preservation, sum of -W * (H g)."""

from __future__ import annotations

from typing import ClassVar

import torch

from .._registries import PROXIES
from ._core import Proxy, ProxyContext, host_sum

__all__ = ["Grasp"]


@PROXIES.register("grasp")
class Grasp(Proxy):
    """Sum over Conv2d/Linear weights of -w * (H g) (GraSP, Wang et al., 2020).

    g = dL/dW and H g the Hessian-vector product, both over the Conv2d/Linear weights only
    (temperature 1, one iteration), as in the reference ``foresight`` code, whose minus sign is
    kept. BatchNorm in train mode; published batch size 64; higher is better (the reference's
    convention; on NAS-Bench-201 the signed correlation is positive).

    Example:
        >>> import torch, nasrank
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.zero_()
        >>> x, y = torch.tensor([[1.0, 0.0]]), torch.tensor([0])
        >>> nasrank.compute_proxies(net, (x, y), ["grasp"])["grasp"]  # zero weights
        0.0
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 64
    needs = frozenset({"grad", "hvp"})

    def compute(self, ctx: ProxyContext) -> float:
        sp = ctx.shared()
        assert sp.hvp is not None
        with torch.no_grad():
            return host_sum((-w.double() * h.double()).sum() for w, h in zip(sp.weights, sp.hvp, strict=True))
