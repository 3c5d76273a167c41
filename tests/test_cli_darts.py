"""``nasrank darts`` (differentiable search) and ``nasrank report`` of search checkpoints, end to
end on digits with tiny supernets (C=2, N=1, 8x8 images, 128 + 128 images, 1-3 epochs)."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest

from nasrank.cli import main
from nasrank.evaluation.trajectories import (
    SearchTrajectory,
    is_checkpoint,
    trajectory_curves,
    trajectory_rows,
)
from nasrank.spaces import DARTSSpace, NB201Space

TINY = ["darts", "--dataset", "digits", "--image-size", "8", "--C", "2", "--N", "1", "--train-size", "128",
        "--val-size", "128", "--batch-size", "32", "--quiet"]


def _run(capsys, argv: list[str]) -> dict:
    assert main([*argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _err_line(capsys) -> str:
    cap = capsys.readouterr()
    lines = [ln for ln in cap.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), cap.err
    assert "Traceback" not in cap.err and cap.out == ""
    return lines[0]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Checkpoints of two darts seeds and one sotl-darts run, 2 epochs each."""
    root = tmp_path_factory.mktemp("darts_cli")
    out = {}
    for key, extra in (("darts0", ["--method", "darts", "--seed", "0"]),
                       ("darts1", ["--method", "darts", "--seed", "1"]),
                       ("sotl", ["--method", "sotl-darts", "--param", "inner_steps=2"])):
        out[key] = root / f"{key}.safetensors"
        assert main([*TINY, *extra, "--epochs", "2", "--out", str(out[key])]) == 0
    return out


def test_json_table_records_a_valid_architecture_every_epoch(tmp_path, capsys):
    out = tmp_path / "d.safetensors"
    s = _run(capsys, [*TINY, "--epochs", "2", "--out", str(out), "--benchmark", "nb201-mini", "--hessian"])
    assert s["method"] == "darts" and s["space"] == "nb201" and s["epochs"] == 2 and s["resumed_from"] == 0
    assert s["data"]["search_train"] == 128 and s["data"]["search_val"] == 128
    space = NB201Space()
    assert [r["epoch"] for r in s["history"]] == [1, 2]
    for r in s["history"]:
        assert space.to_str(space.from_str(r["arch"])) == r["arch"]
        assert 0 <= r["skip"] <= r["param_free"] <= 6
        assert math.isfinite(r["loss"]) and math.isfinite(r["val_loss"]) and math.isfinite(r["hessian"])
        assert r["benchmark_acc"] is None or 0 < r["benchmark_acc"] < 100
    f = s["final"]
    assert f["arch"] == s["history"][-1]["arch"] and f["operations"] == 6
    assert len(f["weights"]) == 6 and all(abs(sum(row) - 1) < 1e-4 for row in f["weights"])
    assert s["benchmark"]["name"] == "nb201-mini" and is_checkpoint(out)


def test_text_table_and_resume_give_the_same_search(runs, tmp_path, capsys):
    first = _run(capsys, [*TINY, "--method", "darts", "--seed", "0", "--epochs", "2", "--out", str(runs["darts0"])])
    assert first["resumed_from"] == 2 and first["epochs"] == 2  # nothing left to do
    # 1 epoch, then resumed to 2, equals the uninterrupted 2-epoch run of the fixture
    part = tmp_path / "part.safetensors"
    assert _run(capsys, [*TINY, "--epochs", "1", "--out", str(part)])["epochs"] == 1
    assert main([*TINY, "--epochs", "2", "--out", str(part)]) == 0
    text = capsys.readouterr().out
    assert "resumed after epoch 1" in text and "derived architecture:" in text
    rows = [ln.split() for ln in text.splitlines() if re.match(r"\s+\d+\s+\d+\.\d{4}\s", ln)]
    assert [r[0] for r in rows] == ["1", "2"]
    again = _run(capsys, [*TINY, "--epochs", "2", "--out", str(part)])
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in again["history"]]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in first["history"]]
    assert again["final"] == first["final"]


def test_sotl_darts_uses_no_validation_loss(runs, capsys):
    s = _run(capsys, [*TINY, "--method", "sotl-darts", "--param", "inner_steps=2", "--epochs", "2",
                      "--out", str(runs["sotl"])])
    assert s["method"] == "sotl-darts" and all(r["val_loss"] is None for r in s["history"])
    assert all(NB201Space().from_str(r["arch"]) for r in s["history"])


def test_darts_space_genotype(tmp_path, capsys):
    argv = [a for a in TINY if a not in ("--N", "1")]
    s = _run(capsys, [*argv, "--space", "darts", "--config", "layers=3", "--epochs", "1",
                      "--out", str(tmp_path / "g.safetensors")])
    space = DARTSSpace()
    assert space.to_str(space.from_str(s["final"]["arch"])) == s["final"]["arch"]
    assert s["final"]["operations"] == 16 and 0 <= s["final"]["param_free"] <= 16


@pytest.mark.parametrize("extra, needle", [
    (["--method", "dartz"], "dartz"),
    (["--method", "spos"], "oneshot train"),
    (["--space", "bogus"], "bogus"),
    (["--benchmark", "nb201-mini", "--space", "darts"], "nb201"),
    (["--benchmark", "nb201-mini", "--metric", "bogus"], "bogus"),
    (["--train-size", "5000"], "train"),
    (["--batch-size", "200"], "batch"),
    (["--param", "bogus=1"], "bogus"),
], ids=["unknown-method", "path-method", "unknown-space", "benchmark-of-other-space", "unknown-metric",
        "too-much-data", "batch-too-large", "unknown-param"])
def test_bad_input_is_one_line_exit_2(extra, needle, tmp_path, capsys):
    out = tmp_path / "x.safetensors"
    assert main([*TINY, "--epochs", "1", "--out", str(out), *extra]) == 2
    assert needle in _err_line(capsys)
    assert not out.exists()


def test_corrupted_or_foreign_checkpoint_is_refused(runs, tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    assert main([*TINY, "--epochs", "1", "--out", str(bad)]) == 2
    _err_line(capsys)
    assert bad.read_bytes() == b"not a checkpoint at all"
    # the darts checkpoint is not resumed by another method
    before = runs["darts0"].read_bytes()
    assert main([*TINY, "--method", "darts2", "--epochs", "2", "--out", str(runs["darts0"])]) == 2
    assert "was trained with method" in _err_line(capsys)
    assert runs["darts0"].read_bytes() == before
    assert main([*TINY, "--epochs", "1", "--out", str(tmp_path)]) == 2
    assert "directory" in _err_line(capsys)


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_report_of_checkpoints_writes_trajectory_csv_and_png(runs, tmp_path, capsys):
    rep = tmp_path / "rep"
    argv = ["report", str(runs["darts0"]), str(runs["darts1"]), str(runs["sotl"]), "--out", str(rep),
            "--benchmark", "nb201-mini"]
    assert main(argv) == 0
    cap = capsys.readouterr()
    assert "nb201 darts: 2 run(s), 2 epochs" in cap.out and "nb201 sotl-darts: 1 run(s)" in cap.out
    rows = _csv(rep / "trajectory.csv")
    assert [(r["group"], r["epoch"], r["n_runs"]) for r in rows] == [
        ("darts", "1", "2"), ("darts", "2", "2"), ("sotl-darts", "1", "1"), ("sotl-darts", "2", "1")]
    assert all(r["param_free_mean"] != "" for r in rows)
    assert rows[0]["param_free_sem"] != "" and rows[2]["param_free_sem"] == ""  # s.e. needs 2 seeds
    runs_rows = _csv(rep / "trajectory_runs.csv")
    assert len(runs_rows) == 6 and {r["seed"] for r in runs_rows if r["method"] == "darts"} == {"0", "1"}
    assert all(NB201Space().from_str(r["arch"]) for r in runs_rows)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "no plot: plotting needs matplotlib" in cap.err
    else:
        assert (rep / "trajectory.png").stat().st_size > 1000


def test_report_looks_up_nb201_accuracies(runs, tmp_path, capsys, shared_data):
    rep = tmp_path / "rep"
    assert main(["report", str(runs["darts0"]), str(runs["darts1"]), "--out", str(rep), "--data-dir",
                 str(shared_data), "--no-plot"]) == 0
    assert "nb201 accuracy of the final cell" in capsys.readouterr().out
    rows = _csv(rep / "trajectory.csv")
    assert all(r["acc_n"] == "2" and 10 < float(r["acc_mean"]) < 100 for r in rows)


def test_report_errors(runs, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NASRANK_DATA", raising=False)
    rep = tmp_path / "rep"
    # nb201 ground truth by default: without the data, one line that names the shipped alternative
    assert main(["report", str(runs["darts0"]), "--out", str(rep)]) == 2
    assert "nb201-mini" in _err_line(capsys)
    notes = tmp_path / "notes.txt"
    notes.write_text("text\n")
    assert main(["report", str(runs["darts0"]), str(notes), "--out", str(rep)]) == 2
    assert "not a search checkpoint" in _err_line(capsys)
    assert main(["report", str(runs["darts0"]), "--out", str(rep), "--value", "score"]) == 2
    _err_line(capsys)
    assert main(["report", str(runs["darts0"]), "--out", str(rep), "--benchmark", "nb201-mini",
                 "--metric", "bogus"]) == 2
    _err_line(capsys)
    spos = tmp_path / "spos.safetensors"
    assert main(["oneshot", "train", "--dataset", "digits", "--C", "2", "--N", "1", "--val-size", "100",
                 "--train-size", "64", "--epochs", "1", "--quiet", "--out", str(spos)]) == 0
    capsys.readouterr()
    assert main(["report", str(spos), "--out", str(rep), "--benchmark", "nb201-mini"]) == 2
    assert "spos" in _err_line(capsys)
    assert not rep.exists()


def test_trajectory_rows_with_a_benchmark_that_knows_the_cells():
    space = NB201Space()

    class Toy:  # accuracy = 50 % + 5 % per conv
        datasets = ("cifar10",)
        space = NB201Space()

        def query(self, arch, metric="test_acc", dataset=None):
            return 0.5 + 0.05 * sum(o in (2, 3) for o in arch)

    archs = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
             "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"]
    trajs = [SearchTrajectory(Path(f"r{s}"), "darts", "nb201", s, {"name": "darts", "seed": s},
                              [{"epoch": e, "loss": 1.0, "arch": archs[e], "param_free": 3 + 3 * e} for e in (0, 1)])
             for s in (0, 1)]
    rows = trajectory_rows(trajs, {"nb201": Toy()})
    assert [r["acc"] for r in rows] == pytest.approx([65.0, 50.0, 65.0, 50.0])
    c, = trajectory_curves(rows)
    assert c.mean["acc"].tolist() == pytest.approx([65.0, 50.0]) and c.n.tolist() == [2, 2]
    assert space.from_str(rows[0]["arch"]) == (3, 3, 3, 1, 1, 1)
