"""The registered supernet training methods beyond the conformance suite: FairNAS's fairness by
counting, MultiPath's k paths and averaging, Reptile / Metaprox against a literal implementation
of seed 002 Alg. 4 and against SPOS, ``set_lr``, and one-line errors for bad parameters."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nasrank.exceptions import ConfigError
from nasrank.oneshot import (
    SUPERNET_METHODS,
    DifferentiableMethod,
    FairNAS,
    Metaprox,
    MultiPath,
    MultiPathMetaprox,
    PathMethod,
    Reptile,
    create_supernet_method,
    list_supernet_methods,
)
from nasrank.spaces.darts.encoding import PER_CELL, STEPS

NB201_TINY = {"C": 2, "N": 1}
DARTS_TINY = {"C": 2, "layers": 3}


def _make(name: str, space: str = "nb201", seed: int = 0, **params):
    cfg = NB201_TINY if space == "nb201" else DARTS_TINY
    return create_supernet_method(name, space, seed=seed, supernet_config=cfg, num_classes=4,
                                  **params)


def _batch(seed: int = 0, n: int = 6, hw: int = 8):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, hw, hw, generator=g), torch.randint(0, 4, (n,), generator=g)


def _params(m) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in m.supernet.named_parameters()}


def _grads(m) -> dict[str, torch.Tensor]:
    return {k: v.grad.clone() for k, v in m.supernet.named_parameters() if v.grad is not None}


PATH_METHODS = ["fairnas", "metaprox", "multipath", "multipath+metaprox", "reptile", "spos"]
DIFFERENTIABLE = ["darts", "darts-tse", "darts2", "drnas", "drnas-tse", "pdarts", "pdarts-sotl",
                  "sotl-darts", "sovl-darts"]


def test_every_method_is_registered_path_or_differentiable() -> None:
    assert list_supernet_methods() == sorted(PATH_METHODS + DIFFERENTIABLE)
    for name in DIFFERENTIABLE:
        cls = SUPERNET_METHODS.get(name)
        assert issubclass(cls, DifferentiableMethod) and not issubclass(cls, PathMethod)
    for name in PATH_METHODS:
        m = _make(name)
        assert isinstance(m, PathMethod) and m.name == name
        assert (m.lr, m.momentum, m.nesterov, m.weight_decay) == (0.025, 0.9, True, 5e-4)
    assert SUPERNET_METHODS.get("MultiPath+Metaprox") is MultiPathMetaprox


# --- FairNAS ------------------------------------------------------------------------------------
def test_fairnas_uses_each_op_of_each_nb201_edge_exactly_once_per_step() -> None:
    m = _make("fairnas", seed=3)
    assert isinstance(m, FairNAS) and m.reduction == "sum"
    counts = np.zeros((6, 5), dtype=int)
    steps = 4
    for s in range(steps):
        out = m.step(_batch(s))
        assert len(out["archs"]) == 5 and out["arch"] is None
        step_counts = np.zeros((6, 5), dtype=int)
        for a in out["archs"]:
            for e, o in enumerate(a):
                step_counts[e, o] += 1
        assert (step_counts == 1).all(), step_counts  # every (edge, op) exactly once in the step
        counts += step_counts
    assert (counts == steps).all()


def test_fairnas_darts_ops_are_fair_per_node_input_and_per_node() -> None:
    m = _make("fairnas", "darts", seed=1)
    space, net = m.space, m.supernet
    n_ops = len(net.ops)  # 7: every DARTS operation but none
    edges_per_cell = net.num_edges // 2
    for s in range(2):
        out = m.step(_batch(s))
        archs = out["archs"]
        assert len(archs) == n_ops
        for a in archs:
            assert space.validate(a) == a
        # FairPath's guarantee: each of the 2 * STEPS op slots of a cell runs each op once ...
        for slot in range(2 * PER_CELL // 2):
            assert sorted(a[2 * slot] for a in archs) == list(range(1, n_ops + 1))
        # ... hence on the input edges of each node, each op runs exactly twice per step (the
        # node's two inputs; which edge carries it depends on the repaired topology)
        total = sum(net.path_weights(a) for a in archs)
        for cell in range(2):
            start = cell * edges_per_cell
            for k in range(STEPS):
                node = total[start:start + k + 2]
                assert (node.sum(axis=0) == 2).all(), (cell, k, node)
                start += k + 2


# --- MultiPath ----------------------------------------------------------------------------------
@pytest.mark.parametrize("paths", [4, 3])
def test_multipath_draws_k_uniform_paths(paths: int) -> None:
    m = _make("multipath", paths=paths)
    outs = [m.step(_batch(s)) for s in range(2)]
    for out in outs:
        assert len(out["archs"]) == paths and out["arch"] is None
    assert len({a for o in outs for a in o["archs"]}) == 2 * paths  # distinct draws
    # the draws are those of the method's generator: `paths` uniform architectures per step
    rng = np.random.default_rng(0)
    expected = [m.space.sample(rng) for _ in range(2 * paths)]
    assert [a for o in outs for a in o["archs"]] == expected


def test_multipath_averages_the_paths_gradients() -> None:
    mean, total = _make("multipath", seed=2), _make("multipath", seed=2, reduction="sum")
    assert isinstance(mean, MultiPath) and mean.reduction == "mean"
    net0 = copy.deepcopy(mean.supernet)
    b = _batch(0)
    out_mean, out_sum = mean.step(b), total.step(b)
    assert out_mean["archs"] == out_sum["archs"]
    g_mean, g_sum = _grads(mean), _grads(total)
    assert g_mean.keys() == g_sum.keys()
    for k in g_mean:  # the sum's gradient is k times the mean's
        torch.testing.assert_close(g_sum[k], 4 * g_mean[k], rtol=1e-5, atol=1e-7)
    # the mean's gradient is the average of the single paths' gradients (computed one by one)
    acc: dict[str, torch.Tensor] = {}
    losses = []
    for arch in out_mean["archs"]:
        net = copy.deepcopy(net0)
        net.train()
        loss = F.cross_entropy(net(b[0], net.path_weights(arch)), b[1])
        loss.backward()
        losses.append(float(loss.detach()))
        for k, p in net.named_parameters():
            if p.grad is not None:
                acc[k] = acc[k] + p.grad if k in acc else p.grad.clone()
    assert acc.keys() == g_mean.keys()
    for k in acc:
        torch.testing.assert_close(g_mean[k], acc[k] / 4, rtol=1e-5, atol=1e-7)
    assert out_mean["loss"] == pytest.approx(np.mean(losses), rel=1e-6)


# --- Reptile / Metaprox -------------------------------------------------------------------------
def _adapt_literally(net0, arch, batch, steps: int, lr: float, prox: float) -> dict[str, torch.Tensor]:
    """Seed 002 Alg. 4, step 2, written out: ``steps`` plain SGD steps of a copy of the weights on
    the minibatch, the inner loss plus ``prox / 2 ||theta_hat - theta||^2``."""
    net = copy.deepcopy(net0)
    net.train()
    theta = {k: p.detach().clone() for k, p in net.named_parameters()}
    opt = torch.optim.SGD([p for k, p in net.named_parameters() if k != "alpha"], lr=lr)
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(batch[0], net.path_weights(arch)), batch[1])
        if prox:
            loss = loss + prox / 2 * sum(((p - theta[k]) ** 2).sum()
                                         for k, p in net.named_parameters() if k != "alpha")
        loss.backward()
        opt.step()
    return {k: p.detach().clone() for k, p in net.named_parameters()}


@pytest.mark.parametrize(("name", "prox"), [("reptile", 0.0), ("metaprox", 10.0)])
def test_meta_gradient_is_the_scaled_step_towards_the_adapted_weights(name: str, prox: float) -> None:
    m = _make(name, seed=4, momentum=0.0, weight_decay=0.0)
    assert isinstance(m, Reptile) and (m.inner_steps, m.inner_lr, m.prox) == (4, 0.025, prox)
    net0 = copy.deepcopy(m.supernet)
    theta = _params(m)
    b = _batch(1)
    out = m.step(b)
    theta_hat = _adapt_literally(net0, out["arch"], b, 4, 0.025, prox)
    grads = _grads(m)
    assert grads and "alpha" not in grads
    for k, g in grads.items():  # (theta - theta_hat) / inner_lr: the sum of the inner gradients
        torch.testing.assert_close(g, (theta[k] - theta_hat[k]) / 0.025, rtol=1e-4, atol=1e-5)
    for k in theta:  # weights the path does not use are neither adapted nor updated
        if k not in grads:
            assert torch.equal(theta_hat[k], theta[k]) and torch.equal(_params(m)[k], theta[k])


def test_metaprox_keeps_the_adapted_weights_closer_to_the_meta_weights() -> None:
    kw = {"seed": 5, "momentum": 0.0, "weight_decay": 0.0, "inner_lr": 0.1}
    rep, prox = _make("reptile", **kw), _make("metaprox", **kw)
    assert isinstance(prox, Metaprox)
    b = _batch(2)
    assert rep.step(b)["arch"] == prox.step(b)["arch"]

    def distance(m) -> float:  # ||theta - theta_hat|| = inner_lr * ||meta-gradient||
        g = torch.cat([v.flatten() for v in _grads(m).values()])
        return float(m.inner_lr * g.norm())

    assert 0 < distance(prox) < 0.9 * distance(rep)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_reptile_with_one_inner_step_and_no_prox_equals_spos(momentum: float) -> None:
    spos = _make("spos", seed=6, momentum=momentum)
    rep = _make("reptile", seed=6, momentum=momentum, inner_steps=1, prox=0.0)
    for s in range(3):
        b = _batch(s)
        o1, o2 = spos.step(b), rep.step(b)
        assert o1["archs"] == o2["archs"]
        assert o1["loss"] == pytest.approx(o2["loss"], rel=1e-6)
    p1, p2 = _params(spos), _params(rep)
    for k in p1:
        torch.testing.assert_close(p1[k], p2[k])


def test_multipath_metaprox_with_one_inner_step_and_no_prox_equals_multipath() -> None:
    mp = _make("multipath", seed=7)
    mm = _make("multipath+metaprox", seed=7, inner_steps=1, prox=0.0)
    assert isinstance(mm, MultiPathMetaprox) and mm.paths == 4
    for s in range(2):
        b = _batch(s)
        assert mp.step(b)["archs"] == mm.step(b)["archs"]
    p1, p2 = _params(mp), _params(mm)
    for k in p1:
        torch.testing.assert_close(p1[k], p2[k])


def test_multipath_metaprox_step_trains_four_tasks() -> None:
    m = _make("multipath+metaprox", seed=8, inner_steps=2)
    out = m.step(_batch(0))
    assert len(out["archs"]) == 4 and out["arch"] is None and np.isfinite(out["loss"])


# --- set_lr -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["spos", "reptile"])
def test_set_lr_takes_effect_and_keeps_the_base_lr(name: str) -> None:
    fixed = {"inner_lr": 0.025} if name == "reptile" else {}  # its default inner_lr is lr
    a, b = _make(name, seed=9, **fixed), _make(name, seed=9, lr=0.1, **fixed)
    a.set_lr(0.1)
    assert (a.lr, a.current_lr, b.current_lr) == (0.025, 0.1, 0.1)
    for s in range(2):
        batch = _batch(s)
        a.step(batch), b.step(batch)
    pa, pb = _params(a), _params(b)
    assert all(torch.equal(pa[k], pb[k]) for k in pa)  # same as configuring lr=0.1
    c = _make(name, seed=9, **fixed)  # unscheduled: another trajectory
    for s in range(2):
        c.step(_batch(s))
    assert not all(torch.equal(pa[k], v) for k, v in _params(c).items())
    restored = _make(name, seed=1)
    restored.load_state_dict(a.state_dict())
    assert restored.current_lr == 0.1 and restored.lr == 0.025


# --- errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "params", "match"), [
    ("multipath", {"paths": 0}, "`paths`"),
    ("multipath", {"reduction": "avg"}, "`reduction`"),
    ("fairnas", {"reduction": None}, "`reduction`"),
    ("reptile", {"inner_steps": 0}, "`inner_steps`"),
    ("reptile", {"inner_lr": 0.0}, "`inner_lr`"),
    ("metaprox", {"prox": -1.0}, "`prox`"),
    ("multipath+metaprox", {"paths": 1.5}, "`paths`"),
    ("spos", {"nesterov": "yes"}, "`nesterov`"),
    ("spos", {"momentum": 1.5}, "`momentum`"),
    ("fairnas", {"weight_decay": -1e-4}, "`weight_decay`"),
    ("multipath", {"k": 4}, "has no parameter 'k'; its parameters: .*paths, reduction"),
    ("spos", {"paths": 2}, "has no parameter 'paths'"),
])
def test_bad_parameters_are_one_line_config_errors(name: str, params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        _make(name, **params)
    assert "\n" not in str(info.value)


def test_set_lr_rejects_bad_rates() -> None:
    m = _make("spos")
    for bad in (-0.1, float("nan"), "fast"):
        with pytest.raises(ConfigError, match="`lr`"):
            m.set_lr(bad)  # type: ignore[arg-type]
    assert m.current_lr == 0.025
