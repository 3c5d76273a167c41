"""``nasrank oneshot train / rank / info`` and ``nasrank search --supernet`` end to end on digits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from nasrank.cli import main

TRAIN = ["oneshot", "train", "--space", "nb201", "--dataset", "digits", "--C", "4", "--N", "1",
         "--val-size", "300", "--epochs", "2", "--quiet"]


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("oneshot") / "spos.safetensors"
    assert main([*TRAIN, "--method", "spos", "--out", str(path)]) == 0
    return path


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("Error: ")
    return err


def test_train_writes_a_checkpoint_and_rerun_resumes(tmp_path, capsys):
    out = tmp_path / "fair.safetensors"
    assert main([*TRAIN, "--method", "fairnas", "--epochs", "1", "--out", str(out), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert out.is_file() and first["epochs"] == 1 and first["resumed_from"] == 0
    assert first["method"] == "fairnas" and first["supernet_config"] == {"C": 4, "N": 1}
    # raising --epochs continues from the checkpoint (1 epoch done) instead of starting over
    assert main([*TRAIN, "--method", "fairnas", "--epochs", "2", "--out", str(out), "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["resumed_from"] == 1 and second["epochs"] == 2
    # another configuration at the same path is refused, nothing is overwritten
    before = out.read_bytes()
    assert main([*TRAIN, "--method", "fairnas", "--epochs", "2", "--seed", "1", "--out", str(out)]) == 2
    assert "seed" in _err_line(capsys)
    assert out.read_bytes() == before


def test_info_describes_the_checkpoint(checkpoint, capsys):
    assert main(["oneshot", "info", str(checkpoint), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["method"]["name"] == "spos" and info["method"]["space"] == "nb201"
    assert info["train"]["epochs_done"] == 2 and len(info["train"]["history"]) == 2
    assert info["train"]["data"]["dataset"] == "digits"


def test_rank_without_benchmark_lists_best_subnets(checkpoint, capsys):
    assert main(["oneshot", "rank", str(checkpoint), "--subnets", "5", "--estimators", "tse,val_acc",
                 "--B", "0,3", "--quiet", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["subnets"] == 5 and out["budgets"] == [0, 3]
    assert set(out["best"]) == {"tse@B=3", "val_acc@B=0", "val_acc@B=3"}
    tse = [r["value"] for r in out["best"]["tse@B=3"]]
    assert tse == sorted(tse, reverse=True) and all(v < 0 for v in tse)  # -sum of 3 positive losses


def test_rank_against_the_shipped_benchmark_prints_the_table(checkpoint, tmp_path, capsys):
    cache = tmp_path / "ranks.jsonl"
    args = ["oneshot", "rank", str(checkpoint), "--subnets", "8", "--estimators", "tse,sovl,val_acc,tl-mini",
            "--B", "0,2", "--benchmark", "nb201-mini", "--top", "3", "--cache", str(cache), "--quiet"]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = {(r["estimator"], r["B"]): r for r in out["table"]}
    assert len(out["table"]) == len(rows)  # one row per (estimator, B)
    assert set(rows) == {("val_acc", 0), ("tse", 2), ("sovl", 2), ("val_acc", 2), ("tl-mini", 2)}
    for r in rows.values():
        assert -1.0 <= r["spearman"] <= 1.0 and r["n"] == 8
        assert 0.0 < r["top3_acc"] <= 1.0  # nb201-mini test accuracies are fractions
    assert len(cache.read_text().splitlines()) == 8
    assert main(args) == 0  # the cache makes the re-run free; the text table has one row per pair
    text = capsys.readouterr().out
    assert "Spearman" in text and text.count("\n") >= 6


def test_search_over_the_supernet(checkpoint, capsys):
    assert main(["search", "--supernet", str(checkpoint), "--strategy", "random", "--budget", "4q",
                 "--estimator", "tse", "--B", "3", "--quiet", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["evaluations"] == 4 and row["evaluator"] == "tse@B=3"
    assert row["best_score"] < 0 and row["best_arch"].startswith("|")


@pytest.mark.parametrize(("args", "needle"), [
    (["oneshot", "train", "--method", "nope", "--out", "x.safetensors"], "nope"),
    (["oneshot", "train", "--method", "multipath", "--param", "k=4", "--out", "x.safetensors"], "'k'"),
    (["oneshot", "train", "--space", "nb201", "--out", "."], "directory"),
    (["oneshot", "rank", "missing.safetensors"], "missing.safetensors"),
    (["oneshot", "info", "missing.safetensors"], "missing.safetensors"),
])
def test_bad_input_is_one_line_exit_2(args, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    assert needle in _err_line(capsys)
    assert not (tmp_path / "x.safetensors").exists()


def test_rank_refuses_damaged_and_foreign_input(checkpoint, tmp_path, capsys):
    bad = tmp_path / "cut.safetensors"
    bad.write_bytes(checkpoint.read_bytes()[:-100])
    assert main(["oneshot", "rank", str(bad), "--quiet"]) == 2
    _err_line(capsys)
    assert main(["oneshot", "rank", str(checkpoint), "--estimators", "acc", "--quiet"]) == 2
    assert "acc" in _err_line(capsys)
    assert main(["oneshot", "rank", str(checkpoint), "--B", "-1", "--quiet"]) == 2
    _err_line(capsys)
    assert main(["oneshot", "rank", str(checkpoint), "--estimators", "tse", "--B", "0", "--quiet"]) == 2
    assert "B" in _err_line(capsys)
    assert main(["search", "--supernet", str(checkpoint), "--benchmark", "nb201-mini", "--budget", "2q"]) == 2
    assert "--supernet" in _err_line(capsys)
    assert main(["search", "--supernet", str(checkpoint), "--estimator", "vacc-es", "--budget", "2q"]) == 2
    assert "vacc-es" in _err_line(capsys)


def test_rank_refuses_a_benchmark_of_another_space(tmp_path, capsys):
    out = tmp_path / "darts.safetensors"
    assert main(["oneshot", "train", "--space", "darts", "--dataset", "digits", "--C", "2", "--config", "layers=3",
                 "--epochs", "1", "--train-size", "128", "--val-size", "64", "--out", str(out), "--quiet"]) == 0
    assert main(["oneshot", "rank", str(out), "--benchmark", "nb201-mini", "--quiet"]) == 2
    assert "nb201" in _err_line(capsys)


def test_rank_given_architectures_and_refuse_foreign_ones(checkpoint, capsys):
    a = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    assert main(["oneshot", "rank", str(checkpoint), "--arch", a, "--estimators", "tse", "--B", "2", "--quiet",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["subnets"] == 1 and out["best"]["tse@B=2"][0]["arch"] == a
    darts = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
             "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
             "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
             "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
             "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
    assert main(["oneshot", "rank", str(checkpoint), "--arch", darts, "--quiet"]) == 2
    assert "NB201" in _err_line(capsys)
    assert main(["search", "--supernet", str(checkpoint), "--space", "darts", "--budget", "2q"]) == 2
    assert "nb201" in _err_line(capsys)


def test_rank_refuses_a_checkpoint_without_a_data_split(tmp_path, capsys):
    from nasrank.data import load_dataset
    from nasrank.oneshot import SupernetTrainConfig, create_supernet_method, train_supernet

    m = create_supernet_method("spos", "nb201", supernet_config={"C": 2, "N": 1}, in_channels=1)
    out = tmp_path / "api.safetensors"
    train_supernet(m, load_dataset("digits").sample(128, seed=0), SupernetTrainConfig(epochs=1), checkpoint=out)
    assert main(["oneshot", "rank", str(out), "--quiet"]) == 2
    assert "data_key" in _err_line(capsys)
    assert main(["search", "--supernet", str(out), "--budget", "2q"]) == 2
    assert "data_key" in _err_line(capsys)
