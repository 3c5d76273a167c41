"""Executors: where evaluations run (in-process, local processes, a Ray cluster)."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .._registry import Registry
from .._validate import check_int, check_opt_int
from ..exceptions import ConfigError, MissingDependencyError

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


def _worker_init(threads: int | None) -> None:
    """Initializer of each pool worker: torch threads, and a watchdog on the parent process."""
    _set_threads(threads)
    threading.Thread(target=_exit_with_parent, name="nasrank-parent-watchdog", daemon=True).start()


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

    Example:
        >>> with ProcessExecutor(workers=2) as ex:  # doctest: +SKIP
        ...     sorted(f.result() for f in [ex.submit(pow, 2, k) for k in range(3)])
        [1, 2, 4]
    """

    name = "processes"

    def __init__(self, workers: int = 2, threads: int | None = 1) -> None:
        super().__init__(workers, threads)
        self._pool: cf.ProcessPoolExecutor | None = None

    def _ensure(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers, mp_context=mp.get_context("spawn"),
                initializer=_worker_init, initargs=(self.threads,),
            )
        return self._pool

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        return self._ensure().submit(fn, *args, **kwargs)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


@EXECUTORS.register("ray")
class RayExecutor(Executor):
    """Runs functions as Ray tasks (``pip install nasrank[ray]``).

    Connects to a running cluster when ``address`` is given (or ``RAY_ADDRESS`` is set), else
    starts a local one with ``workers`` CPUs and shuts it down again in :meth:`shutdown`. Each
    task asks Ray for ``threads`` CPUs (default 1) and sets torch's thread count to match.

    Args:
        workers: Tasks in flight at once (the local cluster's CPU count when one is started).
        threads: CPUs / torch threads per task.
        address: Ray cluster address (``"auto"`` = the cluster this machine belongs to).
    """

    name = "ray"

    def __init__(self, workers: int = 2, threads: int | None = 1, address: str | None = None) -> None:
        super().__init__(workers, threads)
        self.address = address
        self._started = False
        self._remote: Any = None

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
            self._remote = ray.remote(num_cpus=self.threads or 1, max_retries=0)(_call_with_threads)
        return self._remote

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        return self._ensure().remote(self.threads, fn, args, kwargs).future()

    def shutdown(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False
        self._remote = None


def create_executor(name: str = "serial", workers: int = 1, **kwargs: Any) -> Executor:
    """Instantiate the executor registered as ``name`` (``serial``, ``processes``, ``ray``).

    Example:
        >>> create_executor("serial")
        SerialExecutor(workers=1, threads=None)
    """
    return EXECUTORS.get(name)(workers=workers, **kwargs)


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
