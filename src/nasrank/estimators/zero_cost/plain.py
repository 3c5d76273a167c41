"""``plain``: sum of W * dL/dW (signed)."""

from __future__ import annotations

from typing import ClassVar

import torch

from .._registries import PROXIES
from ._core import Proxy, ProxyContext, host_sum

__all__ = ["Plain"]


@PROXIES.register("plain")
class Plain(Proxy):
    """Sum over Conv2d/Linear weights of w * dL/dw, signed (first-order Taylor saliency).

    BatchNorm in train mode; published batch size 64. Its sign is not established by its
    publication (the zero-cost paper lists it as a baseline); ``higher_is_better`` follows the
    other gradient saliencies (True), but its rank correlation with NAS-Bench-201 accuracy is
    weak (|rho| < 0.2 in ``validation/zero_cost_nb201.py``), so treat its sign as uncertain.

    Example:
        >>> import torch, nasrank
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.eye(2))
        >>> x, y = torch.tensor([[1.0, 0.0]]), torch.tensor([0])
        >>> round(nasrank.compute_proxies(net, (x, y), ["plain"])["plain"], 4)  # -(1 - softmax)
        -0.2689
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 64
    needs = frozenset({"grad"})

    def compute(self, ctx: ProxyContext) -> float:
        sp = ctx.shared()
        assert sp.grads is not None
        with torch.no_grad():
            return host_sum((w.double() * g.double()).sum() for w, g in zip(sp.weights, sp.grads, strict=True))
