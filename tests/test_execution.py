"""Executors: serial, local processes (and Ray in test_bench_build)."""

from __future__ import annotations

import math
import os

import pytest

from nasrank.exceptions import ConfigError, UnknownNameError
from nasrank.execution import (
    ProcessExecutor,
    SerialExecutor,
    create_executor,
    list_executors,
    stream,
)


def _threads_and_pid(x: int) -> tuple[int, int, int]:
    import torch

    return x * x, torch.get_num_threads(), os.getpid()


def _fail(x: int) -> int:
    raise ValueError(f"bad {x}")


def test_registry_and_validation():
    assert list_executors() == ["processes", "ray", "serial"]
    with pytest.raises(UnknownNameError, match="Did you mean 'serial'"):
        create_executor("serail")
    with pytest.raises(ConfigError, match="workers"):
        ProcessExecutor(workers=0)
    with pytest.raises(ConfigError, match="one evaluation at a time"):
        SerialExecutor(workers=2)
    with pytest.raises(ConfigError, match="threads"):
        ProcessExecutor(workers=1, threads=0)


def test_serial_stream_yields_every_item_and_captures_errors():
    import torch

    before = torch.get_num_threads()
    with SerialExecutor(threads=1) as ex:
        out = {item: fut.result()[0] for item, fut in stream(ex, _threads_and_pid, range(5))}
        assert out == {k: k * k for k in range(5)}
        assert ex.submit(_threads_and_pid, 1).result()[1] == 1
        errs = [(i, f.exception()) for i, f in stream(ex, _fail, [1, 2])]
    assert [type(e) for _, e in errs] == [ValueError, ValueError]
    assert torch.get_num_threads() == before  # the caller's setting is restored


def test_stream_bounds_the_number_in_flight():
    submitted = []

    class Spy(SerialExecutor):
        def submit(self, fn, /, *args, **kwargs):
            submitted.append(args[0])
            return super().submit(fn, *args, **kwargs)

    consumed = []
    for item, _ in stream(Spy(), abs, iter(range(10)), window=3):
        consumed.append(item)
        assert len(submitted) - len(consumed) <= 2  # at most `window` outstanding before a yield
    assert sorted(consumed) == list(range(10))


def test_process_pool_runs_in_other_processes_with_the_thread_setting():
    with ProcessExecutor(workers=2, threads=1) as ex:
        results = [f.result() for _, f in stream(ex, _threads_and_pid, range(4))]
        err = ex.submit(_fail, 3).exception()
    assert sorted(r[0] for r in results) == [0, 1, 4, 9]
    assert {r[1] for r in results} == {1}
    assert os.getpid() not in {r[2] for r in results}
    assert isinstance(err, ValueError) and "bad 3" in str(err)
    assert math.isfinite(results[0][0])
