"""``nwot``: NASWOT, log|det| of the ReLU activation-pattern kernel."""

from __future__ import annotations

from typing import ClassVar

import torch

from .. import PROXIES
from ._core import Proxy, ProxyContext

__all__ = ["Nwot", "naswot_kernel"]


def naswot_kernel(codes: list[tuple[torch.Tensor, int]]) -> torch.Tensor:
    """K = sum over layers of (agreements between binary ReLU patterns), float64, N x N.

    Args:
        codes: ``(relu_input, multiplicity)`` pairs; a unit is active where the input is > 0.

    Example:
        >>> k = naswot_kernel([(torch.tensor([[1.0, -1.0], [1.0, 1.0]]), 1)])
        >>> k.tolist()
        [[2.0, 1.0], [1.0, 2.0]]
    """
    n = codes[0][0].shape[0]
    K = torch.zeros(n, n, dtype=torch.float64, device=codes[0][0].device)
    for t, mult in codes:
        c = (t.reshape(n, -1) > 0).to(torch.float32)
        units = c.shape[1]
        s = c.sum(1)
        # agreements = c c^T + (1-c)(1-c)^T = units - s_i - s_j + 2 c c^T (exact in float32 for
        # fewer than 2**23 units per layer: every entry is an integer)
        k = 2.0 * (c @ c.T) - s[:, None] - s[None, :] + units
        K += mult * k.double()
    return K


@PROXIES.register("nwot")
class Nwot(Proxy):
    """log|det K| of the NASWOT kernel on ReLU inputs (Mellor et al., 2021).

    K[i, j] counts the ReLU units where samples i and j are on the same side of zero, summed over
    every ReLU (its input is binarised as input > 0); the score is ``slogdet(K)``'s log-abs-det
    (sign dropped). NaN when K is singular (e.g. a cell with no path from input to output).

    Args:
        visited_only: ``True`` (default, the original NASWOT code behind the published numbers)
            counts only ReLUs reached by a backward pass of the summed outputs; ``False`` counts
            every ReLU that ran in the forward pass (NASLib ``nwot``, Zero-Cost-PT). On nasrank's
            NB201 networks both give the same value (operations that cannot reach the output are
            not executed at all).

    BatchNorm in train mode (the original scores freshly built networks in their default mode);
    published batch size 128; higher is better.

    Example:
        >>> import torch, nasrank
        >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
        >>> x, y = torch.randn(4, 3), torch.randint(0, 2, (4,))
        >>> s = nasrank.compute_proxies(net, (x, y), ["nwot"])["nwot"]
        >>> s > 0 or s != s
        True
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 128
    needs = frozenset({"relu_visited"})

    def __init__(self, visited_only: bool = True) -> None:
        self.visited_only = bool(visited_only)

    def needs_for(self) -> frozenset[str]:
        return frozenset({"relu_visited"}) if self.visited_only else frozenset({"relu"})

    def compute(self, ctx: ProxyContext) -> float:
        sp = ctx.shared()
        groups: dict[tuple, list] = {}
        for t, visited in sp.relu_inputs:
            if self.visited_only and not visited:
                continue
            key = (t.data_ptr(), tuple(t.shape), t.stride())
            if key in groups:
                groups[key][1] += 1
            else:
                groups[key] = [t, 1]
        if not groups:
            return float("nan")
        K = naswot_kernel([(t, m) for t, m in groups.values()])
        sign, logdet = torch.linalg.slogdet(K)
        if sign.item() == 0:
            return float("nan")
        return float(logdet.item())
