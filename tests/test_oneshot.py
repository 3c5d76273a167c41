"""Supernets, projection invariants, edge-order semantics, scoring functions and Zero-Cost-PT
(``nasrank.oneshot``, formerly ``nasrank.differentiable``)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from nasrank.data import load_dataset
from nasrank.exceptions import ConfigError, InvalidArchitectureError
from nasrank.oneshot import (
    ORDERS,
    SoftmaxAlpha,
    ZeroCostPT,
    expected_perturbations,
    naswot_score,
    per_edge_spearman,
    propose,
    score_operations,
    supernet_score,
)
from nasrank.spaces import DARTSSpace, DARTSSupernet, NB201Space, NB201Supernet


def _batch(n: int = 8, side: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, side, side, generator=g), torch.randint(0, 10, (n,), generator=g)


def _fake_score(weights: np.ndarray, batch: object) -> float:
    """A deterministic stand-in for a proxy: depends on every weight, prefers convolutions."""
    w = np.asarray(weights)
    cols = np.arange(1, w.shape[1] + 1)
    return float((w * cols).sum() + 0.01 * np.sin(np.arange(w.size) @ w.reshape(-1)))


# --- projection invariants ---------------------------------------------------------------------
def test_arch_weights_perturb_discretize_invariants():
    net = NB201Supernet(C=2, N=1)
    net.reset_arch_parameters(3)
    w = net.arch_weights()
    assert w.shape == (6, 5)
    np.testing.assert_allclose(w.sum(1), 1.0)
    assert np.all(np.abs(w - 0.2) < 1e-2)  # alpha ~ 1e-3 N(0, 1): softmax ~ uniform
    p = net.perturbed(2, 3, w)
    assert p[2, 3] == 0.0
    mask = np.ones_like(w, dtype=bool)
    mask[2, 3] = False
    np.testing.assert_array_equal(p[mask], w[mask])  # nothing else changes: no renormalisation
    d = net.discretized(4, 1, w)
    np.testing.assert_array_equal(d[4], [0, 1, 0, 0, 0])
    np.testing.assert_array_equal(np.delete(d, 4, 0), np.delete(w, 4, 0))
    np.testing.assert_array_equal(net.arch_weights(), w)  # queries do not change the state
    net.discretize(4, 1)
    assert net.undecided() == [0, 1, 2, 3, 5]
    np.testing.assert_array_equal(net.arch_weights()[4], [0, 1, 0, 0, 0])
    # a perturbation of a decided edge's kept op empties the edge
    assert net.perturbed(4, 1).sum(1)[4] == 0.0
    net.reset_arch_parameters(4)
    assert net.undecided() == list(range(6)) and not net.removed_edges_
    with pytest.raises(InvalidArchitectureError):
        net.genotype()
    with pytest.raises(ConfigError):
        net.perturbed(6, 0)


def test_darts_edge_removal_and_genotype():
    net = DARTSSupernet(C=2, layers=3)
    assert net.arch_weights().shape == (28, 7) and "none" not in net.ops
    net.remove_edge(2)
    assert net.arch_weights()[2].sum() == 0.0
    assert net.topology_nodes()[0] == [3, 4]
    with pytest.raises(ConfigError):
        net.discretize(2, 0)


def test_fused_inference_equals_module_path():
    torch.manual_seed(0)
    net = NB201Supernet(C=4, N=1).eval()
    w = net.arch_weights()
    w[0, 3] = 0.0  # a removed conv
    w[3] = [0, 0, 1, 0, 0]  # a discretised 1x1 edge
    x, _ = _batch(6, 16)
    with torch.no_grad():
        fused = net(x, w)
    module = net(x, w)  # autograd on: per-module path
    torch.testing.assert_close(fused, module.detach(), rtol=1e-4, atol=1e-5)
    s_fused = naswot_score(net, x, forward=lambda i: net(i, w))

    def with_grad(i: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            return net(i, w)

    assert s_fused == pytest.approx(naswot_score(net, x, forward=with_grad), rel=1e-9)


@pytest.mark.parametrize("affine", [False, True])
def test_nb201_supernet_cell_convolutions_have_no_bias(affine):
    """Zero-Cost-PT's search cells use bias-free convolutions; a bias would pass through the
    eval-mode BatchNorm of an untrained supernet and shift every node's ReLU pattern."""
    net = NB201Supernet(C=2, N=1, affine=affine)
    convs = [m for cell in net.cells if hasattr(cell, "layers") for m in cell.modules()
             if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 3 * 6 * 2
    assert all(c.bias is None for c in convs)


@pytest.mark.parametrize("seed", [0, 1])
def test_zc_pt_nwot_prefers_convolutions_on_untrained_supernet(seed):
    """Seed 004 Tab. 1 / op_strength: on an untrained NB201 supernet, removing a convolution
    lowers NASWOT most, so zc-pt(nwot) keeps a convolution on every edge (with biased cell
    convolutions the first edge keeps skip_connect for these seeds)."""
    data = load_dataset("digits")
    x, y = data.batch(torch.arange(seed * 32, seed * 32 + 32))
    torch.manual_seed(seed)
    net = NB201Supernet(C=8, N=1, num_classes=10, in_channels=1).eval()
    net.reset_arch_parameters(np.random.default_rng(seed))
    sc = score_operations("zc-pt", net, batch=(x, y), proxy="nwot")
    assert set(sc.selected_ops()) <= {2, 3}  # nor_conv_1x1 / nor_conv_3x3


def test_inactive_relu_count_mode():
    net = NB201Supernet(C=2, N=1)
    x, y = _batch(8, 8)
    w = net.arch_weights()
    assert supernet_score(net, w, (x, y), inactive_relus="count") == pytest.approx(
        supernet_score(net, w, (x, y)))  # nothing removed: both modes agree
    supernet_score(net, net.perturbed(0, 3, w), (x, y), inactive_relus="count")
    # one removed conv per cell: ReLU units 2*8*8 + 4*4*4 + 8*2*2 (three stages, one cell each)
    assert net.inactive_relu_units_ == 128 + 64 + 32


def test_validation_network_equals_benchmark_network():
    """The stand-alone network Zero-Cost-PT validates with computes the benchmark network."""
    space = NB201Space()
    arch = (3, 2, 4, 1, 0, 3)
    zc = ZeroCostPT("nb201", network_config={"C": 4, "N": 1})
    data = load_dataset("digits")
    net = zc.build_network(arch, data, seed=0)
    ref = space.build(arch, C=4, N=1, in_channels=1).eval()
    mapped = {}
    for k, v in ref.state_dict().items():
        m = re.match(r"cells\.(\d+)\.layers\.(\d+)\.(.*)", k)
        if m and isinstance(net.cells[int(m.group(1))], type(net.cells[0])):
            k = f"cells.{m.group(1)}.layers.{m.group(2)}.ops.{arch[int(m.group(2))]}.{m.group(3)}"
        mapped[k] = v
    missing = set(net.state_dict()) - set(mapped)
    assert all(".layers." in k or k == "alpha" for k in missing)  # unused candidates, alpha
    net.load_state_dict({**net.state_dict(), **mapped})
    x, _ = data.batch(range(5))
    with torch.no_grad():
        torch.testing.assert_close(net(x), ref(x), rtol=1e-4, atol=1e-5)
    assert naswot_score(net, x) == pytest.approx(naswot_score(ref, x), rel=1e-9)


# --- edge orders (seed 004 Tab. 5) -------------------------------------------------------------
@pytest.mark.parametrize("order", ORDERS)
def test_perturbation_counts_nb201(order):
    net = NB201Supernet(C=2, N=1)
    net.reset_arch_parameters(1)
    batches = []
    arch, n, topo = propose(net, _fake_score, lambda: batches.append(1) or None, order=order,
                            rng=np.random.default_rng(0))
    E, n_ops = 6, 5  # |E| edges, |O| candidate ops
    formula = {"fixed": n_ops * E, "random": n_ops * E,
               "global-op-iter": n_ops * E * (E + 1) // 2,
               "global-edge-iter": n_ops * E * (E + 1) // 2,
               "global-op-once": 2 * n_ops * E - n_ops,
               "global-edge-once": 2 * n_ops * E - n_ops}[order]
    assert n == formula == expected_perturbations(order, n_ops, E)
    assert topo == 0
    NB201Space().validate(arch)
    # one fresh minibatch per decision step (once orders: the first edge reuses the ranking's)
    assert len(batches) == E


@pytest.mark.parametrize("mode", ["perturb", "discretize"])
@pytest.mark.parametrize("order", ["fixed", "global-op-iter", "global-edge-once"])
def test_perturbation_counts_darts(order, mode):
    net = DARTSSupernet(C=2, layers=3)
    net.reset_arch_parameters(0)
    arch, n, topo = propose(net, _fake_score, lambda: None, order=order, mode=mode,
                            rng=np.random.default_rng(0))
    assert n == 2 * expected_perturbations(order, 7, 14)  # normal + reduction cell
    assert topo == 2 * ((3) + (4 + 3) + (5 + 4 + 3))  # keep 2 inputs per node
    DARTSSpace().validate(arch)


def test_fixed_order_decides_input_to_output_and_random_is_seeded():
    decided = []

    class Spy(SoftmaxAlpha):
        def decide(self, e, o):
            decided.append(e)
            super().decide(e, o)

    net = NB201Supernet(C=2, N=1)
    spy = Spy(torch.zeros(6, 5))
    propose(net, _fake_score, lambda: None, order="fixed", param=spy)
    assert decided == list(range(6))
    assert not net.decided_  # the supernet's own projection state is untouched
    runs = []
    for _ in range(2):
        decided.clear()
        spy.reset(0)
        propose(net, _fake_score, lambda: None, order="random", rng=np.random.default_rng(5),
                param=spy)
        runs.append(list(decided))
    assert runs[0] == runs[1] and sorted(runs[0]) == list(range(6))


def test_perturb_keeps_op_whose_removal_hurts_most():
    net = NB201Supernet(C=2, N=1)
    net.reset_arch_parameters(0)
    # S drops most when nor_conv_1x1 (column 2) is removed: keep it everywhere
    arch, _, _ = propose(net, lambda w, b: float(w[:, 2].sum() * 10 + w.sum()), lambda: None,
                         order="random", rng=np.random.default_rng(0))
    assert arch == (2,) * 6
    net.reset_arch_parameters(0)
    arch, _, _ = propose(net, lambda w, b: float(w[:, 2].sum() * 10 + w.sum()), lambda: None,
                         order="fixed", mode="discretize")
    assert arch == (2,) * 6  # discretisation keeps the op with the highest S(A + (e, o))


# --- scoring functions -------------------------------------------------------------------------
def test_oracles_and_scores():
    net = NB201Supernet(C=2, N=1)
    grid = np.random.default_rng(0).random((5,) * 6)
    best = score_operations("best-acc", net, table=grid)
    avg = score_operations("avg-acc", net, table=grid)
    best_arch = np.unravel_index(np.argmax(grid), grid.shape)
    assert tuple(best.selected_ops()) == tuple(int(i) for i in best_arch)
    assert avg.values[0, 1] == pytest.approx(grid[1].mean())
    assert per_edge_spearman(best, best) == pytest.approx(1.0)
    net.discretize(0, 2)
    cond = score_operations("best-acc", net, table=grid)
    assert np.isnan(cond.values[0]).all()
    assert cond.values[1, 3] == pytest.approx(grid[2, 3].max())
    darts = score_operations("darts", net)
    assert darts.higher_is_better and np.isnan(darts.values[0]).all()
    x, y = _batch(8, 8)
    zc = score_operations("zc-pt", net, batch=(x, y))
    assert not zc.higher_is_better and np.isfinite(zc.values[1:]).all()
    acc = score_operations("darts-pt", net, batch=[(x, y)])
    assert np.nanmin(acc.values) >= 0 and np.nanmax(acc.values) <= 1
    with pytest.raises(ConfigError):
        score_operations("best-acc", net)


# --- Zero-Cost-PT end to end -------------------------------------------------------------------
def test_zero_cost_pt_tiny_search_is_valid_and_reproducible():
    data = load_dataset("digits")
    data = data.subset(range(64))
    kw = dict(proposals=2, validation=1, batch_size=8, supernet_config={"C": 2, "N": 1},
              network_config={"C": 2, "N": 1})
    r1 = ZeroCostPT("nb201", **kw).search(data, seed=1)
    r2 = ZeroCostPT("nb201", **kw).search(data, seed=1)
    assert r1.arch == r2.arch and r1.proposals == r2.proposals
    assert NB201Space().validate(r1.arch) == r1.arch and r1.arch in r1.proposals
    assert r1.perturbations == [30, 30]
    if len(set(r1.proposals)) > 1:
        assert r1.arch_str == max(r1.validation, key=r1.validation.get)


def test_zero_cost_pt_rejects_bad_config():
    data = load_dataset("digits")
    for kw in ({"order": "sideways"}, {"proposals": 0}, {"mode": "both"}, {"space": "nope"}):
        with pytest.raises(Exception) as info:
            ZeroCostPT(**kw).search(data)
        assert "nasrank" in type(info.value).__module__


@pytest.mark.slow
def test_zero_cost_pt_darts_tiny():
    data = load_dataset("digits")
    r = ZeroCostPT("darts", proposals=1, validation=1, batch_size=4,
                   supernet_config={"C": 2, "layers": 3}, network_config={"C": 2, "layers": 3}
                   ).search(data, seed=0)
    assert DARTSSpace().validate(r.arch) == r.arch
    assert r.topology_evaluations == [44]


# --- DARTS space -------------------------------------------------------------------------------
def test_darts_genotype_round_trips():
    from nasrank.spaces.darts import DARTS_V1, DARTS_V2

    s = DARTSSpace()
    for g in (DARTS_V1, DARTS_V2):
        assert s.to_str(s.from_str(g)) == g
    alt = DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 6)")
    assert s.from_str(alt.replace(" ", "\n ")) == s.from_str(DARTS_V2)
    for a in (s.sample(i) for i in range(20)):
        assert s.from_str(s.to_str(a)) == a
    for bad in (DARTS_V2.replace("sep_conv_3x3", "sep_conv_9x9", 1),
                DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"),
                DARTS_V2.replace("('sep_conv_3x3', 1), ('sep_conv_3x3', 0)",
                                 "('sep_conv_3x3', 1), ('sep_conv_3x3', 1)", 1),
                DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 3]"),
                DARTS_V2.replace("('skip_connect', 0)", "('none', 0)", 1)):
        with pytest.raises(InvalidArchitectureError):
            s.from_str(bad)


def test_darts_v2_parameter_count():
    from nasrank.spaces.darts import DARTS_V2

    s = DARTSSpace()
    a = s.from_str(DARTS_V2)
    assert s.num_params(a, C=36, layers=20) == 3_349_342  # published: 3.3 M
    assert s.num_params(a, C=36, layers=20, auxiliary=True) == 3_825_768
    assert s.num_params(a, C=36, layers=20, auxiliary=True, include_auxiliary=False) == 3_349_342
    net = s.build(a, C=4, layers=6, auxiliary=True).train()
    logits, aux = net.forward_with_aux(torch.randn(2, 3, 32, 32))
    assert logits.shape == aux.shape == (2, 10)
    assert isinstance(net(torch.randn(2, 3, 32, 32)), torch.Tensor)


# --- CLI ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [["--order", "sideways"], ["--space", "nope"], ["--proposals", "0"],
                                  ["--proxy", "nwott"], ["--mode", "both"]])
def test_cli_zcpt_bad_input_is_one_line_exit_2(argv, capsys):
    from nasrank.cli import main

    assert main(["zcpt", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error:") and err.count("\n") == 0


def test_cli_zcpt_tiny_run_json(capsys):
    import json

    from nasrank.cli import main

    assert main(["zcpt", "--dataset", "digits", "--proposals", "2", "--validation", "1", "--C", "2",
                 "--depth", "1", "--batch-size", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert NB201Space().from_str(out["arch_str"]) == tuple(out["arch"])
    assert out["perturbations"] == [30, 30]
