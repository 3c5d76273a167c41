"""NAS-Bench-201 ground-truth adapter and load_benchmark (real data from ../shared/data)."""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from nasrank import create_space
from nasrank.benchmarks import NB201Benchmark, list_benchmarks, load_benchmark
from nasrank.exceptions import BenchmarkDataError, UnknownNameError

BEST_C10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def bench(shared_data):
    if not (shared_data / "nasbench201" / "nb201_accuracy_200ep.csv").is_file():
        pytest.skip("NAS-Bench-201 CSV not present")
    return NB201Benchmark(shared_data)


def test_every_cell_once_in_official_order(bench, shared_data):
    archs = bench.archs()
    assert len(archs) == 15625 and len(set(archs)) == 15625
    sp = create_space("nb201")
    first = (shared_data / "nasbench201" / "nb201_accuracy_200ep.csv").read_text().splitlines()[1].split(",")
    assert sp.to_str(archs[0]) == first[1] and bench.index(first[1]) == 0
    assert bench.query(first[1], "test_acc", "cifar10") == pytest.approx(float(first[3]) / 100)
    assert bench.query(archs[0], "val_acc", "cifar10-valid") == pytest.approx(float(first[4]) / 100)
    assert bench.query(archs[0], "test_acc", "imagenet16-120") == pytest.approx(float(first[7]) / 100)


def test_known_best_cell_and_ranges(bench):
    arch, acc = bench.best("test_acc", "cifar10")
    assert bench.space.to_str(arch) == BEST_C10 and acc == pytest.approx(0.9437, abs=1e-4)
    for ds in bench.datasets:
        t = bench.table("test_acc", ds)
        assert t.shape == (15625,) and np.all((t > 0) & (t < 1))
    seeds = np.stack([bench.table(f"test_acc_seed{k}") for k in range(3)])
    mean = np.nanmean(seeds, axis=0)
    assert np.corrcoef(mean, bench.table("test_acc"))[0, 1] > 0.999


def test_query_all_cells_under_one_second(bench):
    archs = bench.archs()
    t0 = time.perf_counter()
    vals = [bench.query(a, "test_acc", "cifar10-valid") for a in archs]
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, f"{elapsed:.2f} s for 15,625 queries"
    np.testing.assert_array_equal(vals, bench.table("test_acc", "cifar10-valid"))
    np.testing.assert_array_equal(bench.query_many(archs[::-1], "test_acc", "cifar100"),
                                  bench.table("test_acc", "cifar100")[::-1])


def test_isomorphic_cells_have_close_accuracies(bench):
    sp = bench.space
    a = sp.from_str(BEST_C10)
    # same cell with an extra unused `none` swap is a different string but the same canonical class
    same = [b for b in sp.all_archs() if sp.canonical_key(b) == sp.canonical_key(a)]
    assert len(same) >= 1 and all(abs(bench.query(b) - bench.query(a)) < 0.01 for b in same)


def test_naswot_scores_nan_exactly_on_invalid_cells(bench):
    s = bench.scores("naswot")
    valid = np.array([bench.space.is_valid(a) for a in bench.archs()])
    assert np.isnan(s[~valid]).all() and np.isfinite(s[valid]).all() and (~valid).sum() == 341
    with pytest.raises(BenchmarkDataError, match="available: naswot"):
        bench.scores("synflow")


def test_errors_are_clear(bench, tmp_path, shared_data):
    with pytest.raises(UnknownNameError, match="no dataset 'cifar-10'.*cifar10-valid"):
        bench.query(bench.archs()[0], "test_acc", "cifar-10")
    with pytest.raises(UnknownNameError, match="no metric 'val_acc' for 'cifar10'"):
        bench.query(bench.archs()[0], "val_acc", "cifar10")
    with pytest.raises(BenchmarkDataError, match="not found under"):
        NB201Benchmark(tmp_path)
    bad = tmp_path / "nb201_accuracy_200ep.csv"
    bad.write_text("index,arch\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n")
    with pytest.raises(BenchmarkDataError, match="expected columns"):
        NB201Benchmark(tmp_path)
    # the adapter is found through a directory holding nasbench201/ and through the file itself
    shutil.copy(shared_data / "nasbench201" / "nb201_accuracy_200ep.csv", bad)
    assert len(NB201Benchmark(bad)) == 15625


def test_load_benchmark_by_name_and_env(bench, shared_data, monkeypatch):
    assert {"nb201", "nb201-mini"} <= set(list_benchmarks())
    monkeypatch.setenv("NASRANK_DATA", str(shared_data))
    assert len(load_benchmark("nb201")) == 15625
    with pytest.raises(UnknownNameError, match="Did you mean 'nb201'"):
        load_benchmark("nb210")
    with pytest.raises(BenchmarkDataError, match="does not exist"):
        load_benchmark("./no/such/dir")
