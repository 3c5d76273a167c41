"""``flops``: multiply-accumulates of one forward pass, in millions (data-free baseline)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from .._registries import PROXIES
from ._core import Proxy, ProxyContext

__all__ = ["Flops", "count_macs"]


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one forward pass of one input of ``input_shape`` (C, H, W, ...).

    Counts Conv2d and Linear layers that actually run (plus one per bias element, the convention
    of NAS-Bench-201's counter); BatchNorm, pooling, activations and additions are free.

    Example:
        >>> count_macs(nn.Linear(3, 2), (3,))
        8
    """
    total = 0

    def hook(m: nn.Module, inp: Any, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(m, nn.Conv2d):
            per_out = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
            total += out[0].numel() * per_out + (out[0].numel() if m.bias is not None else 0)
        else:
            total += out[0].numel() * m.in_features + (out[0].numel() if m.bias is not None else 0)

    handles = [
        m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    p = next(iter(model.parameters()), None)
    x = torch.zeros((1, *input_shape), device=p.device if p is not None else None,
                    dtype=p.dtype if p is not None else None)
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return total


@PROXIES.register("flops")
class Flops(Proxy):
    """Multiply-accumulates of one forward pass of one input, in millions.

    Counts Conv2d/Linear layers that run (operations a network skips, such as nasrank's dead NB201
    operations, do not count; ``NB201Space.flops`` gives the benchmark's figure, which counts
    them). Input shape taken from the batch; no data used; higher is better.

    Example:
        >>> import torch, nasrank
        >>> net = torch.nn.Linear(3, 2)
        >>> nasrank.compute_proxies(net, (torch.zeros(1, 3), torch.zeros(1, dtype=torch.long)), ["flops"])
        {'flops': 8e-06}
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "eval"
    batch_size: ClassVar[int | None] = None

    def compute(self, ctx: ProxyContext) -> float:
        net = ctx.copy_model(train=False)
        return count_macs(net, tuple(ctx.inputs.shape[1:])) / 1e6
