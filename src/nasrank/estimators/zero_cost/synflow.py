"""``synflow``: synaptic flow of the absolute-valued network on an all-ones input."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from .._registries import PROXIES
from ._core import Proxy, ProxyContext, host_sum, weight_layers

__all__ = ["Synflow", "remove_batchnorm"]


def remove_batchnorm(model: nn.Module) -> nn.Module:
    """Replace every BatchNorm module of ``model`` by ``nn.Identity`` in place; returns ``model``.

    Example:
        >>> remove_batchnorm(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)))[1]
        Identity()
    """
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())
    return model


@PROXIES.register("synflow")
class Synflow(Proxy):
    """Sum over Conv2d/Linear weights of |w * dR/dw|, R = sum(f_|theta|(1)) (Tanaka et al., 2020).

    On a private copy: BatchNorm removed (identity), every state-dict entry replaced by its
    absolute value, everything in float64, one all-ones input of shape (1, C, H, W) taken from the
    batch's shape; the data and labels are not used. The caller's signs are never touched (the
    copy is discarded), which is what the reference's sign restoration achieves. Overflow gives
    NaN. No log is applied (NASLib applies a sign-preserving log afterwards; it is monotone, so
    ranks do not change).

    Args:
        keep_bn: Keep BatchNorm (train mode) instead of removing it (``foresight``'s
            ``synflow_bn``).

    BatchNorm off; batch size 1 (an all-ones input); higher is better.

    Example:
        >>> import torch, nasrank
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 1, bias=False))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.tensor([[2.0, -3.0]]))
        >>> nasrank.compute_proxies(net, (torch.randn(5, 2), torch.zeros(5, dtype=torch.long)), ["synflow"])
        {'synflow': 5.0}
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "off"
    batch_size: ClassVar[int | None] = 1

    def __init__(self, keep_bn: bool = False) -> None:
        self.keep_bn = bool(keep_bn)

    def compute(self, ctx: ProxyContext) -> float:
        net = ctx.copy_model(train=True)
        if not self.keep_bn:
            remove_batchnorm(net)
        net = net.double()
        with torch.no_grad():
            for t in net.state_dict().values():
                if t.is_floating_point():
                    t.abs_()
        layers = weight_layers(net)
        weights = [m.weight for m in layers]
        x = torch.ones((1, *ctx.inputs.shape[1:]), dtype=torch.float64, device=ctx.device)
        r = net(x).sum()
        if not r.requires_grad:
            return 0.0
        grads = torch.autograd.grad(r, weights, allow_unused=True)
        with torch.no_grad():
            return host_sum((w * g).abs().sum() for w, g in zip(weights, grads, strict=True) if g is not None)
