"""Executors: where evaluations run (in-process, local processes, a Ray cluster).

GPUs: :class:`ProcessExecutor` can *assign* each worker a device (``devices=``, round-robin in
the order the workers start, ``workers_per_device`` workers on each); inside such a worker
``resolve_device("auto")`` (and a bare ``"cuda"``) is that device, so an evaluation written for
``device="auto"`` spreads over the GPUs without knowing about them. :class:`RayExecutor` asks Ray
for ``gpus_per_task`` GPUs per task (a fraction shares a GPU); Ray then makes only the task's GPU
visible to it, where ``"auto"`` is ``cuda:0``. :class:`SerialExecutor` runs in the caller, on
whatever device the caller chooses.
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import multiprocessing as mp
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .._registry import Registry, check_params
from .._validate import check_float, check_int, check_opt_int
from ..exceptions import ConfigError, MissingDependencyError
from . import _devices

__all__ = ["Executor", "SerialExecutor", "ProcessExecutor", "RayExecutor", "EXECUTORS", "create_executor", "stream"]

EXECUTORS: Registry = Registry("executor")


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(int(threads))
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set in this process
            pass


def _exit_with_parent() -> None:
    """Block until this worker's parent process ends, then end this worker at once.

    A pool worker otherwise outlives a parent that was killed (SIGTERM, SIGKILL, an OOM kill):
    it finishes its evaluation and then waits forever on the task queue, holding its CPU and
    memory. The parent's sentinel becomes ready when the parent exits, however it exits.
    """
    parent = mp.parent_process()
    if parent is None:
        return
    try:
        from multiprocessing.connection import wait

        wait([parent.sentinel])
    except Exception:  # noqa: BLE001  (a watchdog must never take the worker down by itself)
        return
    os._exit(1)


def _device_for(index: int, devices: list[str] | tuple[str, ...]) -> str | None:
    """The device of the ``index``-th worker to start: round-robin over ``devices`` (none: ``None``).

    Example:
        >>> [_device_for(k, ["cuda:0", "cuda:1"]) for k in range(4)]
        ['cuda:0', 'cuda:1', 'cuda:0', 'cuda:1']
        >>> _device_for(0, []) is None
        True
    """
    if not devices:
        return None
    return devices[index % len(devices)]


def _claim_index(counter: Any) -> int:
    """This worker's start order: the shared counter's value, which it then increments."""
    with counter.get_lock():
        index = int(counter.value)
        counter.value = index + 1
    return index


def _worker_init(threads: int | None, devices: tuple[str, ...] = (), counter: Any = None) -> None:
    """Initializer of each pool worker: its device (if any), torch threads, a watchdog on the parent.

    With ``devices``, the worker takes the next index from the shared ``counter`` and is assigned
    ``devices[index % len(devices)]``: ``resolve_device("auto")`` returns it from then on, and a
    CUDA device becomes torch's current device.
    """
    _set_threads(threads)
    threading.Thread(target=_exit_with_parent, name="nasrank-parent-watchdog", daemon=True).start()
    if devices and counter is not None:
        device = _device_for(_claim_index(counter), devices)
        _devices._assign(device)
        if device is not None and device.startswith("cuda"):
            import torch

            torch.cuda.set_device(torch.device(device))


def _parse_devices(devices: Any) -> list[str]:
    """``devices`` as canonical, checked device strings (``[]``: no assignment).

    ``None`` -> ``[]``; ``"auto"`` -> every visible CUDA device (``[]`` without CUDA); a string ->
    its comma-separated devices; a list or tuple -> its devices. Each one must exist here.

    Example:
        >>> _parse_devices(None), _parse_devices("cpu"), _parse_devices(["cpu", "CPU"])
        ([], ['cpu'], ['cpu', 'cpu'])
    """
    if devices is None:
        return []
    if isinstance(devices, str):
        if devices.strip().lower() == "auto":
            return _devices.visible_devices()
        items: list[Any] = [d for d in devices.split(",") if d.strip()]
    elif isinstance(devices, (list, tuple)):
        items = list(devices)
    else:
        raise ConfigError(
            f"`devices` must be None, 'auto' or a list of devices ({_devices.DEVICE_HELP}), "
            f"got {type(devices).__name__}"
        )
    if not items:
        raise ConfigError("`devices` is empty: name at least one device (e.g. ['cuda:0']), or use None or 'auto'")
    out = []
    for item in items:
        if isinstance(item, str) and item.strip().lower() == "auto":
            raise ConfigError("'auto' cannot be one of several devices: use devices='auto' or list the devices")
        out.append(str(_devices.resolve_device(item)))
    return out


def _call_with_threads(threads: int | None, fn: Callable, args: tuple, kwargs: dict) -> Any:
    _set_threads(threads)
    return fn(*args, **kwargs)


class Executor(ABC):
    """Runs functions and hands back :class:`concurrent.futures.Future` objects.

    Every backend returns standard futures, so callers combine them with
    :func:`concurrent.futures.wait` / ``as_completed`` or with :func:`stream`. Functions and
    their arguments must be picklable for the process and Ray backends (define them at module
    level). Use as a context manager to release the workers.

    Args:
        workers: Evaluations run at the same time.
        threads: ``torch.set_num_threads`` in each worker (``None``: leave as is).
    """

    name: str = ""

    def __init__(self, workers: int = 1, threads: int | None = 1) -> None:
        self.workers = check_int("workers", workers, 1)
        self.threads = check_opt_int("threads", threads, 1)

    @abstractmethod
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        """Schedule ``fn(*args, **kwargs)``; the future holds its result or exception."""

    def shutdown(self) -> None:  # noqa: B027  (optional hook)
        """Release the workers (pending work is cancelled)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workers={self.workers}, threads={self.threads})"


@EXECUTORS.register("serial")
class SerialExecutor(Executor):
    """Runs each function in the calling process when it is submitted (one worker).

    Example:
        >>> with SerialExecutor() as ex:
        ...     ex.submit(pow, 2, 10).result()
        1024
    """

    name = "serial"

    def __init__(self, workers: int = 1, threads: int | None = None) -> None:
        super().__init__(workers, threads)
        if workers != 1:
            raise ConfigError("the serial executor runs one evaluation at a time: use workers=1 or --executor processes")

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        fut: cf.Future = cf.Future()
        fut.set_running_or_notify_cancel()
        try:
            if self.threads:
                import torch

                before = torch.get_num_threads()
                torch.set_num_threads(self.threads)
                try:
                    fut.set_result(fn(*args, **kwargs))
                finally:
                    torch.set_num_threads(before)
            else:
                fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001  (delivered through the future)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            fut.set_exception(exc)
        return fut


@EXECUTORS.register("processes")
class ProcessExecutor(Executor):
    """A pool of local worker processes (``spawn`` start method), each with its own torch threads.

    Workers end on their own when the process that started them dies, however it dies (a
    ``kill``, an out-of-memory kill), instead of lingering with their CPU and memory.

    With ``devices``, each worker is *assigned* a device when it starts, round-robin in start
    order (worker ``k`` gets ``devices[k % len(devices)]``): in the worker,
    ``resolve_device("auto")`` (and a bare ``"cuda"``) is that device and a CUDA device is torch's
    current device, so evaluations with ``device="auto"`` spread over the devices. Several small
    evaluations share one GPU with ``workers_per_device``. Without ``devices`` a worker has no
    assignment and ``"auto"`` is ``cuda:0`` if the worker sees a GPU, else the CPU.

    Args:
        workers: Worker processes (replaced by ``workers_per_device * len(devices)`` when
            ``workers_per_device`` is given).
        threads: ``torch.set_num_threads`` in each worker (``None``: leave as is).
        devices: ``None`` (no assignment), ``"auto"`` (every visible CUDA device; none visible: no
            assignment), or devices (a list, or one comma-separated string) such as
            ``["cuda:0", "cuda:1"]``; each must exist on this machine.
        workers_per_device: Workers on each device; needs a non-empty ``devices``.

    Raises:
        ConfigError: A device this machine does not have, or ``workers_per_device`` without
            devices (e.g. ``devices="auto"`` on a machine without a GPU).

    Example:
        >>> ProcessExecutor(devices=["cpu"], workers_per_device=3)
        ProcessExecutor(workers=3, threads=1, devices=['cpu'])
        >>> with ProcessExecutor(workers=2) as ex:  # doctest: +SKIP
        ...     sorted(f.result() for f in [ex.submit(pow, 2, k) for k in range(3)])
        [1, 2, 4]
    """

    name = "processes"

    def __init__(
        self,
        workers: int = 2,
        threads: int | None = 1,
        devices: str | list[str] | tuple[str, ...] | None = None,
        workers_per_device: int | None = None,
    ) -> None:
        super().__init__(workers, threads)
        self.devices = _parse_devices(devices)
        self.workers_per_device = check_opt_int("workers_per_device", workers_per_device, 1)
        if self.workers_per_device is not None:
            if not self.devices:
                if devices is None:
                    raise ConfigError(
                        "--workers-per-device needs devices to put the workers on: give devices "
                        "(--device auto or cuda:N), or use --workers"
                    )
                raise ConfigError("--workers-per-device needs GPUs, but none is visible: use --workers")
            self.workers = self.workers_per_device * len(self.devices)
        self._pool: cf.ProcessPoolExecutor | None = None

    def _ensure(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            ctx = mp.get_context("spawn")
            initargs: tuple = (self.threads,)
            if self.devices:  # a fresh start-order counter for each pool, shared by its workers
                initargs = (self.threads, tuple(self.devices), ctx.Value("i", 0))
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=ctx, initializer=_worker_init, initargs=initargs,
            )
        return self._pool

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        return self._ensure().submit(fn, *args, **kwargs)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __repr__(self) -> str:
        devices = f", devices={self.devices}" if self.devices else ""
        return f"{type(self).__name__}(workers={self.workers}, threads={self.threads}{devices})"


@EXECUTORS.register("ray")
class RayExecutor(Executor):
    """Runs functions as Ray tasks (``pip install nasrank[ray]``).

    Connects to a running cluster when ``address`` is given (or ``RAY_ADDRESS`` is set), else
    starts a local one with ``workers`` CPUs (and the GPUs Ray finds) and shuts it down again in
    :meth:`shutdown`. Each task asks Ray for ``threads`` CPUs (default 1), sets torch's thread
    count to match, and asks for ``gpus_per_task`` GPUs.

    With ``gpus_per_task > 0`` Ray makes only the task's GPU visible to it (``CUDA_VISIBLE_DEVICES``),
    so ``resolve_device("auto")`` in the task is ``cuda:0``, which is that GPU; a fraction such as
    ``0.25`` lets four tasks share one GPU (Ray only counts: the tasks must fit in its memory
    together). Ray starts a fresh worker process for each GPU task. With ``0`` (the default) Ray
    leaves the GPUs alone: tasks see every GPU of their node, and ``"auto"`` puts them all on the
    first one.

    Args:
        workers: Tasks in flight at once (the local cluster's CPU count when one is started).
        threads: CPUs / torch threads per task.
        address: Ray cluster address (``"auto"`` = the cluster this machine belongs to).
        gpus_per_task: GPUs each task reserves: ``0``, a fraction below 1, or a whole number.

    Raises:
        ConfigError: ``gpus_per_task`` negative, or above 1 and not whole; on :meth:`submit`, a
            local cluster without GPUs while ``gpus_per_task > 0`` (its tasks would never run).

    Example:
        >>> RayExecutor(workers=4, gpus_per_task=0.25)
        RayExecutor(workers=4, threads=1, gpus_per_task=0.25)
        >>> RayExecutor(gpus_per_task=-1)
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: `gpus_per_task` must be a finite number >= 0.0, got -1
    """

    name = "ray"

    def __init__(
        self,
        workers: int = 2,
        threads: int | None = 1,
        address: str | None = None,
        gpus_per_task: float = 0.0,
    ) -> None:
        super().__init__(workers, threads)
        self.address = address
        self.gpus_per_task = check_float("gpus_per_task", gpus_per_task, minimum=0.0)
        if self.gpus_per_task > 1 and not self.gpus_per_task.is_integer():
            raise ConfigError(
                f"`gpus_per_task` above 1 must be a whole number (Ray's rule), got {gpus_per_task!r}: "
                f"use {math.floor(self.gpus_per_task)} or {math.ceil(self.gpus_per_task)}"
            )
        self._started = False
        self._remote: Any = None

    def _task_options(self) -> dict[str, Any]:
        """The resources each task asks Ray for (the keyword arguments of ``ray.remote``)."""
        return {"num_cpus": self.threads or 1, "num_gpus": self.gpus_per_task, "max_retries": 0}

    def _ensure(self) -> Any:
        if self._remote is None:
            try:
                import ray
            except ImportError:
                raise MissingDependencyError(
                    "the ray executor needs Ray: pip install 'nasrank[ray]'"
                ) from None
            if not ray.is_initialized():
                address = self.address or os.environ.get("RAY_ADDRESS")
                if address:
                    ray.init(address=address, log_to_driver=False)
                else:
                    ray.init(
                        num_cpus=self.workers * (self.threads or 1), include_dashboard=False,
                        log_to_driver=False, configure_logging=False,
                    )
                    self._started = True
            if self.gpus_per_task > 0 and self._started and not ray.cluster_resources().get("GPU", 0):
                self.shutdown()
                raise ConfigError(
                    f"--gpus-per-task {self.gpus_per_task:g} needs GPUs, but the local Ray cluster has none: "
                    "use --gpus-per-task 0"
                )
            self._remote = ray.remote(**self._task_options())(_call_with_threads)
        return self._remote

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        return self._ensure().remote(self.threads, fn, args, kwargs).future()

    def shutdown(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
        self._remote = None

    def __repr__(self) -> str:
        gpus = f", gpus_per_task={self.gpus_per_task:g}" if self.gpus_per_task else ""
        return f"{type(self).__name__}(workers={self.workers}, threads={self.threads}{gpus})"


def create_executor(name: str = "serial", workers: int = 1, **kwargs: Any) -> Executor:
    """Instantiate the executor registered as ``name`` (``serial``, ``processes``, ``ray``).

    Keyword arguments go to the executor: ``threads``; ``devices`` and ``workers_per_device``
    (processes); ``address`` and ``gpus_per_task`` (ray). One that this executor does not take is
    dropped when it is off (``None``, ``0``), so callers can pass every setting; set to something
    else it is a one-line :class:`~nasrank.exceptions.ConfigError`.

    Example:
        >>> create_executor("serial", gpus_per_task=0.0, workers_per_device=None)
        SerialExecutor(workers=1, threads=None)
        >>> create_executor("processes", devices="cpu", workers_per_device=2)
        ProcessExecutor(workers=2, threads=1, devices=['cpu'])
        >>> create_executor("serial", gpus_per_task=0.5)
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: executor 'serial' has no parameter 'gpus_per_task'; its parameters: workers, threads
    """
    import inspect

    cls = EXECUTORS.get(name)
    accepted = inspect.signature(cls).parameters
    kwargs = {k: v for k, v in kwargs.items() if k in accepted or not (v is None or v is False or v == 0)}
    check_params("executor", name, cls, kwargs)
    return cls(workers=workers, **kwargs)


def stream(
    executor: Executor,
    fn: Callable[..., Any],
    items: Iterable[Any],
    window: int | None = None,
) -> Iterator[tuple[Any, cf.Future]]:
    """Run ``fn(item)`` for every item, yielding ``(item, future)`` as each one completes.

    At most ``window`` calls (default ``2 * executor.workers``) are in flight, so the caller can
    record each result as it arrives and an interruption loses only the calls in flight. The
    future is done: call ``.result()`` (re-raises the call's exception) or ``.exception()``.

    Example:
        >>> with SerialExecutor() as ex:
        ...     sorted(f.result() for _, f in stream(ex, abs, [-1, -2, 3]))
        [1, 2, 3]
    """
    window = window or 2 * executor.workers
    it = iter(items)
    pending: dict[cf.Future, Any] = {}
    exhausted = False
    while True:
        while not exhausted and len(pending) < window:
            try:
                item = next(it)
            except StopIteration:
                exhausted = True
                break
            pending[executor.submit(fn, item)] = item
        if not pending:
            return
        done, _ = cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)
        for fut in done:
            yield pending.pop(fut), fut
