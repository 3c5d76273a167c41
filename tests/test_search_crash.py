"""`nasrank search` with a live evaluator: SIGKILL mid-run then resume; a Ray-executor search."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from _store_util import count_records

from nasrank.cli import main
from nasrank.search import load_runs
from nasrank.store import ResultStore

LIVE = ["search", "--space", "nb201", "--dataset", "digits", "--strategy", "evolution", "--estimator", "tse-ema",
        "--epochs", "1", "--C", "4", "--N", "1", "--val-size", "300", "--test-size", "100",
        "--param", "population_size=3", "--param", "sample_size=2"]


def _trajectory(db):
    runs = load_runs(db)
    assert len(runs) == 1
    return [(s["arch"], s["score"], s["best_arch"]) for s in runs[0]["steps"]]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    db = tmp_path_factory.mktemp("search") / "full.db"
    assert main([*LIVE, "--budget", "7q", "--store", str(db), "--quiet"]) == 0
    return db


def test_sigkill_then_resume_repeats_nothing_and_matches(uninterrupted, tmp_path):
    db = tmp_path / "killed.db"
    cmd = [sys.executable, "-m", "nasrank", *LIVE, "--budget", "7q", "--store", str(db), "--quiet"]
    proc = subprocess.Popen(cmd, env=dict(os.environ, PYTHONUNBUFFERED="1"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 180
    while count_records(db) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_killed = count_records(db)
    assert 2 <= n_killed < 7, f"kill did not land mid-run ({n_killed} evaluations stored)"
    with ResultStore(db) as st:
        before = {r.arch_key: r.created for r in st.records()}
    assert main([*LIVE, "--budget", "7q", "--store", str(db), "--quiet"]) == 0
    with ResultStore(db) as st:
        after = {r.arch_key: r.created for r in st.records()}
    for k, created in before.items():
        assert after[k] == created  # finished evaluations were reused, not repeated
    con = sqlite3.connect(db)
    ids = [r[0] for r in con.execute("SELECT id FROM records ORDER BY id")]
    con.close()
    assert ids == list(range(1, len(ids) + 1))  # nothing re-inserted
    full = _trajectory(uninterrupted)
    assert len(full) == 7 and _trajectory(db) == full


def test_live_search_on_a_local_ray_cluster(tmp_path):
    pytest.importorskip("ray")
    db = tmp_path / "ray.db"
    assert main([*LIVE, "--budget", "4q", "--store", str(db), "--executor", "ray", "--workers", "2",
                 "--quiet"]) == 0
    steps = _trajectory(db)
    assert len(steps) == 4 and all(s[1] is not None for s in steps)
    with ResultStore(db) as st:
        recs = list(st.records())
    assert len(recs) == len({r.arch_key for r in recs}) and all(r.status == "ok" for r in recs)
    assert {r.info.get("pid") for r in recs} - {os.getpid()}  # trained in Ray workers, not here
