"""Zero-Cost-PT's bug-compatible NASWOT hook set (``relu_hooks="released"``) and the seed-max
best-acc oracle (issue 23).

The released NB201 code hooks every module whose type name contains "ReLU", so a ReLUConvBN
block is read by its own hook (its real input, even when its weight is 0) and by its inner ReLU
(a zeroed input when its weight is 0). The expected kernels below are built from node tensors
captured on the module path of the supernet, independently of the taps under test.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from nasrank.estimators.zero_cost.nwot import naswot_logdet, naswot_score
from nasrank.exceptions import ConfigError
from nasrank.nn.ops import ResNetBasicBlock
from nasrank.oneshot import ZeroCostPT, ground_truth_grid, score_operations, supernet_score
from nasrank.spaces import NB201Space, NB201Supernet
from nasrank.spaces.nb201.encoding import EDGES
from nasrank.spaces.nb201.supernet import NB201SearchCell

CONVS = (2, 3)  # nor_conv_1x1, nor_conv_3x3


@pytest.fixture(scope="module")
def net() -> NB201Supernet:
    torch.manual_seed(0)
    n = NB201Supernet(C=2, N=1, num_classes=10).eval()
    n.reset_arch_parameters(np.random.default_rng(1))
    return n


@pytest.fixture(scope="module")
def x() -> torch.Tensor:
    return torch.randn(8, 3, 16, 16, generator=torch.Generator().manual_seed(2))


def _reads(net: NB201Supernet, x: torch.Tensor, w: np.ndarray) -> dict[str, Any]:
    """Tensors the NASWOT hooks could read, captured on the module path (grad enabled): per
    cell the node tensors feeding each edge (or their ReLU: the same sign pattern), the inputs
    of the reduction blocks' convolutions and of the last ReLU."""
    nodes: dict[tuple[int, int], torch.Tensor] = {}
    block_inputs: list[torch.Tensor] = []
    last: list[torch.Tensor] = []
    handles = []
    cells = [m for m in net.modules() if isinstance(m, NB201SearchCell)]
    for ci, cell in enumerate(cells):
        for e, (_d, j) in enumerate(EDGES):
            for o in (1, *CONVS):  # skip_connect (Identity) and the convolutions
                mod = cell.layers[e].ops[o]
                mod = mod.conv if o in CONVS else mod

                def grab(_m: Any, inp: tuple, key: tuple[int, int] = (ci, j)) -> None:
                    nodes.setdefault(key, inp[0].detach().clone())

                handles.append(mod.register_forward_pre_hook(grab))
    for m in net.modules():
        if isinstance(m, ResNetBasicBlock):
            for conv in (m.conv_a, m.conv_b):
                handles.append(conv.register_forward_pre_hook(
                    lambda _m, inp: block_inputs.append(inp[0].detach().clone())))
    handles.append(net.lastact[1].register_forward_pre_hook(
        lambda _m, inp: last.append(inp[0].detach().clone())))
    try:
        with torch.enable_grad():
            net(x, w)
    finally:
        for h in handles:
            h.remove()
    return {"cells": len(cells), "nodes": nodes, "blocks": block_inputs, "last": last}


def _expected(net: NB201Supernet, x: torch.Tensor, w: np.ndarray, released: bool) -> float:
    """log|det K| of the hook set, from first principles (every candidate of the supernet
    exists; ``released``: block hooks on every convolution, constants for idle inner ReLUs)."""
    r = _reads(net, x, w)
    codes: list[tuple[torch.Tensor, int]] = []
    constant = 0
    for ci in range(r["cells"]):
        for e, (_d, j) in enumerate(EDGES):
            node = r["nodes"].get((ci, j))
            for o in CONVS:
                if node is None:
                    raise AssertionError("test setup: every node must be captured")
                units = node[0].numel()
                if w[e, o] != 0:
                    codes.append((node, 1))  # inner ReLU
                elif released:
                    constant += units  # inner ReLU of a zeroed input
                if released:
                    codes.append((node, 1))  # the block's own hook: the real node tensor
    for t in r["blocks"]:
        codes.append((t, 2 if released else 1))
    codes += [(t, 1) for t in r["last"]]
    # naswot_logdet groups by storage: clones never merge, so multiplicities simply add up
    return naswot_logdet(codes, extra_units=constant, require_finite=True)


def test_relu_mode_matches_the_first_principles_kernel(net, x):
    w = net.arch_weights()
    got = supernet_score(net, w, (x, None))
    assert got == pytest.approx(_expected(net, x, w, released=False), rel=1e-10, abs=1e-9)
    assert supernet_score(net, w, (x, None), relu_hooks="relu") == got


def test_released_mode_adds_block_reads_of_every_conv(net, x):
    w = net.arch_weights()
    got = supernet_score(net, w, (x, None), relu_hooks="released")
    assert got == pytest.approx(_expected(net, x, w, released=True), rel=1e-10, abs=1e-9)
    assert got != pytest.approx(supernet_score(net, w, (x, None)), rel=1e-6)


@pytest.mark.parametrize("e,o", [(0, 3), (5, 2), (2, 3)])
def test_removed_conv_keeps_its_block_read(net, x, e, o):
    w = net.perturbed(e, o)
    got = supernet_score(net, w, (x, None), relu_hooks="released")
    assert got == pytest.approx(_expected(net, x, w, released=True), rel=1e-10, abs=1e-9)
    # and it differs from dropping the block read too (what 'count' alone does)
    count = supernet_score(net, w, (x, None), inactive_relus="count")
    assert got != pytest.approx(count, rel=1e-6)


def test_released_implies_count_whatever_inactive_relus(net, x):
    w = net.perturbed(1, 2)
    a = supernet_score(net, w, (x, None), inactive_relus="skip", relu_hooks="released")
    b = supernet_score(net, w, (x, None), inactive_relus="count", relu_hooks="released")
    assert a == b


def test_decided_edges_still_count_all_their_convs(x):
    torch.manual_seed(0)
    n = NB201Supernet(C=2, N=1, num_classes=10).eval()
    n.reset_arch_parameters(np.random.default_rng(4))
    n.discretize(5, 1)  # node 2 -> 3: skip only; both convs idle (weight 0) but counted
    n.discretize(0, 3)
    w = n.arch_weights()
    assert w[5, 2] == w[5, 3] == 0
    got = supernet_score(n, w, (x, None), relu_hooks="released")
    assert got == pytest.approx(_expected(n, x, w, released=True), rel=1e-10, abs=1e-9)
    # removing a whole edge (every candidate idle) still reads its node once per conv
    w2 = n.without_edge(3, w)
    got2 = supernet_score(n, w2, (x, None), relu_hooks="released")
    assert got2 == pytest.approx(_expected(n, x, w2, released=True), rel=1e-10, abs=1e-9)


def test_fused_and_module_paths_agree_in_released_mode(net, x):
    w = net.perturbed(3, 3)

    def module_path(inp: torch.Tensor) -> Any:
        with torch.enable_grad():
            return net(inp, w)

    extra = lambda: net.inactive_relu_units_  # noqa: E731
    fused = naswot_score(net, x, forward=lambda inp: net(inp, w), extra_units=extra,
                         relu_hooks="released", idle_blocks=True)
    module = naswot_score(net, x, forward=module_path, extra_units=extra,
                          relu_hooks="released", idle_blocks=True)
    assert fused == pytest.approx(module, rel=1e-9)


def test_standalone_network_counts_every_conv_twice_also_on_zero_nodes(x):
    # node 1 is zero (1<-0 none) and feeds a conv (2<-1 nor_conv_3x3); node 3 <- 2 conv
    arch = (0, 1, 3, 1, 4, 2)
    net = NB201Space().derived_network(arch, C=2, N=1)
    net.eval()
    reads: list[torch.Tensor] = []
    hooks = [m.conv.register_forward_pre_hook(lambda _m, inp: reads.append(inp[0].detach().clone()))
             for m in net.modules() if hasattr(m, "forward_after_relu")]
    last: list[torch.Tensor] = []
    hooks.append(net.lastact[1].register_forward_pre_hook(
        lambda _m, inp: last.append(inp[0].detach().clone())))
    try:
        with torch.enable_grad():
            net(x)
    finally:
        for h in hooks:
            h.remove()
    # 2 convs per cell (x3 cells) + 2 reduction blocks x 2 convs
    assert len(reads) == 2 * 3 + 4
    assert any(not (t > 0).any() for t in reads)  # the conv on the zero node ran
    relu = naswot_logdet([(t, 1) for t in reads] + [(t, 1) for t in last], require_finite=True)
    released = naswot_logdet([(t, 2) for t in reads] + [(t, 1) for t in last], require_finite=True)
    from nasrank.oneshot import validation_score

    assert validation_score(net, [(x, None)])[0] == pytest.approx(relu, rel=1e-10)
    assert validation_score(net, [(x, None)], relu_hooks="released")[0] == pytest.approx(
        released, rel=1e-10)


def test_zc_pt_scores_and_search_accept_the_mode(net, x):
    sc = score_operations("zc-pt", net, batch=(x, None), relu_hooks="released")
    w0 = net.arch_weights()
    assert sc.values[0, 0] == pytest.approx(supernet_score(net, w0, (x, None), relu_hooks="released"))
    from nasrank.data import load_dataset

    zc = ZeroCostPT("nb201", proposals=2, validation=1, batch_size=8, relu_hooks="released",
                    supernet_config={"C": 2, "N": 1})
    res = zc.search(load_dataset("digits"), seed=0)
    assert res.config["relu_hooks"] == "released" and len(res.proposals) == 2


@pytest.mark.parametrize("kw,match", [
    ({"relu_hooks": "bad"}, "relu_hooks"),
    ({"relu_hooks": "released", "proxy": "synflow"}, "nwot"),
    ({"relu_hooks": "released", "space": "darts"}, "NAS-Bench-201"),
])
def test_bad_configurations_raise(kw, match):
    with pytest.raises(ConfigError, match=match):
        ZeroCostPT(**kw)._check()


def test_supernet_score_rejects_other_supernets():
    import nasrank

    darts = nasrank.create_space("darts").supernet(C=2, layers=3)
    with pytest.raises(ConfigError, match="NAS-Bench-201"):
        supernet_score(darts, darts.arch_weights(), (torch.randn(2, 3, 8, 8), None),
                       relu_hooks="released")


@pytest.mark.parametrize("argv", [["--relu-hooks", "bad"], ["--relu-hooks", "released", "--space", "darts"]])
def test_cli_relu_hooks_bad_is_one_line_exit_2(argv, capsys):
    from nasrank.cli import main

    assert main(["zcpt", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error:") and err.count("\n") == 0 and "relu_hooks" in err


def test_cli_released_tiny_run(capsys):
    import json

    from nasrank.cli import main

    assert main(["zcpt", "--dataset", "digits", "--proposals", "1", "--validation", "0", "--C", "2",
                 "--depth", "1", "--batch-size", "8", "--relu-hooks", "released", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["relu_hooks"] == "released"


# --- the seed-max oracle ------------------------------------------------------------------------
def _nanmean_rows(a: np.ndarray) -> np.ndarray:
    n = np.isfinite(a).sum(1)
    return np.where(n > 0, np.nansum(a, 1) / np.maximum(n, 1), np.nan)


class _PerSeed:
    """A stand-in benchmark with three per-seed metrics (one missing value) and their mean."""

    space = NB201Space()

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.archs = list(self.space.all_archs())
        self.seeds = rng.uniform(80, 95, size=(len(self.archs), 3))
        self.seeds[7, 1] = np.nan
        self.seeds[11, :] = np.nan
        self.row = {a: i for i, a in enumerate(self.archs)}

    def query_many(self, archs, metric, dataset):
        rows = [self.row[tuple(a)] for a in archs]
        if metric == "test_acc":
            return list(_nanmean_rows(self.seeds[rows]))
        return list(self.seeds[rows, int(metric[-1])])


def test_seed_max_oracle_is_the_max_over_cells_and_seeds():
    bench = _PerSeed()
    grid = ground_truth_grid(bench, [f"test_acc_seed{k}" for k in range(3)])
    mean = ground_truth_grid(bench, "test_acc")
    net = NB201Supernet(C=1, N=1)
    best = score_operations("best-acc", net, table=grid).values
    best_mean = score_operations("best-acc", net, table=mean).values
    arr = np.array(bench.archs)
    for e in range(6):
        for o in range(5):
            sel = arr[:, e] == o
            assert best[e, o] == np.nanmax(bench.seeds[sel])  # max over cells and seeds
            assert best_mean[e, o] == pytest.approx(np.nanmax(_nanmean_rows(bench.seeds[sel])))
    assert np.isnan(grid[tuple(bench.archs[11])])  # every seed missing
    assert grid[tuple(bench.archs[7])] == np.nanmax(bench.seeds[7])
    assert (best >= best_mean).all()


def test_seed_max_oracle_on_a_hand_made_table():
    class Tiny:
        space = NB201Space()

        def query_many(self, archs, metric, dataset):
            k = int(metric[-1])
            # seed k scores cell a with sum(a) except seed 2, which prefers op 0 on edge 0
            return [float(sum(a)) + (10.0 if k == 2 and a[0] == 0 else 0.0) for a in archs]

    grid = ground_truth_grid(Tiny(), ("s0", "s1", "s2"))
    best = score_operations("best-acc", NB201Supernet(C=1, N=1), table=grid).values
    # edge 0: op 0 reaches 0 + 20 + 10 = 30 through seed 2; op 4 reaches 4 + 20 = 24
    assert best[0].tolist() == [30.0, 21.0, 22.0, 23.0, 24.0]
    assert best[1].tolist() == [26.0, 27.0, 28.0, 29.0, 30.0]
    with pytest.raises(ConfigError):
        ground_truth_grid(Tiny(), [])
