"""Zero-cost scores of a supernet under given architecture weights.

``nwot`` uses the fast no-grad path :func:`nasrank.estimators.zero_cost.nwot.naswot_score`
(eval-mode BatchNorm, the reference Zero-Cost-PT behaviour); any other registered proxy goes
through :func:`nasrank.compute_proxies` on a view of the supernet with the weights fixed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..estimators import PROXIES
from ..estimators.zero_cost import compute_proxies
from ..estimators.zero_cost.nwot import naswot_score
from ..exceptions import ConfigError

__all__ = ["naswot_score", "supernet_score", "proxy_sign", "INACTIVE_RELUS"]

#: how ReLUs of candidates with weight 0 are treated (see :func:`supernet_score`)
INACTIVE_RELUS = ("skip", "count")


def proxy_sign(proxy: str) -> float:
    """+1 if a higher value of ``proxy`` predicts a better network, else -1.

    Example:
        >>> proxy_sign("nwot")
        1.0
    """
    return 1.0 if PROXIES.get(proxy).higher_is_better else -1.0


class _FixedWeights(nn.Module):
    """A supernet with its architecture weights frozen: ``forward(x)`` returns logits."""

    def __init__(self, supernet: Any, weights: np.ndarray) -> None:
        super().__init__()
        self.supernet = supernet
        self.register_buffer("weights", torch.as_tensor(np.asarray(weights), dtype=torch.float64),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.supernet(x, self.weights.cpu().numpy())


def supernet_score(
    supernet: Any,
    weights: np.ndarray,
    batch: tuple[torch.Tensor, torch.Tensor],
    proxy: str = "nwot",
    inactive_relus: str = "skip",
    seed: int = 0,
) -> float:
    """Zero-cost score ``S`` of a :class:`~nasrank.oneshot.Supernet` under ``weights`` on one
    minibatch.

    Args:
        supernet: An untrained (or trained) supernet.
        weights: ``(edges, ops)`` weight matrix, e.g. from ``SoftmaxAlpha.perturbed``.
        batch: ``(inputs, targets)``.
        proxy: Any registered proxy; ``nwot`` uses the fast no-grad path with eval-mode
            BatchNorm, the others :func:`~nasrank.compute_proxies` (their own BatchNorm modes).
        inactive_relus: ``"skip"`` (default, the paper: a removed operation is gone) or
            ``"count"`` (the released NB201 code: removed convolutions still run on an all-zero
            input, so each of their ReLU units adds 1 to every NASWOT kernel entry; computed
            without running them from the supernet's ``inactive_relu_units_``). Only affects
            ``nwot``.
        seed: Seed of the proxy's random draws (``zen``).

    Returns:
        The raw proxy value (NaN when undefined).

    Example:
        >>> import nasrank
        >>> net = nasrank.create_space("nb201").supernet(C=2, N=1)
        >>> batch = (torch.randn(4, 3, 4, 4), torch.randint(0, 10, (4,)))
        >>> s = supernet_score(net, net.arch_param.perturbed(0, 3), batch)
        >>> s == s
        True
    """
    if inactive_relus not in INACTIVE_RELUS:
        raise ConfigError(f"`inactive_relus` must be one of {INACTIVE_RELUS}, got {inactive_relus!r}")
    x, _y = batch
    if proxy == "nwot":
        extra = (lambda: supernet.inactive_relu_units_) if inactive_relus == "count" else None
        return naswot_score(supernet, x, forward=lambda inp: supernet(inp, weights),
                            extra_units=extra)
    view = _FixedWeights(supernet, weights)
    return float(compute_proxies(view, batch, [proxy], seed=seed)[proxy])
