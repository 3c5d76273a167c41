"""Issue 18 for the weight-sharing layer: supernet training, subnet ranking and the DARTS-family
searches on any device and in mixed precision (bf16 everywhere, fp16 with loss scaling where a step
is one plain optimiser update); the device is never part of a resume check or a cache key, the
precision is. Tests marked ``gpu`` need CUDA (skipped here by tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from nasrank.cli import main
from nasrank.data import DataSpec, load_dataset
from nasrank.exceptions import ConfigError
from nasrank.oneshot import (
    SUPERNET_METHODS,
    CheckpointError,
    FinetuneConfig,
    SupernetTrainConfig,
    create_supernet_method,
    load_checkpoint,
    rank_subnets,
    read_checkpoint_info,
    save_checkpoint,
    train_supernet,
)

NO_CUDA = not torch.cuda.is_available()
TINY = {"C": 4, "N": 1}
ARCHS = [(3, 3, 0, 1, 0, 3), (1, 0, 0, 4, 0, 0), (3, 1, 2, 3, 1, 3)]


@pytest.fixture(autouse=True)
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits").sample(128, seed=0)


def _method(name: str = "spos", **params):
    return create_supernet_method(name, "nb201", seed=0, in_channels=1, supernet_config=TINY, **params)


def _cfg(epochs: int, batch_size: int = 32) -> SupernetTrainConfig:
    return SupernetTrainConfig(epochs=epochs, batch_size=batch_size, augment=False, schedule="constant")


def _probe_loss(m, ds) -> float:
    batch = next(iter(ds.batches(len(ds), shuffle=False)))
    return sum(m.path_loss(a, batch) for a in ARCHS) / len(ARCHS)


def _first_step_dtype(m, ds, precision: str) -> torch.dtype:
    """The dtype of the stem convolution's output in a training step under ``precision``."""
    seen: list[torch.dtype] = []
    conv = next(mod for mod in m.supernet.modules() if isinstance(mod, torch.nn.Conv2d))
    handle = conv.register_forward_hook(lambda mod, i, o: seen.append(o.dtype))
    try:
        m.set_precision(precision)
        batch = next(iter(ds.batches(16, shuffle=False)))
        m.step(batch, batch) if m.needs_validation else m.step(batch)
    finally:
        handle.remove()
    return seen[0]


# --- precision ---------------------------------------------------------------------------------------------------

def test_bf16_training_lowers_the_loss_and_runs_in_bfloat16(digits):
    m = _method("spos", lr=0.1)
    before = _probe_loss(m, digits)
    res = train_supernet(m, digits, _cfg(8), precision="bfloat16")
    assert res.precision == "bf16" and m.precision == "bf16"
    losses = [h["loss"] for h in res.history]
    assert all(isinstance(v, float) for v in losses)  # recorded losses are python floats (float64)
    assert sum(losses[-3:]) / 3 < losses[0] - 0.03, losses
    assert _probe_loss(m, digits) < before - 0.03
    # the weights and the optimiser state stay float32; the forward pass ran in bfloat16
    assert all(p.dtype == torch.float32 for p in m.supernet.parameters())
    assert _first_step_dtype(_method("spos"), digits, "bf16") == torch.bfloat16
    assert _first_step_dtype(_method("spos"), digits, "32") == torch.float32


@pytest.mark.parametrize("name", ["reptile", "darts", "sotl-darts", "drnas"])
def test_bf16_steps_of_other_method_families(name, digits):
    m = _method(name)
    assert _first_step_dtype(m, digits, "bf16") == torch.bfloat16
    assert m.steps == 1
    assert all(p.dtype == torch.float32 for p in m.supernet.parameters())
    assert all(torch.isfinite(p).all() for p in m.supernet.parameters())


def test_bf16_darts_search_lowers_the_loss(digits):
    tr, va = digits.split(0.5, seed=0)
    m = _method("darts")
    res = train_supernet(m, tr, _cfg(4, 16), val_set=va, precision="bf16")
    losses = [h["loss"] for h in res.history]
    assert losses[-1] < losses[0] - 0.05, losses
    assert res.history[-1]["val_loss"] < res.history[0]["val_loss"]
    assert all(p.dtype == torch.float32 for p in m.arch_parameters)


@pytest.mark.parametrize("name", ["spos", "fairnas"])
def test_fp16_with_loss_scaling_trains_and_resumes_identically(name, digits, tmp_path):
    ds = digits.sample(64, seed=1)
    whole = _method(name)
    res = train_supernet(whole, ds, _cfg(2), precision="16")
    assert res.precision == "16" and whole._scaler is not None
    assert all(v == v and v < 10 for v in (h["loss"] for h in res.history))  # finite, sane
    assert _first_step_dtype(_method(name), ds, "16") == torch.float16
    # interrupted after epoch 1 and resumed: the loss scale travels in the checkpoint
    ck = tmp_path / "fp16.safetensors"
    train_supernet(_method(name), ds, _cfg(1), checkpoint=ck, precision="16")
    assert read_checkpoint_info(ck)["train"]["precision"] == "16"
    resumed = _method(name)
    res2 = train_supernet(resumed, ds, _cfg(2), checkpoint=ck, precision="16")
    assert res2.resumed_from == 1
    assert [h["loss"] for h in res2.history] == [h["loss"] for h in res.history]
    assert resumed._scaler.get_scale() == whole._scaler.get_scale()
    for (k, a), b in zip(whole.supernet.state_dict().items(), resumed.supernet.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


@pytest.mark.parametrize("name", ["reptile", "metaprox", "multipath+metaprox", "darts", "darts2", "sotl-darts",
                                  "drnas", "pdarts"])
def test_fp16_is_refused_where_loss_scaling_is_not_implemented(name, digits):
    assert not SUPERNET_METHODS.get(name).supports_precision("16")
    assert SUPERNET_METHODS.get(name).supports_precision("bf16")
    m = _method(name)
    with pytest.raises(ConfigError) as e:
        train_supernet(m, digits, _cfg(1), val_set=digits, precision="16")
    msg = str(e.value)
    assert "\n" not in msg and "precision 16" in msg and "bf16" in msg
    assert m.steps == 0 and m.precision == "32"


def test_every_path_method_with_plain_gradients_supports_fp16():
    for name in ("spos", "fairnas", "multipath"):
        assert SUPERNET_METHODS.get(name).supports_precision("16"), name


def test_unknown_precision_is_one_line(digits):
    with pytest.raises(ConfigError, match="unknown precision 'fp8': use 32, bf16 or 16"):
        train_supernet(_method(), digits, _cfg(1), precision="fp8")


def test_precision_is_part_of_the_resume_check(digits, tmp_path):
    ck = tmp_path / "p.safetensors"
    train_supernet(_method(), digits, _cfg(1), checkpoint=ck)
    before = ck.read_bytes()
    with pytest.raises(CheckpointError) as e:
        train_supernet(_method(), digits, _cfg(2), checkpoint=ck, precision="bf16")
    msg = str(e.value)
    assert "\n" not in msg and "precision 32" in msg and "precision=32" in msg
    assert ck.read_bytes() == before
    # and the other way round
    ck16 = tmp_path / "b.safetensors"
    train_supernet(_method(), digits, _cfg(1), checkpoint=ck16, precision="bf16")
    with pytest.raises(CheckpointError, match="trained in precision bf16, this run has precision 32"):
        train_supernet(_method(), digits, _cfg(2), checkpoint=ck16)
    assert train_supernet(_method(), digits, _cfg(2), checkpoint=ck16, precision="bf16").resumed_from == 1


def test_old_checkpoints_without_a_precision_resume_as_32(digits, tmp_path):
    ck = tmp_path / "old.safetensors"
    m = _method()
    train_supernet(m, digits, _cfg(1), checkpoint=ck)
    train = read_checkpoint_info(ck)["train"]
    old = {k: v for k, v in train.items() if k not in ("precision", "device", "device_name")}
    save_checkpoint(ck, m, old)  # what a nasrank before issue 18 wrote
    assert "precision" not in read_checkpoint_info(ck)["train"]
    with pytest.raises(CheckpointError, match="trained in precision 32"):
        train_supernet(_method(), digits, _cfg(2), checkpoint=ck, precision="bf16")
    res = train_supernet(_method(), digits, _cfg(2), checkpoint=ck)
    assert res.resumed_from == 1 and len(res.history) == 2
    assert read_checkpoint_info(ck)["train"]["precision"] == "32"


# --- device ------------------------------------------------------------------------------------------------------

def test_device_is_recorded_and_not_part_of_the_resume_check(digits, tmp_path):
    ck = tmp_path / "d.safetensors"
    whole = train_supernet(_method(), digits, _cfg(2))
    first = train_supernet(_method(), digits, _cfg(1), checkpoint=ck, device="cpu")
    assert first.device["device"] == "cpu" and first.device["device_name"]
    train = read_checkpoint_info(ck)["train"]
    assert train["device"] == "cpu" and train["device_name"] == first.device["device_name"]
    # resumed under another device spelling (auto = cpu here, a torch.device): the run continues
    other = "auto" if NO_CUDA else torch.device("cpu")
    res = train_supernet(_method(), digits, _cfg(2), checkpoint=ck, device=other)
    assert res.resumed_from == 1
    assert [h["loss"] for h in res.history] == [h["loss"] for h in whole.history]


def test_unavailable_devices_are_one_line_config_errors(digits, tmp_path):
    bad = "cuda" if NO_CUDA else "cuda:99"
    m = _method()
    with pytest.raises(ConfigError) as e:
        train_supernet(m, digits, _cfg(1), device=bad, checkpoint=tmp_path / "x.safetensors")
    assert "\n" not in str(e.value) and m.steps == 0
    assert not (tmp_path / "x.safetensors").exists()
    with pytest.raises(ConfigError, match="unknown device 'gpu'"):
        train_supernet(m, digits, _cfg(1), device="gpu")
    with pytest.raises(ConfigError):
        rank_subnets(m, ARCHS[:1], digits, None, FinetuneConfig(budgets=(1,)), device=bad)
    ck = tmp_path / "c.safetensors"
    save_checkpoint(ck, m, {})
    with pytest.raises(ConfigError):
        load_checkpoint(ck, device=bad)


def test_load_checkpoint_on_a_device(digits, tmp_path):
    ck = tmp_path / "l.safetensors"
    m = _method()
    train_supernet(m, digits, _cfg(1), checkpoint=ck)
    loaded = load_checkpoint(ck, device="cpu").method
    assert loaded.device == torch.device("cpu")
    assert loaded.to("cpu") is loaded and loaded.to(torch.device("cpu")).device.type == "cpu"
    with pytest.raises(ConfigError, match="unknown device 'gpu'"):
        loaded.to("gpu")
    for a, b in zip(m.supernet.state_dict().values(), loaded.supernet.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_rank_subnets_device_is_not_part_of_the_cache_key(digits, tmp_path):
    tr, va = digits.split(0.5, seed=0)
    net = _method().supernet
    cache = tmp_path / "rank.jsonl"
    cfg = FinetuneConfig(budgets=(2,), batch_size=16)
    first = rank_subnets(net, ARCHS[:2], tr, va, cfg, cache=cache)
    lines = cache.read_text().splitlines()
    again = rank_subnets(net, ARCHS[:2], tr, va, cfg, cache=cache, device="auto" if NO_CUDA else "cpu")
    assert cache.read_text().splitlines() == lines  # every subnet came from the cache
    assert [r.value("tse", 2) for r in again] == [r.value("tse", 2) for r in first]
    fresh = rank_subnets(net, ARCHS[:2], tr, va, cfg, device="cpu")  # recomputed: the same numbers
    assert [r.value("tse", 2) for r in fresh] == [r.value("tse", 2) for r in first]


# --- the supernet evaluator --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def spec_checkpoint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sev") / "spos.safetensors"
    spec = DataSpec("digits", train_size=96, val_size=64, test_size=0, seed=0)
    train, _, _ = spec.load()
    m = _method()
    train_supernet(m, train, _cfg(1), checkpoint=path, data_key=spec.key())
    return path


def test_supernet_evaluator_records_the_device_outside_the_fingerprint(spec_checkpoint):
    from nasrank.search import SupernetEvaluator

    ev = SupernetEvaluator(spec_checkpoint, "tse", B=2, batch_size=16, device="cpu")
    other = SupernetEvaluator(spec_checkpoint, "tse", B=2, batch_size=16, device="auto")
    assert ev.fingerprint() == other.fingerprint()
    assert "device" not in json.dumps(ev.config())
    rec = ev.evaluate(ARCHS[0])
    assert rec.status == "ok" and rec.info["device"] == "cpu" and rec.info["device_name"]
    assert rec.fingerprint == other.fingerprint()
    with pytest.raises(ConfigError):
        SupernetEvaluator(spec_checkpoint, "tse", B=2, device="cuda" if NO_CUDA else "cuda:99")


def test_supernet_evaluator_out_of_memory_is_a_recorded_outcome(spec_checkpoint, monkeypatch):
    import nasrank.oneshot
    from nasrank.search import SupernetEvaluator

    def oom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(nasrank.oneshot, "finetune_subnet", oom)
    ev = SupernetEvaluator(spec_checkpoint, "tse", B=2, batch_size=16)
    rec = ev.evaluate(ARCHS[1])
    assert rec.status == "error" and rec.info["oom"] is True
    assert rec.error.startswith("out of memory on cpu:") and "\n" not in rec.error
    assert ev.score(rec) != ev.score(rec)  # NaN: the search goes on


# --- CLI ---------------------------------------------------------------------------------------------------------

TRAIN = ["oneshot", "train", "--space", "nb201", "--dataset", "digits", "--C", "2", "--N", "1", "--train-size",
         "64", "--val-size", "32", "--batch-size", "32", "--epochs", "1", "--quiet"]
DARTS = ["darts", "--space", "nb201", "--dataset", "digits", "--C", "2", "--N", "1", "--train-size", "64",
         "--val-size", "32", "--batch-size", "32", "--epochs", "1", "--quiet"]


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("Error: ")
    return err


@pytest.mark.skipif(not NO_CUDA, reason="checks the error of a machine without CUDA")
@pytest.mark.parametrize("argv", [TRAIN, DARTS])
def test_cli_device_cuda_without_cuda_is_one_line_exit_2_and_writes_nothing(argv, tmp_path, capsys):
    out = tmp_path / "never.safetensors"
    assert main([*argv, "--out", str(out), "--device", "cuda"]) == 2
    assert "cuda" in _err_line(capsys).lower()
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not NO_CUDA, reason="checks the error of a machine without CUDA")
def test_cli_rank_device_cuda_without_cuda(tmp_path, capsys):
    out = tmp_path / "s.safetensors"
    assert main([*TRAIN, "--out", str(out)]) == 0
    capsys.readouterr()
    cache = tmp_path / "cache.jsonl"
    assert main(["oneshot", "rank", str(out), "--subnets", "2", "--B", "1", "--estimators", "tse", "--cache",
                 str(cache), "--device", "cuda", "--quiet"]) == 2
    _err_line(capsys)
    assert not cache.exists()


def test_cli_precision_is_recorded_and_checked_on_resume(tmp_path, capsys):
    out = tmp_path / "bf.safetensors"
    assert main([*TRAIN, "--out", str(out), "--precision", "bf16", "--device", "cpu", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["precision"] == "bf16" and summary["device"] == "cpu"
    assert read_checkpoint_info(out)["train"]["precision"] == "bf16"
    before = out.read_bytes()
    assert main([*TRAIN, "--out", str(out), "--epochs", "2"]) == 2  # default --precision 32
    assert "--precision bf16" in _err_line(capsys)
    assert out.read_bytes() == before
    assert main([*TRAIN, "--out", str(out), "--epochs", "2", "--precision", "bf16", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["resumed_from"] == 1
    assert main(["oneshot", "info", str(out)]) == 0
    assert "precision: bf16; last trained on: cpu" in capsys.readouterr().out


@pytest.mark.parametrize("argv, method", [(TRAIN, "reptile"), (DARTS, "darts")])
def test_cli_fp16_where_unsupported_names_bf16(argv, method, tmp_path, capsys):
    out = tmp_path / "x.safetensors"
    assert main([*argv, "--method", method, "--out", str(out), "--precision", "16"]) == 2
    assert "--precision bf16" in _err_line(capsys)
    assert not out.exists()


def test_cli_darts_bf16_records_precision(tmp_path, capsys):
    out = tmp_path / "d.safetensors"
    assert main([*DARTS, "--out", str(out), "--precision", "bf16", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["precision"] == "bf16" and summary["device"] == "cpu" and summary["epochs"] == 1


def test_cli_help_texts():
    from typer.testing import CliRunner

    from nasrank.cli import app

    for argv in (["oneshot", "train"], ["oneshot", "rank"], ["darts"]):
        text = " ".join(CliRunner().invoke(app, [*argv, "--help"], env={"COLUMNS": "400"}).output.split())
        assert "--device" in text and "auto: the first GPU if any, else the CPU" in text, argv
        assert ("--precision" in text) == (argv != ["oneshot", "rank"]), argv


# --- GPU ---------------------------------------------------------------------------------------------------------

@pytest.mark.gpu
@pytest.mark.parametrize("name", ["spos", "darts"])
def test_gpu_checkpoint_moves_between_cpu_and_cuda(name, digits, tmp_path):
    tr, va = digits.split(0.5, seed=0)
    ck = tmp_path / "g.safetensors"
    train_supernet(_method(name), tr, _cfg(1, 16), val_set=va, checkpoint=ck, device="cpu")
    on_gpu = _method(name)
    res = train_supernet(on_gpu, tr, _cfg(2, 16), val_set=va, checkpoint=ck, device="cuda")
    assert res.resumed_from == 1 and on_gpu.device.type == "cuda" and res.device["device"].startswith("cuda")
    assert read_checkpoint_info(ck)["train"]["device"].startswith("cuda")
    back = _method(name)
    res = train_supernet(back, tr, _cfg(3, 16), val_set=va, checkpoint=ck, device="cpu")
    assert res.resumed_from == 2 and back.device.type == "cpu" and len(res.history) == 3
    assert load_checkpoint(ck, device="cuda").method.device.type == "cuda"


@pytest.mark.gpu
def test_gpu_fp16_method_moves_with_its_loss_scale(digits):
    m = _method("spos")
    train_supernet(m, digits, _cfg(1), precision="16")
    scale = m._scaler.get_scale()
    m.to("cuda")
    assert m.device.type == "cuda" and m._scaler.get_scale() == scale
    res = train_supernet(m, digits, _cfg(2), device="cuda", precision="16")
    assert not res.diverged and m.device.type == "cuda"


@pytest.mark.gpu
@pytest.mark.parametrize("name, precision", [("spos", "bf16"), ("spos", "16"), ("fairnas", "16"), ("darts", "bf16"),
                                             ("reptile", "bf16")])
def test_gpu_mixed_precision_training(name, precision, digits):
    tr, va = digits.split(0.5, seed=0)
    m = _method(name)
    res = train_supernet(m, tr, _cfg(3, 16), val_set=va, device="cuda", precision=precision)
    assert not res.diverged and all(h["loss"] < 10 for h in res.history)
    assert all(p.dtype == torch.float32 and p.device.type == "cuda" for p in m.supernet.parameters())


@pytest.mark.gpu
def test_gpu_rank_subnets_matches_the_cpu_closely(digits):
    tr, va = digits.split(0.5, seed=0)
    net = _method().supernet
    cfg = FinetuneConfig(budgets=(2,), batch_size=16)
    cpu = rank_subnets(net, ARCHS, tr, va, cfg, device="cpu")
    gpu = rank_subnets(net, ARCHS, tr, va, cfg, device="cuda")
    assert next(net.parameters()).device.type == "cpu"  # the caller's supernet is not moved
    for a, b in zip(cpu, gpu, strict=True):
        assert abs(a.value("tse", 2) - b.value("tse", 2)) < 1e-2


@pytest.mark.gpu
def test_gpu_supernet_evaluator(spec_checkpoint):
    from nasrank.search import SupernetEvaluator

    ev = SupernetEvaluator(spec_checkpoint, "tse", B=2, batch_size=16, device="cuda")
    rec = ev.evaluate(ARCHS[0])
    assert rec.status == "ok" and rec.info["device"].startswith("cuda")
    assert rec.fingerprint == SupernetEvaluator(spec_checkpoint, "tse", B=2, batch_size=16).fingerprint()
