"""Execution backends: one small interface, three ways to run evaluations.

* ``serial`` — in the calling process;
* ``processes`` — a pool of local processes, each with its own torch thread count;
* ``ray`` — Ray tasks on a running cluster or a local one (``pip install 'nasrank[ray]'``).

Every backend returns :class:`concurrent.futures.Future` objects; :func:`stream` runs a function
over many items with bounded concurrency and yields results as they complete.
"""

from __future__ import annotations

from ._executors import (
    EXECUTORS,
    Executor,
    ProcessExecutor,
    RayExecutor,
    SerialExecutor,
    create_executor,
    stream,
)

__all__ = [
    "EXECUTORS", "Executor", "SerialExecutor", "ProcessExecutor", "RayExecutor", "create_executor", "stream",
]


def list_executors() -> list[str]:
    """Names accepted by :func:`create_executor`.

    Example:
        >>> list_executors()
        ['processes', 'ray', 'serial']
    """
    return EXECUTORS.list()


__all__.append("list_executors")
