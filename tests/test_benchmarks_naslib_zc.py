"""NASLib zero-cost score adapter: the NASLib -> NB201 mapping, checked against NB201's ground truth."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from nasrank.benchmarks import NB201Benchmark
from nasrank.benchmarks.naslib_zc import (
    NASLIB_OP_TO_NB201,
    NASLibZCBenchmark,
    find_naslib_zc_file,
    naslib_to_nb201,
    nb201_to_naslib,
)
from nasrank.exceptions import BenchmarkDataError, UnknownNameError
from nasrank.spaces.nb201 import NB201Space


def test_mapping_by_hand() -> None:
    space = NB201Space()
    # NASLib (1<-0, 2<-0, 3<-0, 2<-1, 3<-1, 3<-2) with ops skip, none, conv3, conv1, avg
    cell = naslib_to_nb201((2, 3, 4, 0, 1, 0))
    assert space.to_str(cell) == ("|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|"
                                  "+|avg_pool_3x3~0|none~1|skip_connect~2|")
    assert naslib_to_nb201("(2, 3, 4, 0, 1, 0)") == cell
    for ops in itertools.product(range(5), repeat=6):
        assert nb201_to_naslib(naslib_to_nb201(ops)) == ops
    for bad in ((0, 1, 2), (0, 1, 2, 3, 4, 5), "(a, b)"):
        with pytest.raises(BenchmarkDataError):
            naslib_to_nb201(bad)


def _tiny_file(tmp_path: Path, wrap: bool) -> Path:
    def rec(acc, syn):
        return {"idx": "0", "arch": "", "val_accuracy": acc, "synflow": {"score": syn, "time": 0.5},
                "jacov": {"score": None if syn is None else -syn, "time": 0.1}}

    data = {"cifar10": {"(2, 3, 4, 0, 1, 0)": rec(91.0, 3.0), "(0, 0, 0, 0, 0, 0)": rec(80.0, 1.0)},
            "cifar100": {"(0, 0, 0, 0, 0, 0)": rec(50.0, 2.0), "(1, 1, 1, 1, 1, 2)": rec(30.0, None)}}
    path = tmp_path / "zc_nasbench201.json"
    path.write_text(json.dumps({"nasbench201": data} if wrap else data))
    return path


@pytest.mark.parametrize("wrap", [False, True])
def test_adapter_on_a_tiny_file(tmp_path: Path, wrap: bool) -> None:
    bench = NASLibZCBenchmark(_tiny_file(tmp_path, wrap).parent)
    a, b, c = (naslib_to_nb201(k) for k in ((2, 3, 4, 0, 1, 0), (0,) * 6, (1, 1, 1, 1, 1, 2)))
    assert bench.archs() == [a, b, c]
    assert bench.query(a, "val_acc", "cifar10") == pytest.approx(0.91)
    assert math.isnan(bench.query(a, "val_acc", "cifar100"))  # not evaluated there
    assert bench.query(NB201Space().to_str(b), dataset="cifar100") == pytest.approx(0.5)
    assert bench.table(dataset="cifar10").tolist()[:2] == pytest.approx([0.91, 0.80])
    assert bench.proxies("cifar10") == ["jacob_cov", "synflow"]
    syn = bench.scores("synflow", "cifar100")
    assert math.isnan(syn[0]) and syn[1] == 2.0 and math.isnan(syn[2])  # missing cell, null score
    assert bench.scores("jacov", "cifar10").tolist()[:2] == [-3.0, -1.0]  # NASLib's name accepted
    assert bench.score_times("synflow", "cifar10")[0] == 0.5
    assert bench.best("val_acc", "cifar10") == (a, pytest.approx(0.91))
    with pytest.raises(UnknownNameError, match="no published 'snip'"):
        bench.scores("snip")
    with pytest.raises(UnknownNameError, match="no metric 'test_acc'"):
        bench.query(a, "test_acc")
    with pytest.raises(BenchmarkDataError, match="not among the 3 cells"):
        bench.query((3, 3, 3, 3, 3, 3))


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkDataError, match="not found"):
        find_naslib_zc_file(tmp_path)
    (tmp_path / "zc_nasbench201.json").write_text("{not json")
    with pytest.raises(BenchmarkDataError, match="cannot read"):
        NASLibZCBenchmark(tmp_path)
    (tmp_path / "zc_nasbench201.json").write_text(json.dumps({"nasbench101": {}}))
    with pytest.raises(BenchmarkDataError, match="not a NASLib NB201 zero-cost file"):
        NASLibZCBenchmark(tmp_path)


def test_real_file_mapping_against_nb201_ground_truth(shared_data: Path) -> None:
    if not (shared_data / "naslib_zc" / "zc_nasbench201.json").is_file():
        pytest.skip("NASLib zero-cost file not in the shared data folder")
    zc = NASLibZCBenchmark(shared_data)
    nb = NB201Benchmark(shared_data)
    space = NB201Space()
    archs = zc.archs()
    assert len(archs) >= 700
    # parameters are published per cell and must equal the closed form exactly (conv1x1 vs conv3x3)
    for ds, classes in (("cifar10", 10), ("cifar100", 100), ("imagenet16-120", 120)):
        params = zc.scores("params", ds)
        ok = np.isfinite(params)
        ours = np.array([space.num_params(a, num_classes=classes) / 1e6 for a in archs])
        assert np.allclose(params[ok], ours[ok], atol=1e-6)
    # a few cells by hand: NASLib's CIFAR-10 val_accuracy vs NB201's cifar10-valid accuracy
    val = zc.table("val_acc", "cifar10")
    ref = nb.query_many(archs, "test_acc", "cifar10-valid")
    for i in range(5):
        assert abs(val[i] - ref[i]) < 0.015, space.to_str(archs[i])
    ok = np.isfinite(val)
    err = np.mean(np.abs(val[ok] - ref[ok]))
    assert err < 0.005
    # every other assignment of NASLib's edges to NB201 positions is clearly worse
    raw = np.array([nb201_to_naslib(a) for a in archs])
    op = np.array(NASLIB_OP_TO_NB201)
    for perm in itertools.permutations(range(6)):
        if perm == (0, 1, 3, 2, 4, 5):
            continue
        alt = np.empty_like(raw)
        alt[:, list(perm)] = op[raw]
        alt_err = np.mean(np.abs(val[ok] - nb.query_many(alt, "test_acc", "cifar10-valid")[ok]))
        assert alt_err > 4 * err
    # the other two datasets line up with their own NB201 columns
    for ds in ("cifar100", "imagenet16-120"):
        v = zc.table("val_acc", ds)
        r = nb.query_many(archs, "test_acc", ds)
        m = np.isfinite(v)
        assert np.corrcoef(v[m], r[m])[0, 1] > 0.99
