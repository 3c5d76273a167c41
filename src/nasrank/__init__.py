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

from typing import TYPE_CHECKING, Any

from . import exceptions
from .exceptions import (
    BenchmarkDataError,
    ConfigError,
    InvalidArchitectureError,
    MissingDependencyError,
    NasrankError,
    UnknownNameError,
)

if TYPE_CHECKING:  # imported on first use (see __getattr__): `import nasrank` stays light
    from .estimators import create_estimator, list_estimators
    from .estimators.zero_cost import compute_proxies, list_proxies
    from .search import create_strategy, list_strategies
    from .spaces import SPACES, SearchSpace  # noqa: F401

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


#: Public names defined in submodules, imported when first accessed (PEP 562), so that
#: ``import nasrank`` and the CLI's ``--help`` / ``--version`` do not load PyTorch.
_LAZY = {
    "create_estimator": "estimators",
    "list_estimators": "estimators",
    "compute_proxies": "estimators.zero_cost",
    "list_proxies": "estimators.zero_cost",
    "create_strategy": "search",
    "list_strategies": "search",
    "SPACES": "spaces",
    "SearchSpace": "spaces",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nasrank' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
    from .spaces import SPACES

    return SPACES.get(name)(**params)


def list_spaces(pattern: str | None = None) -> list[str]:
    """Names of the registered search spaces, optionally filtered by a glob ``pattern``.

    Example:
        >>> "nb201" in list_spaces()
        True
    """
    from .spaces import SPACES

    return SPACES.list(pattern)
