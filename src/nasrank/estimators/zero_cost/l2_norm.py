"""``l2_norm``: sum over layers of the L2 norm of the weights (data-free baseline)."""

from __future__ import annotations

from typing import ClassVar

import torch

from .._registries import PROXIES
from ._core import Proxy, ProxyContext, host_sum, weight_layers

__all__ = ["L2Norm"]


@PROXIES.register("l2_norm")
class L2Norm(Proxy):
    """Sum over Conv2d/Linear layers of ||W||_2 at initialisation (no data used).

    BatchNorm irrelevant (``bn_mode="n/a"``); higher is better; no batch needed.

    Example:
        >>> import torch, nasrank
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.eye(2))
        >>> x, y = torch.zeros(1, 2), torch.zeros(1, dtype=torch.long)
        >>> round(nasrank.compute_proxies(net, (x, y), ["l2_norm"])["l2_norm"], 4)
        1.4142
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "n/a"
    batch_size: ClassVar[int | None] = None

    def compute(self, ctx: ProxyContext) -> float:
        with torch.no_grad():
            return host_sum(m.weight.double().norm() for m in weight_layers(ctx.model))
