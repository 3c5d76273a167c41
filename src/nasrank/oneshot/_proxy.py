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
from ..estimators.zero_cost.nwot import RELU_HOOKS, naswot_score
from ..exceptions import ConfigError

__all__ = ["naswot_score", "supernet_score", "proxy_sign", "check_relu_hooks", "INACTIVE_RELUS",
           "RELU_HOOKS"]

#: how ReLUs of candidates with weight 0 are treated (see :func:`supernet_score`)
INACTIVE_RELUS = ("skip", "count")


def check_relu_hooks(relu_hooks: str, proxy: str = "nwot", supernet: Any = None) -> None:
    """Raise :class:`~nasrank.exceptions.ConfigError` unless the NASWOT hook set ``relu_hooks``
    applies: one of :data:`RELU_HOOKS`; ``"released"`` only with ``nwot`` and a supernet that
    implements it (its ``relu_hook_modes``; the NB201 supernet).

    Example:
        >>> import nasrank
        >>> check_relu_hooks("released", "nwot", nasrank.create_space("nb201").supernet(C=1, N=1))
        >>> check_relu_hooks("released", "synflow")
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: `relu_hooks='released'` only changes the nwot proxy, not 'synflow'
    """
    if relu_hooks not in RELU_HOOKS:
        raise ConfigError(f"`relu_hooks` must be one of {RELU_HOOKS}, got {relu_hooks!r}")
    if relu_hooks == "relu":
        return
    if proxy != "nwot":
        raise ConfigError(f"`relu_hooks={relu_hooks!r}` only changes the nwot proxy, not {proxy!r}")
    if supernet is not None and relu_hooks not in getattr(supernet, "relu_hook_modes", ("relu",)):
        raise ConfigError(
            f"`relu_hooks={relu_hooks!r}` (the released Zero-Cost-PT code's NASWOT hook set) is "
            f"implemented for the NAS-Bench-201 supernet only; {type(supernet).__name__} would "
            "need its own rules (use relu_hooks='relu')")


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
    relu_hooks: str = "relu",
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
        relu_hooks: ``"relu"`` (default: NASWOT reads every ReLU once) or ``"released"``, a
            bug-compatible mode reproducing the NASWOT hook set of the released Zero-Cost-PT
            NB201 code (``'ReLU' in str(type(module))`` also hooks the ReLUConvBN blocks):
            every convolution candidate of every edge adds its input node's pattern once,
            whatever its weight (also on decided and removed edges), plus its inner ReLU (the
            real pattern if its weight is nonzero, else the all-zero-input constant, so it
            implies ``inactive_relus="count"``); the reduction blocks' convolutions count
            twice. NB201 supernet and ``nwot`` only (:func:`check_relu_hooks`); see
            :func:`~nasrank.estimators.zero_cost.nwot.naswot_score`.

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
    check_relu_hooks(relu_hooks, proxy, supernet)
    x, _y = batch
    if proxy == "nwot":
        released = relu_hooks == "released"
        count = inactive_relus == "count" or released
        extra = (lambda: supernet.inactive_relu_units_) if count else None
        return naswot_score(supernet, x, forward=lambda inp: supernet(inp, weights),
                            extra_units=extra, relu_hooks=relu_hooks, idle_blocks=released)
    view = _FixedWeights(supernet, weights)
    return float(compute_proxies(view, batch, [proxy], seed=seed)[proxy])
