"""The RobustDARTS sub-spaces ``darts-s1`` ... ``darts-s4`` (``nasrank.spaces.darts_sub``).

The generic suites (space conformance, strategy conformance, supernet protocol and methods) run
on them through the registry; here: the facts of the candidate tables and sizes, the string
format and its errors, the ``noise`` operation, the S4 network against DARTS', the supernet's
mapping, and one fast smoke run per space of what generic code does with a space (zero-cost
proxies, a live TSE search on digits, Zero-Cost-PT, a supernet method step).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

import nasrank
from nasrank.data import DataSpec, load_dataset
from nasrank.exceptions import InvalidArchitectureError
from nasrank.spaces.darts import DARTS_V2, DARTSNetwork, DARTSSpace
from nasrank.spaces.darts_sub import (
    S1_NORMAL,
    S1_REDUCE,
    SUBSPACES,
    DARTSSubSupernet,
    NoiseOp,
    SubspaceNetwork,
    edge_index,
)

NAMES = ["darts-s1", "darts-s2", "darts-s3", "darts-s4"]
ALL_SKIP_NORMAL = [("skip_connect", 0), ("skip_connect", 1)] * 4


SEP_NORMAL = [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 4


# --- facts ---------------------------------------------------------------------------------------
def test_candidate_tables_follow_robustdarts() -> None:
    assert all(len(t) == 14 for t in (S1_NORMAL, S1_REDUCE))
    assert S1_NORMAL[0] == ("skip_connect", "dil_conv_3x3")
    assert S1_NORMAL[5] == S1_NORMAL[10] == ("max_pool_3x3", "skip_connect")
    assert S1_NORMAL[12] == S1_NORMAL[13] == ("dil_conv_3x3", "dil_conv_5x5")
    assert S1_REDUCE[1] == ("max_pool_3x3", "dil_conv_3x3")
    assert S1_REDUCE[6] == ("max_pool_3x3", "sep_conv_3x3")
    for name, ops in [("darts-s2", ("skip_connect", "sep_conv_3x3")),
                      ("darts-s3", ("none", "skip_connect", "sep_conv_3x3")),
                      ("darts-s4", ("noise", "sep_conv_3x3"))]:
        spec = SUBSPACES[name]
        assert spec.uniform and all(c == ops for cell in spec.candidates for c in cell)
    assert not SUBSPACES["darts-s1"].uniform
    assert SUBSPACES["darts-s3"].genotype_ops(1, 7) == ("skip_connect", "sep_conv_3x3")
    assert [edge_index(k, j) for k in range(4) for j in range(k + 2)] == list(range(14))


@pytest.mark.parametrize("name", NAMES)
def test_size_is_exact(name: str) -> None:
    space = nasrank.create_space(name)
    # brute force per node: valid encodings of the node's 4 ints, / 2 for the order of its pairs
    per_cell = []
    for cell in range(2):
        total = 1
        for k in range(4):
            n = 0
            for op_a, in_a, op_b, in_b in itertools.product(range(3), range(k + 2), range(3),
                                                            range(k + 2)):
                arch = [0, 0, 1, 1] * 8
                base = cell * 16 + 4 * k
                arch[base : base + 4] = [op_a, in_a, op_b, in_b]
                try:
                    space.validate(arch)
                except InvalidArchitectureError:
                    continue
                n += 1
            total *= n // 2
        per_cell.append(total)
    assert per_cell == [46_080, 46_080]
    assert space.size == 46_080**2 == 2_123_366_400
    assert SUBSPACES[name].num_encodings == space.size * 256


# --- the string format -----------------------------------------------------------------------------
def test_genotype_strings_interoperate_with_the_darts_space() -> None:
    for name in ("darts-s1", "darts-s2", "darts-s3"):
        sp = nasrank.create_space(name)
        for seed in range(5):
            a = sp.sample(seed)
            d = sp.to_darts(a)
            assert DARTSSpace().to_str(d) == sp.to_str(a)
            assert sp.from_cells(*DARTSSpace().cells(d)) == a
    s2, s3 = nasrank.create_space("darts-s2"), nasrank.create_space("darts-s3")
    a = s2.sample(0)
    assert s3.from_str(s2.to_str(a)) == a  # S3's genotypes are S2's
    s4 = nasrank.create_space("darts-s4")
    with pytest.raises(nasrank.ConfigError, match="noise"):
        s4.to_darts((0, 0, 1, 1) * 8)
    assert s4.to_darts((1, 0, 1, 1) * 8) == DARTSSpace().from_str(s4.to_str((1, 0, 1, 1) * 8))


_SEP_STR = nasrank.create_space("darts-s2").to_str((1, 0, 1, 1) * 8)  # sep_conv_3x3 everywhere
_SKIP_FIRST = nasrank.create_space("darts-s2").to_str((0, 0, 1, 1) * 8)  # starts ('skip_connect', 0)


@pytest.mark.parametrize(("name", "bad", "match"), [
    ("darts-s2", DARTS_V2, r"'dil_conv_3x3' on edge \(node 3, input 2\) of the normal cell .* "
                           r"not a candidate of darts-s2 \(S2\); candidates there: skip_connect, sep_conv_3x3"),
    ("darts-s1", _SEP_STR, r"'sep_conv_3x3' on edge \(node 0, input 0\) of the normal cell .* "
                           r"not a candidate of darts-s1 \(S1\); candidates there: skip_connect, dil_conv_3x3"),
    ("darts-s3", _SKIP_FIRST.replace("('skip_connect', 0)", "('none', 0)", 1),
     r"'none' on edge \(node 0, input 0\) .* not a candidate of darts-s3"),
    ("darts-s4", _SKIP_FIRST, r"'skip_connect' on edge \(node 0, input 0\) .* not a candidate of darts-s4"),
    ("darts-s4", _SKIP_FIRST.replace("skip_connect", "conv_9x9", 1), "is not an operation of darts-s4"),
    ("darts-s2", "Genotype(normal=[('skip_connect', 0)], normal_concat=[2, 3, 4, 5])", "malformed"),
    ("darts-s2", _SKIP_FIRST.replace("('sep_conv_3x3', 1)", "('sep_conv_3x3', 0)", 1), "twice"),
    ("darts-s2", _SKIP_FIRST.replace("('sep_conv_3x3', 1)", "('sep_conv_3x3', 2)", 1),
     "node 0 of the normal cell .* reads input 2; valid: 0..1"),
])
def test_from_str_rejects_strings_outside_the_space(name: str, bad: str, match: str) -> None:
    sp = nasrank.create_space(name)
    with pytest.raises(InvalidArchitectureError, match=match) as err:
        sp.from_str(bad)
    assert "\n" not in str(err.value)


def test_cli_shows_an_architecture_and_rejects_a_bad_one(capsys: pytest.CaptureFixture) -> None:
    import json

    from nasrank.cli import main

    sp = nasrank.create_space("darts-s4")
    arch = sp.to_str((0, 0, 1, 1) * 8)
    assert main(["spaces", "show", "darts-s4", "--arch", arch, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["arch"] == arch and info["params"] == sp.num_params((0, 0, 1, 1) * 8)
    assert info["flops"] > 0
    assert main(["spaces", "show", "darts-s2", "--arch", DARTS_V2]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error:") and "darts-s2" in err and err.count("\n") == 0
    assert main(["spaces", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert all(rows[n]["size"] == 2_123_366_400 for n in NAMES)


# --- noise ---------------------------------------------------------------------------------------
def test_noise_op_is_reproducible_and_ignores_its_input() -> None:
    torch.manual_seed(0)
    op = NoiseOp(stride=1)
    torch.manual_seed(0)
    twin = NoiseOp(stride=1)
    x = torch.randn(4, 3, 8, 8)
    op.eval()
    y = op(x)
    assert torch.equal(y, op(x + 1)) and torch.equal(y, twin.eval()(x))  # eval: no draw advance
    assert abs(float(y.mean())) < 0.2 and abs(float(y.std()) - 1) < 0.2  # N(0, 1)
    op.train()
    first, second = op(x), op(x)
    assert torch.equal(first, y) and not torch.equal(first, second)
    assert int(op.noise_draws) == 2
    twin.load_state_dict(op.state_dict())
    assert torch.equal(twin.train()(x), op(x))  # the stream is part of the state
    assert NoiseOp(stride=2)(torch.randn(2, 3, 7, 7)).shape == (2, 3, 4, 4)
    with pytest.raises(nasrank.ConfigError):
        NoiseOp(stride=3)


def test_s4_network_without_noise_is_the_darts_network() -> None:
    s4 = nasrank.create_space("darts-s4")
    a = (1, 0, 1, 1) * 8  # sep_conv_3x3 everywhere
    net = s4.build(a, C=2, layers=5, auxiliary=True)
    assert isinstance(net, SubspaceNetwork)
    ref = DARTSNetwork(*s4.cells(a), C=2, layers=5, auxiliary=True)
    assert list(net.state_dict()) == list(ref.state_dict())
    ref.load_state_dict(net.state_dict())
    x = torch.randn(2, 3, 32, 32)  # the auxiliary head needs 8 x 8 after two reductions
    for mode in (True, False):
        net.train(mode), ref.train(mode)
        torch.testing.assert_close(net.forward_with_aux(x)[1 if mode else 0],
                                   ref.forward_with_aux(x)[1 if mode else 0])
    assert s4.num_params(a, C=2, layers=3) == DARTSSpace().num_params(s4.to_darts(a), C=2, layers=3)
    noisy = s4.build((0, 0, 0, 1) * 8, C=2, layers=3)  # every operation noise
    assert s4.num_params((0, 0, 0, 1) * 8, C=2, layers=3) < s4.num_params(a, C=2, layers=3)
    noisy.eval()
    assert torch.equal(noisy(x), noisy(torch.zeros_like(x)))  # the cells ignore their inputs


# --- networks and supernets ------------------------------------------------------------------------
def test_params_and_flops() -> None:
    s2 = nasrank.create_space("darts-s2")
    assert isinstance(s2.build(s2.sample(0), C=2, layers=3), DARTSNetwork)
    skip = s2.from_cells(ALL_SKIP_NORMAL, ALL_SKIP_NORMAL)
    sep = s2.from_cells(SEP_NORMAL, ALL_SKIP_NORMAL)
    # layers=3: cell 0 is the only normal cell (C=2, 8 x 8); a stride-1 sep_conv_3x3 costs
    # 2 x (9 C + C^2) x H x W multiply-accumulates, skip_connect none
    diff = s2.flops(sep, C=2, layers=3, input_size=(3, 8, 8)) - s2.flops(skip, C=2, layers=3,
                                                                          input_size=(3, 8, 8))
    assert diff == 8 * 2 * (9 * 2 + 2 * 2) * 64
    assert s2.num_params(sep, C=2, layers=3) - s2.num_params(skip, C=2, layers=3) == \
        8 * (2 * (9 * 2 + 2 * 2) + 2 * 2 * 2)  # conv weights + 2 affine BNs of C


def test_supernet_columns_and_derivation() -> None:
    s1 = nasrank.create_space("darts-s1")
    net = s1.supernet(C=2, layers=3)
    assert isinstance(net, DARTSSubSupernet) and net.ops == ("candidate_0", "candidate_1")
    assert net.edge_ops[5] == S1_NORMAL[5] and net.edge_ops[14] == S1_REDUCE[0]
    a = s1.from_cells(
        [("dil_conv_3x3", 0), ("dil_conv_5x5", 1)] + ALL_SKIP_NORMAL[2:],
        [("avg_pool_3x3", 0), ("dil_conv_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 0),
         ("skip_connect", 2), ("dil_conv_5x5", 3), ("skip_connect", 2), ("dil_conv_5x5", 4)])
    w = net.path_weights(a)
    assert w[0].tolist() == [0.0, 1.0] and w[1].tolist() == [0.0, 1.0]  # (skip, dil3), (skip, dil5)
    assert w[14].tolist() == [0.0, 1.0] and w[16].tolist() == [1.0, 0.0]  # (max, avg) twice
    assert int(w.sum()) == 16
    assert net.path_ops(a).count("dil_conv_5x5") == 3 and net.skip_count(a) == 9
    assert net.param_free_count(a) == 11  # 9 skips + 2 pools
    assert net.arch_from_weights(w) == s1.canonical(a)
    s3 = nasrank.create_space("darts-s3").supernet(C=2, layers=3)
    w = np.full((28, 3), 0.1)
    w[:, 0] = 0.8  # none is the strongest everywhere, and never chosen
    w[2, 1] = 0.3  # node 1 keeps its input 0 (skip) and ...
    w[4, 2] = 0.5  # ... input 2 (sep)
    arch = s3.arch_from_weights(w)
    assert s3.space.cells(arch)[0][2:4] == [("skip_connect", 0), ("sep_conv_3x3", 2)]
    p = s3.path_weights(arch)
    with pytest.raises(InvalidArchitectureError, match="'none'"):
        s3.arch_from_decisions({e: 0 for e in range(28) if p[e].any()},
                               [e for e in range(28) if not p[e].any()])


def test_s4_supernet_single_path_is_the_discretised_supernet_in_training_too() -> None:
    space = nasrank.create_space("darts-s4")
    torch.manual_seed(0)
    net = space.supernet(C=4, layers=3)
    torch.manual_seed(0)
    twin = space.supernet(C=4, layers=3)
    a = space.sample(1)
    w = net.path_weights(a)
    x = torch.randn(2, 3, 8, 8)
    net.train(), twin.train()
    for e, row in enumerate(w):
        twin.discretize(e, int(row.argmax())) if row.any() else twin.remove_edge(e)
    for _ in range(2):  # the same draws, step after step
        torch.testing.assert_close(net(x, w), twin(x))
    draws = [int(m.noise_draws) for m in net.modules() if isinstance(m, NoiseOp)]
    assert sorted(set(draws)) == ([0, 2] if 0 in draws else [2])  # only the path's noise ran


# --- smoke: everything generic works on each space -------------------------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_generic_tools_run_on_the_space(name: str) -> None:
    from nasrank.oneshot import ZeroCostPT
    from nasrank.search import LiveEvaluator, create_strategy, run_search
    from nasrank.testing.supernets import supernet_method_factory

    space = nasrank.create_space(name)
    tiny = space.default_config("tiny")
    digits = load_dataset("digits")  # 1 x 8 x 8 images
    x, y = digits.batch(torch.arange(16))
    # zero-cost proxies on the tiny network
    torch.manual_seed(0)
    net = space.build(space.sample(0), in_channels=1, **tiny)
    scores = nasrank.compute_proxies(net, (x, y), ["synflow", "grad_norm", "snip", "jacob_cov"],
                                     seed=0)
    assert all(math.isfinite(float(v)) for v in scores.values()), scores
    # a live TSE search: the random strategy, one architecture trained for one epoch
    ev = LiveEvaluator(DataSpec("digits", train_size=64, val_size=32, test_size=0), "tse-ema",
                       epochs=1, space=name, space_config=tiny)
    res = run_search(create_strategy("random", space, seed=0), ev, "1q")
    assert [st["status"] for st in res.steps] == ["ok"], [st.get("error") for st in res.steps]
    assert res.best is not None and math.isfinite(res.best["score"])
    # Zero-Cost-PT (NASWOT scores of perturbed supernets) on a 2-channel supernet
    zc = ZeroCostPT(name, proposals=1, validation=0, batch_size=8,
                    supernet_config={"C": 2, "layers": 3}).search(digits.subset(range(32)), seed=0)
    assert space.validate(zc.arch) == zc.arch
    assert zc.perturbations == [28 * len(SUBSPACES[name].candidates[0][0])]  # |E| |O|
    # one supernet method step
    m = supernet_method_factory("spos", space)(0)
    out = m.step((torch.randn(4, *space.tiny_input_shape), torch.tensor([0, 1, 2, 3])))
    assert math.isfinite(out["loss"]) and space.validate(out["arch"]) == out["arch"]


def test_nwot_on_a_cell_with_a_pure_noise_node() -> None:
    """A node summing two noise outputs feeds a sep_conv_3x3: that ReLU's input does not depend
    on the network input (no gradient); the proxies must still score the network."""
    s4 = nasrank.create_space("darts-s4")
    a = s4.from_cells([("noise", 0), ("noise", 1), ("sep_conv_3x3", 2), ("sep_conv_3x3", 1)]
                      + SEP_NORMAL[4:], [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 4)
    x, y = load_dataset("digits").batch(torch.arange(16))
    torch.manual_seed(0)
    net = s4.build(a, in_channels=1, **s4.default_config("tiny"))
    assert math.isfinite(nasrank.compute_proxies(net, (x, y), ["nwot"], seed=0)["nwot"])
