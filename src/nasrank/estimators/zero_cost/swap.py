"""``swap``: SWAP, the number of distinct sample-wise ReLU activation patterns (Peng et al., ICLR 2024)."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import nn

from ...exceptions import ConfigError
from ...nn.profile import count_parameters
from .._registries import PROXIES
from ._core import Proxy, ProxyContext, gaussian_init, relu_points

__all__ = ["Swap", "count_activation_patterns", "swap_regulariser"]

_BITS = 62  # samples packed per int64 word
_TABLE_BITS = 20  # up to this many samples, distinct patterns are marked in a table of 2**N


def _pack(rows: torch.Tensor, loop: bool) -> torch.Tensor:
    """Per unit (column), the integer whose bit k is ``rows[k]`` (at most :data:`_BITS` rows).

    ``loop``: in place, one row at a time (no rows x units temporary; the CPU path); otherwise
    one reduction (one kernel instead of one per row; devices). Both give the same integers.
    """
    if loop:
        code = torch.zeros(rows.shape[1], dtype=torch.int64, device=rows.device)
        for k in range(rows.shape[0]):
            code.add_(rows[k].to(torch.int64), alpha=1 << k)
        return code
    bits = torch.tensor([1 << k for k in range(rows.shape[0])], dtype=torch.int64).to(rows.device)
    return (rows.to(torch.int64) * bits[:, None]).sum(0)


def count_activation_patterns(codes: list[torch.Tensor]) -> int:
    """Number of distinct sample-wise activation patterns over all units of ``codes``.

    Each tensor holds one layer's ReLU inputs for N samples (N x units...); a unit's pattern is
    the binary vector (input > 0) over the N samples. Patterns of every layer are pooled and the
    distinct ones counted (each packed into integers; up to 2**20 possible patterns a table of
    seen patterns is filled, otherwise ``torch.unique`` sorts them).

    Example:
        >>> t = torch.tensor([[1.0, -1.0, 2.0], [1.0, 1.0, -3.0]])  # unit patterns 11, 01, 10
        >>> count_activation_patterns([t, t])
        3
    """
    if not codes:
        return 0
    n = codes[0].shape[0]
    words = math.ceil(n / _BITS)
    device = codes[0].device
    table = torch.zeros(2 ** n, dtype=torch.bool, device=device) if n <= _TABLE_BITS else None
    packed: list[torch.Tensor] = []
    for t in codes:
        active = t.reshape(n, -1) > 0  # (N, units), no copy of the units
        cols = [_pack(active[w * _BITS : min(n, (w + 1) * _BITS)], loop=device.type == "cpu")
                for w in range(words)]
        if table is not None:
            table[cols[0]] = True
        else:
            packed.append(torch.stack(cols, 1))
    if table is not None:
        return int(table.sum().item())
    allp = torch.cat(packed, 0)
    if words == 1:
        return int(torch.unique(allp[:, 0]).numel())
    return int(torch.unique(allp, dim=0).shape[0])


def swap_regulariser(num_params: int, mu: float, sigma: float) -> float:
    """The SWAP parameter-count factor ``exp(-(P - mu)^2 / sigma)``, P in thousands of parameters.

    Example:
        >>> swap_regulariser(2000, mu=2.0, sigma=1.0)
        1.0
    """
    p = num_params / 1e3
    return math.exp(-((p - mu) ** 2) / sigma)


@PROXIES.register("swap")
class Swap(Proxy):
    """Number of distinct sample-wise activation patterns of the ReLUs (Peng et al., 2024).

    One forward pass (no gradients, BatchNorm in train mode) of the batch through a private copy;
    at every ReLU acting on a 4-D feature map the binary pattern (activation > 0) of each unit over
    the N samples is read, and the distinct patterns over all units are counted (at most 2**N).
    As in the authors' ``correlation.py`` (pym1024/SWAP), the copy is re-initialised ``repeats``
    times (Conv2d/Linear weights ~ N(0, 1), biases 0, norm layers weight 1 and bias 0; draws from
    the seed) and the counts averaged. ReLUs are read where ``nwot`` reads them
    (:func:`~nasrank.estimators.zero_cost.relu_points`: ReLU and ReLU6 modules, and the
    convolution inputs of nasrank's fused ``ReLUConvBN``; a unit read twice adds no pattern).
    NaN when no ReLU on a feature map runs.

    Args:
        repeats: Number of re-initialisations averaged (authors: 32).
        init: ``"gaussian"`` (default, the authors' re-initialisation) or ``"as-built"`` (the
            model's own weights; ``repeats`` is then irrelevant and one pass is made).
        mu, sigma: Both given: the regularised SWAP of the paper, the count multiplied by
            :func:`swap_regulariser` ``exp(-(P - mu)^2 / sigma)`` with P the number of parameters
            in thousands (``mu`` in thousands of parameters). The authors' release leaves them to
            the user (no default); ``None`` (default): plain SWAP.

    Published batch size 16; higher is better.

    Example:
        >>> import torch, nasrank
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
        ...                           torch.nn.Linear(64, 2))
        >>> x, y = torch.randn(4, 3, 6, 6), torch.zeros(4, dtype=torch.long)
        >>> 1 <= nasrank.compute_proxies(net, (x, y), ["swap"], options={"swap": {"repeats": 2}})["swap"] <= 16
        True
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 16

    def __init__(self, repeats: int = 32, init: str = "gaussian", mu: float | None = None,
                 sigma: float | None = None) -> None:
        if not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 1:
            raise ConfigError(f"`repeats` must be an int >= 1, got {repeats!r}")
        if init not in ("gaussian", "as-built"):
            raise ConfigError(f"`init` must be 'gaussian' or 'as-built', got {init!r}")
        if (mu is None) != (sigma is None):
            raise ConfigError("give both `mu` and `sigma` (the regularised SWAP) or neither")
        if sigma is not None and not sigma > 0:
            raise ConfigError(f"`sigma` must be > 0, got {sigma!r}")
        self.repeats = repeats
        self.init = init
        self.mu = None if mu is None else float(mu)
        self.sigma = None if sigma is None else float(sigma)

    def compute(self, ctx: ProxyContext) -> float:
        net = ctx.copy_model(train=True)
        gen = ctx.generator(offset=6101)
        seen: list[torch.Tensor] = []

        def hook(_m: nn.Module, inp: tuple[Any, ...]) -> None:
            t = inp[0]
            if isinstance(t, torch.Tensor) and t.dim() == 4:
                seen.append(t.detach())

        handles = [m.register_forward_pre_hook(hook) for m, _ in relu_points(net)]
        counts = []
        try:
            for _ in range(self.repeats if self.init == "gaussian" else 1):
                if self.init == "gaussian":
                    gaussian_init(net, gen)
                seen.clear()
                with torch.no_grad():
                    net(ctx.inputs)
                if not seen:
                    return float("nan")
                counts.append(count_activation_patterns(seen))
        finally:
            for h in handles:
                h.remove()
        score = sum(counts) / len(counts)
        if self.mu is not None and self.sigma is not None:
            score *= swap_regulariser(count_parameters(ctx.model), self.mu, self.sigma)
        return float(score)
