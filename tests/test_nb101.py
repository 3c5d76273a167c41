"""The NAS-Bench-101 space: encoding, pruning, the official hash, the network, and a smoke run of
the generic machinery (proxies, live TSE search on digits, the CLI) on it."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import nasrank
from nasrank.exceptions import ConfigError, InvalidArchitectureError
from nasrank.nn import count_parameters
from nasrank.spaces.nb101 import (
    INPUT,
    NASLIB_OPS,
    OPS,
    OUTPUT,
    NB101Cell,
    NB101Network,
    NB101Space,
    graph_hash,
    prune,
)
from nasrank.spaces.nb101.encoding import TRIU, arch_to_spec, from_naslib_key, to_naslib_key
from nasrank.spaces.nb101.enumeration import EnumerationResult, enumerate_cells, full_dags
from nasrank.spaces.nb101.network import vertex_channels

C3, C1, MP = OPS
# The Inception-like cell of the NAS-Bench-101 README; the benchmark reports 2,694,282 trainable
# parameters for it.
INCEPTION = (
    [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
     [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
    [INPUT, C1, C3, C3, C3, MP, OUTPUT],
)
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "naslib_zc" / "zc_nasbench101.json"


@pytest.fixture(scope="module")
def space() -> NB101Space:
    return nasrank.create_space("nb101")


# --- encoding ---------------------------------------------------------------------------------
def test_registered_with_the_published_size(space: NB101Space) -> None:
    assert "nb101" in nasrank.list_spaces()
    assert space.size == 423_624 and not space.has_supernet
    assert space.width_option == "C" and space.depth_option == "cells_per_stack"
    assert space.default_config("standard") == {"C": 128, "stacks": 3, "cells_per_stack": 3}


def test_spec_roundtrip_and_string_format(space: NB101Space) -> None:
    a = space.from_spec(*INCEPTION)
    m, ops = space.to_spec(a)
    assert m.tolist() == INCEPTION[0] and ops == INCEPTION[1]
    s = space.to_str(a)
    assert s.startswith("[[0,1,1,1,0,1,0],") and s.endswith("|input,conv1x1-bn-relu,conv3x3-bn-relu,"
                                                             "conv3x3-bn-relu,conv3x3-bn-relu,maxpool3x3,output")
    assert space.from_str(s) == a and space.from_str(" ".join(s)) == a  # whitespace ignored
    # a smaller spec is embedded: its output becomes vertex 6
    small = space.from_str("[[0,1,1],[0,0,1],[0,0,0]]|input,maxpool3x3,output")
    m, ops = space.to_spec(small)
    assert m[0, 1] == m[1, 6] == m[0, 6] == 1 and m.sum() == 3 and ops[1] == MP


@pytest.mark.parametrize("bad, needle", [
    ("[[0,1],[0,0]]", "expected"),
    ("[[0,1,0],[0,0,1]]|input,conv3x3-bn-relu,output", "not square"),
    ("[[0,1],[1,0]]|input,output", "upper-triangular"),
    ("[[0,1,0],[0,0,1],[0,0,0]]|input,conv5x5,output", "unknown NB101 operation"),
    ("[[0,1,0],[0,0,1],[0,0,0]]|input,output", "2 op labels"),
    ("[[0,0,0],[0,0,1],[0,0,0]]|input,conv3x3-bn-relu,output", "does not reach"),
    ("[[0,1,0],[0,0,1],[0,0,0]]|conv3x3-bn-relu,conv3x3-bn-relu,output", "must start with"),
])
def test_malformed_strings_give_one_line_errors(space: NB101Space, bad: str, needle: str) -> None:
    with pytest.raises(InvalidArchitectureError) as err:
        space.from_str(bad)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_validate_rejects_invalid_cells_but_is_valid_tells(space: NB101Space) -> None:
    too_many = (1,) * 21 + (0,) * 5  # complete DAG: 21 edges
    assert not space.is_valid(too_many) and not space.is_valid((0,) * 26)
    with pytest.raises(InvalidArchitectureError, match="21 edges after pruning"):
        space.validate(too_many)
    with pytest.raises(InvalidArchitectureError):
        space.is_valid((0,) * 25)  # malformed, not merely invalid
    # edges of pruned vertices do not count: 10 edges, 3 of them on a dangling vertex
    m = np.zeros((7, 7), dtype=int)
    for i, j in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (0, 6), (0, 5), (1, 5), (2, 5), (0, 2)]:
        m[i, j] = 1
    a = tuple(int(m[i, j]) for i, j in TRIU) + (0,) * 5
    assert space.is_valid(a) and int(prune(*arch_to_spec(a))[0].sum()) == 7


def test_prune_and_hash_follow_the_benchmark() -> None:
    m, ops = INCEPTION
    pm, po = prune(m, ops)
    assert pm.shape == (7, 7) and po == ops  # every vertex is used
    # vertex 2 feeds nothing: dropped together with its op
    pm, po = prune([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]], [INPUT, C3, MP, OUTPUT])
    assert pm.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]] and po == [INPUT, C3, OUTPUT]
    assert prune([[0, 0], [0, 0]], [INPUT, OUTPUT]) == (None, None)
    h = graph_hash(m, ops)
    assert len(h) == 32 and h == graph_hash(np.array(m), ops)
    # relabelling the interior vertices in any topological order keeps the hash
    mm = np.array(m)
    n_perm = 0
    for perm in itertools.permutations(range(1, 6)):
        order = [0, *perm, 6]
        pmat = mm[np.ix_(order, order)]
        if np.tril(pmat).any():
            continue
        n_perm += 1
        assert graph_hash(pmat, [ops[v] for v in order]) == h
    assert n_perm > 1
    # a different op or edge changes it
    assert graph_hash(m, [INPUT, C3, C3, C3, C3, MP, OUTPUT]) != h
    mm[1, 2] = 1
    assert graph_hash(mm, ops) != h


def test_canonical_is_the_isomorphism_class(space: NB101Space) -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = space.sample(rng)
        m, ops = space.to_spec(a)
        perm = [0, *rng.permutation(np.arange(1, 6)).tolist(), 6]
        pmat = m[np.ix_(perm, perm)]
        if np.tril(pmat).any():
            continue
        b = space.from_spec(pmat, [ops[v] for v in perm])
        assert space.canonical(a) == space.canonical(b)
        assert space.canonical_key(a) == space.canonical_key(b)
        c = space.canonical(a)
        m_c, _ = space.to_spec(c)
        assert (m_c[:, 1:6].sum(0) > 0).tolist() == sorted((m_c[:, 1:6].sum(0) > 0).tolist(),
                                                           reverse=True)  # used vertices first


def test_naslib_keys(space: NB101Space) -> None:
    assert NASLIB_OPS == (INPUT, OUTPUT, MP, C1, C3)
    a = space.from_spec(*INCEPTION)
    key = to_naslib_key(a)
    assert len(key) == 56 and key[49:] == (0, 3, 4, 4, 4, 2, 1)
    assert from_naslib_key(key) == a == space.from_naslib(str(key))
    # NASLib also writes pruned specs as n*n + n tuples
    assert from_naslib_key((0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 2, 1)) == space.from_str(
        "[[0,1,0],[0,0,1],[0,0,0]]|input,maxpool3x3,output")
    with pytest.raises(InvalidArchitectureError, match="n\\*n matrix entries"):
        from_naslib_key((0, 1, 2))


def test_sampling_mutation_projection(space: NB101Space) -> None:
    rng = np.random.default_rng(1)
    draws = [space.sample(rng) for _ in range(200)]
    assert all(space.is_valid(a) for a in draws) and len(set(draws)) == 200
    a = draws[0]
    nb = space.neighbours(a)
    assert all(space.is_valid(b) for b in nb) and len(nb) <= 31
    counts = {b: 0 for b in nb}
    gen = np.random.default_rng(2)
    for _ in range(len(nb) * 60):
        counts[space.mutate(a, gen)] += 1
    assert min(counts.values()) > 20  # every neighbour is reached, roughly uniformly
    for _ in range(30):
        draw = tuple(int(v) for v in rng.integers(0, 2, 21)) + tuple(int(v) for v in rng.integers(0, 3, 5))
        p = space.project(draw, 0)
        assert space.is_valid(p) and p[21:] == draw[21:]
    assert space.encode(a).shape == (36,)


def test_enumeration_of_small_cells_matches_the_naive_procedure() -> None:
    res = EnumerationResult()
    cells = list(enumerate_cells(max_vertices=5, result=res))
    assert res.hashes == res.isomorphism_classes == {2: 1, 3: 6, 4: 84, 5: 2441}
    assert len(cells) == len({h for _a, h in cells}) == 2532
    assert [len(full_dags(n)) for n in range(2, 6)] == [1, 2, 10, 121]


# --- network ----------------------------------------------------------------------------------
def test_vertex_channels_split_the_output() -> None:
    m = [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert vertex_channels(8, 128, m) == [8, 43, 43, 42, 128]
    # a vertex that only feeds another takes the largest channel count it feeds
    m = [[0, 1, 0, 1, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert vertex_channels(8, 11, m) == [8, 6, 6, 5, 11]
    with pytest.raises(ConfigError, match="cannot split"):
        vertex_channels(4, 2, [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1],
                               [0, 0, 0, 0, 0]])


def test_cell_wiring_truncation_and_projection() -> None:
    # vertices 1 (11 -> 6 channels) and 2 feed the output; 1 also feeds 2 (truncated 6 -> 5)
    m = [[0, 1, 1, 1], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    cell = NB101Cell(m, [INPUT, C1, MP, OUTPUT], C_in=3, C_out=11).eval()
    assert cell.channels == [3, 6, 5, 11]
    assert sorted(cell.projections) == ["1", "2", "3"]
    x = torch.randn(2, 3, 5, 5)
    with torch.no_grad():
        v1 = cell.vertex_ops[0](cell.projections["1"](x))
        v2 = torch.nn.functional.max_pool2d(v1[:, :5] + cell.projections["2"](x), 3, 1, 1)
        want = torch.cat([v1, v2], 1) + cell.projections["3"](x)
        assert torch.allclose(cell(x), want)
    only_io = NB101Cell([[0, 1], [0, 0]], [INPUT, OUTPUT], 3, 7)
    assert only_io(x).shape == (2, 7, 5, 5) and list(only_io.projections) == ["1"]


def test_network_matches_the_published_parameter_count(space: NB101Space) -> None:
    a = space.from_spec(*INCEPTION)
    assert space.num_params(a) == 2_694_282  # NAS-Bench-101 README: trainable_parameters
    net = NB101Network(*INCEPTION, C=16)
    assert count_parameters(net) == space.num_params(a, C=16)
    bn = net.stem.bn
    assert bn.eps == 1e-5 and math.isclose(bn.momentum, 0.003)
    assert [len(s) for s in net.stacks] == [3, 3, 3] and net.classifier.in_features == 64
    with pytest.raises(ConfigError, match="unknown NB101 build option"):
        space.build(a, N=3)
    with pytest.raises(InvalidArchitectureError, match="edges after pruning"):
        NB101Network(np.triu(np.ones((7, 7), dtype=int), 1), [INPUT, *[C3] * 5, OUTPUT])


def test_odd_resolutions_downsample_like_tensorflow_same(space: NB101Space) -> None:
    net = space.build(space.sample(0), C=6, stacks=3, cells_per_stack=1)
    h = net.forward_features(torch.randn(1, 3, 9, 9))
    assert h.shape[-2:] == (3, 3)  # 9 -> 5 -> 3 ("same" pooling rounds up)


@pytest.mark.skipif(not DATA.exists(), reason="needs ../shared/data/naslib_zc/zc_nasbench101.json")
def test_parameter_counts_equal_naslib_on_real_cells(space: NB101Space) -> None:
    with open(DATA) as f:
        data = json.load(f)["nasbench101"]["cifar10"]
    items = list(data.items())
    assert len(items) == 500
    for key, rec in items:  # closed form on all 500 cells
        assert space.num_params(space.from_naslib(key)) == round(rec["params"] * 1e6), key
    key, rec = items[1]
    assert count_parameters(space.build(space.from_naslib(key))) == round(rec["params"] * 1e6)


# --- the generic machinery on nb101 -------------------------------------------------------------
def test_smoke_proxies_live_search_and_cli(space: NB101Space, capsys: pytest.CaptureFixture) -> None:
    from nasrank.cli import main
    from nasrank.data import DataSpec, load_dataset
    from nasrank.search import LiveEvaluator, create_strategy, run_search

    x, y = load_dataset("digits").batch(torch.arange(16))
    torch.manual_seed(0)
    net = space.build(space.from_spec(*INCEPTION), in_channels=1, **space.default_config("tiny"))
    scores = nasrank.compute_proxies(net, (x, y), ["synflow", "nwot", "grad_norm", "snip"], seed=0)
    assert all(math.isfinite(float(v)) for v in scores.values()), scores

    ev = LiveEvaluator(DataSpec("digits", train_size=128, val_size=32, test_size=0), "tse-ema",
                       epochs=1, space="nb101", space_config=space.default_config("tiny"))
    res = run_search(create_strategy("evolution", space, seed=0, population_size=2), ev, "3q")
    assert len(res.steps) == 3 and all(st["status"] == "ok" for st in res.steps)
    assert res.best is not None and math.isfinite(res.best["score"])

    assert main(["spaces", "show", "nb101", "--arch", space.to_str(space.sample(0))]) == 0
    capsys.readouterr()
    assert main(["spaces", "show", "nb101", "--arch", "[[0,1],[0,0]]|input,conv9x9,output"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error:") and err.count("\n") == 0
