"""``params``: number of parameters, in millions (data-free baseline)."""

from __future__ import annotations

from typing import ClassVar

from ...nn.profile import count_parameters
from .._registries import PROXIES
from ._core import Proxy, ProxyContext

__all__ = ["Params"]


@PROXIES.register("params")
class Params(Proxy):
    """Number of scalar parameters of the model, in millions (as NAS-Bench-201 reports it).

    Every parameter of the module counts, including those of operations that cannot affect the
    output (as in the benchmark's figure). No data; higher is better.

    Example:
        >>> import torch, nasrank
        >>> net = torch.nn.Linear(3, 2)
        >>> nasrank.compute_proxies(net, (torch.zeros(1, 3), torch.zeros(1, dtype=torch.long)), ["params"])
        {'params': 8e-06}
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "n/a"
    batch_size: ClassVar[int | None] = None

    def compute(self, ctx: ProxyContext) -> float:
        return count_parameters(ctx.model) / 1e6
