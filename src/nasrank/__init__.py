"""nasrank: speedy performance estimation for neural architecture search.

Rank candidate architectures cheaply (training-speed estimators, zero-cost proxies) and use the
rankings to search.

Example:
    >>> import nasrank
    >>> space = nasrank.create_space("nb201")
    >>> arch = space.sample(0)
    >>> len(arch)
    6
"""

from __future__ import annotations

from typing import Any

from . import exceptions
from .estimators import create_estimator, list_estimators
from .estimators.zero_cost import compute_proxies, list_proxies
from .exceptions import (
    BenchmarkDataError,
    ConfigError,
    InvalidArchitectureError,
    MissingDependencyError,
    NasrankError,
    UnknownNameError,
)
from .search import create_strategy, list_strategies
from .spaces import SPACES, SearchSpace

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "create_space",
    "list_spaces",
    "create_estimator",
    "list_estimators",
    "compute_proxies",
    "list_proxies",
    "create_strategy",
    "list_strategies",
    "SearchSpace",
    "exceptions",
    "NasrankError",
    "InvalidArchitectureError",
    "UnknownNameError",
    "BenchmarkDataError",
    "ConfigError",
    "MissingDependencyError",
]


def create_space(name: str, **params: Any) -> SearchSpace:
    """Instantiate the search space registered as ``name``.

    Args:
        name: Registry name, e.g. ``"nb201"``; see :func:`list_spaces`.
        **params: Keyword parameters of the space's constructor.

    Raises:
        UnknownNameError: if no space has that name (the message lists the valid ones).

    Example:
        >>> create_space("nb201").size
        15625
    """
    return SPACES.get(name)(**params)


def list_spaces(pattern: str | None = None) -> list[str]:
    """Names of the registered search spaces, optionally filtered by a glob ``pattern``.

    Example:
        >>> "nb201" in list_spaces()
        True
    """
    return SPACES.list(pattern)
