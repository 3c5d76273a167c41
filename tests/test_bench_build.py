"""Benchmark builder: resumable after SIGKILL, same records on every executor, the own format."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
from _store_util import count_records

from nasrank.benchmarks import (
    BuildConfig,
    CurveBenchmark,
    build_benchmark,
    load_benchmark,
    select_archs,
)
from nasrank.benchmarks._format import write_benchmark
from nasrank.cli import main
from nasrank.data import DataSpec
from nasrank.exceptions import BenchmarkDataError, ConfigError
from nasrank.store import ResultStore
from nasrank.training import TrainConfig

TINY = ["--dataset", "digits", "--C", "4", "--N", "1", "--epochs", "2", "--val-size", "300",
        "--test-size", "100", "--batch-size", "128", "-q"]
EXACT = ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "minibatch_loss", "test_acc", "test_loss")


def _arrays(path):
    with np.load(path / "curves.npz") as z:
        return {k: z[k] for k in z.files}


def assert_same_benchmark(a, b):
    """Everything but the wall-clock epoch times must be identical."""
    x, y = _arrays(a), _arrays(b)
    order_x, order_y = np.argsort(x["arch"]), np.argsort(y["arch"])
    assert x["arch"][order_x].tolist() == y["arch"][order_y].tolist()
    for k in EXACT + ("status", "epochs_done", "params", "seed"):
        np.testing.assert_array_equal(x[k][order_x], y[k][order_y], err_msg=k)


@pytest.fixture(scope="module")
def serial_build(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "bench"
    assert main(["bench", "build", "--out", str(out), "--archs", "6", *TINY]) == 0
    return out


def test_serial_build_writes_a_loadable_benchmark(serial_build):
    b = load_benchmark(str(serial_build))
    assert isinstance(b, CurveBenchmark) and len(b) == 6 and b.epochs == 2
    sp = b.space
    assert len({sp.canonical_key(a) for a in b.archs()}) == 6
    assert all(sp.is_valid(a) and sp.canonical(a) == a for a in b.archs())
    meta = b.metadata
    assert meta["data"]["dataset"] == "digits" and meta["space_config"] == {"C": 4, "N": 1}
    assert meta["train_config"]["epochs"] == 2 and meta["build_command"].startswith("nasrank bench build")
    a = b.archs()[0]
    c = b.curve(a)
    assert c.epochs == 2 and c.steps_per_epoch == 10 and len(c.minibatch_loss) == 20  # 1198 / 128
    assert np.isclose(c.train_loss[0], np.average(c.minibatch_losses(1), weights=c.minibatch_size[:10]))
    assert 0 < b.query(a, "test_acc") < 1 and b.query(a, "val_acc") == c.val_acc[-1]
    assert b.query(a, "train_time") == pytest.approx(float(np.sum(c.epoch_time)))
    assert b.table("test_acc").shape == (6,)
    with ResultStore(serial_build / "records.sqlite") as st:
        assert len(st) == 6 and all(r.status == "ok" for r in st.records())


def test_rerun_reuses_every_record(serial_build, tmp_path):
    before = _arrays(serial_build)
    t0 = time.perf_counter()
    assert main(["bench", "build", "--out", str(serial_build), "--archs", "6", *TINY]) == 0
    assert time.perf_counter() - t0 < 5  # nothing retrained
    np.testing.assert_array_equal(before["epoch_time"], _arrays(serial_build)["epoch_time"])


def test_float16_minibatch_export_retrains_nothing_and_keeps_three_digits(serial_build, tmp_path):
    """``--minibatch-dtype float16`` only changes how curves.npz stores the losses."""
    out = tmp_path / "half"
    store = serial_build / "records.sqlite"
    t0 = time.perf_counter()
    assert main(["bench", "build", "--out", str(out), "--archs", "6", "--store", str(store),
                 "--minibatch-dtype", "float16", *TINY]) == 0
    assert time.perf_counter() - t0 < 5  # every run reused from the store
    full, half = _arrays(serial_build), _arrays(out)
    assert full["minibatch_loss"].dtype == np.float32 and half["minibatch_loss"].dtype == np.float16
    np.testing.assert_array_equal(full["train_loss"], half["train_loss"])  # per-epoch records untouched
    np.testing.assert_allclose(half["minibatch_loss"], full["minibatch_loss"], rtol=2 ** -11)
    assert not np.array_equal(half["minibatch_loss"].astype(np.float32), full["minibatch_loss"])
    b = load_benchmark(str(out))
    assert b.metadata["minibatch_dtype"] == "float16"
    c = b.curve(b.archs()[0])
    assert c.minibatch_loss.dtype == np.float64 and len(c.minibatch_loss) == 20
    assert main(["bench", "build", "--out", str(tmp_path / "bad"), "--store", str(store),
                 "--minibatch-dtype", "float8", *TINY]) == 2
    assert not (tmp_path / "bad").exists()


def test_float16_saturates_diverged_losses_to_inf(tmp_path):
    from nasrank import create_space

    arch = create_space("nb201").to_str((3, 3, 3, 3, 3, 3))
    curve = {"train_loss": [1e6], "minibatch_loss": [1.0, 1e6], "minibatch_size": [4, 4], "steps_per_epoch": 2}
    write_benchmark(tmp_path, {"space": "nb201"}, [{"arch": arch, "seed": 0, "status": "ok", "curve": curve}],
                    epochs=1, minibatch_dtype="float16")
    assert CurveBenchmark(tmp_path).curve(arch).minibatch_loss.tolist() == [1.0, np.inf]
    with pytest.raises(ConfigError, match="minibatch_dtype"):
        write_benchmark(tmp_path / "x", {"space": "nb201"}, [{"arch": arch, "seed": 0, "status": "ok"}],
                        epochs=1, minibatch_dtype="int8")
    assert not (tmp_path / "x").exists()


def test_sigkill_mid_run_then_resume_equals_uninterrupted(serial_build, tmp_path):
    out = tmp_path / "killed"
    db = tmp_path / "killed.sqlite"
    cmd = [sys.executable, "-m", "nasrank", "bench", "build", "--out", str(out), "--archs", "6",
           "--store", str(db), *TINY]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    deadline = time.time() + 120
    while count_records(db) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_killed = count_records(db)
    assert 2 <= n_killed < 6, f"kill did not land mid-run ({n_killed} records)"
    assert not (out / "curves.npz").exists()  # nothing exported by the killed run
    with ResultStore(db) as st:
        survivors = {r.arch_key: r.created for r in st.records()}
    assert main(["bench", "build", "--out", str(out), "--archs", "6", "--store", str(db), *TINY]) == 0
    con = sqlite3.connect(db)
    ids = [r[0] for r in con.execute("SELECT id FROM records ORDER BY id")]
    keys = [r[0] for r in con.execute("SELECT arch_key FROM records")]
    con.close()
    assert len(keys) == len(set(keys)) == 6 and ids == list(range(1, 7))  # none lost, none duplicated
    with ResultStore(db) as st:
        for r in st.records():
            if r.arch_key in survivors:
                assert r.created == survivors[r.arch_key]  # stored records were not retrained
    assert_same_benchmark(out, serial_build)


def test_process_executor_matches_serial(serial_build, tmp_path):
    out = tmp_path / "proc"
    assert main(["bench", "build", "--out", str(out), "--archs", "6", "--executor", "processes",
                 "--workers", "2", *TINY]) == 0
    assert_same_benchmark(out, serial_build)


def test_ray_executor_matches_serial(serial_build, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    assert main(["bench", "build", "--out", str(out), "--archs", "6", "--executor", "ray",
                 "--workers", "2", *TINY]) == 0
    assert_same_benchmark(out, serial_build)


def test_failed_runs_are_recorded_not_fatal_and_retried(tmp_path):
    # ImageNet16 has 120 classes; give a space config the network rejects to force failures
    cfg = BuildConfig(space_config={"C": 4, "N": 1, "bogus": 1}, data=DataSpec("digits", val_size=300, test_size=0),
                      train=TrainConfig(epochs=1, batch_size=256), archs=3)
    with pytest.raises(ConfigError, match="the first 3 training runs all failed"):
        build_benchmark(cfg, tmp_path / "b", progress=False)
    with ResultStore(tmp_path / "b" / "records.sqlite") as st:
        recs = list(st.records())
    assert [r.status for r in recs] == ["error"] * 3 and "bogus" in recs[0].error


def test_cli_bad_input_is_one_line_exit_2(tmp_path, capsys):
    assert main(["bench", "build", "--out", str(tmp_path / "x"), "--dataset", "cifar11", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cifar10" in err[0]
    assert main(["bench", "build", "--out", str(tmp_path / "x"), "--executor", "serial", "--workers", "2",
                 *TINY]) == 2
    assert main(["bench", "build", "--out", str(tmp_path / "x"), "--seeds", "a,b", *TINY]) == 2
    assert main(["bench", "info", str(tmp_path / "nope")]) == 2
    assert not (tmp_path / "x").exists()


def test_select_archs_extends_and_validates():
    from nasrank import create_space

    sp = create_space("nb201")
    a = select_archs(sp, 50, seed=3)
    assert select_archs(sp, 60, seed=3)[:50] == a and select_archs(sp, 50, seed=4) != a
    assert len(select_archs(sp, 6466, seed=0, valid_only=False)) == 6466
    with pytest.raises(ConfigError, match="only 6461"):
        select_archs(sp, 6462, seed=0)
    with pytest.raises(ConfigError, match="archs"):
        select_archs(sp, 0)


def test_format_roundtrip_handles_divergence_and_errors(tmp_path):
    from nasrank import create_space

    sp = create_space("nb201")
    archs = [sp.to_str(a) for a in select_archs(sp, 3, seed=0)]
    ok = {"train_loss": [2.0, 1.5, 1.0], "train_acc": [0.1, 0.2, 0.3], "val_loss": [2.1, 1.6, 1.2],
          "val_acc": [0.1, 0.25, 0.35], "epoch_time": [1.0, 1.1, 1.2], "lr": [0.1, 0.05, 0.0],
          "minibatch_loss": [2.0, 2.0, 1.5, 1.5, 1.0, 1.0], "minibatch_size": [4, 4] * 3, "steps_per_epoch": 2,
          "test_loss": 1.1, "test_acc": 0.4}
    div = dict(ok, train_loss=[2.0, None], train_acc=[0.1, 0.1], val_loss=[2.0, None], val_acc=[0.1, None],
               epoch_time=[1.0, 1.0], lr=[0.1, 0.05], minibatch_loss=[2.0, 2.0, None, None],
               minibatch_size=[4, 4] * 2, test_loss=None, test_acc=None)
    runs = [{"arch": archs[0], "seed": 0, "status": "ok", "curve": ok, "params": 10},
            {"arch": archs[1], "seed": 0, "status": "diverged", "curve": div, "params": 11},
            {"arch": archs[2], "seed": 0, "status": "error", "curve": None}]
    write_benchmark(tmp_path, {"space": "nb201", "data": {"dataset": "toy"}}, runs, epochs=3)
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind
    b = CurveBenchmark(tmp_path)
    assert b.datasets == ("toy",) and b.metadata["archs"] == 3 and b.metadata["steps_per_epoch"] == 2
    c0 = b.curve(archs[0])
    assert c0.train_loss.tolist() == [2.0, 1.5, 1.0] and c0.minibatch_losses(3).tolist() == [1.0, 1.0]
    assert b.query(archs[0], "val_acc") == 0.35 and b.query(archs[0], "params") == 10
    c1 = b.curve(archs[1])
    assert c1.diverged and c1.epochs == 2 and np.isnan(b.query(archs[1], "val_acc"))
    assert np.isnan(b.query(archs[2], "test_acc")) and b.curve(archs[2]).epochs == 0
    with pytest.raises(BenchmarkDataError, match="not in benchmark"):
        b.query(sp.to_str((1, 1, 1, 1, 1, 1)))
    with pytest.raises(Exception, match="no metric 'acc'"):
        b.query(archs[0], "acc")
    (tmp_path / "benchmark.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(BenchmarkDataError, match="is not a nasrank-benchmark"):
        CurveBenchmark(tmp_path)


def test_arch_file_trains_exactly_the_listed_architectures(tmp_path, capsys):
    """``--arch-file`` / ``BuildConfig(arch_list=...)``: the listed cells in order, no random draw;
    malformed strings, duplicates of one canonical class and empty files are one-line errors."""
    cells = ["|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|",
             "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"]
    f = tmp_path / "archs.txt"
    f.write_text("# a designed pair\n" + cells[0] + "   # conv\n\n" + cells[1] + "\n")
    out = tmp_path / "b"
    assert main(["bench", "build", "--out", str(out), "--arch-file", str(f), *TINY]) == 0
    bench = CurveBenchmark(out)
    assert sorted(bench.space.to_str(a) for a in bench.archs()) == sorted(cells)
    assert json.loads((out / "benchmark.json").read_text())["arch_list"] == cells
    cfg = BuildConfig("nb201", arch_list=cells, archs=99)
    assert cfg.archs == 2 and [j.arch for j in cfg.jobs()] == cells
    with pytest.raises(ConfigError, match="canonical class"):  # node 1 feeds nothing: same cell
        BuildConfig("nb201", arch_list=[cells[1], "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"])
    capsys.readouterr()
    for text in ("garbage\n", "# nothing\n\n"):
        f.write_text(text)
        assert main(["bench", "build", "--out", str(tmp_path / "c"), "--arch-file", str(f), *TINY]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("Error:")
    assert not (tmp_path / "c").exists()
