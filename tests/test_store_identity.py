"""The results store's identity: files that are not stores are refused untouched; old stores are adopted.

Also the report's checks, which run before it writes anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from nasrank.benchmarks import load_benchmark
from nasrank.cli import main
from nasrank.exceptions import ConfigError
from nasrank.search import TabularEvaluator, create_strategy, load_runs, run_search, write_report
from nasrank.store import APPLICATION_ID, SCHEMA_VERSION, EvalRecord, ResultStore

# The schema nasrank wrote before stores had an identity (application_id 0, user_version 0).
LEGACY_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE records (
    id INTEGER PRIMARY KEY AUTOINCREMENT, space TEXT NOT NULL, arch_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL, arch TEXT NOT NULL, status TEXT NOT NULL, metrics TEXT NOT NULL,
    curve TEXT, cost REAL NOT NULL, error TEXT, info TEXT NOT NULL, created REAL NOT NULL,
    UNIQUE (space, arch_key, fingerprint)
);
CREATE INDEX records_fp ON records (fingerprint);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO records (space, arch_key, fingerprint, arch, status, metrics, curve, cost, error, info, created)
    VALUES ('nb201', 'k1', 'fp', 'arch-1', 'ok', '{"acc": 0.5}', NULL, 2.0, NULL, '{}', 1.0);
"""
LEGACY_SEARCH_TABLES = """
CREATE TABLE search_runs (run_id TEXT PRIMARY KEY, config TEXT NOT NULL, state TEXT,
    spent REAL NOT NULL DEFAULT 0, steps INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL,
    created REAL NOT NULL, updated REAL NOT NULL);
CREATE TABLE search_steps (run_id TEXT NOT NULL, step INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (run_id, step));
INSERT INTO search_runs VALUES ('r1', '{"strategy": "random", "label": "x", "seed": 0}', NULL, 1.0, 1,
    'done', 1.0, 2.0);
INSERT INTO search_steps VALUES ('r1', 0, '{"step": 0, "spent": 1.0, "arch": "a", "best_score": 0.5,
    "best_metrics": {"test_acc": 0.7}}');
"""


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def header(path: Path) -> tuple[int, int]:
    """``(application_id, user_version)`` from the database header, without SQLite."""
    head = path.read_bytes()[:100]
    return int.from_bytes(head[68:72], "big"), int.from_bytes(head[60:64], "big")


def make_foreign(path: Path, wal: bool = False) -> None:
    con = sqlite3.connect(path)
    if wal:
        con.execute("PRAGMA journal_mode=WAL")
    con.executescript("CREATE TABLE a (x); CREATE TABLE b (y); INSERT INTO a VALUES (1);")
    con.commit()
    con.close()


def make_legacy(path: Path, search_tables: bool = True) -> None:
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")  # as the old code left its stores
    con.executescript(LEGACY_SCHEMA + (LEGACY_SEARCH_TABLES if search_tables else ""))
    con.commit()
    con.close()


def tabular_search(store: Path, seed: int = 0, budget: str = "4q") -> None:
    ev = TabularEvaluator(load_benchmark("nb201-mini"), "tse-ema", epochs=5)
    run_search(create_strategy("random", ev.space, seed=seed), ev, budget, store=str(store))


NOT_STORES = {
    "foreign": (lambda p: make_foreign(p), r"is not a nasrank results store \(it has tables a, b\)"),
    "foreign-wal": (lambda p: make_foreign(p, wal=True), r"it has tables a, b"),
    "zero-byte": (lambda p: p.write_bytes(b""), r"empty file \(0 bytes\)"),
    "text": (lambda p: p.write_text("id,acc\n1,0.5\n" * 20), r"not an SQLite database"),
}


@pytest.mark.parametrize("kind", sorted(NOT_STORES))
def test_a_file_that_is_not_a_store_is_refused_and_left_byte_identical(tmp_path: Path, kind: str) -> None:
    make, message = NOT_STORES[kind]
    path = tmp_path / "other.db"
    make(path)
    before = sha(path)
    with pytest.raises(ConfigError, match=message):
        ResultStore(path)
    with pytest.raises(ConfigError, match=message):
        ResultStore(path, read_only=True)
    with pytest.raises(ConfigError, match=message):
        write_report(path, tmp_path / "rep")
    with pytest.raises(ConfigError, match=message):
        load_runs(path)
    ev = TabularEvaluator(load_benchmark("nb201-mini"), "tse-ema", epochs=5)
    with pytest.raises(ConfigError, match=message):
        run_search(create_strategy("random", ev.space, seed=0), ev, "2q", store=str(path))
    assert sha(path) == before
    assert sorted(os.listdir(tmp_path)) == ["other.db"]  # no -wal/-shm/-journal, no lock file, no report


def test_cli_search_and_report_refuse_a_foreign_database(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "other.db"
    make_foreign(path)
    before = sha(path)
    args = ["search", "--benchmark", "nb201-mini", "--dataset", "cifar10", "--strategy", "random", "--budget", "2q",
            "--store", str(path), "--quiet"]
    assert main(args) == 2
    assert main(["report", str(path), "--out", str(tmp_path / "rep"), "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert err.count("is not a nasrank results store (it has tables a, b)") == 2
    assert sha(path) == before and sorted(os.listdir(tmp_path)) == ["other.db"]


def test_another_applications_database_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    con = sqlite3.connect(path)
    con.execute("PRAGMA application_id=1234")
    con.execute("PRAGMA user_version=7")
    con.commit()
    con.close()
    before = sha(path)
    with pytest.raises(ConfigError, match=r"another application \(application_id 0x4d2\)"):
        ResultStore(path)
    assert sha(path) == before and sorted(os.listdir(tmp_path)) == ["app.db"]


def test_a_new_store_is_stamped_and_created_only_in_an_existing_directory(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    with ResultStore(path) as st:
        st.add(EvalRecord("nb201", "a", "k", "fp", "ok", {"acc": 0.5}))
    assert header(path) == (APPLICATION_ID, SCHEMA_VERSION)
    assert sorted(os.listdir(tmp_path)) == ["runs.db"]  # no temporary file left behind
    missing = tmp_path / "nonexistent" / "dir" / "runs.db"
    with pytest.raises(ConfigError, match=r"directory .*nonexistent/dir' does not exist \(create it first\)"):
        ResultStore(missing)
    with pytest.raises(ConfigError, match="does not exist"):
        ResultStore(missing, read_only=True)
    ev = TabularEvaluator(load_benchmark("nb201-mini"), "tse-ema", epochs=5)
    with pytest.raises(ConfigError, match="create it first"):
        run_search(create_strategy("random", ev.space, seed=0), ev, "2q", store=str(missing))
    assert main(["search", "--benchmark", "nb201-mini", "--dataset", "cifar10", "--strategy", "random",
                 "--budget", "2q", "--store", str(missing), "--quiet"]) == 2
    assert not (tmp_path / "nonexistent").exists()


def test_stores_created_at_the_same_time_by_several_openers_are_one_store(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    go = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_and_add(i: int) -> None:
        try:
            go.wait()
            with ResultStore(path) as st:
                st.add(EvalRecord("nb201", "a", f"k{i}", "fp", "ok", {"acc": 0.5}))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=open_and_add, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with ResultStore(path, read_only=True) as st:
        assert len(st) == 4
    assert sorted(os.listdir(tmp_path)) == ["runs.db"]


@pytest.mark.parametrize("search_tables", [True, False])
def test_a_legacy_store_is_read_as_is_and_adopted_when_written(tmp_path: Path, search_tables: bool) -> None:
    path = tmp_path / "old.db"
    make_legacy(path, search_tables)
    assert header(path) == (0, 0)
    before = sha(path)
    with ResultStore(path, read_only=True) as st:  # reading stamps nothing
        assert [r.arch_key for r in st.records()] == ["k1"]
        assert [r["run_id"] for r in st.search_runs()] == (["r1"] if search_tables else [])
    assert sha(path) == before and header(path) == (0, 0)
    if search_tables:
        assert load_runs(path)[0]["steps"][0]["best_metrics"] == {"test_acc": 0.7}
    with ResultStore(path) as st:  # writing adopts it
        assert st.get("nb201", "k1", "fp").metrics == {"acc": 0.5}
        assert st.add(EvalRecord("nb201", "a", "k2", "fp", "ok", {"acc": 0.6}))
        st.start_search_run("r2", {"strategy": "random"})
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == "1"
    assert con.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 2
    con.close()
    with ResultStore(path) as st:  # and now opens as an ordinary store
        assert len(st) == 2 and {r["run_id"] for r in st.search_runs()} >= {"r2"}


def test_a_store_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    ResultStore(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    for ro in (False, True):
        with pytest.raises(ConfigError, match=f"schema version {SCHEMA_VERSION + 1}, this nasrank reads"):
            ResultStore(path, read_only=ro)


def test_read_only_store_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    tabular_search(path)
    before = sha(path)
    with ResultStore(path, read_only=True) as st:
        assert st.read_only and len(st) == 4 and len(st.search_runs()) == 1
        with pytest.raises(ConfigError, match="read-only"):
            st.add(EvalRecord("nb201", "a", "k", "fp", "ok"))
        with pytest.raises(ConfigError, match="read-only"):
            st.lock("search:x")
    assert sha(path) == before
    with pytest.raises(ConfigError, match="read-only"):
        ResultStore(":memory:", read_only=True)


# --- the report checks everything before it writes ------------------------------------------
@pytest.fixture()
def searched(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    tabular_search(path, seed=0)
    tabular_search(path, seed=1)
    return path


def test_report_refuses_bad_out_value_and_empty_stores_before_writing(searched: Path, tmp_path: Path) -> None:
    existing = tmp_path / "report.txt"
    existing.write_text("keep me")
    with pytest.raises(ConfigError, match="is a file, not a directory"):
        write_report(searched, existing)
    assert existing.read_text() == "keep me"
    with pytest.raises(ConfigError, match=r"'foo' is not recorded .*use one of: score, .*test_acc"):
        write_report(searched, tmp_path / "rep", value="foo")
    with pytest.raises(ConfigError, match="does not exist"):
        write_report(searched, tmp_path / "no" / "rep")
    empty = tmp_path / "empty.db"
    ResultStore(empty).close()
    with pytest.raises(ConfigError, match="has no search runs"):
        write_report(empty, tmp_path / "rep")
    assert not (tmp_path / "rep").exists() and not (tmp_path / "no").exists()


def test_cli_report_errors_are_one_line(searched: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    existing = tmp_path / "report.txt"
    existing.write_text("keep me")
    assert main(["report", str(searched), "--out", str(existing), "--no-plot"]) == 2
    assert main(["report", str(searched), "--out", str(tmp_path / "rep"), "--value", "foo", "--no-plot"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("Error: ") for line in err) and "score" in err[1]
    assert not (tmp_path / "rep").exists() and existing.read_text() == "keep me"


def test_report_writes_its_files_atomically(searched: Path, tmp_path: Path) -> None:
    out = tmp_path / "rep"
    rep = write_report(searched, out, value="score", plot=False)
    assert sorted(os.listdir(out)) == ["anytime.csv", "runs.csv"]  # no temporary files
    lines = rep["runs_csv"].read_text().splitlines()
    assert lines[0].startswith("run_id,strategy") and len(lines) == 1 + 2 * 4
    assert rep["csv"].read_text().splitlines()[1].split(",")[1] == "score"
    again = write_report(searched, out, plot=False)  # an existing report directory is rewritten
    assert json.dumps(again["groups"]) == json.dumps(rep["groups"])
