"""Device, precision and compilation through live search and benchmark building (issue 18).

The device (and ``compile`` / ``channels_last``) never enters a fingerprint, so a search or a
build resumed on another device reuses its records; the precision does (it changes the numbers).
Records say where they were computed (``info["device"]``), a benchmark lists the devices that
trained its runs, ``--device cuda`` without CUDA is one line and exit 2 before anything is
written, and a cell whose training runs out of memory is a recorded ``error`` while the search
goes on. Tests marked ``gpu`` run only where CUDA is available.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import nasrank.training
from nasrank.benchmarks import BuildConfig, build_benchmark
from nasrank.cli import main
from nasrank.data import DataSpec
from nasrank.exceptions import ConfigError, NasrankError
from nasrank.search import LiveEvaluator, ProxyEvaluator, SearchConfig, assemble, build_evaluator
from nasrank.store import ResultStore
from nasrank.training import TrainConfig, TrainJob, run_train_job

NO_CUDA = not torch.cuda.is_available()
DATA = DataSpec("digits", train_size=200, val_size=100, test_size=100)
TINY = {"C": 4, "N": 1}
# a live search small enough for a loaded 2-core machine
LIVE = dict(epochs=1, budget="4q", strategy="random", train_size=200, val_size=100, test_size=100,
            batch_size=100, config=TINY)
CLI_LIVE = ["--quiet", "--budget", "2q", "--epochs", "1", "--C", "4", "--train-size", "200", "--val-size", "100",
            "--test-size", "100", "--batch-size", "100", "--strategy", "random"]
CLI_BUILD = ["--dataset", "digits", "--C", "4", "--N", "1", "--epochs", "1", "--val-size", "100",
             "--train-size", "200", "--test-size", "100", "--batch-size", "100", "--archs", "2", "-q"]


def _files(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


# ---------------------------------------------------------------------------------------------
# evaluators: fingerprints, validation, what reaches the training job
# ---------------------------------------------------------------------------------------------

def test_live_fingerprint_ignores_device_compile_and_layout_but_not_precision():
    base = LiveEvaluator(DATA, "tse-ema", epochs=1, space_config=TINY)
    fast = LiveEvaluator(DATA, "tse-ema", epochs=1, space_config=TINY, device="auto", compile=True,
                         channels_last=True)
    assert fast.fingerprint() == base.fingerprint() and fast.fingerprint(1) == base.fingerprint(1)
    assert fast.config() == base.config()
    job = fast.job((3, 3, 0, 1, 3, 4))
    assert (job.device, job.compile, job.channels_last) == ("auto", True, True)
    assert base.job((3, 3, 0, 1, 3, 4)).device == "cpu"  # the Python default stays on the CPU
    bf16 = LiveEvaluator(DATA, "tse-ema", epochs=1, space_config=TINY,
                         train=TrainConfig(epochs=1, batch_size=128, precision="bf16"))
    default_tc = LiveEvaluator(DATA, "tse-ema", epochs=1, space_config=TINY,
                               train=TrainConfig(epochs=1, batch_size=128))
    assert bf16.fingerprint() != default_tc.fingerprint()
    assert bf16.job((3, 3, 0, 1, 3, 4)).train.precision == "bf16"
    # an explicit precision "32" is the old protocol: same fingerprint as no precision at all
    assert LiveEvaluator(DATA, "tse-ema", epochs=1, space_config=TINY,
                         train=TrainConfig(epochs=1, batch_size=128, precision="fp32")).fingerprint() \
        == default_tc.fingerprint()


def test_evaluators_reject_misspelt_devices_and_non_bool_flags():
    with pytest.raises(ConfigError, match="unknown device 'gpu'"):
        LiveEvaluator(DATA, "tse-ema", epochs=1, space_config=TINY, device="gpu")
    with pytest.raises(ConfigError, match="unknown device 'cuda:x'"):
        LiveEvaluator(DATA, "tse-ema", epochs=1, space_config=TINY, device="cuda:x")
    with pytest.raises(ConfigError, match="`compile` must be True or False"):
        LiveEvaluator(DATA, "tse-ema", epochs=1, space_config=TINY, compile="yes")
    with pytest.raises(ConfigError, match="`channels_last` must be True or False"):
        LiveEvaluator(DATA, "tse-ema", epochs=1, space_config=TINY, channels_last=1)
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        ProxyEvaluator("synflow", DATA, batch_size=16, space_config=TINY, device="tpu")
    assert LiveEvaluator(DATA, "tse-ema", epochs=1, space_config=TINY, device=" CUDA:1 ").device == "cuda:1"
    assert LiveEvaluator(DATA, "tse-ema", epochs=1, space_config=TINY, device=torch.device("cpu")).device == "cpu"


@pytest.mark.skipif(not NO_CUDA, reason="checks the error on a machine without CUDA")
def test_live_check_fails_in_one_line_without_cuda():
    ev = LiveEvaluator(DATA, "tse-ema", epochs=1, space_config=TINY, device="cuda")  # spelling only: fine here
    with pytest.raises(ConfigError, match="needs CUDA") as exc:
        ev.check()
    assert "\n" not in str(exc.value)


def test_proxy_evaluator_records_its_device_outside_the_fingerprint():
    cpu = ProxyEvaluator("synflow", DataSpec("digits", test_size=0), batch_size=16, space_config=TINY)
    auto = ProxyEvaluator("synflow", DataSpec("digits", test_size=0), batch_size=16, space_config=TINY,
                          device="auto")
    assert cpu.fingerprint() == auto.fingerprint() and cpu.config() == auto.config()
    rec = auto.evaluate((3, 3, 0, 1, 3, 4))
    assert rec.status == "ok" and rec.fingerprint == cpu.fingerprint()
    expected = "cpu" if NO_CUDA else "cuda:0"
    assert rec.info["device"] == expected and rec.info["device_name"]


def test_proxy_evaluator_out_of_memory_is_an_error_record(monkeypatch):
    from nasrank.search import _scorers

    def oom(self, archs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(_scorers.ProxyScorer, "__call__", oom)
    ev = ProxyEvaluator("synflow", DataSpec("digits", test_size=0), batch_size=16, space_config=TINY)
    rec = ev.evaluate((3, 3, 0, 1, 3, 4))
    assert rec.status == "error" and rec.error.startswith("out of memory on cpu")
    assert rec.info["oom"] is True and ev.score(rec) != ev.score(rec)  # NaN


# ---------------------------------------------------------------------------------------------
# SearchConfig / assemble
# ---------------------------------------------------------------------------------------------

def test_assemble_passes_device_precision_compile_and_layout_to_the_live_evaluator():
    cfg = SearchConfig(**LIVE, device="CPU", precision="bfloat16", compile=True, channels_last=True)
    with assemble(cfg) as setup:
        ev = setup.evaluator
        assert (ev.device, ev.compile, ev.channels_last, ev.train.precision) == ("cpu", True, True, "bf16")
        assert setup.config.precision == "bf16" and setup.config.device == "cpu"
        plain = build_evaluator(SearchConfig(**LIVE))
        assert plain.device == "cpu" and plain.fingerprint() != ev.fingerprint()  # precision only
        assert build_evaluator(SearchConfig(**LIVE, device="auto", compile=True)).fingerprint() == plain.fingerprint()
    assert cfg.precision == "bfloat16"  # the caller's configuration is not modified


@pytest.mark.parametrize("kw, match", [
    ({"device": "gpu"}, "unknown device 'gpu'"),
    ({"precision": "64"}, "precision"),
    ({"compile": "yes"}, "`compile` must be True or False"),
    ({"workers_per_device": 2}, "--workers-per-device applies to --executor processes"),
    ({"executor": "processes", "workers_per_device": 0}, "workers_per_device"),
    ({"gpus_per_task": 0.5, "executor": "processes", "workers": 2}, "--gpus-per-task applies to --executor ray"),
    ({"gpus_per_task": -1.0, "executor": "ray"}, "gpus_per_task"),
])
def test_assemble_rejects_bad_device_settings(kw, match):
    with pytest.raises(ConfigError, match=match):
        assemble(SearchConfig(benchmark="nb201-mini", strategy="random", budget="2q", **kw))


@pytest.mark.skipif(not NO_CUDA, reason="checks the error on a machine without CUDA")
def test_assemble_refuses_cuda_before_any_work_without_cuda(tmp_path):
    with pytest.raises(ConfigError, match="needs CUDA"):
        assemble(SearchConfig(**LIVE, device="cuda", store=tmp_path / "runs.db"))
    assert not (tmp_path / "runs.db").exists()


def test_placement_maps_devices_onto_executor_options():
    from nasrank.execution import placement

    assert placement("processes", "auto") == {"devices": "auto"}
    assert placement("processes", "CUDA") == {"devices": "auto"}
    assert placement("processes", "cuda:1", 3) == {"devices": ["cuda:1"], "workers_per_device": 3}
    assert placement("processes", "cpu") == placement("processes", "mps") == {}
    assert placement("serial", "auto") == {} and placement("ray", "auto") == {}
    assert placement("ray", "auto", gpus_per_task=0.25) == {"gpus_per_task": 0.25}
    for args, msg in [(("processes", "cpu", 2), "the device is cpu"),
                      (("ray", "auto", 2), "applies to --executor processes"),
                      (("serial", "auto", None, 0.5), "applies to --executor ray"),
                      (("processes", "gpu"), "unknown device 'gpu'"),
                      (("processes", "auto", 0), "workers_per_device"),
                      (("ray", "auto", None, -1), "gpus_per_task")]:
        with pytest.raises(ConfigError, match=msg):
            placement(*args)


def test_executor_gets_devices_and_workers_per_device(monkeypatch):
    import nasrank.execution as execution

    calls = []

    def spy(name, workers=1, **kw):
        calls.append((name, workers, kw))
        return execution.SerialExecutor()

    monkeypatch.setattr(execution, "create_executor", spy)
    base = dict(benchmark="nb201-mini", strategy="random", budget="2q")
    assemble(SearchConfig(**base, executor="processes", workers=3, device="auto")).close()
    assemble(SearchConfig(**base, executor="processes", device="auto", workers_per_device=2)).close()
    assemble(SearchConfig(**base, executor="ray", workers=4, gpus_per_task=0.25, ray_address="auto")).close()
    assert calls == [
        ("processes", 3, {"threads": 1, "devices": "auto"}),
        ("processes", 1, {"threads": 1, "devices": "auto", "workers_per_device": 2}),
        ("ray", 4, {"threads": 1, "gpus_per_task": 0.25, "address": "auto"}),
    ]
    with pytest.raises(ConfigError, match="the device is cpu"):
        assemble(SearchConfig(**base, executor="processes", device="cpu", workers_per_device=2))


def test_processes_executor_spreads_auto_over_the_visible_gpus():
    from nasrank.execution import visible_devices

    with assemble(SearchConfig(benchmark="nb201-mini", strategy="random", budget="2q", executor="processes",
                               workers=2, device="auto")) as setup:
        assert list(setup.executor.devices or []) == visible_devices()
    with assemble(SearchConfig(benchmark="nb201-mini", strategy="random", budget="2q", executor="processes",
                               workers=2, device="cpu")) as setup:
        assert not setup.executor.devices


def test_device_reaches_the_supernet_evaluator_and_the_proxy_scorer(monkeypatch):
    from nasrank.search import _setup, _supernet_eval

    seen = {}

    class FakeSupernet:
        def __init__(self, *args, **kw):
            seen["supernet"] = kw.get("device")

        def check(self):
            pass

    class FakeScorer:
        def __init__(self, *args, **kw):
            seen["scorer"] = kw.get("device")

    monkeypatch.setattr(_supernet_eval, "SupernetEvaluator", FakeSupernet)
    monkeypatch.setattr(_setup, "ProxyScorer", FakeScorer)
    build_evaluator(SearchConfig(supernet="x.safetensors", device="auto"))
    with pytest.raises(ConfigError, match="--precision applies to live training"):
        build_evaluator(SearchConfig(supernet="x.safetensors", precision="bf16"))
    tab = build_evaluator(SearchConfig(benchmark="nb201-mini"))
    _setup.build_scorer(SearchConfig(proxy="nwot", device="cpu"), tab)
    assert seen == {"supernet": "auto", "scorer": "cpu"}


# ---------------------------------------------------------------------------------------------
# out of memory: a recorded outcome, the search goes on
# ---------------------------------------------------------------------------------------------

def test_out_of_memory_cells_are_error_records_and_the_search_completes(monkeypatch, tmp_path):
    real_train = nasrank.training.train
    calls = []

    def train_or_oom(model, *args, **kw):
        calls.append(kw.get("device"))
        if len(calls) % 2 == 0:  # every second cell does not fit on the (pretend) GPU
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real_train(model, *args, **kw)

    monkeypatch.setattr(nasrank.training, "train", train_or_oom)
    store = tmp_path / "runs.db"
    with assemble(SearchConfig(**LIVE, store=store, executor="serial")) as setup:
        (res,) = setup.run()
    assert len(res.steps) == 4 and len(calls) == 4
    with ResultStore(store) as st:
        recs = list(st.records())
    assert sorted(r.status for r in recs) == ["error", "error", "ok", "ok"]
    for r in recs:
        if r.status == "error":
            assert "out of memory" in r.error and r.info["oom"] is True and r.info["device"] == "cpu"
        else:
            assert "oom" not in r.info and r.info["device"] == "cpu"
    assert res.best is not None  # the incumbent is one of the cells that trained


# ---------------------------------------------------------------------------------------------
# benchmark building
# ---------------------------------------------------------------------------------------------

def test_build_config_device_is_not_part_of_the_identity_but_precision_is():
    base = BuildConfig(space_config=TINY, data=DATA, train=TrainConfig(epochs=1), archs=2)
    fast = BuildConfig(space_config=TINY, data=DATA, train=TrainConfig(epochs=1), archs=2, device="auto",
                       compile=True, channels_last=True)
    assert fast.metadata() == base.metadata()
    assert [j.fingerprint for j in fast.jobs()] == [j.fingerprint for j in base.jobs()]
    assert {(j.device, j.compile, j.channels_last) for j in fast.jobs()} == {("auto", True, True)}
    bf16 = BuildConfig(space_config=TINY, data=DATA, train=TrainConfig(epochs=1, precision="bf16"), archs=2)
    assert bf16.metadata()["train_config"]["precision"] == "bf16" and "precision" not in base.metadata()["train_config"]
    assert {j.fingerprint for j in bf16.jobs()}.isdisjoint(j.fingerprint for j in base.jobs())
    with pytest.raises(ConfigError, match="unknown device 'gpu0'"):
        BuildConfig(device="gpu0")
    with pytest.raises(ConfigError, match="`compile` must be True or False"):
        BuildConfig(compile=None)


def test_build_resumed_on_another_device_reuses_runs_and_lists_both_devices(tmp_path):
    cfg = BuildConfig(space_config=TINY, data=DATA, train=TrainConfig(epochs=1, batch_size=100), archs=2)
    first, second = cfg.jobs()
    out = tmp_path / "bench"
    out.mkdir()
    rec = run_train_job(first)  # pretend the first run was trained on a GPU by an earlier build
    rec.info.update({"device": "cuda:0", "device_name": "Pretend GPU"})
    with ResultStore(out / "records.sqlite") as st:
        st.add(rec)
    trained = []
    again = BuildConfig(space_config=TINY, data=DATA, train=TrainConfig(epochs=1, batch_size=100), archs=2,
                        device="auto")
    build_benchmark(again, out, progress=False, on_record=trained.append)
    assert [r.arch for r in trained] == [second.arch]  # the GPU run was reused, not retrained
    meta = json.loads((out / "benchmark.json").read_text())
    here = "cpu" if NO_CUDA else "cuda:0"
    listed = sorted((d["device"], d["device_name"], d["runs"]) for d in meta["devices"])
    assert len(listed) == 2 and ("cuda:0", "Pretend GPU", 1) in listed
    assert [(dev, runs) for dev, name, runs in listed if name != "Pretend GPU"] == [(here, 1)]
    assert "device" not in meta and meta["train_config"] == cfg.train.key()


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------

@pytest.mark.skipif(not NO_CUDA, reason="checks the error on a machine without CUDA")
@pytest.mark.parametrize("argv", [
    ["search", *CLI_LIVE, "--device", "cuda", "--store", "runs.db"],
    ["search", "--benchmark", "nb201-mini", "--budget", "2q", "--device", "cuda:0", "--store", "runs.db"],
    ["bench", "build", "--out", "bench", *CLI_BUILD, "--device", "cuda"],
], ids=["search-live", "search-benchmark", "bench-build"])
def test_cli_cuda_without_cuda_is_one_line_exit_2_and_writes_nothing(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rc = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "needs CUDA" in err[0] and "--device cpu" in err[0]
    assert _files(tmp_path) == set()


@pytest.mark.parametrize("argv, match", [
    (["search", "--benchmark", "nb201-mini", "--budget", "2q", "--device", "gpu"], "unknown device 'gpu'"),
    (["search", "--benchmark", "nb201-mini", "--budget", "2q", "--precision", "8"], "precision"),
    (["search", "--benchmark", "nb201-mini", "--budget", "2q", "--workers-per-device", "2"], "--executor processes"),
    (["search", "--benchmark", "nb201-mini", "--budget", "2q", "--gpus-per-task", "0.5"], "--executor ray"),
    (["bench", "build", "--out", "bench", *CLI_BUILD, "--device", "gpu"], "unknown device 'gpu'"),
    (["bench", "build", "--out", "bench", *CLI_BUILD, "--precision", "8"], "precision"),
    (["bench", "build", "--out", "bench", *CLI_BUILD, "--gpus-per-task", "1"], "--executor ray"),
])
def test_cli_bad_device_settings_are_one_line_exit_2(argv, match, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rc = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and match in err[0]
    assert _files(tmp_path) == set()


def test_cli_search_passes_the_device_options(monkeypatch, capsys):
    import nasrank.search

    got = {}

    def spy(cfg):
        got["cfg"] = cfg
        raise NasrankError("stop here")

    monkeypatch.setattr(nasrank.search, "assemble", spy)
    assert main(["search", *CLI_LIVE, "--precision", "bf16", "--compile", "--channels-last", "--executor",
                 "processes", "--workers-per-device", "3"]) == 2
    cfg = got["cfg"]
    assert (cfg.device, cfg.precision, cfg.compile, cfg.channels_last, cfg.workers_per_device, cfg.gpus_per_task) \
        == ("auto", "bf16", True, True, 3, 0.0)
    main(["search", *CLI_LIVE, "--device", "cpu", "--executor", "ray", "--gpus-per-task", "0.5"])
    assert (got["cfg"].device, got["cfg"].compile, got["cfg"].gpus_per_task) == ("cpu", False, 0.5)
    capsys.readouterr()


def test_cli_bench_build_passes_the_device_options(monkeypatch, tmp_path, capsys):
    import nasrank.benchmarks

    got = {}

    def spy(cfg, out, store=None, executor=None, **kw):
        got.update(cfg=cfg, executor=executor)
        return out

    monkeypatch.setattr(nasrank.benchmarks, "build_benchmark", spy)
    assert main(["bench", "build", "--out", str(tmp_path / "b"), *CLI_BUILD, "--precision", "16", "--compile",
                 "--channels-last", "--executor", "processes", "--workers", "2"]) == 0
    cfg, ex = got["cfg"], got["executor"]
    assert (cfg.device, cfg.compile, cfg.channels_last, cfg.train.precision) == ("auto", True, True, "16")
    from nasrank.execution import ProcessExecutor, visible_devices

    assert isinstance(ex, ProcessExecutor) and list(ex.devices or []) == visible_devices()
    assert main(["bench", "build", "--out", str(tmp_path / "b"), *CLI_BUILD, "--device", "cpu"]) == 0
    assert got["cfg"].device == "cpu" and got["cfg"].train.precision == "32"
    capsys.readouterr()


def test_cli_help_lists_the_device_options(capsys):
    for argv in (["search", "--help"], ["bench", "build", "--help"]):
        assert main(argv) == 0
        out = capsys.readouterr().out
        for flag in ("--device", "--precision", "--compile", "--channels-last", "--workers-per-device",
                     "--gpus-per-task"):
            assert flag in out, (argv, flag)


# ---------------------------------------------------------------------------------------------
# on a GPU
# ---------------------------------------------------------------------------------------------

@pytest.mark.gpu
def test_gpu_live_search_trains_on_cuda(tmp_path, capsys):
    store = tmp_path / "runs.db"
    assert main(["search", *CLI_LIVE, "--device", "cuda", "--precision", "bf16", "--channels-last",
                 "--store", str(store)]) == 0
    with ResultStore(store) as st:
        recs = list(st.records())
    assert recs and all(r.status == "ok" and r.info["device"].startswith("cuda") for r in recs)
    assert all(r.info["device_name"] for r in recs)
    capsys.readouterr()


@pytest.mark.gpu
def test_gpu_processes_search_spreads_over_gpus_and_resumes_on_cpu(tmp_path, capsys):
    store = tmp_path / "runs.db"
    assert main(["search", *CLI_LIVE, "--budget", "4q", "--device", "auto", "--executor", "processes",
                 "--workers-per-device", "2", "--store", str(store)]) == 0
    with ResultStore(store) as st:
        gpu_recs = list(st.records())
    n_gpus = torch.cuda.device_count()
    assert gpu_recs and all(r.status == "ok" for r in gpu_recs)
    assert {r.info["device"] for r in gpu_recs} <= {f"cuda:{i}" for i in range(n_gpus)}
    # the same search on the CPU resumes: nothing is evaluated again
    assert main(["search", *CLI_LIVE, "--budget", "4q", "--device", "cpu", "--store", str(store), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["evaluated_now"] == 0


@pytest.mark.gpu
def test_gpu_bench_build_records_the_gpu(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["bench", "build", "--out", str(out), *CLI_BUILD, "--device", "cuda", "--precision", "bf16"]) == 0
    meta = json.loads((out / "benchmark.json").read_text())
    assert meta["devices"][0]["device"].startswith("cuda") and meta["devices"][0]["runs"] == 2
    assert meta["train_config"]["precision"] == "bf16"
    with ResultStore(out / "records.sqlite") as st:
        assert all(r.info["device"].startswith("cuda") for r in st.records())
    capsys.readouterr()


@pytest.mark.gpu
def test_gpu_job_records_the_device_it_trained_on():
    job = TrainJob("nb201", "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|", dict(TINY), DATA,
                   TrainConfig(epochs=1, batch_size=100), device="auto")
    rec = run_train_job(job)
    assert rec.status == "ok" and rec.info["device"] == "cuda:0"
