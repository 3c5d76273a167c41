"""``fisher``: per-channel Fisher information of the layer outputs."""

from __future__ import annotations

from typing import ClassVar

import torch

from .._registries import PROXIES
from ._core import Proxy, ProxyContext

__all__ = ["Fisher"]


@PROXIES.register("fisher")
class Fisher(Proxy):
    """Sum over output channels of 1/2 mean_n (sum_spatial a * dL/da)^2, times the channel's fan-in.

    a is the Conv2d/Linear output (before BatchNorm) (Theis et al., 2018; Turner et al., 2020).
    The reference assigns each channel's value to every weight element of that channel and then
    sums all elements, so each channel counts ``C_in/groups * k_h * k_w`` times; that weighting
    is reproduced. BatchNorm in train mode; published batch size 64; higher is better.

    Example:
        >>> import torch, nasrank
        >>> net = torch.nn.Sequential(torch.nn.Linear(3, 2))
        >>> x, y = torch.randn(4, 3), torch.randint(0, 2, (4,))
        >>> nasrank.compute_proxies(net, (x, y), ["fisher"])["fisher"] >= 0
        True
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 64
    needs = frozenset({"act_grad"})

    def compute(self, ctx: ProxyContext) -> float:
        sp = ctx.shared()
        assert sp.act_grad_products is not None
        sums = [(0.5 * prod.double().pow(2).mean(0)).sum() for prod in sp.act_grad_products]
        values = torch.stack(sums).tolist() if sums else []  # one device-to-host transfer
        total = 0.0
        for m, v in zip(sp.layers, values, strict=True):
            total += v * m.weight[0].numel()
        return total
