"""Zero-cost proxies, proxy tables, ProxyScorer and Zero-Cost-PT on any device (issue 18).

CPU tests check what can be checked without a GPU: the device is validated early, never part of a
protocol / cache key / configuration, recorded where results are recorded; a table resumed on
another device goes on; an out-of-memory cell is a recorded outcome; the device-friendly code
paths (one host transfer per proxy, CPU-drawn randomness, GradSign's device block size, SWAP's
vectorised packing) give exactly the CPU values. Tests marked ``gpu`` compare every registered
proxy, the table scoring and Zero-Cost-PT on CUDA with the CPU (skipped without CUDA).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from nasrank import create_space
from nasrank.benchmarks import ProxyProtocol, ProxyTable, build_proxy_table, score_protocol_cells
from nasrank.cli import main
from nasrank.data import load_dataset
from nasrank.estimators.zero_cost import compute_proxies, list_proxies
from nasrank.estimators.zero_cost import gradsign as gradsign_mod
from nasrank.estimators.zero_cost._core import (
    ProxyContext,
    gaussian_init,
    host_sum,
    normal_,
    randn_on,
)
from nasrank.estimators.zero_cost.swap import _pack
from nasrank.exceptions import ConfigError
from nasrank.execution import _devices
from nasrank.oneshot import ZeroCostPT
from nasrank.search import ProxyScorer

SPACE = create_space("nb201")
CFG = {"C": 2, "N": 1}
CELLS = [SPACE.from_str(s) for s in (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|",
    "|skip_connect~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|nor_conv_1x1~0|skip_connect~1|nor_conv_3x3~2|",
)]
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|"
no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error of a machine without CUDA")


def _protocol(**kw) -> ProxyProtocol:
    base = dict(space="nb201", proxies=("synflow", "snip"), dataset="digits", batch_sizes={"snip": 16},
                space_config=CFG)
    return ProxyProtocol(**{**base, **kw})


# --- device-friendly proxy code paths: exactly the CPU values -------------------------------------
def test_host_sum_adds_in_order_like_item_by_item():
    vals = [torch.tensor(0.1, dtype=torch.float64), torch.tensor(1e16, dtype=torch.float64),
            torch.tensor(-1e16, dtype=torch.float64), torch.tensor(0.2, dtype=torch.float32)]
    assert host_sum(vals) == sum(v.item() for v in vals)
    assert host_sum([]) == 0.0


def test_context_generator_is_cpu_and_draws_are_device_independent():
    ctx = ProxyContext(torch.nn.Linear(2, 2), (torch.ones(2, 2), torch.zeros(2, dtype=torch.long)), seed=5)
    gen = ctx.generator(3)
    assert gen.device.type == "cpu"
    ref = torch.randn(4, 3, generator=torch.Generator().manual_seed(8))
    assert torch.equal(randn_on((4, 3), gen, "cpu"), ref)
    w = torch.empty(3, 4)
    assert torch.equal(normal_(w, torch.Generator().manual_seed(2), 0.0, 0.5),
                       torch.empty(3, 4).normal_(0.0, 0.5, generator=torch.Generator().manual_seed(2)))


def test_gaussian_init_draws_the_weights_of_the_cpu_generator():
    torch.manual_seed(0)
    a, b = torch.nn.Conv2d(3, 4, 3), torch.nn.Conv2d(3, 4, 3)
    gaussian_init(a, torch.Generator().manual_seed(1))
    with torch.no_grad():
        b.weight.normal_(generator=torch.Generator().manual_seed(1))
    assert torch.equal(a.weight, b.weight) and float(a.bias.detach().abs().sum()) == 0.0


def test_swap_packing_vectorised_equals_the_loop():
    g = torch.Generator().manual_seed(0)
    rows = torch.randn(62, 300, generator=g) > 0
    assert torch.equal(_pack(rows, loop=True), _pack(rows, loop=False))
    assert torch.equal(_pack(rows[:5], loop=True), _pack(rows[:5], loop=False))


def test_gradsign_counts_do_not_depend_on_the_block_size(monkeypatch):
    torch.manual_seed(0)
    net = SPACE.build(CELLS[0], C=8, N=1, num_classes=10)
    x, y = torch.randn(40, 3, 8, 8), torch.randint(0, 10, (40,))
    ref = compute_proxies(net, (x, y), ["gradsign"])["gradsign"]
    monkeypatch.setattr(gradsign_mod, "_CHUNK", 40)  # one block of 40, as on a GPU
    assert compute_proxies(net, (x, y), ["gradsign"])["gradsign"] == ref
    monkeypatch.setattr(gradsign_mod, "_CHUNK", 3)  # ragged blocks
    assert compute_proxies(net, (x, y), ["gradsign"])["gradsign"] == ref


def test_gradsign_block_is_16_on_cpu_and_bounded_elsewhere():
    assert gradsign_mod._block(torch.empty(1), 128, 10**9) == 16
    meta = torch.empty(1, device="meta")
    assert gradsign_mod._block(meta, 128, 1000) == 128
    assert gradsign_mod._block(meta, 128, gradsign_mod._DEVICE_BLOCK_BYTES // 5) == 5
    assert gradsign_mod._block(meta, 128, 10**12) == 1


# --- score_protocol_cells / build_proxy_table ---------------------------------------------------
def test_cells_record_their_device_and_auto_follows_the_assignment(monkeypatch):
    p = _protocol().resolved()
    rec = score_protocol_cells(p, CELLS[:1], device="cpu")[0]
    assert (rec["device"], rec["device_name"]) == ("cpu", _devices.device_info("cpu")["device_name"])
    monkeypatch.setattr(_devices, "_ASSIGNED", "cpu")  # as a pool worker assigned the CPU
    from nasrank.benchmarks._proxy_table import _score_chunk

    auto = _score_chunk((p, CELLS[:1], None, "auto"))[0]
    old = _score_chunk((p, CELLS[:1], None))[0]  # a task of an older parent: no device -> cpu
    assert auto["scores"] == rec["scores"] == old["scores"] and auto["device"] == "cpu"
    with pytest.raises(ConfigError, match="unknown device 'gpu'"):
        score_protocol_cells(p, CELLS[:1], device="gpu")


def test_out_of_memory_is_a_recorded_outcome(monkeypatch):
    import nasrank.estimators.zero_cost as zc

    real, calls = zc.compute_proxies, []

    def oom_once(*args, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(*args, **kw)

    monkeypatch.setattr(zc, "compute_proxies", oom_once)
    recs = score_protocol_cells(_protocol().resolved(), CELLS[:2])
    assert recs[0]["error"].startswith("out of memory on cpu: OutOfMemoryError: CUDA out of memory")
    assert recs[0]["scores"] == {"synflow": None, "snip": None}
    assert "error" not in recs[1] and recs[1]["scores"]["snip"] > 0  # the build goes on


def test_table_device_is_not_in_the_protocol_and_a_resume_on_another_device_goes_on(tmp_path):
    out = tmp_path / "t"
    assert build_proxy_table(_protocol(), out, archs=CELLS, progress=False, limit=2, device="cpu") is None
    partial = out / "partial.jsonl"
    lines = partial.read_text().splitlines()
    head = json.loads(lines[0])
    assert "device" not in json.dumps(head["protocol"])
    # the first row as another (GPU) machine wrote it; the second as an older nasrank wrote it
    rows = [json.loads(line) for line in lines[1:]]
    rows[0].update(device="cuda:0", device_name="Fake GPU")
    for k in ("device", "device_name"):
        rows[1].pop(k)
    partial.write_text("\n".join([lines[0], *map(json.dumps, rows)]) + "\n")
    table = build_proxy_table(_protocol(), out, archs=CELLS, progress=False, device="auto")
    assert isinstance(table, ProxyTable) and len(table.archs) == 3 and not partial.exists()
    devices = {d["device"]: d["cells"] for d in table.meta["devices"]}
    assert devices == {"cuda:0": 1, "unknown": 1, str(_devices.resolve_device("auto")): 1}
    assert "device" not in json.dumps(table.protocol)
    # a finished table is found again whatever the device
    again = build_proxy_table(_protocol(), out, archs=CELLS, progress=False, device="cpu")
    assert np.array_equal(again.scores, table.scores, equal_nan=True)


def test_table_built_on_cpu_records_it_and_tables_without_devices_still_load(tmp_path):
    out = tmp_path / "t"
    t = build_proxy_table(_protocol(), out, archs=CELLS[:2], progress=False, device="cpu")
    assert (t.meta["device"], t.meta["devices"][0]["cells"]) == ("cpu", 2)
    meta = json.loads((out / "proxy_table.json").read_text())
    for k in ("device", "device_name", "devices"):
        meta.pop(k)  # a table written before devices were recorded
    (out / "proxy_table.json").write_text(json.dumps(meta))
    old = ProxyTable(out)
    assert np.array_equal(old.scores, t.scores, equal_nan=True) and "device" not in old.meta


def test_build_checks_the_device_before_writing(tmp_path):
    with pytest.raises(ConfigError, match="unknown device"):
        build_proxy_table(_protocol(), tmp_path / "t", archs=CELLS, progress=False, device="tpu")
    assert not (tmp_path / "t").exists()


# --- ProxyScorer ----------------------------------------------------------------------------------
def test_proxy_scorer_device_is_not_in_its_config_and_is_recorded():
    a = ProxyScorer("nb201", "synflow", batch_size=8, space_config=CFG, device="cpu")
    b = ProxyScorer("nb201", "synflow", batch_size=8, space_config=CFG, device="auto")
    assert a.config() == b.config() and "device" not in json.dumps(a.config())
    assert "device" not in json.dumps(a.protocol())
    assert a.device_ is None
    v = a(CELLS[:2])
    assert a.device_["device"] == "cpu" and np.all(np.isfinite(v))
    with pytest.raises(ConfigError, match="unknown device"):
        ProxyScorer("nb201", "synflow", device="gpu0")


@no_cuda
def test_proxy_scorer_refuses_cuda_without_a_gpu():
    with pytest.raises(ConfigError, match="needs CUDA"):
        ProxyScorer("nb201", "synflow", device="cuda")


# --- Zero-Cost-PT ---------------------------------------------------------------------------------
def _zcpt(**kw) -> ZeroCostPT:
    base = dict(proposals=2, validation=1, batch_size=8, supernet_config=CFG, network_config=CFG)
    return ZeroCostPT("nb201", **{**base, **kw})


def test_zcpt_device_is_recorded_not_configured():
    data = load_dataset("digits").subset(range(64))
    r = _zcpt(device="cpu").search(data, seed=1)
    assert (r.device, r.to_dict()["device"]) == ("cpu", "cpu") and r.device_name
    assert "device" not in r.config and _zcpt(device="auto").config() == _zcpt().config()
    ref = _zcpt().search(data, seed=1)
    assert (ref.arch, ref.proposals, ref.validation) == (r.arch, r.proposals, r.validation)
    with pytest.raises(ConfigError, match="unknown device"):
        _zcpt(device="gpu").search(data, seed=1)


# --- CLI ------------------------------------------------------------------------------------------
@no_cuda
@pytest.mark.parametrize("argv", [
    ["proxies", "--arch", ARCH, "--C", "2", "--N", "1", "--names", "synflow", "--device", "cuda"],
    ["zcpt", "--dataset", "digits", "--proposals", "1", "--C", "2", "--depth", "1", "--device", "cuda"],
])
def test_cli_cuda_without_a_gpu_is_one_line_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cuda" in err and "--device cpu" in err


@no_cuda
def test_cli_table_cuda_without_a_gpu_writes_nothing(tmp_path, capsys):
    out = tmp_path / "t"
    code = main(["proxies", "table", "--proxies", "synflow", "--dataset", "digits", "--C", "2", "--N", "1",
                 "--out", str(out), "--quiet", "--device", "cuda:1"])
    assert code == 2 and not out.exists()
    assert capsys.readouterr().err.strip().count("\n") == 0


@pytest.mark.parametrize("extra, message", [
    (["--workers-per-device", "2"], "--workers-per-device applies to --executor processes"),
    (["--gpus-per-task", "0.5"], "--gpus-per-task applies to --executor ray"),
    (["--executor", "processes", "--device", "cpu", "--workers-per-device", "2"], "but the device is cpu"),
    (["--device", "gpu"], "unknown device 'gpu'"),
])
def test_cli_table_device_options_are_checked(tmp_path, capsys, extra, message):
    out = tmp_path / "t"
    code = main(["proxies", "table", "--proxies", "synflow", "--dataset", "digits", "--C", "2", "--N", "1",
                 "--out", str(out), "--quiet", *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and err.count("\n") == 0 and not out.exists()


def test_cli_reports_the_device(tmp_path, capsys):
    assert main(["proxies", "--arch", ARCH, "--C", "2", "--N", "1", "--names", "synflow", "--json",
                 "--device", "cpu"]) == 0
    assert json.loads(capsys.readouterr().out)["device"] == "cpu"
    out = tmp_path / "t"
    assert main(["proxies", "table", "--proxies", "synflow", "--dataset", "digits", "--C", "2", "--N", "1",
                 "--arch-file", str(_arch_file(tmp_path)), "--out", str(out), "--quiet", "--device", "cpu"]) == 0
    assert "cpu" in capsys.readouterr().out
    assert ProxyTable(out).meta["devices"][0] == {**_devices.device_info("cpu"), "cells": 2}


def _arch_file(tmp_path: Path) -> Path:
    f = tmp_path / "cells.txt"
    f.write_text("\n".join(SPACE.to_str(a) for a in CELLS[:2]) + "\n")
    return f


# --- on a GPU -------------------------------------------------------------------------------------
#: proxies whose value is numerically sensitive (condition numbers, eigenvalues near 0, counts of
#: patterns decided by signs of values near 0): a looser relative tolerance
_LOOSE = {"ntk-cond": 5e-2, "jacob_cov": 1e-2, "epe-nas": 1e-2, "meco": 1e-2, "swap": 1e-2,
          "linear-regions": 1e-2, "vkdnw": 1e-2, "vkdnw-entropy": 1e-2, "az-nas-trainability": 1e-2,
          "az-nas-progressivity": 1e-2}


@pytest.fixture
def no_tf32():
    """Full float32 convolutions and products on the GPU for the comparison with the CPU."""
    old = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old


def _close(gpu: float, cpu: float, rtol: float) -> bool:
    if math.isnan(cpu) or math.isnan(gpu):
        return math.isnan(cpu) and math.isnan(gpu)
    return math.isclose(gpu, cpu, rel_tol=rtol, abs_tol=1e-9)


@pytest.mark.gpu
@pytest.mark.parametrize("proxy", list_proxies())
def test_every_proxy_on_cuda_matches_the_cpu(proxy, no_tf32):
    torch.manual_seed(0)
    net = SPACE.build(CELLS[0], C=4, N=1, num_classes=10)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(16, 3, 16, 16, generator=g), torch.randint(0, 10, (16,), generator=g)
    cpu = compute_proxies(net, (x, y), [proxy], seed=3)[proxy]
    gpu = compute_proxies(net.to("cuda"), (x.cuda(), y.cuda()), [proxy], seed=3, device="cuda")[proxy]
    assert next(net.parameters()).is_cuda  # the caller's model stays where it was put
    assert _close(gpu, cpu, _LOOSE.get(proxy, 1e-3)), (proxy, gpu, cpu)


@pytest.mark.gpu
def test_gradsign_per_sample_path_runs_on_cuda(no_tf32):
    torch.manual_seed(0)
    net = SPACE.build(CELLS[2], C=8, N=1, num_classes=10).cuda()
    x, y = torch.randn(64, 3, 16, 16, device="cuda"), torch.randint(0, 10, (64,), device="cuda")
    ctx = ProxyContext(net, (x, y), device="cuda")
    counts = gradsign_mod.sign_counts_vectorized(ctx.copy_model(), ctx.inputs, ctx.targets)
    assert all(c.is_cuda for c in counts)
    loop = gradsign_mod.gradsign_loop(ctx.copy_model(), ctx.inputs, ctx.targets)
    assert _close(gradsign_mod._reduce(counts, "sum"), loop, 1e-3)


@pytest.mark.gpu
def test_scorer_table_and_zcpt_on_cuda(tmp_path, no_tf32):
    p = _protocol(proxies=("synflow", "snip", "nwot", "gradsign"),
                  batch_sizes={"snip": 16, "nwot": 16, "gradsign": 16}).resolved()
    cpu = score_protocol_cells(p, CELLS, device="cpu")
    gpu = score_protocol_cells(p, CELLS, device="cuda")
    for c, g in zip(cpu, gpu, strict=True):
        assert g["device"].startswith("cuda") and "error" not in g
        for n in p["proxies"]:
            assert _close(g["scores"][n], c["scores"][n], 1e-3), (n, g, c)
    s = ProxyScorer("nb201", "snip", batch_size=16, space_config=CFG, device="cuda")
    assert np.allclose(s(CELLS), ProxyScorer("nb201", "snip", batch_size=16, space_config=CFG)(CELLS), rtol=1e-3)
    assert s.device_["device"].startswith("cuda")
    data = load_dataset("digits").subset(range(64))
    r = _zcpt(device="cuda").search(data, seed=1)
    assert r.device.startswith("cuda") and SPACE.validate(r.arch) == r.arch


@pytest.mark.gpu
def test_process_pool_spreads_table_workers_over_the_gpus(tmp_path):
    from nasrank.execution import ProcessExecutor, visible_devices

    with ProcessExecutor(workers=2, threads=1, devices="auto") as ex:
        t = build_proxy_table(_protocol(), tmp_path / "t", archs=CELLS, progress=False, executor=ex, chunk=1,
                              device="auto")
    used = {d["device"] for d in t.meta["devices"]}
    assert used <= set(visible_devices()) and used


def test_cli_zcpt_json_reports_the_device(capsys):
    assert main(["zcpt", "--dataset", "digits", "--proposals", "1", "--validation", "0", "--C", "2",
                 "--depth", "1", "--batch-size", "8", "--json", "--device", "cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["device"] == "cpu" and out["device_name"] == _devices.device_info("cpu")["device_name"]


@no_cuda
def test_cli_table_with_processes_and_auto_scores_on_the_cpu_without_a_gpu(tmp_path, capsys):
    out = tmp_path / "t"
    assert main(["proxies", "table", "--proxies", "synflow", "--dataset", "digits", "--C", "2", "--N", "1",
                 "--arch-file", str(_arch_file(tmp_path)), "--out", str(out), "--quiet",
                 "--executor", "processes", "--workers", "1", "--chunk", "1"]) == 0
    assert ProxyTable(out).meta["devices"] == [{**_devices.device_info("cpu"), "cells": 2}]
    # --workers-per-device needs GPUs to spread over: one line, exit 2
    assert main(["proxies", "table", "--proxies", "synflow", "--dataset", "digits", "--C", "2", "--N", "1",
                 "--arch-file", str(_arch_file(tmp_path)), "--out", str(tmp_path / "u"), "--quiet",
                 "--executor", "processes", "--workers-per-device", "2"]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0 and not (tmp_path / "u").exists()
