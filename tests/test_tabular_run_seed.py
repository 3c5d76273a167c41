"""TabularEvaluator(seed=...): on a benchmark with several runs per cell, the search signal and its
cost come from one run, the reported test accuracy stays the mean over the runs."""

from __future__ import annotations

import numpy as np
import pytest

from nasrank import create_space
from nasrank.benchmarks import CurveBenchmark, select_archs, write_benchmark
from nasrank.exceptions import ConfigError
from nasrank.search import SearchConfig, TabularEvaluator, build_evaluator


def _curve(base: float, seed: int) -> dict:
    off = 0.1 * seed  # seed 1's run differs from seed 0's everywhere
    return {"train_loss": [2.0 - base - off, 1.5 - base - off], "train_acc": [0.2, 0.3],
            "val_loss": [2.1, 1.6], "val_acc": [0.30 + base + off, 0.40 + base + off],
            "epoch_time": [1.0 + seed, 2.0 + seed], "lr": [0.1, 0.0], "test_loss": 1.0,
            "test_acc": 0.5 + base + off}


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    sp = create_space("nb201")
    archs = [sp.to_str(a) for a in select_archs(sp, 4, seed=0)]
    runs = []
    for i, a in enumerate(archs):
        for s in (0, 1) if i < 2 else (0,):
            runs.append({"arch": a, "seed": s, "status": "ok", "curve": _curve(0.01 * i, s), "params": 10})
    out = write_benchmark(tmp_path_factory.mktemp("runs") / "b", {"space": "nb201", "name": "two-runs"}, runs,
                          epochs=2)
    return CurveBenchmark(out)


def test_seed_reads_one_run_and_reports_the_mean(bench):
    a = bench.archs()[0]  # trained with seeds 0 and 1
    mean = TabularEvaluator(bench, None, metric="val_acc").evaluate(a)
    one = TabularEvaluator(bench, None, metric="val_acc", seed=0).evaluate(a)
    assert mean.metrics["score"] == pytest.approx(np.mean([0.40, 0.50]))
    assert one.metrics["score"] == pytest.approx(0.40)
    assert one.metrics["test_acc"] == mean.metrics["test_acc"] == pytest.approx(np.mean([0.5, 0.6]))
    assert one.cost == pytest.approx(3.0) and mean.cost == pytest.approx(np.mean([3.0, 5.0]))
    est = TabularEvaluator(bench, "vacc-es", epochs=1, seed=0)
    rec = est.evaluate(a)
    assert rec.metrics["score"] == pytest.approx(0.30) and rec.cost == pytest.approx(1.0)
    # the fingerprint tells the two apart; without a seed the configuration is as before
    assert est.config()["seed"] == 0 and "seed" not in TabularEvaluator(bench, "vacc-es", epochs=1).config()
    assert est.fingerprint() != TabularEvaluator(bench, "vacc-es", epochs=1).fingerprint()


def test_seed_must_cover_every_cell(bench):
    with pytest.raises(ConfigError, match="trained on 2 of the 4 cells"):
        TabularEvaluator(bench, None, seed=1)
    with pytest.raises(ConfigError, match="no runs of seed 5"):
        TabularEvaluator(bench, None, seed=5)


def test_search_config_train_seed_picks_the_run_only_where_there_are_several(bench):
    ev = build_evaluator(SearchConfig(benchmark=str(bench.path), estimator="none", train_seed=0))
    assert ev.seed == 0
    with pytest.raises(ConfigError, match="trained on 2 of the 4 cells"):
        build_evaluator(SearchConfig(benchmark=str(bench.path), estimator="none", train_seed=1))
    mini = build_evaluator(SearchConfig(benchmark="nb201-mini", estimator="tse-ema", train_seed=3))
    assert mini.seed is None and "seed" not in mini.config()  # one run per cell: unchanged
