"""``snip``: connection sensitivity, sum of |W * dL/dW|."""

from __future__ import annotations

from typing import ClassVar

import torch

from .._registries import PROXIES
from ._core import Proxy, ProxyContext, host_sum

__all__ = ["Snip"]


@PROXIES.register("snip")
class Snip(Proxy):
    """Sum over Conv2d/Linear weights of |w * dL/dw| (SNIP, Lee et al., 2019).

    Equals |dL/dm| for a multiplicative all-ones mask m on the weights, which is how the
    reference computes it. BatchNorm in train mode; higher is better; published batch size 64.

    Example:
        >>> import torch, nasrank
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False))
        >>> x, y = torch.randn(4, 2), torch.randint(0, 2, (4,))
        >>> nasrank.compute_proxies(net, (x, y), ["snip"])["snip"] >= 0
        True
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 64
    needs = frozenset({"grad"})

    def compute(self, ctx: ProxyContext) -> float:
        sp = ctx.shared()
        assert sp.grads is not None
        with torch.no_grad():
            return host_sum((w.double() * g.double()).abs().sum() for w, g in zip(sp.weights, sp.grads, strict=True))
