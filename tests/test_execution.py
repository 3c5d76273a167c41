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
    RayExecutor,
    SerialExecutor,
    create_executor,
    list_executors,
    stream,
)
from nasrank.execution._executors import _device_for, _worker_init


def _threads_and_pid(x: int) -> tuple[int, int, int]:
    import torch

    return x * x, torch.get_num_threads(), os.getpid()


def _fail(x: int) -> int:
    raise ValueError(f"bad {x}")


def _devices_seen(_: object = None) -> tuple[str | None, str, int]:
    """In a worker: its assigned device, what "auto" resolves to there, and its pid."""
    from nasrank.execution import assigned_device, resolve_device

    assigned = assigned_device()
    return (None if assigned is None else str(assigned)), str(resolve_device("auto")), os.getpid()


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


def test_process_pool_workers_without_devices_have_no_assignment():
    with ProcessExecutor(workers=1, threads=1) as ex:
        assigned, _, pid = ex.submit(_devices_seen).result()
    assert pid != os.getpid()
    assert assigned is None


def test_round_robin_device_choice_follows_the_start_order():
    assert [_device_for(k, ["cuda:0", "cuda:1"]) for k in range(4)] == ["cuda:0", "cuda:1", "cuda:0", "cuda:1"]
    assert [_device_for(k, ["cuda:2", "cuda:0", "cuda:1"]) for k in range(5)] == [
        "cuda:2", "cuda:0", "cuda:1", "cuda:2", "cuda:0"]
    assert _device_for(7, ["cpu"]) == "cpu"
    assert _device_for(0, []) is None


def test_worker_initializer_takes_the_next_index_from_the_shared_counter(monkeypatch):
    import multiprocessing as mp

    from nasrank.execution import _devices

    assigned = []
    monkeypatch.setattr(_devices, "_assign", assigned.append)
    counter = mp.get_context("spawn").Value("i", 0)
    for _ in range(3):  # in the main process the parent watchdog returns at once
        _worker_init(None, ("cpu", "mps"), counter)
    assert assigned == ["cpu", "mps", "cpu"]
    assert counter.value == 3
    _worker_init(None)  # no devices: no assignment, the counter is not needed
    assert assigned == ["cpu", "mps", "cpu"]


def test_process_executor_device_options_are_validated():
    with pytest.raises(ConfigError, match="needs CUDA") as info:
        ProcessExecutor(devices=["cpu", "cuda:0"])
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="unknown device 'gpu'"):
        ProcessExecutor(devices="gpu")
    with pytest.raises(ConfigError, match="empty"):
        ProcessExecutor(devices=[])
    with pytest.raises(ConfigError, match="cannot be one of several"):
        ProcessExecutor(devices=["auto", "cpu"])
    with pytest.raises(ConfigError, match="workers_per_device"):
        ProcessExecutor(devices=["cpu"], workers_per_device=0)
    with pytest.raises(ConfigError, match="needs devices"):
        ProcessExecutor(workers_per_device=2)
    ex = ProcessExecutor(workers=5, devices="cpu, CPU", workers_per_device=2)
    assert ex.devices == ["cpu", "cpu"] and ex.workers == 4  # workers_per_device * devices replaces workers
    assert "devices=['cpu', 'cpu']" in repr(ex)
    assert ProcessExecutor(workers=3, devices=["cpu"]).workers == 3
    assert ProcessExecutor().devices == [] and "devices" not in repr(ProcessExecutor())


def test_auto_devices_are_the_visible_gpus(monkeypatch):
    from nasrank.execution import _devices

    monkeypatch.setattr(_devices, "visible_devices", lambda: [])  # a machine without a GPU
    assert ProcessExecutor(devices="auto").devices == []  # no assignment: workers fall back as usual
    with pytest.raises(ConfigError, match="needs GPUs, but none is visible: use --workers") as info:
        ProcessExecutor(devices="auto", workers_per_device=2)
    assert "\n" not in str(info.value)
    monkeypatch.setattr(_devices, "visible_devices", lambda: ["cuda:0", "cuda:1"])
    ex = ProcessExecutor(devices="auto", workers_per_device=3)
    assert ex.devices == ["cuda:0", "cuda:1"] and ex.workers == 6


def test_process_pool_workers_run_on_their_assigned_device():
    with ProcessExecutor(devices=["cpu"], workers_per_device=2, threads=1) as ex:
        assert ex.workers == 2
        seen = [f.result() for f in [ex.submit(_devices_seen, k) for k in range(4)]]
    assert {s[0] for s in seen} == {"cpu"}  # every worker has the assignment ...
    assert {s[1] for s in seen} == {"cpu"}  # ... and "auto" resolves to it
    assert os.getpid() not in {s[2] for s in seen}


def _assigned_once_both_run(rendezvous: str) -> tuple[str | None, int]:
    """Check in under ``rendezvous`` and wait for a second worker to do so: one task per worker."""
    from pathlib import Path

    from nasrank.execution import assigned_device

    Path(rendezvous, str(os.getpid())).touch()
    deadline = time.monotonic() + 60
    while len(os.listdir(rendezvous)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assigned = assigned_device()
    return (None if assigned is None else str(assigned)), os.getpid()


def test_process_pool_assigns_devices_round_robin_across_workers(tmp_path):
    with ProcessExecutor(devices=["cpu"], workers_per_device=2, threads=1) as ex:
        ex.devices = ["cpu", "meta"]  # two distinguishable devices on a machine without GPUs
        first = [f.result() for f in [ex.submit(_assigned_once_both_run, str(tmp_path)) for _ in range(2)]]
        again = [f.result() for f in [ex.submit(_devices_seen) for _ in range(4)]]
    assert len({pid for _, pid in first}) == 2
    assert sorted(dev for dev, _ in first) == ["cpu", "meta"]  # the two workers got different devices
    by_worker = dict((pid, dev) for dev, pid in first)
    assert all(by_worker[pid] == dev for dev, _, pid in again)  # and each one keeps its device


def test_create_executor_passes_device_options_and_drops_the_ones_that_are_off():
    ex = create_executor("processes", 3, devices=["cpu"], workers_per_device=2, gpus_per_task=0.0)
    assert isinstance(ex, ProcessExecutor) and ex.workers == 2 and ex.devices == ["cpu"]
    ray_ex = create_executor("ray", 2, gpus_per_task=0.5, workers_per_device=None, devices=None)
    assert isinstance(ray_ex, RayExecutor) and ray_ex.gpus_per_task == 0.5
    assert isinstance(create_executor("serial", 1, gpus_per_task=0, workers_per_device=None), SerialExecutor)
    with pytest.raises(ConfigError, match="no parameter 'workers_per_device'"):
        create_executor("serial", 1, workers_per_device=2)
    with pytest.raises(ConfigError, match="no parameter 'gpus_per_task'"):
        create_executor("processes", 2, gpus_per_task=1)


def test_ray_gpus_per_task_is_validated():
    assert RayExecutor().gpus_per_task == 0.0
    assert RayExecutor(gpus_per_task=0.25).gpus_per_task == 0.25
    assert RayExecutor(gpus_per_task=2).gpus_per_task == 2.0
    assert "gpus_per_task=0.25" in repr(RayExecutor(gpus_per_task=0.25))
    for bad in (-0.5, float("nan"), "half", True):
        with pytest.raises(ConfigError, match="gpus_per_task"):
            RayExecutor(gpus_per_task=bad)
    with pytest.raises(ConfigError, match="whole number"):
        RayExecutor(gpus_per_task=1.5)


class _FakeRay:
    """Just enough of the ``ray`` module to see what RayExecutor asks of it."""

    def __init__(self, initialized: bool, resources: dict) -> None:
        self.initialized, self.resources = initialized, resources
        self.options: dict = {}
        self.calls: list[str] = []

    def is_initialized(self) -> bool:
        return self.initialized

    def init(self, **kwargs) -> None:
        self.calls.append("init")
        self.initialized = True

    def shutdown(self) -> None:
        self.calls.append("shutdown")
        self.initialized = False

    def cluster_resources(self) -> dict:
        return self.resources

    def remote(self, **options):
        self.options = options
        return lambda fn: ("remote", fn)


def test_ray_executor_asks_for_gpus_per_task(monkeypatch):
    fake = _FakeRay(initialized=True, resources={"CPU": 4.0, "GPU": 1.0})
    monkeypatch.setitem(sys.modules, "ray", fake)
    RayExecutor(threads=2, gpus_per_task=0.25)._ensure()
    assert fake.options == {"num_cpus": 2, "num_gpus": 0.25, "max_retries": 0}
    RayExecutor()._ensure()
    assert fake.options["num_gpus"] == 0.0 and fake.calls == []  # a running cluster is used as it is


def test_ray_executor_refuses_gpu_tasks_on_a_local_cluster_without_gpus(monkeypatch):
    fake = _FakeRay(initialized=False, resources={"CPU": 2.0})
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(ConfigError, match="needs GPUs, but the local Ray cluster has none: use --gpus-per-task 0"):
        RayExecutor(gpus_per_task=0.5)._ensure()
    assert fake.calls == ["init", "shutdown"]  # the cluster it started is not left running
    fake.calls.clear()
    ex = RayExecutor(gpus_per_task=0)
    ex._ensure()  # no GPUs asked for: runs on the CPUs
    assert fake.calls == ["init"] and fake.options["num_gpus"] == 0.0
    ex.shutdown()
    assert fake.calls == ["init", "shutdown"]


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


def _cuda_seen(_: object = None) -> tuple[str | None, str, str, int]:
    """In a worker: its assignment, "auto", torch's current CUDA device, and its pid."""
    import torch

    assigned, auto, pid = _devices_seen()
    return assigned, auto, f"cuda:{torch.cuda.current_device()}", pid


@pytest.mark.gpu
def test_process_pool_spreads_workers_over_the_visible_gpus():
    import torch

    n = torch.cuda.device_count()
    with ProcessExecutor(devices="auto", workers_per_device=2, threads=1) as ex:
        assert ex.workers == 2 * n
        seen = [f.result() for f in [ex.submit(_cuda_seen, k) for k in range(4 * n)]]
    for assigned, auto, current, _ in seen:
        assert assigned == auto == current  # "auto" and torch's current device are the assignment
    assert {s[0] for s in seen} <= {f"cuda:{i}" for i in range(n)}
    per_device: dict[str, set[int]] = {}
    for assigned, _, _, pid in seen:
        per_device.setdefault(assigned, set()).add(pid)
    assert all(len(pids) <= 2 for pids in per_device.values())  # at most workers_per_device per GPU


@pytest.mark.gpu
def test_ray_task_with_a_fraction_of_a_gpu_sees_it_as_cuda_0():
    pytest.importorskip("ray")
    with RayExecutor(workers=2, gpus_per_task=0.5) as ex:
        assigned, auto, current, _ = ex.submit(_cuda_seen).result(timeout=300)
    assert assigned is None and auto == current == "cuda:0"
