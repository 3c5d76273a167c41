"""Zero-cost proxies: scores of an untrained network on one minibatch.

Each proxy lives in its own module and registers itself in :data:`nasrank.estimators.PROXIES`;
:func:`compute_proxies` computes any set of them with shared forward/backward passes.

Example:
    >>> from nasrank.estimators.zero_cost import list_proxies
    >>> "gradsign" in list_proxies()
    True
"""

from __future__ import annotations

from . import (  # noqa: F401  (importing registers the proxies)
    fisher,
    flops,
    grad_norm,
    gradsign,
    grasp,
    jacob_cov,
    l2_norm,
    nwot,
    params,
    plain,
    snip,
    synflow,
    zen,
)
from ._core import Proxy, ProxyContext, ProxyResult, compute_proxies, list_proxies, proxy_info

__all__ = ["Proxy", "ProxyContext", "ProxyResult", "compute_proxies", "list_proxies", "proxy_info"]
