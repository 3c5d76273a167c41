"""The README's "Score your own learning curves" examples run as written (Python and CLI)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shlex
from pathlib import Path

import pytest

from nasrank.cli import main
from nasrank.evaluation import load_curves

README = Path(__file__).resolve().parents[1] / "README.md"
TITLE = "#### Score your own learning curves"


def _section() -> str:
    text = README.read_text()
    start = text.index(TITLE)
    return text[start : text.index("\n### ", start)]


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", _section(), flags=re.S)


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """Run the section's Python block in a fresh directory: (directory, printed lines, namespace)."""
    (code,) = _blocks("python")
    where = tmp_path_factory.mktemp("readme_curves")
    old, buf, ns = os.getcwd(), io.StringIO(), {"__name__": "__readme__"}
    os.chdir(where)
    try:
        with contextlib.redirect_stdout(buf):
            exec(compile(code, "README.md (Score your own learning curves)", "exec"), ns)
    finally:
        os.chdir(old)
    return where, buf.getvalue().splitlines(), ns


def test_python_example(ran) -> None:
    where, lines, ns = ran
    assert lines[0] == "40 10 ('train_loss', 'val_loss', 'val_acc') 1"
    assert f"# {lines[0]}" in _blocks("python")[0]  # the output shown in the README is the real one
    rows = ns["rows"]
    assert [(r.estimator, r.epochs) for r in rows] == [
        (e, T) for e in ("tse", "tse-ema:gamma=0.1", "vacc-es", "lcsvr:field=val_loss") for T in (1, 5, 10)]
    assert len(lines) == 1 + len(rows)
    # every estimator, the predicted validation loss included, ranks in the right direction
    assert all(0.4 < r.value <= 1 and r.ci_low <= r.value <= r.ci_high for r in rows), lines
    by = {(r.estimator, r.epochs): r for r in rows}
    assert by[("tse-ema:gamma=0.1", 10)].value > by[("tse-ema:gamma=0.1", 1)].value
    assert by[("lcsvr:field=val_loss", 10)].value > 0.8
    # run0 diverged after epoch 6: dropped at T=10, kept at T=5; LcSVR is fitted on half of the 39
    # healthy runs and scored on the other 21
    assert (by[("tse", 10)].n, by[("tse", 10)].n_dropped, by[("tse", 5)].n_dropped) == (39, 1, 0)
    assert (by[("lcsvr:field=val_loss", 5)].n_fit, by[("lcsvr:field=val_loss", 5)].n) == (19, 21)
    assert lines[1].startswith("tse                  T=1  rho=")
    assert sorted(p.name for p in where.iterdir()) == ["curves.csv"]


def test_cli_example(ran, capsys, monkeypatch) -> None:
    where, _, _ = ran
    (code,) = _blocks("bash")
    commands = [shlex.split(line) for line in code.splitlines() if line.strip()]
    assert [c[:4] for c in commands] == [["nasrank", "correlate", "--curves", "curves.csv"]] * 2
    monkeypatch.chdir(where)
    capsys.readouterr()
    # 1: the table of every default estimator, and the CSV
    assert main(commands[0][1:]) == 0
    out = capsys.readouterr().out
    for word in ("spearman with test_acc on curves", "tse-ema", "gamma=0.1", "sovl", "vacc-es", "lcsvr",
                 "fitted on", "dropped", "CSV written to rho.csv"):
        assert word in out
    with open(where / "rho.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [(r["estimator"], r["epochs"]) for r in table][:3] == [("tse", "1"), ("tse", "5"), ("tse", "10")]
    assert len(table) == 7 * 3 and all(float(r["value"]) > 0.4 for r in table)
    # 2: JSON
    assert main(commands[1][1:]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["curves"] == "curves.csv" and info["target"] == "test_acc"
    assert [(r["estimator"], r["epochs"]) for r in info["rows"]] == [("tse", 10), ("lcsvr:field=val_loss", 10)]
    assert all(r["value"] > 0.6 for r in info["rows"])


def test_documented_formats_parse(tmp_path: Path) -> None:
    section = _section()
    (example,) = _blocks("text")
    (tmp_path / "c.csv").write_text(example)
    data = load_curves(tmp_path / "c.csv")
    assert data.ids == ("run0", "run1") and data.records == ("train_loss", "val_loss", "val_acc")
    assert data.targets.tolist() == [0.8039, 0.7052] and data.n_diverged == 1
    (obj,) = re.findall(r'`(\{"arch".*?\})`', section)
    (tmp_path / "c.jsonl").write_text(obj + "\n" + obj.replace('"run0"', '"run1"') + "\n")
    data = load_curves(tmp_path / "c.jsonl")
    assert data.ids == ("run0", "run1") and data.curves[0].val_acc.tolist() == [0.2505, 0.388]
