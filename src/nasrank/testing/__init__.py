"""Conformance suites that every registered component must pass.

Tests in this repository apply them to every entry of the registries, so a newly registered
search space, proxy, strategy or supernet method is checked the moment it exists. Third-party
components can use them too::

    from nasrank.testing import check_search_space, check_proxy, check_strategy, check_supernet_method
    check_search_space(MySpace())
"""

from __future__ import annotations

from .proxies import PROXY_CHECKS, check_proxy
from .spaces import SPACE_CHECKS, check_search_space
from .strategies import STRATEGY_CHECKS, check_strategy, strategy_factory
from .supernets import SUPERNET_METHOD_CHECKS, check_supernet_method

__all__ = [
    "SPACE_CHECKS", "check_search_space",
    "PROXY_CHECKS", "check_proxy",
    "STRATEGY_CHECKS", "check_strategy", "strategy_factory",
    "SUPERNET_METHOD_CHECKS", "check_supernet_method",
]
