"""Execution backends: one small interface, three ways to run evaluations.

* ``serial`` — in the calling process;
* ``processes`` — a pool of local processes, each with its own torch thread count;
* ``ray`` — Ray tasks on a running cluster or a local one (``pip install 'nasrank[ray]'``).

Every backend returns :class:`concurrent.futures.Future` objects; :func:`stream` runs a function
over many items with bounded concurrency and yields results as they complete.

Devices (:func:`resolve_device`: ``auto``, ``cpu``, ``cuda``, ``cuda:N``, ``mps``), mixed precision
(:func:`autocast`, :func:`grad_scaler`), optional ``torch.compile`` with a fallback
(:func:`compile_model`) and out-of-memory handling (:func:`is_out_of_memory`) live here too; the
process executor can assign each worker a device, so ``"auto"`` spreads evaluations over GPUs.
"""

from __future__ import annotations

from ._devices import (
    DEVICE_HELP,
    PRECISIONS,
    CompiledForward,
    assigned_device,
    autocast,
    check_device_name,
    compile_model,
    device_info,
    grad_scaler,
    is_out_of_memory,
    placement,
    release_memory,
    resolve_device,
    resolve_precision,
    visible_devices,
)
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
    "DEVICE_HELP", "PRECISIONS", "check_device_name", "placement", "resolve_device", "device_info", "visible_devices", "assigned_device",
    "resolve_precision", "autocast", "grad_scaler", "compile_model", "CompiledForward", "is_out_of_memory",
    "release_memory",
]


def list_executors() -> list[str]:
    """Names accepted by :func:`create_executor`.

    Example:
        >>> list_executors()
        ['processes', 'ray', 'serial']
    """
    return EXECUTORS.list()


__all__.append("list_executors")
