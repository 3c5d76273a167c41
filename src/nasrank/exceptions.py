"""Domain exceptions raised by nasrank.

Every error a user can trigger derives from :class:`NasrankError`, so callers can catch the whole
family at once, and each also derives from the matching built-in (``ValueError``, ``KeyError``)
so generic handlers keep working.
"""

from __future__ import annotations

__all__ = [
    "NasrankError",
    "InvalidArchitectureError",
    "UnknownNameError",
    "DuplicateNameError",
    "BenchmarkDataError",
    "ConfigError",
    "MissingDependencyError",
    "AlreadyRunningError",
]


class NasrankError(Exception):
    """Base class of all nasrank errors."""


class InvalidArchitectureError(NasrankError, ValueError):
    """An architecture (or its string form) is malformed or outside the search space."""


class UnknownNameError(NasrankError, KeyError):
    """A registry lookup used a name that is not registered."""

    def __str__(self) -> str:  # KeyError would repr() the message and add quotes
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(NasrankError, ValueError):
    """Two objects were registered under the same name."""


class BenchmarkDataError(NasrankError, OSError):
    """Benchmark or dataset files are missing or malformed."""


class ConfigError(NasrankError, ValueError):
    """A configuration value is out of range or of the wrong type."""


class MissingDependencyError(NasrankError, ImportError):
    """An optional dependency needed for a feature is not installed."""


class AlreadyRunningError(NasrankError, RuntimeError):
    """The same job (a search run, a benchmark build) is already running on a results store."""
