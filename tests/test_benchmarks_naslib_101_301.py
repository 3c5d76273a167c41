"""NASLib zero-cost adapters for NAS-Bench-101 and NAS-Bench-301: key parsing, tiny fake files, real files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from nasrank.benchmarks import list_benchmarks, load_benchmark
from nasrank.benchmarks.naslib_zc_101 import (
    NASLibNB101Benchmark,
    naslib_nb101_spec,
    naslib_to_nb101,
    nb101_to_naslib,
)
from nasrank.benchmarks.naslib_zc_301 import (
    NASLibNB301Benchmark,
    darts_to_naslib,
    naslib_nb301_params,
    naslib_to_darts,
)
from nasrank.exceptions import BenchmarkDataError, UnknownNameError
from nasrank.spaces.darts import DARTS_V1, DARTS_V2, DARTSSpace
from nasrank.spaces.nb101 import NB101Space, graph_hash


# --- NB101 ------------------------------------------------------------------------------------
def _nb101_key(matrix: list[list[int]], op_ids: list[int]) -> str:
    return str(tuple(v for row in matrix for v in row) + tuple(op_ids))


# input -> conv3x3 -> conv1x1 -> output, input -> maxpool -> output (7 vertices; 4, 5 unused)
_M7 = [[0, 1, 0, 1, 0, 0, 0],
       [0, 0, 1, 0, 0, 0, 0],
       [0, 0, 0, 0, 0, 0, 1],
       [0, 0, 0, 0, 0, 0, 1],
       [0, 0, 0, 0, 0, 0, 0],
       [0, 0, 0, 0, 0, 0, 0],
       [0, 0, 0, 0, 0, 0, 0]]
_K1 = _nb101_key(_M7, [0, 4, 3, 2, 2, 2, 1])
_K1_ISO = _nb101_key(_M7, [0, 4, 3, 2, 4, 3, 1])  # only the unused vertices' ops differ
_K2 = _nb101_key([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [0, 4, 1])  # a 3-vertex cell (embedded)
_K3 = _nb101_key([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [0, 2, 1])


def test_nb101_key_parsing() -> None:
    m, ops = naslib_nb101_spec(_K1)
    assert m.shape == (7, 7) and m.tolist() == _M7
    assert ops == ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "maxpool3x3",
                   "maxpool3x3", "output"]  # NASLib ids: 0 input, 1 output, 2 maxpool, 3 conv1x1, 4 conv3x3
    a = naslib_to_nb101(_K1)
    space = NB101Space()
    assert space.to_spec(a)[1] == ops
    assert str(nb101_to_naslib(a)) == _K1
    assert naslib_to_nb101(nb101_to_naslib(a)) == a
    assert space.canonical_key(naslib_to_nb101(_K1_ISO)) == space.canonical_key(a) == graph_hash(m, ops)
    assert naslib_nb101_spec([0, 1, 0, 0, 0, 1])[1] == ["input", "output"]  # an int tuple works too
    for bad, msg in (("(0, 1, 2)", "n\\*n matrix entries"), ("0, 1, 0, 0, 0, 1", "malformed"),
                     ("(0, a, 0, 0, 0, 1)", "not all entries are ints"),
                     ("(0, 2, 0, 0, 0, 1)", "0 or 1"), ("(0, 1, 0, 0, 0, 7)", "op ids must be in 0..4"),
                     ("(0, 1, 0, 0, 1, 0)", "first op id must be 0")):
        with pytest.raises(BenchmarkDataError, match=msg):
            naslib_nb101_spec(bad)
    with pytest.raises(BenchmarkDataError, match="not an NB101 cell"):  # 10 edges
        naslib_to_nb101(_nb101_key(np.triu(np.ones((7, 7), int), 1).tolist(), [0, 2, 2, 2, 2, 2, 1]))


def _write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_nb101_adapter_on_a_tiny_file(tmp_path: Path) -> None:
    def rec(acc: float, syn: float | None) -> dict:
        return {"flops": 1.0, "params": 0.5, "synflow": syn, "jacov": -1.0, "val_accuracy": acc}

    cells = {_K1: rec(90.0, 3.0), _K2: rec(85.0, None), _K3: rec(80.0, 1.0)}
    _write(tmp_path / "zc_nasbench101.json", {"nasbench101": {"cifar10": cells}})
    bench = NASLibNB101Benchmark(tmp_path)
    a1, a2, a3 = (naslib_to_nb101(k) for k in (_K1, _K2, _K3))
    assert bench.archs() == [a1, a2, a3] and bench.file_keys() == [_K1, _K2, _K3]
    assert bench.space.name == "nb101" and bench.datasets == ("cifar10",)
    assert bench.query(a1) == pytest.approx(0.90)
    assert bench.query(bench.space.to_str(a3)) == pytest.approx(0.80)  # the spec string works too
    assert bench.query(naslib_to_nb101(_K1_ISO)) == pytest.approx(0.90)  # found by graph hash
    assert bench.table().tolist() == pytest.approx([0.90, 0.85, 0.80])
    assert bench.proxies() == ["flops", "jacob_cov", "params", "synflow"]
    syn = bench.scores("synflow")
    assert syn[0] == 3.0 and math.isnan(syn[1]) and syn[2] == 1.0  # bare numbers, null -> NaN
    assert bench.scores("jacov").tolist() == [-1.0] * 3
    assert np.isnan(bench.score_times("synflow")).all()  # the NB101 file records no times
    assert bench.best("val_acc") == (a1, pytest.approx(0.90))
    other = naslib_to_nb101(_nb101_key([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [0, 3, 1]))
    with pytest.raises(BenchmarkDataError, match="not among the 3 cells"):
        bench.query(other)
    with pytest.raises(UnknownNameError, match="no published 'nwot'"):
        bench.scores("nwot")
    with pytest.raises(UnknownNameError, match="no dataset 'cifar100'"):
        bench.query(a1, dataset="cifar100")
    # unwrapped files are read too; a file of another space is refused with a one-line reason
    _write(tmp_path / "zc_nasbench101.json", {"cifar10": cells})
    assert len(NASLibNB101Benchmark(tmp_path / "zc_nasbench101.json")) == 3
    _write(tmp_path / "zc_nasbench101.json", {"nasbench201": {}})
    with pytest.raises(BenchmarkDataError, match="not a NASLib NB101 zero-cost file"):
        NASLibNB101Benchmark(tmp_path)


# --- NB301 ------------------------------------------------------------------------------------
_V2_KEY = ("[[(0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 2), (0, 2), (2, 5)], "
           "[(0, 0), (1, 0), (2, 2), (1, 0), (0, 0), (2, 2), (2, 2), (1, 0)]]")


def _key301(arch: tuple[int, ...]) -> str:
    return str([list(c) for c in darts_to_naslib(arch)])


def test_nb301_key_mapping() -> None:
    space = DARTSSpace()
    v2 = naslib_to_darts(_V2_KEY)
    assert space.to_str(v2) == DARTS_V2  # NASLib op j = DARTS PRIMITIVES[j + 1]
    assert _key301(v2) == _V2_KEY
    for seed in range(5):
        a = space.sample(seed)
        assert naslib_to_darts(_key301(a)) == a
    bad_pairs = "[(0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 2), (0, 2), (2, 5)]"
    for bad, msg in (("[[(0, 3)]]", "two cells of 8"), ("[[(0, 1)", "malformed"),
                     (f"[{bad_pairs}, {bad_pairs.replace('(2, 5)', '(2, 7)')}]", "op index must be in 0..6"),
                     (f"[{bad_pairs}, {bad_pairs.replace('(1, 3), (0, 3)', '(1, 3), (1, 3)', 1)}]",
                      "not a DARTS genotype")):
        with pytest.raises(BenchmarkDataError, match=msg):
            naslib_to_darts(bad)


def test_nb301_adapter_on_a_tiny_file(tmp_path: Path) -> None:
    space = DARTSSpace()
    v1, v2, a3 = space.from_str(DARTS_V1), space.from_str(DARTS_V2), space.sample(3)

    def rec(key: str, acc: float, nwot: float) -> dict:
        return {"idx": "7", "arch": key, "val_accuracy": acc, "nwot": {"score": nwot, "time": 0.25},
                "params": {"score": 1.0, "time": 0.1}}

    cells = {_key301(a): rec(_key301(a), acc, s) for a, acc, s in ((v1, 93.0, 5.0), (v2, 94.0, 6.0), (a3, 91.0, 4.0))}
    _write(tmp_path / "zc_nasbench301.json", {"cifar10": cells})
    bench = NASLibNB301Benchmark(tmp_path)
    assert bench.archs() == [v1, v2, a3] and bench.space.name == "darts"
    assert bench.query(DARTS_V2) == pytest.approx(0.94)
    swapped = v2[2:4] + v2[0:2] + v2[4:]  # node 0's two operations in the other order
    assert swapped != v2 and bench.query(swapped) == pytest.approx(0.94)
    assert bench.proxies() == ["nwot", "params"]  # idx / arch strings are not proxies
    assert bench.scores("nwot").tolist() == [5.0, 6.0, 4.0]
    assert bench.score_times("nwot").tolist() == [0.25] * 3
    _write(tmp_path / "zc_nasbench301.json", {"nasbench301": {"cifar10": cells}})
    assert len(NASLibNB301Benchmark(tmp_path)) == 3
    # registered names, found through load_benchmark with a data root
    assert {"naslib-zc-nb101", "naslib-zc-nb201", "naslib-zc-nb301"} <= set(list_benchmarks())
    assert load_benchmark("naslib-zc-nb301", root=tmp_path).query(v1) == pytest.approx(0.93)
    with pytest.raises(BenchmarkDataError, match="'zc_nasbench101.json' not found"):
        load_benchmark("naslib-zc-nb101", root=tmp_path)


def test_nb301_params_convention() -> None:
    # NASLib's count = our C=32 / 8-cell network minus the affine BN parameters inside cell ops.
    # DARTS_V2's normal cell: 5 sep_conv_3x3 (2 BN each) + 1 dil_conv_3x3 (1 BN) = 11 BNs; its
    # reduction cell: max pools and skips from node 2 (identities), no BN.
    space = DARTSSpace()
    a = space.from_str(DARTS_V2)
    full = space.num_params(a, C=32, layers=8, auxiliary=False)
    # normal cells are 0, 1, 3, 4, 6, 7 (reductions at 8 // 3 and 2 * 8 // 3), C = 32, 32, 64, 64, 128, 128
    normal_bn = 11 * 2 * (32 + 32 + 64 + 64 + 128 + 128)
    assert full - naslib_nb301_params(a) == normal_bn


# --- the real files -----------------------------------------------------------------------------
def test_real_files(shared_data: Path) -> None:
    zc = shared_data / "naslib_zc"
    if not (zc / "zc_nasbench101.json").is_file() or not (zc / "zc_nasbench301.json").is_file():
        pytest.skip("NASLib NB101 / NB301 zero-cost files not in the shared data folder")
    nb101 = NASLibNB101Benchmark(shared_data)
    archs = nb101.archs()
    assert len(archs) == 500 and nb101.proxies() == sorted(
        ["epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacob_cov", "l2_norm", "params", "plain",
         "snip", "synflow"])
    params = nb101.scores("params")
    for i in range(0, 500, 25):  # the published network (C=128, 3 x 3 cells, 10 classes), exactly
        assert round(params[i] * 1e6) == nb101.space.num_params(archs[i])
    assert all(str(nb101_to_naslib(a)) == k for a, k in zip(archs, nb101.file_keys(), strict=True))
    val = nb101.table()
    assert 0.7 < np.nanmin(val) and np.nanmax(val) < 0.96
    # NASLib sampled with repeats: isomorphic entries carry one of NB101's 3 per-seed accuracies
    groups: dict[str, list[float]] = {}
    for a, v in zip(archs, val, strict=True):
        groups.setdefault(nb101.space.canonical_key(a), []).append(v)
    assert len(groups) < 500 and max(len(set(g)) for g in groups.values()) <= 3

    nb301 = NASLibNB301Benchmark(shared_data)
    a301 = nb301.archs()
    assert len(a301) == 725 and "nwot" in nb301.proxies()
    p301 = nb301.scores("params")
    for i in range(0, 725, 145):
        assert round(p301[i] * 1e6) == naslib_nb301_params(a301[i])
    assert all(_key301(a) == k for a, k in zip(a301, nb301.file_keys(), strict=True))
