"""Devices, mixed precision, compilation fallback and out-of-memory outcomes (issue 18).

Everything here runs on the CPU; the tests marked ``gpu`` need a CUDA device and are skipped
without one.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import nasrank
from nasrank.data import DataSpec, load_dataset
from nasrank.exceptions import ConfigError
from nasrank.execution import (
    CompiledForward,
    _devices,
    autocast,
    device_info,
    grad_scaler,
    is_out_of_memory,
    resolve_device,
    resolve_precision,
)
from nasrank.training import TrainConfig, TrainJob, run_train_job, train

ARCH = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"


# ----------------------------------------------------------------------------- device parsing


@pytest.mark.parametrize("spec", ["cpu", "CPU", " cpu ", torch.device("cpu")])
def test_cpu_spellings(spec) -> None:
    assert resolve_device(spec) == torch.device("cpu")


def test_auto_is_the_first_gpu_or_the_cpu() -> None:
    want = torch.device("cuda:0") if torch.cuda.is_available() else torch.device("cpu")
    assert resolve_device("auto") == want
    assert resolve_device(None) == want


@pytest.mark.parametrize("spec, msg", [
    ("gpu", "unknown device 'gpu': use auto, cpu, cuda, cuda:N or mps"),
    ("cuda:x", "unknown device"),
    ("tpu:0", "unknown device"),
    (3, "device must be a string"),
])
def test_unknown_devices_are_one_line_config_errors(spec, msg) -> None:
    if spec == "cuda:x" and not torch.cuda.is_available():
        msg = "needs CUDA"
    with pytest.raises(ConfigError, match=msg) as info:
        resolve_device(spec)
    assert "\n" not in str(info.value)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
@pytest.mark.parametrize("spec", ["cuda", "cuda:0", "cuda:3"])
def test_cuda_without_cuda_names_the_fix(spec) -> None:
    with pytest.raises(ConfigError, match=r"needs CUDA, but .*: use --device cpu \(or auto\)"):
        resolve_device(spec)


def test_mps_without_mps() -> None:
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        pytest.skip("this machine has MPS")
    with pytest.raises(ConfigError, match="'mps' is not available"):
        resolve_device("mps")


def test_assigned_device_is_what_auto_means_in_a_worker(monkeypatch) -> None:
    monkeypatch.setattr(_devices, "_ASSIGNED", "cpu")
    assert resolve_device("auto") == torch.device("cpu")
    assert _devices.assigned_device() == torch.device("cpu")
    monkeypatch.setattr(_devices, "_ASSIGNED", None)
    assert _devices.assigned_device() is None


def test_device_info_names_the_device() -> None:
    info = device_info("cpu")
    assert info["device"] == "cpu" and isinstance(info["device_name"], str) and info["device_name"]


# ----------------------------------------------------------------------------- precision


@pytest.mark.parametrize("given, want", [
    ("32", "32"), (32, "32"), ("fp32", "32"), ("float32", "32"),
    ("bf16", "bf16"), ("BFloat16", "bf16"), ("16", "16"), (16, "16"), ("fp16", "16"), ("half", "16"),
])
def test_precision_aliases(given, want) -> None:
    assert resolve_precision(given) == want


@pytest.mark.parametrize("bad", ["8", "int8", True, 1.5, None])
def test_unknown_precision(bad) -> None:
    with pytest.raises(ConfigError, match="unknown precision .*: use 32, bf16 or 16"):
        resolve_precision(bad)
    with pytest.raises(ConfigError, match="unknown precision"):
        TrainConfig(precision=bad)


def test_autocast_and_scaler() -> None:
    lin = torch.nn.Linear(4, 2)
    with autocast("cpu", "32"):
        assert lin(torch.ones(1, 4)).dtype == torch.float32
    with autocast("cpu", "bf16"):
        assert lin(torch.ones(1, 4)).dtype == torch.bfloat16
    assert grad_scaler("cpu", "32") is None and grad_scaler("cpu", "bf16") is None
    assert grad_scaler("cpu", "16") is not None


def test_precision_key_keeps_old_fingerprints() -> None:
    # Fingerprint of this job as computed before TrainConfig had a precision field (commit 63b950b):
    # runs recorded then must still be found.
    job = TrainJob("nb201", ARCH, {"C": 4, "N": 1}, DataSpec("digits", val_size=300),
                   TrainConfig(epochs=3, batch_size=64), seed=2)
    assert job.fingerprint == "a692742d115f5892"
    assert "precision" not in job.config()["train"]
    bf = TrainJob("nb201", ARCH, {"C": 4, "N": 1}, DataSpec("digits", val_size=300),
                  TrainConfig(epochs=3, batch_size=64, precision="bf16"), seed=2)
    assert bf.fingerprint != job.fingerprint and bf.config()["train"]["precision"] == "bf16"


def test_device_compile_and_layout_do_not_change_the_fingerprint() -> None:
    base = TrainJob("nb201", ARCH, {"C": 4, "N": 1}, DataSpec("digits"), TrainConfig(epochs=1))
    for kw in ({"device": "cuda:1"}, {"device": "auto"}, {"compile": True}, {"channels_last": True}):
        other = TrainJob("nb201", ARCH, {"C": 4, "N": 1}, DataSpec("digits"), TrainConfig(epochs=1), **kw)
        assert other.fingerprint == base.fingerprint, kw


# ----------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def digits():
    tr, va = load_dataset("digits").split(0.5, seed=0)
    return tr, va


def _net(seed: int = 0) -> torch.nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nasrank.create_space("nb201").build((3, 1, 3, 0, 4, 2), num_classes=10, C=4, N=1, in_channels=1)


@pytest.mark.parametrize("precision", ["bf16", "16"])
def test_mixed_precision_training_learns_and_records_float_losses(digits, precision) -> None:
    tr, va = digits
    cfg32 = TrainConfig(epochs=3, batch_size=64, lr=0.05)
    cfg = TrainConfig(epochs=3, batch_size=64, lr=0.05, precision=precision)
    ref = train(_net(), tr, va, cfg32, seed=0)
    low = train(_net(), tr, va, cfg, seed=0)
    assert low.minibatch_loss.dtype == np.float64 and np.all(np.isfinite(low.minibatch_loss))
    assert low.train_loss[-1] < low.train_loss[0]  # it trains
    assert low.val_acc[-1] > max(0.2, ref.val_acc[-1] - 0.1)  # learns about as well as float32 (0.34)
    # same start, same data order: the first minibatch loss differs only by rounding
    assert abs(low.minibatch_loss[0] - ref.minibatch_loss[0]) < 0.05 * ref.minibatch_loss[0]
    assert not np.array_equal(low.minibatch_loss, ref.minibatch_loss)  # it really ran in lower precision
    for p in _net().parameters():
        assert p.dtype == torch.float32


def test_float16_with_gradient_statistics_unscales(digits) -> None:
    tr, _ = digits
    a = train(_net(), tr, None, TrainConfig(epochs=1, batch_size=64, track_gradients=True), seed=0)
    b = train(_net(), tr, None, TrainConfig(epochs=1, batch_size=64, track_gradients=True, precision="16"), seed=0)
    # the sums of gradients are of true (unscaled) gradients: same order of magnitude as float32's
    assert 0.5 < b.sogn[0] / a.sogn[0] < 2.0


def test_channels_last_gives_the_same_curve(digits) -> None:
    tr, va = digits
    cfg = TrainConfig(epochs=1, batch_size=64)
    a = train(_net(), tr, va, cfg, seed=0)
    b = train(_net(), tr, va, cfg, seed=0, channels_last=True)
    np.testing.assert_allclose(a.minibatch_loss, b.minibatch_loss, rtol=1e-4)
    assert b.meta["channels_last"] is True


def test_compile_falls_back_when_the_backend_fails(digits, monkeypatch) -> None:
    def broken_compile(model, *a, **k):
        def fn(*args, **kwargs):
            raise RuntimeError("no compiler backend here")
        return fn

    monkeypatch.setattr(torch, "compile", broken_compile)
    tr, va = digits
    cfg = TrainConfig(epochs=1, batch_size=64)
    with pytest.warns(UserWarning, match="torch.compile is not usable here .*no compiler backend"):
        curve = train(_net(), tr, va, cfg, seed=0, compile=True)
    ref = train(_net(), tr, va, cfg, seed=0)
    assert curve.meta["compiled"] is False
    np.testing.assert_array_equal(curve.minibatch_loss, ref.minibatch_loss)


def test_compiled_forward_passes_out_of_memory_through() -> None:
    class Boom(torch.nn.Module):
        def forward(self, x):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1 GiB")

    fwd = CompiledForward(Boom(), enabled=False)
    fwd._fn = lambda x: Boom()(x)  # a "compiled" function that runs out of memory
    with pytest.raises(torch.cuda.OutOfMemoryError):
        fwd(torch.ones(1))
    assert fwd.fallback is None


def test_out_of_memory_classification() -> None:
    assert is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory"))
    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate; out of memory"))
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))


# ----------------------------------------------------------------------------- jobs


def test_job_records_the_device(monkeypatch) -> None:
    job = TrainJob("nb201", ARCH, {"C": 4, "N": 1}, DataSpec("digits", val_size=300, test_size=100),
                   TrainConfig(epochs=1, batch_size=128), device="cpu")
    rec = run_train_job(job)
    assert rec.status == "ok"
    assert rec.info["device"] == "cpu" and rec.info["device_name"]
    assert rec.info["compiled"] is False


def test_out_of_memory_is_a_recorded_outcome(monkeypatch) -> None:
    calls = []

    def oom_train(*args, **kwargs):
        calls.append(kwargs.get("device"))
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(nasrank.training, "train", oom_train)
    released = []
    import nasrank.execution as ex

    monkeypatch.setattr(ex, "release_memory", lambda device=None: released.append(device))
    job = TrainJob("nb201", ARCH, {"C": 4, "N": 1}, DataSpec("digits", val_size=300),
                   TrainConfig(epochs=1, batch_size=128))
    rec = run_train_job(job)
    assert calls == [torch.device("cpu")]
    assert rec.status == "error" and rec.info.get("oom") is True
    assert rec.error.startswith("out of memory on cpu: OutOfMemoryError: CUDA out of memory")
    assert released == [torch.device("cpu")]


def test_a_bad_device_in_a_job_is_an_error_record_and_preflight_raises() -> None:
    from nasrank.benchmarks import preflight

    job = TrainJob("nb201", ARCH, {"C": 4, "N": 1}, DataSpec("digits", val_size=300),
                   TrainConfig(epochs=1, batch_size=128), device="tpu")
    rec = run_train_job(job)
    assert rec.status == "error" and "unknown device 'tpu'" in rec.error
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        preflight(job)


# ----------------------------------------------------------------------------- on a GPU


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["32", "bf16", "16"])
def test_training_on_the_gpu_matches_the_cpu_closely(digits, precision) -> None:
    tr, va = digits
    cfg = TrainConfig(epochs=2, batch_size=64, augment=False, precision=precision)
    gpu = train(_net(), tr, va, cfg, seed=0, device="cuda")
    assert gpu.meta["device"].startswith("cuda")
    cpu = train(_net(), tr, va, TrainConfig(epochs=2, batch_size=64, augment=False), seed=0)
    tol = 1e-3 if precision == "32" else 5e-2
    assert abs(gpu.minibatch_loss[0] - cpu.minibatch_loss[0]) < tol * cpu.minibatch_loss[0]
    assert math.isfinite(gpu.val_acc[-1])


@pytest.mark.gpu
def test_real_out_of_memory_on_the_gpu_is_recorded(monkeypatch) -> None:
    def huge(*args, **kwargs):
        with warnings.catch_warnings():
            return torch.empty(1 << 50, device="cuda")  # 4 PiB

    monkeypatch.setattr(nasrank.training, "train", huge)
    job = TrainJob("nb201", ARCH, {"C": 4, "N": 1}, DataSpec("digits", val_size=300),
                   TrainConfig(epochs=1, batch_size=128), device="cuda")
    rec = run_train_job(job)
    assert rec.status == "error" and rec.info.get("oom") is True


@pytest.mark.gpu
def test_proxy_batch_on_the_gpu_is_the_cpu_draw() -> None:
    ds = load_dataset("digits")
    x, y = ds.proxy_batch(16, seed=3)
    xg, yg = ds.to("cuda").proxy_batch(16, seed=3)
    assert xg.device.type == "cuda"
    assert torch.equal(yg.cpu(), y) and torch.allclose(xg.cpu(), x)
