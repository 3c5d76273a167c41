"""Conformance suites that every registered component must pass.

Tests in this repository apply them to every entry of the registries, so a newly registered
search space is checked the moment it exists. Third-party spaces can use them too::

    from nasrank.testing import check_search_space
    check_search_space(MySpace())
"""

from __future__ import annotations

from .spaces import SPACE_CHECKS, check_search_space
from .strategies import STRATEGY_CHECKS, check_strategy, strategy_factory

__all__ = ["SPACE_CHECKS", "check_search_space", "STRATEGY_CHECKS", "check_strategy", "strategy_factory"]
