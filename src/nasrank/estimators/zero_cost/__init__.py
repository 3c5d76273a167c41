"""Zero-cost proxies: scores of an untrained network on one minibatch.

Each proxy lives in its own module and registers itself in :data:`nasrank.estimators.PROXIES`;
every registered proxy meets the :class:`ZeroCostProxy` protocol (name, sign, BatchNorm mode,
batch size, ``proxy(model, batch) -> float`` with NaN where undefined), checked for each of them
by :func:`nasrank.testing.proxies.check_proxy`. :func:`compute_proxies` computes any set of them
with shared forward/backward passes.

Example:
    >>> from nasrank.estimators.zero_cost import list_proxies
    >>> "gradsign" in list_proxies()
    True
"""

from __future__ import annotations

from . import (  # noqa: F401  (importing registers the proxies)
    az_nas,
    epe_nas,
    fisher,
    flops,
    grad_norm,
    gradsign,
    grasp,
    jacob_cov,
    l2_norm,
    meco,
    nwot,
    params,
    plain,
    snip,
    swap,
    synflow,
    te_nas,
    vkdnw,
    zen,
    zico,
)
from ._core import (
    BN_MODES,
    Proxy,
    ProxyContext,
    ProxyResult,
    ZeroCostProxy,
    compute_proxies,
    list_proxies,
    proxy_info,
    relu_points,
    weight_layers,
)

__all__ = [
    "ZeroCostProxy",
    "BN_MODES",
    "Proxy",
    "ProxyContext",
    "ProxyResult",
    "compute_proxies",
    "list_proxies",
    "proxy_info",
    "weight_layers",
    "relu_points",
]
