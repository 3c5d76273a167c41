"""Curves files (CSV / JSON / JSON Lines): load_curves, correlate_curves and ``nasrank correlate --curves``."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _synthetic_bench import synthetic_curves

from nasrank.cli import main
from nasrank.cli._correlate import DEFAULT_ESTIMATORS_TEXT, NO_MATPLOTLIB_NOTE
from nasrank.evaluation import (
    DEFAULT_ESTIMATORS,
    CurveSet,
    correlate_curves,
    correlation_table,
    load_curves,
)
from nasrank.exceptions import BenchmarkDataError, ConfigError

RECORDS = ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _save(path: Path, curves, targets, fmt: str) -> Path:
    """Write LearningCurves in one of the three formats (what a user's export would look like)."""
    ids = [f"arch{i}" for i in range(len(curves))]
    if fmt == "csv":
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["arch", "epoch", *RECORDS, "test_acc"])
            for a, c, y in zip(ids, curves, targets, strict=True):
                for e in range(c.epochs):
                    w.writerow([a, e + 1, *[repr(float(getattr(c, r)[e])) for r in RECORDS], repr(float(y))])
    else:
        objs = [{"arch": a, **{r: [None if not math.isfinite(v) else v for v in getattr(c, r).tolist()]
                               for r in RECORDS}, "test_acc": float(y)}
                for a, c, y in zip(ids, curves, targets, strict=True)]
        with open(path, "w") as f:
            if fmt == "json":
                json.dump(objs, f, indent=1)
            else:
                f.writelines(json.dumps(o) + "\n" for o in objs)
    return path


@pytest.fixture(scope="module")
def synth():
    return synthetic_curves(n=30, epochs=8, seed=4, n_diverged=2)


# --- reading --------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_round_trip_of_synthetic_curves(tmp_path: Path, synth, fmt: str) -> None:
    curves, y = synth
    data = load_curves(_save(tmp_path / f"c.{fmt}", curves, y, fmt))
    assert isinstance(data, CurveSet) and len(data) == 30 and data.epochs == 8
    assert data.ids == tuple(f"arch{i}" for i in range(30)) and data.target == "test_acc"
    assert data.records == RECORDS and data.path == str(tmp_path / f"c.{fmt}")
    np.testing.assert_array_equal(data.targets, y)
    assert not data.targets.flags.writeable
    for orig, got in zip(curves, data.curves, strict=True):
        for r in RECORDS:
            np.testing.assert_array_equal(getattr(got, r), getattr(orig, r))  # NaN == NaN here
        assert got.diverged == orig.diverged and got.meta["id"].startswith("arch")
    assert data.n_diverged == 2 and data.curves[0].epochs == 2  # diverged runs stop early
    # the same table as on the in-memory curves
    specs = ["tse", "tse-ema:gamma=0.1", "sovl", "vacc-es"]
    assert correlate_curves(data, specs, "1,4,end", n_boot=50) == correlation_table(
        curves, y, specs, "1,4,end", n_boot=50)


def test_csv_exact_values_any_row_order_and_missing_values(tmp_path: Path) -> None:
    text = ("id, epoch ,val_acc,val_loss,test_acc,dataset,test_loss\n"
            "b,1,40.0,2.5,,cifar,\n"
            "a,0,50,2.0,91.5,cifar,0.3\n"
            "b,0,30.5, NaN ,,cifar,\n"
            "a,1,60.25,1.5,91.5,cifar,0.3\n"
            "c,0,20,3.0,,cifar,\n"
            "c,1,,null,80,cifar,0.9\n"
            "b,2,NA,,70,cifar,0.8\n"
            "a,2,65,1.25,,cifar,\n"
            "c,2,25,inf,80,cifar,\n")
    data = load_curves(_write(tmp_path / "c.csv", text))
    assert data.ids == ("b", "a", "c") and data.records == ("val_loss", "val_acc") and data.epochs == 3
    assert data.targets.tolist() == [70.0, 91.5, 80.0]  # percentages are kept as given
    b, a, c = data.curves
    assert a.val_acc.tolist() == [50.0, 60.25, 65.0] and a.val_loss.tolist() == [2.0, 1.5, 1.25]
    assert not a.diverged and b.diverged and c.diverged
    assert np.isnan(b.val_loss[0]) and np.isnan(b.val_acc[2]) and np.isinf(c.val_loss[2])
    assert a.train_acc is None and a.train_loss.shape == (3,) and np.isnan(a.train_loss).all()
    assert load_curves(tmp_path / "c.csv", target="test_loss").targets.tolist() == [0.8, 0.3, 0.9]


def test_json_and_jsonl_give_the_same_set(tmp_path: Path) -> None:
    objs = [{"arch": "a", "train_loss": [2.0, 1.0], "val_acc": [0.5, None], "test_acc": 0.9, "note": "x"},
            {"arch": 7, "train_loss": [3, 2], "val_acc": [0.4, 0.6], "test_acc": None, "note": {"k": 1}},
            {"arch": "c", "train_loss": [2.5, 1.5], "val_acc": [0.45, 0.55], "test_acc": 0.8}]
    _write(tmp_path / "c.json", json.dumps(objs))
    _write(tmp_path / "c.ndjson", "\n".join(json.dumps(o) for o in objs) + "\n\n")
    for name in ("c.json", "c.ndjson"):
        data = load_curves(tmp_path / name)
        assert data.ids == ("a", "7", "c") and data.records == ("train_loss", "val_acc")
        assert data.curves[1].train_loss.tolist() == [3.0, 2.0] and data.curves[0].diverged
        assert data.targets[0] == 0.9 and math.isnan(data.targets[1]) and data.targets[2] == 0.8


def test_short_runs(tmp_path: Path) -> None:
    head = "arch,epoch,train_loss,test_acc\n"
    ok = head + "a,1,2,0.9\na,2,1,0.9\nb,1,nan,0.5\nc,1,3,0.7\nc,2,2,0.7\n"
    data = load_curves(_write(tmp_path / "ok.csv", ok))
    assert [c.epochs for c in data.curves] == [2, 1, 2] and [c.diverged for c in data.curves] == [False, True, False]
    rows = correlate_curves(data, ["tse"], [1, 2], n_boot=10)
    assert (rows[1].n, rows[1].n_dropped) == (2, 1)  # the diverged run is dropped at T=2, as nasrank does


P = "curves file '{path}'"
CSV_ERRORS = [
    ("", "{p}: the file is empty; expected a header row"),
    ("arch,epoch,train_loss,test_acc\n", "{p}: the file has a header but no data rows"),
    ("name,epoch,train_loss,test_acc\na,1,2,0.9\n", "{p}, line 1: no architecture id column; name it 'arch'"),
    ("arch,id,epoch,train_loss\n", "{p}, line 1: has both an 'arch' and an 'id' column"),
    ("arch,train_loss,test_acc\na,2,0.9\n", "{p}, line 1: no 'epoch' column"),
    ("arch,epoch,test_acc\na,1,0.9\n", "{p}, line 1: no per-epoch column; give at least one of train_loss"),
    ("arch,epoch,train_loss,train_loss\n", "{p}, line 1: column 'train_loss' appears twice"),
    ("arch,epoch,train_loss,test_acc\na,1,2\n", "{p}, line 2: 3 cells but the header has 4 columns"),
    ("arch,epoch,train_loss,test_acc\na,1,2,0.9\na,2,x,0.9\n", "{p}, line 3: train_loss is 'x', not a number"),
    ("arch,epoch,train_loss,test_acc\na,1,2,good\n", "{p}, line 2: test_acc of architecture 'a' is 'good', not a number"),
    ("arch,epoch,train_loss,test_acc\na,1.5,2,0.9\n", "{p}, line 2: epoch is '1.5', not a whole number"),
    ("arch,epoch,train_loss,test_acc\n,1,2,0.9\n", "{p}, line 2: the 'arch' cell is empty"),
    ("arch,epoch,train_loss,test_acc\na,2,2,0.9\n", "{p}, line 2: epochs start at 2; number them from 1 (or from 0)"),
    ("arch,epoch,train_loss,test_acc\na,1,2,0.9\na,3,1,0.9\n",
     "{p}, line 3: architecture 'a' jumps from epoch 1 to 3; give it one row for every epoch from 1"),
    ("arch,epoch,train_loss,test_acc\na,1,2,0.9\na,2,1,0.9\nb,2,2,0.8\n",
     "{p}, line 4: architecture 'b' starts at epoch 2, not 1"),
    ("arch,epoch,train_loss,test_acc\na,1,2,0.9\nb,1,2,0.8\na,1,1,0.9\n",
     "{p}, line 4: duplicate row: architecture 'a' has epoch 1 already on line 2"),
    ("arch,epoch,train_loss,test_acc\na,1,2,0.9\na,2,1,0.9\nb,1,2,0.8\n",
     "{p}, line 4: architecture 'b' has 1 epoch but others have 2; give every architecture the same epochs"),
    ("arch,epoch,train_loss,val_los,test_acc\na,1,2,3,0.9\na,2,1,2,0.9\n",
     "{p}, line 3: column 'val_los' is '2' here but '3' on line 2 for architecture 'a'; per-epoch columns must be"),
    ("arch,epoch,train_loss,test_acc\na,1,2,0.9\na,2,1,0.8\n", "{p}, line 3: column 'test_acc' is '0.8' here but '0.9'"),
    ("arch,epoch,train_loss,test_acc\na,1,2,\nb,1,2,\n", "{p}: no architecture has a finite 'test_acc' value"),
]
JSON_ERRORS = [
    ("c.json", " \n", "{p}: the file is empty; expected a JSON list of objects"),
    ("c.json", "[]", "{p}: the file has no architectures"),
    ("c.json", '{"arch": "a"}', "{p}: the top level is a JSON object, not a list"),
    ("c.json", '[{"arch": "a", "train_loss": [1], "test_acc": 1},\n {"arch": "b" "train_loss": [1]}]',
     "{p}, line 2: invalid JSON at column 15 (Expecting ',' delimiter)"),
    ("c.json", '[{"arch": "a", "train_loss": [1], "test_acc": 1}] x', "{p}, line 1: invalid JSON: extra text"),
    ("c.json", '[{"arch": "a", "train_loss": [1], "test_acc": 1},\n{"arch": "a", "train_loss": [2], "test_acc": 1}]',
     "{p}, item 2 on line 2: duplicate architecture id 'a' (also at item 1 on line 1)"),
    ("c.json", '[{"arch": "a", "train_loss": [1, 2], "val_loss": [1], "test_acc": 1}]',
     "{p}, item 1 on line 1: architecture 'a' has ragged records (2 train_loss, 1 val_loss values)"),
    ("c.json", '[{"arch": "a", "train_loss": [1], "val_los": [1], "test_acc": 1}]',
     "{p}, item 1 on line 1: unknown per-epoch record 'val_los' of architecture 'a'"),
    ("c.json", '[{"arch": "a", "train_loss": [1, "2"], "test_acc": 1}]',
     "{p}, item 1 on line 1: train_loss[1] of architecture 'a' is '2', not a number"),
    ("c.json", '[{"arch": "a", "train_loss": 1.5, "test_acc": 1}]', "{p}, item 1 on line 1: train_loss of architecture 'a' is a JSON number; give a list"),
    ("c.json", '[{"arch": "a", "train_loss": [], "test_acc": 1}]', "{p}, item 1 on line 1: architecture 'a' has no epochs"),
    ("c.json", '[{"name": "a", "train_loss": [1]}]', "{p}, item 1 on line 1: no 'arch' key"),
    ("c.json", '[{"arch": [1], "train_loss": [1]}]', "{p}, item 1 on line 1: the architecture id [1] must be a non-empty string"),
    ("c.json", '[{"arch": "a", "test_acc": 1}]', "{p}, item 1 on line 1: architecture 'a' has no per-epoch record"),
    ("c.json", '[{"arch": "a", "train_loss": [1], "test_acc": 1},\n{"arch": "b", "val_loss": [1], "test_acc": 1}]',
     "{p}, item 2 on line 2: architecture 'b' has the records val_loss but 'a' (item 1 on line 1) has train_loss"),
    ("c.json", '[{"arch": "a", "train_loss": [1], "test_acc": 1},\n{"arch": "b", "train_loss": [1]}]',
     "{p}, item 2 on line 2: architecture 'b' has no 'test_acc'"),
    ("c.jsonl", '{"arch": "a", "train_loss": [1], "test_acc": 1}\n\n{"arch": "b", "train_loss": [1]\n',
     "{p}, line 3: invalid JSON at column 32 (Expecting ',' delimiter); expected one object per line"),
    ("c.jsonl", "[1]\n", "{p}, line 1: a JSON list, not an object"),
]


@pytest.mark.parametrize("name, text, msg", [("c.csv", t, m) for t, m in CSV_ERRORS] + JSON_ERRORS)
def test_malformed_files_are_one_line_errors(tmp_path: Path, name: str, text: str, msg: str) -> None:
    path = _write(tmp_path / name, text)
    with pytest.raises(BenchmarkDataError) as info:
        load_curves(path)
    got = str(info.value)
    assert got.startswith(msg.format(p=P.format(path=path))), got
    assert "\n" not in got


def test_path_target_and_format_errors(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkDataError, match=r"^curves file '.*nope.csv' does not exist$"):
        load_curves(tmp_path / "nope.csv")
    with pytest.raises(BenchmarkDataError, match=r"is a directory, not a file"):
        load_curves(tmp_path)
    with pytest.raises(ConfigError, match=r"^unsupported curves file extension '.txt' of .*; use .csv, .json"):
        load_curves(_write(tmp_path / "c.txt", "x"))
    path = _write(tmp_path / "c.csv", "arch,epoch,train_loss,test_acc,test_loss\na,1,2,0.9,0.3\n")
    with pytest.raises(ConfigError, match=r"has no target column 'valid_acc' \(its final-value columns are "
                                          r"test_acc, test_loss\)"):
        load_curves(path, target="valid_acc")
    with pytest.raises(ConfigError, match="target 'val_acc' is a per-epoch record"):
        load_curves(path, target="val_acc")
    (tmp_path / "b.csv").write_bytes(b"arch\xff,epoch\n")
    with pytest.raises(BenchmarkDataError, match=r"b.csv': not UTF-8 text"):
        load_curves(tmp_path / "b.csv")


# --- scoring --------------------------------------------------------------------------------------
@pytest.fixture
def val_only(tmp_path: Path) -> Path:
    """A file with validation accuracies only (no train_loss)."""
    rng = np.random.default_rng(1)
    lines = ["arch,epoch,val_acc,test_acc"]
    for i in range(12):
        q = rng.uniform()
        lines += [f"r{i},{e},{q * (1 - np.exp(-e)) + rng.normal(0, 0.01):.4f},{0.5 + 0.4 * q:.4f}" for e in range(1, 6)]
    return _write(tmp_path / "val.csv", "\n".join(lines) + "\n")


def test_correlate_curves_refuses_missing_records(val_only: Path) -> None:
    data = load_curves(val_only)
    assert data.records == ("val_acc",)
    rows = correlate_curves(data, epochs=[5], n_boot=20, lcsvr_n_search=2)  # defaults it can score
    assert [r.estimator for r in rows] == ["vacc-es", "lcsvr"] and rows[0].value > 0.8
    with pytest.raises(ConfigError, match=r"^estimator 'tse' reads train_loss, which curves file '.*val.csv' does "
                                          r"not give \(it has val_acc\); add a train_loss record"):
        correlate_curves(data, "vacc-es,tse", [5])
    with pytest.raises(ConfigError, match="needs per-minibatch losses"):
        correlate_curves(data, "tl-mini", [5])
    with pytest.raises(ConfigError, match="CurveSet"):
        correlate_curves([], "tse")  # type: ignore[arg-type]


# --- the command line -----------------------------------------------------------------------------
@pytest.fixture
def csv_file(tmp_path: Path, synth) -> Path:
    return _save(tmp_path / "curves.csv", *synth, "csv")


def test_cli_curves_json_and_csv(csv_file: Path, tmp_path: Path, capsys, synth) -> None:
    out_csv = tmp_path / "rho.csv"
    args = ["correlate", "--curves", str(csv_file), "--estimators", "tse,sovl,lcsvr:field=val_loss",
            "--epochs", "2,end", "--n-boot", "30", "--lcsvr-n-search", "2", "--fit-size", "10",
            "--plot", "none", "--csv", str(out_csv), "--json"]
    assert main(args) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["curves"] == str(csv_file) and info["benchmark"] is None and info["target"] == "test_acc"
    direct = correlation_table(*synth, ["tse", "sovl", "lcsvr:field=val_loss"], [2, 8], n_boot=30,
                               lcsvr_n_search=2, fit_size=10)
    assert [r["value"] for r in info["rows"]] == pytest.approx([r.value for r in direct])
    assert all(r["value"] > 0.5 for r in info["rows"])  # every sign right, the predicted loss too
    with open(out_csv, newline="") as f:
        table = list(csv.DictReader(f))
    assert [(r["estimator"], int(r["epochs"])) for r in table] == [(r.estimator, r.epochs) for r in direct]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.csv", "rho.csv"]  # no temporary left


def test_cli_curves_defaults_and_plot_note(val_only: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if matplotlib were not installed
    monkeypatch.chdir(tmp_path)
    assert main(["correlate", "--curves", str(val_only), "--epochs", "end", "--n-boot", "20",
                 "--lcsvr-n-search", "2"]) == 0
    cap = capsys.readouterr()
    assert cap.err.splitlines() == [
        f"note: skipping tse (reads train_loss), tse-e (reads train_loss), tse-ema (reads train_loss), "
        f"tse-ema:gamma=0.1 (reads train_loss), sovl (reads val_loss): not in {val_only}",
        NO_MATPLOTLIB_NOTE,
    ]
    assert "vacc-es" in cap.out and "lcsvr" in cap.out and "spearman with test_acc on val.csv" in cap.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["val.csv"]
    # the notes come with a result only: an error stays one line
    assert main(["correlate", "--curves", str(val_only), "--epochs", "9"]) == 2
    assert capsys.readouterr().err.splitlines() == ["Error: budget(s) [9] outside 1..5 (the curves have 5 epochs)"]


@pytest.mark.parametrize("extra, msg", [
    (["--benchmark", "nb201-mini"], "Error: give either --curves FILE or --benchmark NAME|DIR, not both"),
    (["--dataset", "toy"], "Error: --dataset selects a benchmark dataset"),
    (["--csv", "{tmp}"], "Error: cannot write CSV file '{tmp}': it is a directory; give a file name"),
    (["--csv", "{tmp}/no/dir/x.csv"],
     "Error: cannot write CSV file '{tmp}/no/dir/x.csv': directory '{tmp}/no/dir' does not exist (create it first)"),
    (["--plot", "{tmp}"], "Error: cannot write plot file '{tmp}': it is a directory"),
    (["--plot", "{tmp}/no/p.png"], "Error: cannot write plot file '{tmp}/no/p.png': directory"),
    (["--target", "test_loss"], "Error: curves file '{file}' has no target column 'test_loss'"),
    (["--estimators", "tse,sog"], "Error: estimator 'sog' reads sog, which curves file '{file}' does not give"),
    (["--epochs", "9"], "Error: budget(s) [9] outside 1..8"),
])
def test_cli_bad_input_exit_2_no_output(csv_file: Path, tmp_path: Path, capsys, extra, msg) -> None:
    out = tmp_path / "out.csv"
    extra = [e.format(tmp=tmp_path) for e in extra]
    args = ["correlate", "--curves", str(csv_file), "--n-boot", "10"]
    args += [] if "--csv" in extra else ["--csv", str(out)]
    args += [] if "--plot" in extra else ["--plot", "none"]
    assert main(args + extra) == 2
    err = capsys.readouterr().err
    assert err.startswith(msg.format(tmp=tmp_path, file=csv_file)), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["curves.csv"]


def test_cli_bad_files(tmp_path: Path, capsys) -> None:
    bad = _write(tmp_path / "bad.csv", "arch,epoch,train_loss,test_acc\na,1,oops,0.9\n")
    for path, msg in ((bad, f"Error: curves file '{bad}', line 2: train_loss is 'oops', not a number"),
                      (tmp_path / "none.json", f"Error: curves file '{tmp_path / 'none.json'}' does not exist"),
                      (tmp_path, f"Error: curves file '{tmp_path}' is a directory, not a file")):
        assert main(["correlate", "--curves", str(path), "--plot", "none"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(msg) and err.count("\n") == 1


def test_cli_benchmark_output_paths_checked_first(tmp_path: Path, capsys) -> None:
    # fails on the path, before loading the (default) benchmark
    assert main(["correlate", "--csv", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"Error: cannot write CSV file '{tmp_path}': it is a directory")


def test_cli_default_estimators_text_and_light_import() -> None:
    assert DEFAULT_ESTIMATORS_TEXT == ",".join(DEFAULT_ESTIMATORS)
    code = ("import sys, nasrank.cli._correlate; "
            "print(sorted(m for m in ('numpy', 'torch', 'nasrank.evaluation') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
