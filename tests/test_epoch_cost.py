"""Search cost from an architecture model of the recorded epoch times (``fit_epoch_cost``,
``TabularEvaluator(cost="model")``, ``nasrank search --cost model``)."""

from __future__ import annotations

import numpy as np
import pytest

from nasrank import create_space
from nasrank.benchmarks import CurveBenchmark, TabularBenchmark, fit_epoch_cost, write_benchmark
from nasrank.cli import main
from nasrank.exceptions import ConfigError
from nasrank.search import TabularEvaluator

EPOCHS = 5
# seconds per epoch each operation adds on an edge: none, skip, conv1x1, conv3x3, avg pool
OP_SECONDS = np.array([0.0, 0.02, 0.15, 0.4, 0.08])
BASE = 0.3


def _true_seconds(space, arch):
    return BASE + float(OP_SECONDS[list(arch)].sum())


@pytest.fixture(scope="module")
def noisy_bench(tmp_path_factory):
    """120 cells whose epoch times follow the op costs, +-3% jitter, and 10% of the runs 2-4x slower
    throughout (a machine busy with other work)."""
    space = create_space("nb201")
    rng = np.random.default_rng(0)
    seen, archs = set(), []
    while len(archs) < 120:
        a = space.sample(rng)
        if space.is_valid(a) and space.canonical_key(a) not in seen:
            seen.add(space.canonical_key(a))
            archs.append(space.canonical(a))
    slow = set(rng.choice(len(archs), size=12, replace=False).tolist())
    runs = []
    for i, a in enumerate(archs):
        sec = _true_seconds(space, a) * rng.normal(1.0, 0.03, EPOCHS)
        if i in slow:
            sec *= rng.uniform(2.0, 4.0)
        n = 3 if i == 0 else EPOCHS  # the first run diverged after 3 epochs
        runs.append({"arch": space.to_str(a), "seed": 0, "status": "diverged" if i == 0 else "ok", "params": 1,
                     "curve": {"train_loss": list(np.linspace(2.0, 1.0, n)), "val_acc": list(np.linspace(.2, .5, n)),
                               "epoch_time": list(sec[:n]), "test_acc": 0.5}})
    out = write_benchmark(tmp_path_factory.mktemp("cost") / "b", {"space": "nb201", "name": "noisy"}, runs, EPOCHS)
    return CurveBenchmark(out), archs, slow


def test_median_regression_sees_through_the_slowed_runs(noisy_bench):
    bench, archs, slow = noisy_bench
    space = bench.space
    model = fit_epoch_cost(bench)
    pred = model.predict(archs)
    true = np.array([_true_seconds(space, a) for a in archs])
    rel = np.abs(pred - true) / true
    assert np.median(rel) < 0.02 and rel.max() < 0.08  # every cell, the slowed ones too
    assert model.share_slow == pytest.approx(len(slow) / len(archs), abs=0.01)
    assert model.n_archs == 120 and "120 cells" in model.summary()
    # a least-squares fit of the same features is pulled up by the slowed runs
    x = np.c_[np.ones(len(archs)), [space.encode(a) for a in archs]]
    y = np.array([np.nanmedian(bench.epoch_times(a)) for a in archs])
    ols = x @ np.linalg.lstsq(x, y, rcond=None)[0]
    assert np.median(np.abs(ols - true) / true) > 2 * np.median(rel)


def test_evaluator_charges_the_model_and_keeps_the_recorded_fingerprint(noisy_bench):
    bench, archs, slow = noisy_bench
    model = fit_epoch_cost(bench)
    rec_ev = TabularEvaluator(bench, "tse-ema", epochs=2)
    mod_ev = TabularEvaluator(bench, "tse-ema", epochs=2, cost="model")
    assert "cost" not in rec_ev.config() and mod_ev.config()["cost"] == "model"
    assert rec_ev.fingerprint() != mod_ev.fingerprint()
    i = sorted(slow)[0]
    a = archs[i]
    sec = float(model.predict([a])[0])
    assert mod_ev.evaluate(a).cost == pytest.approx(2 * sec)
    assert rec_ev.evaluate(a).cost == pytest.approx(float(np.sum(bench.epoch_times(a)[:2])))
    assert rec_ev.evaluate(a).cost > 1.5 * mod_ev.evaluate(a).cost  # the recorded cost carries the slowdown
    full = TabularEvaluator(bench, None, cost="model")
    assert full.evaluate(a).cost == pytest.approx(EPOCHS * sec)
    # the diverged run trained 3 epochs: charged 3, also when T asks for more
    d = archs[0]
    assert TabularEvaluator(bench, "tse-ema", epochs=5, cost="model").evaluate(d).cost == pytest.approx(
        3 * float(model.predict([d])[0]))
    with pytest.raises(ConfigError, match="'recorded' or 'model'"):
        TabularEvaluator(bench, None, cost="wall")


def test_a_benchmark_without_epoch_times_or_encoding_is_a_clear_error():
    class NoTimes(TabularBenchmark):
        name = "no-times"
        datasets = ("d",)

        def __init__(self):
            self._space = create_space("nb201")

        @property
        def space(self):
            return self._space

        def archs(self):
            return [self._space.sample(i) for i in range(3)]

        def metrics(self, dataset=None):
            return ["val_acc"]

        def query(self, arch, metric="val_acc", dataset=None):
            return 0.5

    with pytest.raises(ConfigError, match="records no epoch times"):
        fit_epoch_cost(NoTimes())


def test_cli_cost_option(capsys):
    assert main(["search", "--benchmark", "nb201-mini", "--strategy", "random", "--budget", "200s", "--cost",
                 "model", "--json", "-q"]) == 0
    capsys.readouterr()
    for extra, match in ((["--cost", "model"], "give --benchmark"),
                         (["--benchmark", "nb201-mini", "--cost", "wall"], "'recorded' or 'model'")):
        assert main(["search", "--budget", "10q", "-q", *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and match in err[0]
