"""The weight-sharing layer's protocols: supernets, architecture parameterisations, supernet
methods (conformance suite), and the one NASWOT implementation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import nasrank
from nasrank.exceptions import ConfigError
from nasrank.oneshot import (
    SUPERNET_METHODS,
    ArchParameterization,
    DifferentiableMethod,
    DirichletConcentration,
    FairPath,
    SoftmaxAlpha,
    Supernet,
    UniformPath,
    create_supernet_method,
)
from nasrank.testing.supernets import SUPERNET_METHOD_CHECKS, supernet_method_factory

SUPERNET_SPACES = [n for n in nasrank.list_spaces() if nasrank.create_space(n).has_supernet]


def _tiny(space_name: str, **kw):
    space = nasrank.create_space(space_name)
    torch.manual_seed(0)
    return space, space.supernet(**{**space.default_config("tiny"), **kw})


def _x(space, n: int = 2) -> torch.Tensor:
    return torch.randn(n, *space.tiny_input_shape, generator=torch.Generator().manual_seed(0))


def test_nb201_and_darts_have_supernets() -> None:
    assert {"nb201", "darts"} <= set(SUPERNET_SPACES)


# --- the supernet protocol ---------------------------------------------------------------------
@pytest.mark.parametrize("space_name", SUPERNET_SPACES)
def test_supernet_protocol_single_multi_and_mixture(space_name: str) -> None:
    space, net = _tiny(space_name)
    net.eval()
    assert isinstance(net, Supernet) and net.space.name == space_name
    a, b = space.sample(0), space.sample(1)
    x = _x(space)
    with torch.no_grad():
        single = net(x, net.path_weights(a))
        # the single path equals the legacy route: every edge of the path discretised
        w = net.path_weights(a)
        for e, row in enumerate(w):
            if row.any():
                net.discretize(e, int(row.argmax()))
            else:
                net.remove_edge(e)
        torch.testing.assert_close(net(x), single)
        assert space.canonical_key(net.genotype()) == space.canonical_key(a)
        multi = net.paths_weights([a, b])
        assert net(x, multi).shape == single.shape
        assert np.array_equal(multi, np.maximum(net.path_weights(a), net.path_weights(b)))
    with pytest.raises(ConfigError):
        net(x, np.ones((net.num_edges + 1, len(net.ops))))


def test_weights_tensor_is_differentiable_and_matches_weights() -> None:
    _, net = _tiny("nb201")
    p = net.arch_param
    p.reset(0)
    p.decide(2, 3)
    wt = p.weights_tensor()
    np.testing.assert_allclose(wt.detach().double().numpy(), p.weights(), rtol=1e-6)
    x = _x(net.space)
    net(x, wt).sum().backward()
    assert net.alpha.grad is not None and net.alpha.grad.abs().sum() > 0
    assert net.alpha.grad[2].abs().sum() == 0  # a decided edge's row is a constant


# --- parameterisations -------------------------------------------------------------------------
@pytest.mark.parametrize("space_name", SUPERNET_SPACES)
def test_every_parameterisation_meets_the_protocol(space_name: str) -> None:
    _, net = _tiny(space_name)
    shape = (net.num_edges, len(net.ops))
    params = [net.arch_param, SoftmaxAlpha(torch.zeros(shape)), DirichletConcentration(*shape),
              UniformPath(net), FairPath(net)]
    for p in params:
        assert isinstance(p, ArchParameterization), type(p).__name__
        assert p.weights().shape == shape
        ws = p.draw(np.random.default_rng(0))
        assert ws and all(tuple(np.shape(w)) == shape for w in ws)
        again = p.draw(np.random.default_rng(0))
        for w1, w2 in zip(ws, again, strict=True):
            np.testing.assert_array_equal(np.asarray(torch.as_tensor(w1).detach()),
                                          np.asarray(torch.as_tensor(w2).detach()))
        p.load_state_dict(p.state_dict())


def test_fair_path_uses_every_op_of_every_edge_once_nb201() -> None:
    space, net = _tiny("nb201")
    fair = FairPath(net)
    rng = np.random.default_rng(3)
    for _ in range(3):
        paths = fair.sample_archs(rng)
        assert len(paths) == 5
        for e in range(6):
            assert sorted(p[e] for p in paths) == [0, 1, 2, 3, 4]
        total = sum(fair.draw(np.random.default_rng(1)))
        assert (total == 1).all()  # each (edge, op) exactly once per step


def test_fair_path_darts_ops_fair_and_paths_valid() -> None:
    space, net = _tiny("darts")
    paths = FairPath(net).sample_archs(np.random.default_rng(0))
    assert len(paths) == 7
    for a in paths:
        assert space.validate(a) == a
    for slot in range(16):  # op positions 0, 2, 4, ...: every op 1..7 exactly once
        assert sorted(p[2 * slot] for p in paths) == list(range(1, 8))


def test_uniform_path_is_one_uniform_architecture() -> None:
    space, net = _tiny("nb201")
    up = UniformPath(net)
    rng = np.random.default_rng(0)
    seen = {up.sample_archs(rng)[0] for _ in range(300)}
    assert len(seen) > 250  # 15,625 architectures
    assert up.sample_archs(np.random.default_rng(5)) == [space.sample(np.random.default_rng(5))]


def test_dirichlet_draw_passes_gradients_to_the_concentration() -> None:
    space, net = _tiny("nb201")
    p = DirichletConcentration(net.num_edges, len(net.ops), init=2.0)
    np.testing.assert_allclose(p.weights(), 0.2)
    (w,) = p.draw(np.random.default_rng(0))
    torch.testing.assert_close(w.sum(1), torch.ones(6))
    net(_x(space), w).sum().backward()
    assert p.theta.grad is not None and p.theta.grad.abs().sum() > 0


# --- supernet methods --------------------------------------------------------------------------
#: windows of 2 training-speed steps, so that the 2-4 steps of a check close windows too
#: (and no architecture warm-up, so that the checks exercise architecture updates)
CONFORMANCE_PARAMS = {name: {"inner_steps": 2}
                      for name in ("sotl-darts", "darts-tse", "sovl-darts", "drnas-tse", "pdarts-sotl")}
for _name in ("drnas", "drnas-tse", "pdarts", "pdarts-sotl"):
    CONFORMANCE_PARAMS.setdefault(_name, {})["warmup_epochs"] = 0


#: spaces on which every (method, check) runs in the default test run; on the other spaces with
#: a supernet one path method (spos) and one mixture method (darts) do, the rest are ``slow``
_FULL_SPACES = ("nb201", "darts", "nb1shot1-1")


def _conformance_cases() -> list:
    """Every (method, space) the method supports (:meth:`SupernetMethod.supports`). A
    differentiable method on a DARTS-cell space (``darts``, ``darts-s1`` ...) runs the mixture of
    all 28 edges' candidates in every check (5-20 s each on CPU): those cases are ``slow``; on
    the spaces outside :data:`_FULL_SPACES` only ``spos`` and ``darts`` run by default."""
    cases = []
    for method in SUPERNET_METHODS.list():
        cls = SUPERNET_METHODS.get(method)
        for space_name in SUPERNET_SPACES:
            if not cls.supports(space_name):
                continue  # refused with a ConfigError: test_methods_refuse_unsupported_spaces
            mixture = issubclass(cls, DifferentiableMethod)
            if space_name.startswith("darts"):
                slow = mixture or (space_name not in _FULL_SPACES and method != "spos")
            else:
                slow = space_name not in _FULL_SPACES and method not in ("spos", "darts")
            marks = [pytest.mark.slow] if slow else []
            cases.append(pytest.param(method, space_name, marks=marks, id=f"{method}-{space_name}"))
    return cases


def test_methods_refuse_unsupported_spaces() -> None:
    refused = [(m, s) for m in SUPERNET_METHODS.list() for s in SUPERNET_SPACES
               if not SUPERNET_METHODS.get(m).supports(s)]
    assert ("pdarts", "nb1shot1-1") in refused and ("pdarts", "nb201") not in refused
    for method, space_name in refused:
        cfg = nasrank.create_space(space_name).default_config("tiny")
        with pytest.raises(ConfigError, match=space_name):
            create_supernet_method(method, space_name, supernet_config=cfg)


@pytest.mark.parametrize("check", sorted(SUPERNET_METHOD_CHECKS))
@pytest.mark.parametrize(("method", "space_name"), _conformance_cases())
def test_supernet_method_conformance(method: str, space_name: str, check: str) -> None:
    params = CONFORMANCE_PARAMS.get(method, {})
    SUPERNET_METHOD_CHECKS[check](supernet_method_factory(method, space_name, **params))


def test_spos_trains_only_the_sampled_path() -> None:
    m = supernet_method_factory("spos", "nb201")(0)
    before = {k: v.clone() for k, v in m.supernet.named_parameters()}
    x = torch.randn(4, 3, 16, 16)
    arch = m.step((x, torch.tensor([0, 1, 2, 3])))["arch"]
    changed = {k for k, v in m.supernet.named_parameters() if not torch.equal(v, before[k])}
    assert "alpha" not in changed  # the architecture parameters are not SPOS's to train
    for k in changed:
        parts = k.split(".")
        if "layers" in parts:  # cells.{i}.layers.{edge}.ops.{op}....
            e, o = int(parts[parts.index("layers") + 1]), int(parts[parts.index("ops") + 1])
            assert arch[e] == o, f"{k} changed although edge {e} ran op {arch[e]}"


def test_spos_derive_needs_a_batch_or_a_score_and_rejects_bad_options() -> None:
    m = supernet_method_factory("spos", "nb201")(0)
    with pytest.raises(ConfigError, match="batch"):
        m.derive()
    with pytest.raises(ConfigError):
        create_supernet_method("spos", "nb201", lr=0)
    with pytest.raises(ConfigError, match="no weight-sharing supernet"):
        create_supernet_method("spos", _NoSupernet())
    other = supernet_method_factory("spos", "darts")(0)
    with pytest.raises(ConfigError):
        other.load_state_dict({**m.state_dict(), "name": "other"})


class _NoSupernet(nasrank.SearchSpace):
    name = "no-supernet"

    def from_str(self, text):  # pragma: no cover - not called
        raise NotImplementedError

    def to_str(self, arch):  # pragma: no cover - not called
        raise NotImplementedError

    def validate(self, arch):  # pragma: no cover - not called
        return tuple(arch)

    def sample(self, rng=None):  # pragma: no cover - not called
        return (0,)

    def build(self, arch, num_classes=10, **config):  # pragma: no cover - not called
        raise NotImplementedError


# --- NASWOT exists once ------------------------------------------------------------------------
def test_fast_naswot_path_equals_the_registered_proxy() -> None:
    from nasrank.estimators.zero_cost.nwot import Nwot, naswot_score

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8),
                              torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 16, 4),
                              torch.nn.ReLU(), torch.nn.Linear(4, 2))
    x = torch.randn(6, 3, 4, 4)
    y = torch.randint(0, 2, (6,))
    fast = naswot_score(net, x, bn_mode="train")
    proxy = nasrank.compute_proxies(net, (x, y), ["nwot"])["nwot"]
    assert fast == pytest.approx(proxy, rel=1e-9)
    assert Nwot(visited_only=False)(net, (x, y)) == pytest.approx(fast, rel=1e-9)
    assert naswot_score(net, x) == naswot_score(net, x)  # eval mode: deterministic, model restored
    assert net.training
