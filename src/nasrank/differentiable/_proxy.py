"""Zero-cost scores of a supernet under given architecture weights, and of stand-alone networks.

``nwot`` has a fast path used by Zero-Cost-PT: one forward pass under ``torch.no_grad`` with
BatchNorm in eval mode (the reference scores untrained networks that way, reference §1.7/§3.2),
ReLU inputs read by forward pre-hooks, and the kernel of a tensor read by several convolutions
(one ReLU shared by the 1x1 and 3x3 candidates of every edge leaving a node) computed once and
weighted by its multiplicity. Any other registered proxy goes through
:func:`nasrank.compute_proxies` on a view of the supernet with the weights fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from ..estimators import PROXIES
from ..estimators.zero_cost import compute_proxies
from ..estimators.zero_cost._core import _relu_points
from ..estimators.zero_cost.nwot import naswot_kernel
from ..exceptions import ConfigError
from ._supernet import Supernet

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


def naswot_score(
    model: nn.Module,
    x: torch.Tensor,
    forward: Callable[[torch.Tensor], Any] | None = None,
    bn_mode: str = "eval",
    extra_units: Callable[[], int] | None = None,
) -> float:
    """NASWOT ``log|det K|`` of ``model`` on the batch ``x`` (one no-grad forward pass).

    Args:
        model: The network whose ReLUs are read (see ``nasrank``'s ``nwot`` proxy for which).
        x: Input batch.
        forward: Callable running the forward pass (default ``model(x)``).
        bn_mode: ``"eval"`` (reference Zero-Cost-PT: running statistics) or ``"train"``.
        extra_units: Called after the forward; that many extra ReLU units with an all-zero
            input are added (each contributes 1 to every kernel entry).

    Returns:
        The log-abs-determinant (NaN when K is singular or no ReLU ran).

    Example:
        >>> net = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 2))
        >>> s = naswot_score(net, torch.randn(4, 3))
        >>> isinstance(s, float)
        True
    """
    if bn_mode not in ("eval", "train"):
        raise ConfigError(f"`bn_mode` must be 'eval' or 'train', got {bn_mode!r}")
    groups: dict[tuple, list] = {}

    def hook(_mod: nn.Module, inp: tuple[torch.Tensor, ...]) -> None:
        t = inp[0]
        key = (t.data_ptr(), tuple(t.shape), t.stride())
        if key in groups:
            groups[key][1] += 1
        else:
            groups[key] = [t, 1]

    def tap(t: torch.Tensor, mult: int) -> None:
        key = (t.data_ptr(), tuple(t.shape), t.stride())
        if key in groups:
            groups[key][1] += mult
        else:
            groups[key] = [t, mult]

    handles = [m.register_forward_pre_hook(hook) for m, _ in _relu_points(model)]
    tapped = [m for m in model.modules() if hasattr(m, "relu_tap")]
    for m in tapped:
        m.relu_tap = tap
    modes = [(m, m.training) for m in model.modules()]
    model.train(bn_mode == "train")
    try:
        with torch.no_grad():
            (forward or model)(x)
    finally:
        for h in handles:
            h.remove()
        for m in tapped:
            m.relu_tap = None
        for m, mode in modes:
            m.training = mode
    if not groups:
        return float("nan")
    K = naswot_kernel([(t, m) for t, m in groups.values()])
    groups.clear()
    if extra_units is not None:
        K += float(extra_units())
    sign, logdet = torch.linalg.slogdet(K)
    if sign.item() == 0 or not torch.isfinite(logdet):
        return float("nan")
    return float(logdet.item())


class _FixedWeights(nn.Module):
    """A supernet with its architecture weights frozen: ``forward(x)`` returns logits."""

    def __init__(self, supernet: Supernet, weights: np.ndarray) -> None:
        super().__init__()
        self.supernet = supernet
        self.register_buffer("weights", torch.as_tensor(np.asarray(weights), dtype=torch.float64),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.supernet(x, self.weights.cpu().numpy())


def supernet_score(
    supernet: Supernet,
    weights: np.ndarray,
    batch: tuple[torch.Tensor, torch.Tensor],
    proxy: str = "nwot",
    inactive_relus: str = "skip",
    seed: int = 0,
) -> float:
    """Zero-cost score ``S`` of the supernet under ``weights`` on one minibatch.

    Args:
        supernet: An untrained (or trained) supernet.
        weights: ``(edges, ops)`` weight matrix, e.g. from :meth:`Supernet.perturbed`.
        batch: ``(inputs, targets)``.
        proxy: Any registered proxy; ``nwot`` uses the fast no-grad path with eval-mode
            BatchNorm, the others :func:`~nasrank.compute_proxies` (their own BatchNorm modes).
        inactive_relus: ``"skip"`` (default, the paper: a removed operation is gone) or
            ``"count"`` (the released NB201 code: removed convolutions still run on an all-zero
            input, so each of their ReLU units adds 1 to every NASWOT kernel entry; computed
            without running them). Only affects ``nwot``.
        seed: Seed of the proxy's random draws (``zen``).

    Returns:
        The raw proxy value (NaN when undefined).

    Example:
        >>> from nasrank.differentiable import NB201Supernet
        >>> net = NB201Supernet(C=2, N=1)
        >>> batch = (torch.randn(4, 3, 4, 4), torch.randint(0, 10, (4,)))
        >>> s = supernet_score(net, net.perturbed(0, 3), batch)
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
