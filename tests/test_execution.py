"""Executors: serial, local processes (and Ray in test_bench_build)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time

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


_ORPHAN_PARENT = r"""
import os, sys, time
from nasrank.execution import ProcessExecutor

ex = ProcessExecutor(workers=2, threads=1)
pids = {ex.submit(os.getpid).result() for _ in range(8)}
for _ in range(2):
    ex.submit(time.sleep, 120)  # both workers busy when the parent is killed
print(" ".join(map(str, sorted(pids))), flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # an exited child of a parent that does not reap is a zombie: it is gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and sends SIGKILL")
def test_process_pool_workers_end_when_their_parent_is_killed():
    proc = subprocess.Popen([sys.executable, "-c", _ORPHAN_PARENT], stdout=subprocess.PIPE, text=True)
    pids: list[int] = []
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert pids and all(_alive(p) for p in pids)
        proc.send_signal(signal.SIGKILL)  # no cleanup of any kind can run in the parent
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [p for p in pids if _alive(p)], "pool workers outlived their killed parent"
    finally:
        proc.kill()
        proc.wait()
        for p in pids:  # if the assertion failed, do not leave the orphans running
            if _alive(p):
                os.kill(p, signal.SIGKILL)
