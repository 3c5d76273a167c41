"""Every bad input on the CLI: exit 2, one line starting with ``Error:``, no traceback, no file
created, modified or removed.

Each case runs ``nasrank.cli.main`` in-process in a scratch directory holding the inputs a user
might point at by mistake (a foreign SQLite database, a zero-byte file, a truncated benchmark, a
text file, a directory, a real results store, ...). The SHA-256 of every file and the set of paths
are compared before and after. A handful of cases also run as real processes (stderr is the
whole story there: no traceback may sneak out).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from nasrank.benchmarks import shipped_benchmark_path
from nasrank.cli import main

A = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
BAD_OP = A.replace("skip_connect~2", "bogus~2")
LIVE = ["--quiet", "--budget", "2q", "--epochs", "1", "--C", "4"]
TAB = ["--benchmark", "nb201-mini", "--quiet", "--budget", "3q"]

# (id, argv) -- every one must fail cleanly. Paths are relative to the scratch directory.
CASES: list[tuple[str, list[str]]] = [
    # the command line itself
    ("unknown-command", ["nope"]),
    ("unknown-root-option", ["--bogus"]),
    ("unknown-subcommand", ["spaces", "nope"]),
    ("unknown-option", ["search", "--bogus"]),
    ("int-option-not-int", ["search", "--epochs", "abc"]),
    ("missing-option-value", ["search", "--epochs"]),
    # spaces
    ("spaces-unknown-space", ["spaces", "show", "nope", "--arch", A]),
    ("spaces-malformed-arch", ["spaces", "show", "nb201", "--arch", "garbage"]),
    ("spaces-unknown-op", ["spaces", "show", "nb201", "--arch", BAD_OP]),
    ("spaces-missing-arch", ["spaces", "show", "nb201"]),
    ("spaces-num-classes-0", ["spaces", "show", "nb201", "--arch", A, "--num-classes", "0"]),
    ("spaces-input-size-0", ["spaces", "show", "nb201", "--arch", A, "--input-size", "0"]),
    ("spaces-darts-malformed", ["spaces", "show", "darts", "--arch", "garbage"]),
    ("spaces-list-bad-option", ["spaces", "list", "--bogus"]),
    # proxies
    ("proxies-no-arch", ["proxies"]),
    ("proxies-malformed-arch", ["proxies", "--arch", "garbage"]),
    ("proxies-unknown-proxy", ["proxies", "--arch", A, "--names", "bogus"]),
    ("proxies-batch-0", ["proxies", "--arch", A, "--batch-size", "0"]),
    ("proxies-batch-too-large", ["proxies", "--arch", A, "--batch-size", "100000", "--names", "nwot"]),
    ("proxies-no-data", ["proxies", "--arch", A, "--dataset", "cifar10"]),
    ("proxies-data-dir-missing", ["proxies", "--arch", A, "--dataset", "cifar10", "--data-dir", "missing"]),
    ("proxies-data-dir-is-file", ["proxies", "--arch", A, "--dataset", "cifar10", "--data-dir", "notes.txt"]),
    ("proxies-unknown-dataset", ["proxies", "--arch", A, "--dataset", "bogus"]),
    ("proxies-C-0", ["proxies", "--arch", A, "--C", "0"]),
    ("proxies-unknown-space", ["proxies", "--arch", A, "--space", "bogus"]),
    ("proxies-threads-0", ["proxies", "--arch", A, "--threads", "0"]),
    ("proxies-negative-seed", ["proxies", "--arch", A, "--seed", "-1"]),
    # correlate
    ("correlate-unknown-benchmark", ["correlate", "--benchmark", "bogus"]),
    ("correlate-benchmark-dir-missing", ["correlate", "--benchmark", "./missing"]),
    ("correlate-benchmark-is-file", ["correlate", "--benchmark", "notes.txt"]),
    ("correlate-benchmark-json-file", ["correlate", "--benchmark", "broken/benchmark.json"]),
    ("correlate-truncated-npz", ["correlate", "--benchmark", "broken"]),
    ("correlate-unknown-estimator", ["correlate", "--estimators", "bogus", "--plot", "none"]),
    ("correlate-bad-epochs", ["correlate", "--epochs", "abc", "--plot", "none"]),
    ("correlate-epochs-0", ["correlate", "--epochs", "0", "--plot", "none"]),
    ("correlate-epochs-beyond", ["correlate", "--epochs", "1000", "--plot", "none"]),
    ("correlate-unknown-target", ["correlate", "--target", "bogus", "--plot", "none"]),
    ("correlate-unknown-metric", ["correlate", "--metric", "bogus", "--plot", "none"]),
    ("correlate-n-boot-0", ["correlate", "--n-boot", "0"]),
    ("correlate-confidence-2", ["correlate", "--confidence", "2"]),
    ("correlate-csv-is-dir", ["correlate", "--csv", "adir", "--plot", "none"]),
    ("correlate-csv-missing-dir", ["correlate", "--csv", "missing/dir/x.csv", "--plot", "none"]),
    ("correlate-plot-missing-dir", ["correlate", "--plot", "missing/dir/x.png"]),
    ("correlate-curves-missing", ["correlate", "--curves", "missing.csv", "--plot", "none"]),
    ("correlate-curves-dir", ["correlate", "--curves", "adir", "--plot", "none"]),
    ("correlate-curves-malformed", ["correlate", "--curves", "bad.csv", "--plot", "none"]),
    ("correlate-curves-and-benchmark", ["correlate", "--curves", "bad.csv", "--benchmark", "nb201-mini"]),
    ("correlate-bad-estimator-param", ["correlate", "--estimators", "tse-ema:gamma=abc", "--plot", "none"]),
    ("correlate-unknown-estimator-param", ["correlate", "--estimators", "tse-ema:bogus=1", "--plot", "none"]),
    ("correlate-unknown-dataset", ["correlate", "--dataset", "bogus", "--plot", "none"]),
    ("correlate-fit-size-0", ["correlate", "--fit-size", "0"]),
    ("correlate-fit-size-too-large", ["correlate", "--estimators", "lcsvr", "--fit-size", "100000", "--plot", "none"]),
    # bench
    ("bench-info-unknown", ["bench", "info", "bogus"]),
    ("bench-info-dir-missing", ["bench", "info", "./missing"]),
    ("bench-info-file", ["bench", "info", "notes.txt"]),
    ("bench-info-truncated", ["bench", "info", "broken"]),
    ("bench-info-json-file", ["bench", "info", "broken/benchmark.json"]),
    ("bench-info-foreign-dir", ["bench", "info", "adir"]),
    ("bench-build-no-out", ["bench", "build"]),
    ("bench-build-no-data", ["bench", "build", "--out", "o", "--archs", "2", "--quiet"]),
    ("bench-build-archs-0", ["bench", "build", "--out", "o", "--dataset", "digits", "--archs", "0"]),
    ("bench-build-epochs-0", ["bench", "build", "--out", "o", "--dataset", "digits", "--epochs", "0"]),
    ("bench-build-out-is-file", ["bench", "build", "--out", "notes.txt", "--dataset", "digits", "--quiet"]),
    ("bench-build-out-parent-missing", ["bench", "build", "--out", "missing/dir/o", "--dataset", "digits"]),
    ("bench-build-val-too-large", ["bench", "build", "--out", "o", "--dataset", "digits", "--val-size", "100000"]),
    ("bench-build-darts-nb201-option", ["bench", "build", "--out", "o", "--dataset", "digits", "--space", "darts", "--N", "1"]),
    ("bench-build-bad-seeds", ["bench", "build", "--out", "o", "--dataset", "digits", "--seeds", "a,b"]),
    ("bench-build-unknown-executor", ["bench", "build", "--out", "o", "--dataset", "digits", "--executor", "bogus"]),
    ("bench-build-serial-workers", ["bench", "build", "--out", "o", "--dataset", "digits", "--workers", "2"]),
    ("bench-build-foreign-store", ["bench", "build", "--out", "o", "--dataset", "digits", "--store", "foreign.db", "--archs", "1", "--epochs", "1", "--C", "4", "--quiet"]),
    ("bench-build-zero-store", ["bench", "build", "--out", "o", "--dataset", "digits", "--store", "zero.db", "--archs", "1", "--epochs", "1", "--C", "4", "--quiet"]),
    ("bench-build-store-dir-missing", ["bench", "build", "--out", "o", "--dataset", "digits", "--store", "missing/dir/r.db"]),
    ("bench-build-lr-0", ["bench", "build", "--out", "o", "--dataset", "digits", "--lr", "0"]),
    ("bench-build-unknown-dataset", ["bench", "build", "--out", "o", "--dataset", "bogus"]),
    ("bench-build-unknown-space", ["bench", "build", "--out", "o", "--dataset", "digits", "--space", "bogus"]),
    ("bench-build-C-0", ["bench", "build", "--out", "o", "--dataset", "digits", "--C", "0"]),
    ("bench-build-batch-too-large", ["bench", "build", "--out", "o", "--dataset", "digits", "--batch-size", "100000", "--quiet"]),
    # search
    ("search-unknown-param", ["search", *LIVE, "--param", "foo=bar"]),
    ("search-param-no-equals", ["search", *LIVE, "--param", "noequals"]),
    ("search-param-bad-value", ["search", *LIVE, "--param", "population_size=abc"]),
    ("search-C-0", ["search", *LIVE, "--C", "0"]),
    ("search-val-size-too-large", ["search", *LIVE, "--val-size", "100000"]),
    ("search-no-data", ["search", *LIVE, "--dataset", "cifar10"]),
    ("search-data-dir-missing", ["search", *LIVE, "--dataset", "cifar10", "--data-dir", "missing"]),
    ("search-data-dir-is-file", ["search", *LIVE, "--dataset", "cifar10", "--data-dir", "notes.txt"]),
    ("search-unknown-strategy", ["search", *LIVE, "--strategy", "bogus"]),
    ("search-unknown-estimator", ["search", *LIVE, "--estimator", "bogus"]),
    ("search-live-no-estimator", ["search", *LIVE, "--estimator", "none"]),
    ("search-bad-budget", ["search", "--quiet", "--budget", "abc"]),
    ("search-zero-budget", ["search", "--quiet", "--budget", "0"]),
    ("search-budget-unit", ["search", "--quiet", "--budget", "5x"]),
    ("search-bad-seeds", ["search", *LIVE, "--seeds", "a"]),
    ("search-empty-seeds", ["search", *LIVE, "--seeds", "5:2"]),
    ("search-foreign-store", ["search", *LIVE, "--store", "foreign.db"]),
    ("search-zero-store", ["search", *LIVE, "--store", "zero.db"]),
    ("search-text-store", ["search", *LIVE, "--store", "notes.txt"]),
    ("search-store-dir-missing", ["search", *LIVE, "--store", "missing/dir/r.db"]),
    ("search-store-is-dir", ["search", *LIVE, "--store", "adir"]),
    ("search-truncated-benchmark", ["search", "--benchmark", "broken", "--quiet", "--budget", "3q"]),
    ("search-unknown-benchmark", ["search", "--benchmark", "bogus", "--quiet", "--budget", "3q"]),
    ("search-benchmark-unknown-metric", ["search", *TAB, "--estimator", "none", "--metric", "bogus"]),
    ("search-unknown-executor", ["search", *LIVE, "--executor", "bogus", "--workers", "2"]),
    ("search-serial-workers", ["search", *LIVE, "--workers", "2"]),
    ("search-epochs-0", ["search", "--quiet", "--epochs", "0"]),
    ("search-lr-0", ["search", *LIVE, "--lr", "0"]),
    ("search-unknown-space", ["search", *LIVE, "--space", "bogus"]),
    ("search-darts-nb201-option", ["search", *LIVE, "--space", "darts", "--N", "1"]),
    ("search-hyperband-no-epochs", ["search", *TAB, "--estimator", "none", "--strategy", "hyperband"]),
    ("search-g-rs-unknown-proxy", ["search", *LIVE, "--strategy", "g-rs", "--proxy", "bogus"]),
    ("search-unknown-dataset", ["search", *LIVE, "--dataset", "bogus"]),
    ("search-batch-too-large", ["search", *LIVE, "--batch-size", "100000"]),
    ("search-pool-size-0", ["search", *LIVE, "--strategy", "g-rs", "--pool-size", "0"]),
    ("search-workers-0", ["search", *LIVE, "--workers", "0"]),
    # report
    ("report-missing-store", ["report", "missing.db"]),
    ("report-foreign-store", ["report", "foreign.db", "--out", "rep"]),
    ("report-zero-store", ["report", "zero.db", "--out", "rep"]),
    ("report-text-store", ["report", "notes.txt", "--out", "rep"]),
    ("report-store-is-dir", ["report", "adir", "--out", "rep"]),
    ("report-out-is-file", ["report", "runs.db", "--out", "notes.txt"]),
    ("report-out-parent-missing", ["report", "runs.db", "--out", "missing/dir/rep"]),
    ("report-unknown-value", ["report", "runs.db", "--out", "rep", "--value", "foo"]),
    ("report-empty-store", ["report", "empty.db", "--out", "rep"]),
    # zcpt
    ("zcpt-unknown-space", ["zcpt", "--space", "bogus"]),
    ("zcpt-unknown-proxy", ["zcpt", "--proxy", "bogus"]),
    ("zcpt-unknown-order", ["zcpt", "--order", "bogus"]),
    ("zcpt-proposals-0", ["zcpt", "--proposals", "0"]),
    ("zcpt-validation-negative", ["zcpt", "--validation", "-1"]),
    ("zcpt-batch-0", ["zcpt", "--batch-size", "0"]),
    ("zcpt-unknown-mode", ["zcpt", "--mode", "bogus"]),
    ("zcpt-no-data", ["zcpt", "--dataset", "cifar10"]),
    ("zcpt-C-0", ["zcpt", "--C", "0"]),
    ("zcpt-threads-0", ["zcpt", "--threads", "0"]),
    ("zcpt-batch-too-large", ["zcpt", "--batch-size", "100000", "--proposals", "1", "--validation", "1"]),
]


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root) + "/"] = "dir"
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = hashlib.sha256(Path(p).read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files a user might pass by mistake, built once per module (read-only use)."""
    root = tmp_path_factory.mktemp("cli_inputs")
    (root / "notes.txt").write_text("not a database, not a benchmark\n")
    (root / "zero.db").write_bytes(b"")
    (root / "adir").mkdir()
    (root / "adir" / "keep.txt").write_text("a file inside a directory\n")
    db = sqlite3.connect(root / "foreign.db")
    db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    db.execute("INSERT INTO customers (name) VALUES ('ada')")
    db.commit()
    db.close()
    broken = root / "broken"
    shutil.copytree(shipped_benchmark_path("nb201-mini"), broken)
    data = (broken / "curves.npz").read_bytes()
    (broken / "curves.npz").write_bytes(data[: len(data) // 3])  # a copy cut short
    (root / "bad.csv").write_text("arch,epoch,train_loss,test_acc\na,1,not-a-number,0.5\n")
    # a real results store with one finished search, and one with no search run
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert main(["search", *TAB, "--estimator", "tse-ema", "--store", "runs.db"]) == 0
    finally:
        os.chdir(cwd)
    from nasrank.store import ResultStore

    ResultStore(root / "empty.db").close()
    for side in root.glob("*-wal"):
        side.unlink()
    for side in root.glob("*-shm"):
        side.unlink()
    return root


@pytest.fixture
def scratch(inputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    shutil.copytree(inputs, work)
    monkeypatch.chdir(work)
    monkeypatch.delenv("NASRANK_DATA", raising=False)
    return work


@pytest.mark.parametrize("argv", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_one_error_line_and_touches_nothing(argv: list[str], scratch: Path, capsys) -> None:
    before = _snapshot(scratch)
    rc = main(list(argv))
    cap = capsys.readouterr()
    after = _snapshot(scratch)
    lines = [ln for ln in cap.err.splitlines() if ln.strip()]
    assert rc == 2, (rc, cap.err[-2000:], cap.out[-500:])
    assert len(lines) == 1, cap.err
    assert lines[0].startswith("Error: "), lines[0]
    assert "Traceback" not in cap.err
    assert len(lines[0]) > len("Error: ") + 15  # says something
    assert cap.out == "", cap.out
    created = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in before if k in after and before[k] != after[k])
    assert (created, removed, changed) == ([], [], []), (created, removed, changed)


def test_case_ids_are_unique() -> None:
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 100


@pytest.mark.parametrize("argv", [
    ["search", "--quiet", "--budget", "2q", "--param", "foo=bar"],
    ["correlate", "--benchmark", "broken"],
    ["report", "zero.db", "--out", "rep"],
    ["spaces", "show", "nb201", "--arch", "garbage"],
], ids=["search-param", "truncated-benchmark", "report-zero-store", "malformed-arch"])
def test_bad_input_as_a_process(argv: list[str], scratch: Path) -> None:
    before = _snapshot(scratch)
    res = subprocess.run([sys.executable, "-m", "nasrank", *argv], capture_output=True, text=True, timeout=120,
                         cwd=scratch)
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), res.stderr
    assert res.stdout == ""
    assert _snapshot(scratch) == before


def test_every_evaluation_failing_is_an_error_not_a_result(scratch: Path, capsys, monkeypatch) -> None:
    """A search whose evaluations all fail (here: every training run raises) exits 2 and says why."""
    def broken_train(*args, **kwargs):
        raise RuntimeError("out of memory (simulated)")

    monkeypatch.setattr("nasrank.training.train", broken_train)
    rc = main(["search", *LIVE, "--budget", "3q"])
    cap = capsys.readouterr()
    assert rc == 2
    last = [ln for ln in cap.err.splitlines() if ln.strip()][-1]
    assert last.startswith("Error: no evaluation of the search succeeded (3 failed")
    assert "out of memory (simulated)" in last


def test_json_summary_still_parses_for_a_good_search(scratch: Path, capsys) -> None:
    assert main(["search", *TAB, "--estimator", "tse-ema", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["evaluations"] == 3 and rows[0]["best_arch"]
