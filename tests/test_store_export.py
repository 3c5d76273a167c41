"""Store records as plain data: export, import (merge), and `nasrank store info / export / import`."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nasrank.cli import main
from nasrank.exceptions import ConfigError
from nasrank.store import RECORDS_FORMAT, EvalRecord, ResultStore, read_records


def _records() -> list[EvalRecord]:
    curve = {"train_loss": [2.3, 1.9, float("nan")], "val_acc": [0.1, 0.2, 0.3], "epoch_time": [0.5, 0.4, 0.5]}
    return [
        EvalRecord("nb201", "a0", "k0", "fp1", "ok", {"val_acc": 0.5, "tse": -3.25}, curve=curve, cost=1.5,
                   info={"seed": 0}),
        EvalRecord("nb201", "a1", "k1", "fp1", "diverged", {"val_acc": float("nan")}, cost=0.25),
        EvalRecord("nb201", "a2", "k2", "fp1", "error", error="CUDA out of memory"),
        EvalRecord("darts", "d0", "k0", "fp2", "ok", {"score": 1e-12}, cost=2.0),
    ]


@pytest.fixture
def store(tmp_path):
    st = ResultStore(tmp_path / "src.db")
    for r in _records():
        st.add(r)
    yield st
    st.close()


@pytest.mark.parametrize("name", ["records.jsonl", "records.jsonl.gz"])
def test_export_import_round_trip_is_exact(store, tmp_path, name):
    path = tmp_path / name
    assert store.export_records(path) == 4
    with ResultStore(tmp_path / "dst.db") as dst:
        assert dst.import_records(path) == (4, 0)
        assert dst.import_records(path) == (0, 4)  # a second import adds nothing
        got = {r.key: r for r in dst.records()}
    want = {r.key: r for r in store.records()}
    assert got == want  # every field, error texts and creation times included
    assert got["nb201", "k0", "fp1"].curve["train_loss"] == [2.3, 1.9, None]  # NaN kept as the store keeps it
    assert got["nb201", "k1", "fp1"].metrics == {"val_acc": None}


def test_gzip_export_is_reproducible_and_filters(store, tmp_path):
    a, b = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    store.export_records(a)
    store.export_records(b)
    assert a.read_bytes() == b.read_bytes()  # no timestamp in the gzip header: stable in git
    lines = gzip.decompress(a.read_bytes()).decode().splitlines()
    assert json.loads(lines[0]) == RECORDS_FORMAT and len(lines) == 5
    assert store.export_records(tmp_path / "fp2.jsonl", fingerprint="fp2") == 1
    assert [r.space for r in read_records(tmp_path / "fp2.jsonl")] == ["darts"]
    assert store.export_records(tmp_path / "nb.jsonl", space="nb201") == 3
    assert oct(os.stat(a).st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def test_skip_makes_successive_exports_disjoint(store, tmp_path):
    first = tmp_path / "part1.jsonl.gz"
    store.export_records(first)
    store.add(EvalRecord("nb201", "a9", "k9", "fp1", "ok", {"val_acc": 0.7}))
    second = tmp_path / "part2.jsonl.gz"
    assert store.export_records(second, skip={r.key for r in read_records(first)}) == 1
    assert [r.arch for r in read_records(second)] == ["a9"]
    with ResultStore(tmp_path / "dst.db") as dst:  # the parts together rebuild the store
        for part in (first, second):
            dst.import_records(part)
        assert {r.key for r in dst.records()} == {r.key for r in store.records()}


def test_import_merges_like_add_an_error_is_replaced_ok_is_kept(store, tmp_path):
    path = tmp_path / "r.jsonl"
    store.export_records(path)
    with ResultStore(tmp_path / "dst.db") as dst:
        dst.add(EvalRecord("nb201", "a2", "k2", "fp1", "ok", {"val_acc": 0.9}))  # done here
        dst.add(EvalRecord("nb201", "a0", "k0", "fp1", "error", error="killed"))  # failed here
        assert dst.import_records(path) == (3, 1)
        assert dst.get("nb201", "k2", "fp1").metrics == {"val_acc": 0.9}  # ok kept over the file's error
        assert dst.get("nb201", "k0", "fp1").status == "ok"  # the file's ok replaced the error


def test_a_damaged_file_imports_nothing(store, tmp_path):
    path = tmp_path / "r.jsonl"
    store.export_records(path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:3] + [lines[3][:40]]) + "\n")  # the last record cut short
    with ResultStore(tmp_path / "dst.db") as dst:
        with pytest.raises(ConfigError, match=r"line 4 of records file .* is not a record"):
            dst.import_records(path)
        assert len(dst) == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(RECORDS_FORMAT) + "\n" + json.dumps({"space": "x", "bogus": 1}) + "\n")
    with pytest.raises(ConfigError, match="line 2"):
        read_records(bad)
    other = tmp_path / "other.jsonl"
    other.write_text('{"a": 1}\n')
    with pytest.raises(ConfigError, match="not a nasrank records file"):
        read_records(other)
    newer = tmp_path / "newer.jsonl"
    newer.write_text(json.dumps({**RECORDS_FORMAT, "version": 99}) + "\n")
    with pytest.raises(ConfigError, match="format version 99"):
        read_records(newer)
    with pytest.raises(ConfigError, match="is an SQLite database"):
        read_records(tmp_path / "dst.db")
    truncated = tmp_path / "t.jsonl.gz"
    store.export_records(truncated)
    truncated.write_bytes(truncated.read_bytes()[:-12])
    with pytest.raises(ConfigError, match="cannot read records file"):
        read_records(truncated)


def test_export_to_a_missing_directory_writes_nothing(store, tmp_path):
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ConfigError, match="does not exist"):
        store.export_records(tmp_path / "nodir" / "r.jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "nasrank", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def test_cli_info_export_import(store, tmp_path, capsys):
    store.close()
    db, out = tmp_path / "src.db", tmp_path / "r.jsonl.gz"
    assert main(["store", "info", str(db), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["records"] == 4
    fp1 = next(g for g in info["groups"] if g["fingerprint"] == "fp1")
    assert (fp1["ok"], fp1["diverged"], fp1["error"], fp1["cost_seconds"]) == (1, 1, 1, 1.75)
    assert main(["store", "info", str(db)]) == 0
    text = capsys.readouterr().out
    assert "evaluation records 4" in text and "fp2" in text
    assert main(["store", "export", str(db), str(out)]) == 0
    assert "4 records written" in capsys.readouterr().out
    assert main(["store", "import", str(tmp_path / "new.db"), str(out), str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("4 records added, 0 already in " + str(tmp_path / "new.db"))
    assert lines[1].endswith("0 records added, 4 already in " + str(tmp_path / "new.db"))


@pytest.mark.parametrize("args, message", [
    (["import", "{d}/new.db", "{d}/src.db"], "is an SQLite database"),
    (["import", "{d}/new.db", "{d}/missing.jsonl"], "does not exist"),
    (["export", "{d}/missing.db", "{d}/x.jsonl"], "does not exist"),
    (["export", "{d}/src.db", "{d}/nodir/x.jsonl"], "does not exist (create it first)"),
    (["info", "{d}"], "is a directory"),
])
def test_cli_bad_input_is_one_line_exit_2_nothing_written(store, tmp_path, args, message):
    store.close()
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = _cli("store", *(a.format(d=tmp_path) for a in args))
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no store created, no partial file


def test_a_build_resumes_on_another_machine_from_the_export(tmp_path):
    """The use the export exists for: a build's records carried as plain data to a fresh store
    are reused there (nothing retrained), and the exported benchmark is the same."""
    tiny = ["--dataset", "digits", "--C", "4", "--N", "1", "--epochs", "1", "--val-size", "300",
            "--test-size", "100", "--archs", "3", "-q"]
    assert main(["bench", "build", "--out", str(tmp_path / "a"), "--store", str(tmp_path / "a.db"), *tiny]) == 0
    assert main(["store", "export", str(tmp_path / "a.db"), str(tmp_path / "runs.jsonl.gz")]) == 0
    assert main(["store", "import", str(tmp_path / "b.db"), str(tmp_path / "runs.jsonl.gz")]) == 0
    assert main(["bench", "build", "--out", str(tmp_path / "b"), "--store", str(tmp_path / "b.db"), *tiny]) == 0
    with ResultStore(tmp_path / "a.db") as a, ResultStore(tmp_path / "b.db") as b:
        assert {r.key: r.created for r in a.records()} == {r.key: r.created for r in b.records()}  # not retrained
    with np.load(tmp_path / "a" / "curves.npz") as x, np.load(tmp_path / "b" / "curves.npz") as y:
        for k in ("arch", "train_loss", "val_acc", "test_acc", "epoch_time"):
            np.testing.assert_array_equal(x[k], y[k], err_msg=k)
