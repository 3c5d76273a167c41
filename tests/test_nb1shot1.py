"""The NAS-Bench-1Shot1 sub-spaces (``nb1shot1-1/2/3``): facts from the paper and its code, the
NB101 mapping, the one-shot supernet, and one smoke run per space of everything generic (proxies,
live TSE search, Zero-Cost-PT, a supernet method step)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import nasrank
import nasrank.spaces.nb1shot1  # noqa: F401  (registers the three spaces)
from nasrank.exceptions import InvalidArchitectureError
from nasrank.spaces.nb1shot1 import SUBSPACES, NB1Shot1Supernet, published_count

NAMES = ["nb1shot1-1", "nb1shot1-2", "nb1shot1-3"]
S1_EXAMPLE = ("conv3x3-bn-relu(0)|conv1x1-bn-relu(0,1)|maxpool3x3(1,2)|conv3x3-bn-relu(0,3)|"
              "output(2,4)")


# --- facts ---------------------------------------------------------------------------------------
def test_parent_counts_and_sizes_match_the_paper_code() -> None:
    # nasbench_analysis/search_spaces/search_space_{1,2,3}.py: num_parents_per_node
    assert [SUBSPACES[s].num_parents for s in (1, 2, 3)] == [
        (1, 2, 2, 2, 2), (1, 1, 2, 2, 3), (1, 1, 1, 2, 2, 2)]
    spaces = [nasrank.create_space(n) for n in NAMES]
    assert [sp.size for sp in spaces] == [14580, 29160, 1312200]  # configurations
    assert [sp.published_size for sp in spaces] == [6240, 29160, 363648]
    # the published counts of spaces 1 and 3: configurations up to the ops of loose-end nodes
    assert [published_count(SUBSPACES[s]) for s in (1, 2, 3)] == [6240, 16632, 363648]


def test_nb101_equivalent_is_nasbench_1shot1s_upscaled_matrix() -> None:
    sp = nasrank.create_space("nb1shot1-1")
    a = sp.from_str(S1_EXAMPLE)
    m, ops = sp.to_nb101(a)
    assert ops == ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3",
                   "conv3x3-bn-relu", "conv1x1-bn-relu", "output"]
    edges = {(int(i), int(j)) for i, j in zip(*np.nonzero(m), strict=True)}
    assert edges == {(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (0, 4), (3, 4), (2, 6), (4, 6)}
    assert not m[5].any() and not m[:, 5].any()  # the dummy vertex is unconnected
    nb101 = nasrank.create_space("nb101")
    for name in NAMES:
        sp = nasrank.create_space(name)
        for seed in range(5):
            a = sp.sample(seed)
            b = sp.to_nb101_arch(a)
            assert nb101.canonical_key(b) == sp.canonical_key(a)
            cfg = sp.default_config("tiny")
            assert sp.num_params(a, **cfg) == nb101.num_params(b, **cfg)


def test_canonical_agrees_with_the_nb101_graph_hash() -> None:
    sp = nasrank.create_space("nb1shot1-1")
    rng = np.random.default_rng(0)
    archs = [sp.sample(rng) for _ in range(150)]
    archs += [sp.canonical(a) for a in archs[:30]]
    # swapping the two symmetric middle nodes of a diamond gives the same cell
    a = sp.spec.from_parts([0, 0, 0, 1], {3: (0, 1), 4: (0, 2), 5: (3, 4)})
    b = sp.spec.from_parts([0, 0, 1, 0], {3: (0, 2), 4: (0, 1), 5: (3, 4)})
    archs += [a, b]
    keys = [sp.canonical_key(x) for x in archs]
    canon = [sp.canonical(x) for x in archs]
    assert keys[-1] == keys[-2] and canon[-1] == canon[-2]
    for i in range(len(archs)):
        for j in range(i):
            assert (keys[i] == keys[j]) == (canon[i] == canon[j])


def test_malformed_strings_give_one_line_errors() -> None:
    sp = nasrank.create_space("nb1shot1-2")
    bad = ["conv3x3-bn-relu(0)|conv3x3-bn-relu(1)|maxpool3x3(0,2)|conv1x1-bn-relu(1,3)",  # 4 terms
           "conv3x3-bn-relu(0)|conv3x3(1)|maxpool3x3(0,2)|conv1x1-bn-relu(1,3)|output(2,3,4)",
           "conv3x3-bn-relu(0)|conv3x3-bn-relu(2)|maxpool3x3(0,2)|conv1x1-bn-relu(1,3)|output(2,3,4)",
           "conv3x3-bn-relu(0)|conv3x3-bn-relu(1)|maxpool3x3(2,0)|conv1x1-bn-relu(1,3)|output(2,3,4)",
           "conv3x3-bn-relu(0)|conv3x3-bn-relu(1)|maxpool3x3(0,2)|conv1x1-bn-relu(1,3)|output(2,3)",
           "conv3x3-bn-relu(0)|conv3x3-bn-relu(1)|maxpool3x3(0,2)|conv1x1-bn-relu(1,3)|pool(2,3,4)"]
    for text in bad:
        with pytest.raises(InvalidArchitectureError) as info:
            sp.from_str(text)
        assert "\n" not in str(info.value)
    with pytest.raises(InvalidArchitectureError, match="parent-set index"):
        sp.validate((0, 0, 0, 0, 2, 0, 0, 0))  # node 2 has 2 parent sets


def test_cli_show_and_error_exit(capsys: pytest.CaptureFixture) -> None:
    from nasrank.cli import main

    assert main(["spaces", "show", "nb1shot1-1", "--arch", S1_EXAMPLE]) == 0
    assert "nb1shot1-1" in capsys.readouterr().out
    assert main(["spaces", "show", "nb1shot1-1", "--arch", "conv3x3-bn-relu(0)|output(0,1)"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error:") and err.count("\n") == 0


# --- supernet ------------------------------------------------------------------------------------
def test_supernet_layout_and_topology() -> None:
    net = NB1Shot1Supernet(2, C=2, stacks=1, cells_per_stack=1)
    assert net.ops == ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "edge")
    # 4 node rows, candidate-edge rows of nodes 2 (2), 3 (3), 4 (4) and the output (5)
    assert net.num_edges == 4 + 2 + 3 + 4 + 5
    assert net.topology_keep() == [1, 2, 2, 3]
    assert [len(c) for c in net.topology_nodes()] == [2, 3, 4, 5]
    mask = net.candidate_mask()
    for a in (net.space.sample(s) for s in range(10)):
        w = net.path_weights(a)
        assert not (w * ~mask).any()  # a path only uses each row's own columns
        assert net.arch_from_weights(w + 0.01) == a
    with pytest.raises(InvalidArchitectureError, match="keeps 2 input edges"):
        w = net.path_weights(net.space.sample(0))
        net.arch_from_decisions({e: int(r.argmax()) for e, r in enumerate(w) if r.any()}, [])


def test_run_weights_skip_pruned_nodes_without_changing_the_logits() -> None:
    sp = nasrank.create_space("nb1shot1-3")
    torch.manual_seed(0)
    net = sp.supernet(**sp.default_config("tiny")).train()
    x = torch.randn(4, *sp.tiny_input_shape)
    rng = np.random.default_rng(1)
    seen_pruned = False
    for _ in range(6):
        a = sp.sample(rng)
        run, path = net.run_weights(a), net.path_weights(a)
        seen_pruned |= bool((run != path).any())
        torch.testing.assert_close(net(x, run), net(x, path))
    assert seen_pruned


# --- one smoke test per space: everything generic works on it ------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_smoke_proxies_live_search_and_supernet_step(name: str) -> None:
    from nasrank.data import DataSpec, load_dataset
    from nasrank.search import LiveEvaluator, create_strategy, run_search
    from nasrank.testing.supernets import supernet_method_factory

    sp = nasrank.create_space(name)
    x, y = load_dataset("digits").batch(torch.arange(16))
    torch.manual_seed(0)
    net = sp.build(sp.sample(0), in_channels=1, **sp.default_config("tiny"))
    scores = nasrank.compute_proxies(net, (x, y), ["synflow", "nwot", "grad_norm", "params"], seed=0)
    assert all(math.isfinite(float(v)) for v in scores.values()), scores

    ev = LiveEvaluator(DataSpec("digits", train_size=128, val_size=32, test_size=0), "tse-ema",
                       epochs=1, space=name, space_config=sp.default_config("tiny"))
    res = run_search(create_strategy("evolution", sp, seed=0, population_size=2), ev, "3q")
    assert all(st["status"] == "ok" for st in res.steps), [st.get("error") for st in res.steps]
    assert res.best is not None and math.isfinite(res.best["score"])

    m = supernet_method_factory("spos", name)(0)
    out = m.step((torch.randn(4, *sp.tiny_input_shape), torch.tensor([0, 1, 2, 3])))
    assert math.isfinite(float(out["loss"])) and sp.validate(out["arch"]) == out["arch"]


@pytest.mark.parametrize("name", NAMES)
def test_smoke_zero_cost_pt(name: str) -> None:
    from nasrank.data import load_dataset
    from nasrank.oneshot import ZeroCostPT

    sp = nasrank.create_space(name)
    cfg = sp.default_config("tiny")
    data = load_dataset("digits").subset(range(64))
    res = ZeroCostPT(name, proposals=1, validation=1, batch_size=8, supernet_config=cfg,
                     network_config=cfg).search(data, seed=0)
    assert sp.validate(res.arch) == res.arch
    # only the node rows' real candidates are scored (candidate_mask): 3 ops x interior nodes
    assert res.perturbations == [3 * sp.spec.num_interior]
