"""``grad_norm``: sum over layers of the L2 norm of the loss gradient of the layer's weight."""

from __future__ import annotations

from typing import ClassVar

from .._registries import PROXIES
from ._core import Proxy, ProxyContext, host_sum

__all__ = ["GradNorm"]


@PROXIES.register("grad_norm")
class GradNorm(Proxy):
    """Sum over Conv2d/Linear layers of ||dL/dW||_2 (Abdelfattah et al., 2021).

    The per-layer Frobenius norms are summed (not the norm of the concatenated gradient), as in
    the reference ``foresight`` code. BatchNorm in train mode; higher is better; published batch
    size 64.

    Example:
        >>> import torch, nasrank
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.zero_()
        >>> x, y = torch.tensor([[1.0, 0.0]]), torch.tensor([0])
        >>> round(nasrank.compute_proxies(net, (x, y), ["grad_norm"])["grad_norm"], 4)
        0.7071
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 64
    needs = frozenset({"grad"})

    def compute(self, ctx: ProxyContext) -> float:
        grads = ctx.shared().grads
        assert grads is not None
        return host_sum(g.double().norm() for g in grads)
