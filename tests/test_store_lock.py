"""One writer per job: store locks, two identical searches / builds, SIGINT, failed evaluations."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _store_util import count_records, count_rows

from nasrank.benchmarks import BuildConfig, build_benchmark, load_benchmark
from nasrank.cli import main
from nasrank.data import DataSpec
from nasrank.exceptions import AlreadyRunningError, BenchmarkDataError, ConfigError
from nasrank.search import TabularEvaluator, create_strategy, run_search
from nasrank.store import LOCK_SUFFIX, ResultStore
from nasrank.training import TrainConfig

ENV = dict(os.environ, PYTHONUNBUFFERED="1")

# holds a lock on key argv[2] of store argv[1] until its stdin closes
HOLD = """
import sys
from nasrank.store import ResultStore
st = ResultStore(sys.argv[1])
st.lock(sys.argv[2], what="job " + sys.argv[2]).acquire()
print("locked", flush=True)
sys.stdin.read()
"""
# prints whether key argv[2] of store argv[1] can be locked now
PROBE = """
import sys
from nasrank.exceptions import AlreadyRunningError
from nasrank.store import ResultStore
st = ResultStore(sys.argv[1])
try:
    st.lock(sys.argv[2]).acquire()
    print("free")
except AlreadyRunningError as exc:
    print("busy:", exc)
"""
LIVE = [sys.executable, "-m", "nasrank", "search", "--space", "nb201", "--dataset", "digits", "--strategy", "random",
        "--epochs", "1", "--C", "4", "--N", "1", "--quiet"]
BUILD_CFG = ("BuildConfig(space_config={{'C': 4, 'N': 1}}, data=DataSpec('digits', val_size=300, test_size=100),"
             " train=TrainConfig(epochs=1, batch_size=128), archs={archs})")


def hold(db: Path, key: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(db), key], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env=ENV)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def probe(db: Path, key: str) -> str:
    return subprocess.run([sys.executable, "-c", PROBE, str(db), key], capture_output=True, text=True,
                          check=True, env=ENV).stdout.strip()


def count_steps(db: Path) -> int:
    """Committed trajectory steps (see :func:`_store_util.count_rows`)."""
    return count_rows(db, "search_steps")


def wait_for(cond, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not cond() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert cond(), f"the background job did not get going (rc={proc.poll()})"


# --- the lock itself ---------------------------------------------------------------------------
def test_a_lock_excludes_other_processes_per_key_and_dies_with_its_holder(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    ResultStore(db).close()
    holder = hold(db, "search:aaa")
    try:
        with ResultStore(db) as st:
            with pytest.raises(AlreadyRunningError, match=rf"^job search:aaa is already running in another "
                                                          rf"process \(pid {holder.pid}\) on store runs.db; wait"):
                st.lock("search:aaa", what="job search:aaa").acquire()
            with st.lock("search:bbb"):  # another job on the same store is not held up
                assert probe(db, "search:bbb").startswith("busy:")
            assert probe(db, "search:bbb") == "free"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert probe(db, "search:aaa") == "free"  # the OS released the killed holder's lock
    assert sorted(os.listdir(tmp_path)) == ["runs.db", "runs.db" + LOCK_SUFFIX]


def test_locks_of_one_process_survive_each_others_release(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    a, b = ResultStore(db), ResultStore(db)
    la = a.lock("search:a").acquire()
    lb = b.lock("search:b").acquire()
    with pytest.raises(AlreadyRunningError, match="already running in this process"):
        b.lock("search:a").acquire()
    la.release()  # POSIX would drop every lock of the process on close(): b's must stay
    assert probe(db, "search:b").startswith("busy:") and probe(db, "search:a") == "free"
    b.close()  # closing a store releases its locks
    assert not lb.held and probe(db, "search:b") == "free"
    a.close()


# --- searches ----------------------------------------------------------------------------------
def test_a_second_identical_search_stops_with_a_clear_message(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    first = subprocess.Popen([*LIVE, "--budget", "10q", "--store", str(db), "--json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        wait_for(lambda: count_steps(db) >= 1, first)
        first.send_signal(signal.SIGSTOP)  # it holds its run's lock while stopped
        try:
            second = subprocess.run([*LIVE, "--budget", "10q", "--store", str(db)], capture_output=True, text=True,
                                    timeout=120, env=ENV)
        finally:
            first.send_signal(signal.SIGCONT)
        out, err = first.communicate(timeout=180)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert second.returncode == 2
    msg = second.stderr.strip().splitlines()[-1]
    assert msg.startswith("Error: search run ") and f"already running in another process (pid {first.pid})" in msg
    assert "on store runs.db" in msg and "--seeds" in msg
    assert first.returncode == 0, err
    (row,) = json.loads(out)
    with ResultStore(db, read_only=True) as st:
        recs = list(st.records())
        (run,) = st.search_runs()
    assert run["status"] == "done" and run["steps"] == 10
    assert row["evaluated_now"] == len(recs) == len({r.arch_key for r in recs})  # every cell trained once


def test_sigint_marks_the_run_interrupted_and_a_rerun_finishes_it(tmp_path: Path, capsys) -> None:
    db = tmp_path / "runs.db"
    # A process started in the background by a non-interactive shell (nohup, `cmd &`) inherits
    # SIGINT *ignored*, and Python then leaves it ignored; give the search the default disposition,
    # as in a terminal, so that the test does not depend on how the test run itself was started.
    proc = subprocess.Popen([*LIVE, "--budget", "15q", "--store", str(db)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=ENV,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_for(lambda: count_steps(db) >= 1, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    err_text = err.decode() if isinstance(err, bytes) else err
    assert "Traceback" not in err_text
    last = [ln for ln in err_text.splitlines() if ln.strip()][-1]
    assert last.startswith("Search interrupted (the run did not finish). Every finished evaluation is in ")
    assert last.endswith("run the same command again to resume where it stopped.")
    with ResultStore(db, read_only=True) as st:
        (run,) = st.search_runs()
        before = {r.arch_key: r.created for r in st.records()}
        steps = st.search_steps(run["run_id"])
    assert run["status"] == "interrupted" and 1 <= run["steps"] == len(steps) < 15, run
    assert main([*LIVE[3:], "--budget", "15q", "--store", str(db), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    with ResultStore(db, read_only=True) as st:
        (run,) = st.search_runs()
        after = {r.arch_key: r.created for r in st.records()}
        assert st.search_steps(run["run_id"])[: len(steps)] == steps  # the committed steps stayed
    assert run["status"] == "done" and run["steps"] == 15
    assert all(after[k] == c for k, c in before.items())  # stored cells were not trained again
    assert row["evaluated_now"] == len(after) - len(before)


def _tabular() -> TabularEvaluator:
    return TabularEvaluator(load_benchmark("nb201-mini"), "tse-ema", epochs=5)


def test_run_status_follows_interrupts_and_failures(tmp_path: Path) -> None:
    db = str(tmp_path / "runs.db")
    ev = _tabular()

    def stop_at_3(step):
        if step["step"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_search(create_strategy("random", ev.space, seed=0), ev, "8q", store=db, on_step=stop_at_3)
    with ResultStore(db, read_only=True) as st:
        (run,) = st.search_runs()
        assert run["status"] == "interrupted" and run["steps"] == 4

    def boom(step):
        if step["step"] == 5:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        run_search(create_strategy("random", ev.space, seed=0), ev, "8q", store=db, on_step=boom)
    with ResultStore(db) as st:
        assert st.search_run(run["run_id"])["status"] == "failed"
        with st.lock(f"search:{run['run_id']}"):  # the lock was released on the way out
            pass
    res = run_search(create_strategy("random", ev.space, seed=0), ev, "8q", store=db)
    assert len(res.steps) == 8 and res.evaluated == 2
    with ResultStore(db, read_only=True) as st:
        assert st.search_run(res.run_id)["status"] == "done"


class _Broken(TabularEvaluator):
    def evaluate(self, arch, fidelity=None):
        raise RuntimeError("CUDA out of memory (simulated)")


def test_error_steps_carry_the_evaluation_error(tmp_path: Path) -> None:
    ev = _Broken(load_benchmark("nb201-mini"), "tse-ema", epochs=5)
    res = run_search(create_strategy("random", ev.space, seed=0), ev, "3q", store=str(tmp_path / "runs.db"))
    assert res.best is None and [s["status"] for s in res.steps] == ["error"] * 3
    assert all(s["error"] == "RuntimeError: CUDA out of memory (simulated)" for s in res.steps)
    with ResultStore(tmp_path / "runs.db", read_only=True) as st:
        assert st.search_steps(res.run_id)[0]["error"].startswith("RuntimeError: CUDA")
    with pytest.raises(ConfigError, match="the first 5 evaluations all failed"):
        run_search(create_strategy("random", ev.space, seed=1), ev, "9q", store=str(tmp_path / "runs.db"))
    ok = run_search(create_strategy("random", ev.space, seed=0), _tabular(), "2q")
    assert all("error" not in s for s in ok.steps)


# --- benchmark builds ----------------------------------------------------------------------------
def test_a_second_identical_build_stops_and_a_killed_build_releases_it(tmp_path: Path) -> None:
    db = tmp_path / "records.sqlite"
    code = ("from nasrank.benchmarks import BuildConfig, build_benchmark\nfrom nasrank.data import DataSpec\n"
            "from nasrank.training import TrainConfig\nimport sys\n"
            f"build_benchmark({BUILD_CFG.format(archs=30)}, sys.argv[1], store=sys.argv[2], progress=False)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "a"), str(db)], stderr=subprocess.PIPE,
                            env=ENV)
    try:
        wait_for(lambda: count_records(db) >= 1, proc)
        proc.send_signal(signal.SIGSTOP)
        cfg = eval(BUILD_CFG.format(archs=2))  # the same training setup, fewer cells  # noqa: S307
        with pytest.raises(AlreadyRunningError, match=rf"build with this training setup is already running in "
                                                      rf"another process \(pid {proc.pid}\)"):
            build_benchmark(cfg, tmp_path / "b", store=db, progress=False)
        assert not (tmp_path / "b").exists()
    finally:
        proc.kill()
        proc.wait()
    n = count_records(db)
    assert 1 <= n < 30
    path = build_benchmark(cfg, tmp_path / "b", store=db, progress=False)  # free again after SIGKILL
    assert len(load_benchmark(str(path))) == 2
    assert count_records(db) <= n + 2


def test_a_build_where_every_run_failed_exports_nothing(tmp_path: Path) -> None:
    cfg = BuildConfig(space_config={"C": 4, "N": 1, "bogus": 1}, data=DataSpec("digits", val_size=300, test_size=0),
                      train=TrainConfig(epochs=1, batch_size=256), archs=2)
    out = tmp_path / "b"
    with pytest.raises(BenchmarkDataError, match=r"all 2 training runs failed \(first error: \w+Error: .*bogus.*\);"
                                                 r" nothing was exported"):
        build_benchmark(cfg, out, progress=False)
    assert not (out / "benchmark.json").exists() and not (out / "curves.npz").exists()
    with ResultStore(out / "records.sqlite", read_only=True) as st:
        assert [r.status for r in st.records()] == ["error", "error"]  # kept, and retried next time
    with pytest.raises(ConfigError, match="does not exist"):
        build_benchmark(cfg, tmp_path / "no" / "b", progress=False)
    assert not (tmp_path / "no").exists()
