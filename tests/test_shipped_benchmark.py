"""The learning-curve benchmark shipped inside the package (nb201-mini)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from nasrank.benchmarks import CurveBenchmark, load_benchmark, shipped_benchmark_path
from nasrank.estimators import create_estimator


@pytest.fixture(scope="module")
def mini():
    return load_benchmark("nb201-mini")


def test_loads_fast():
    t0 = time.perf_counter()
    b = CurveBenchmark(shipped_benchmark_path("nb201-mini"))
    b.curve(b.archs()[0])
    assert time.perf_counter() - t0 < 1.0


def test_size_and_content(mini):
    sp = mini.space
    archs = mini.archs()
    assert len(archs) >= 200 and mini.epochs >= 20
    assert len({sp.canonical_key(a) for a in archs}) == len(archs)
    assert all(sp.is_valid(a) for a in archs)
    meta = mini.metadata
    assert meta["data"]["dataset"] == "cifar10" and meta["space_config"] == {"C": 8, "N": 1}
    assert meta["build_command"].startswith("nasrank bench build")
    test_acc = mini.table("test_acc")
    assert np.isfinite(test_acc).sum() >= 200
    assert 0.1 < np.nanmin(test_acc) and np.nanmax(test_acc) < 1.0 and np.nanstd(test_acc) > 0.01
    for a in archs[:20]:
        c = mini.curve(a)
        assert c.epochs == mini.epochs and c.val_acc is not None and len(c.minibatch_loss) == c.epochs * c.steps_per_epoch
        assert np.all(mini.epoch_times(a) > 0)
        assert c.train_loss[-1] < c.train_loss[0]  # it trained
        assert c.lr[0] == pytest.approx(meta["train_config"]["lr"])


def test_tse_ranks_cells_better_than_chance(mini):
    archs = mini.archs()
    curves = [mini.curve(a) for a in archs]
    est = create_estimator("tse-ema")
    scores = np.array([est.score(c, mini.epochs // 2) for c in curves])
    from scipy.stats import spearmanr

    rho = spearmanr(scores, mini.table("test_acc"), nan_policy="omit").statistic
    assert rho > 0.3
