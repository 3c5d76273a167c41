"""The NDS design spaces ``nds-resnet``, ``nds-resnext-a``, ``nds-resnext-b`` (seed 000 Tab. 3).

The generic suites (space conformance, every strategy, proxies) run on them through the registry
parametrisations; this module checks what is particular to them (grids and counts, the string
format, the network structure, the closed-form parameter and FLOP counts, down-scaling) and runs
one fast smoke test per space: zero-cost proxies, one live TSE evaluation on digits, and
``nasrank spaces show`` with a good and a malformed architecture.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import nasrank
from nasrank.exceptions import ConfigError, InvalidArchitectureError
from nasrank.nn import count_parameters

NAMES = ["nds-resnet", "nds-resnext-a", "nds-resnext-b"]
#: A small architecture of each space (fast to build and train at the tiny width).
SMALL = {
    "nds-resnet": "d=1,2,1|w=16,32,64",
    "nds-resnext-a": "d=1,1,2|w=16,32,64|r=1,2,4|g=1,2,4",
    "nds-resnext-b": "d=2,1,1|w=64,128,256|r=4,2,1|g=16,8,1",
}


@pytest.fixture(params=NAMES)
def space(request: pytest.FixtureRequest) -> Any:
    return nasrank.create_space(request.param)


# --- grids, counts, strings --------------------------------------------------------------------
def test_sizes_equal_seed_table3() -> None:
    sizes = {n: nasrank.create_space(n).size for n in NAMES}
    assert sizes == {"nds-resnet": 1_259_712, "nds-resnext-a": 11_390_625, "nds-resnext-b": 52_734_375}
    for n in NAMES:
        sp = nasrank.create_space(n)
        assert sp.published_size == sp.size
        assert math.prod(len(c) for c in sp.choices()) == sp.size
        assert len(sp.choices()) == (6 if n == "nds-resnet" else 12)


def test_string_format(space: Any) -> None:
    a = space.from_str(SMALL[space.name])
    assert space.to_str(a) == SMALL[space.name]
    values = space.values(a)
    assert values["d"] == tuple(int(v) for v in SMALL[space.name].split("|")[0][2:].split(","))
    # whitespace is tolerated, the canonical form has none
    assert space.from_str(" " + SMALL[space.name].replace("|", " | ")) == a


@pytest.mark.parametrize("bad", [
    "d=1,2|w=16,32,64",              # two stages
    "d=1,2,7|w=16,32,64",            # 7 not on the depth grid
    "w=16,32,64|d=1,2,1",            # parameters out of order
    "d=1,2,1|w=16,32,x",             # not a number
    "d=1,2,1;w=16,32,64",            # wrong separator
])
def test_malformed_strings_are_one_line_errors(bad: str) -> None:
    sp = nasrank.create_space("nds-resnet")
    with pytest.raises(InvalidArchitectureError) as err:
        sp.from_str(bad)
    assert "\n" not in str(err.value)


def test_resnext_b_grids() -> None:
    sp = nasrank.create_space("nds-resnext-b")
    ok = sp.from_str("d=16,1,1|w=1024,64,64|r=4,1,1|g=16,16,16")
    assert ok == (4, 0, 0, 4, 0, 0, 2, 0, 0, 4, 4, 4)
    with pytest.raises(InvalidArchitectureError, match="groups"):
        sp.from_str("d=1,1,1|w=64,64,64|r=1,1,1|g=32,1,1")
    with pytest.raises(InvalidArchitectureError, match="width"):
        nasrank.create_space("nds-resnext-a").from_str("d=1,1,1|w=512,64,64|r=1,1,1|g=1,1,1")


def test_neighbours_change_one_parameter_by_one_step(space: Any) -> None:
    a = space.sample(3)
    for b in space.neighbours(a):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        assert len(diff) == 1 and abs(a[diff[0]] - b[diff[0]]) == 1
    inner = tuple(len(c) // 2 for c in space.choices())  # every position away from its grid ends
    assert len(space.neighbours(inner)) == 2 * len(inner)


def test_sampling_is_uniform_per_position(space: Any) -> None:
    rng = np.random.default_rng(0)
    draws = np.array([space.sample(rng) for _ in range(600)])
    for i, c in enumerate(space.choices()):
        counts = np.bincount(draws[:, i], minlength=len(c))
        assert counts.min() > 600 / len(c) * 0.5


# --- networks ------------------------------------------------------------------------------------
def _hook_flops(net: nn.Module, shape: tuple[int, int, int]) -> int:
    total = 0

    def count(m: nn.Module, _i: Any, out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += out.numel() * m.kernel_size[0] * m.kernel_size[1] * m.in_channels // m.groups
        elif isinstance(m, nn.Linear):
            total += out.numel() * (m.in_features + 1)

    hooks = [m.register_forward_hook(count) for m in net.modules()]
    with torch.no_grad():
        net.eval()(torch.zeros(1, *shape))
    for h in hooks:
        h.remove()
    return total


def test_closed_form_params_and_flops_match_the_built_network(space: Any) -> None:
    for cfg in (space.default_config("tiny"), space.default_config("search")):
        for seed in range(3):
            a = space.sample(seed)
            net = space.build(a, num_classes=7, in_channels=1, **cfg)
            assert space.num_params(a, num_classes=7, in_channels=1, **cfg) == count_parameters(net)
            for shape in ((1, 16, 16), (1, 9, 9)):
                assert space.flops(a, input_size=shape, num_classes=7, **cfg) == _hook_flops(net, shape)


def test_full_width_resnet_structure() -> None:
    sp = nasrank.create_space("nds-resnet")
    net = sp.build("d=1,1,1|w=16,32,64")
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    # stem 3->16; stage 1: two 3x3 16->16, no projection; stages 2, 3: two 3x3 + a strided 1x1
    assert [(c.in_channels, c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (3, 16, 3, 1), (16, 16, 3, 1), (16, 16, 3, 1),
        (16, 32, 3, 2), (32, 32, 3, 1), (16, 32, 1, 2),
        (32, 64, 3, 2), (64, 64, 3, 1), (32, 64, 1, 2),
    ]
    # the hand count: convs + 2 per BN channel + fc
    conv_w = sum(c.weight.numel() for c in convs)
    bn = 2 * (16 + 16 + 16 + 32 + 32 + 32 + 64 + 64 + 64)
    assert sp.num_params("d=1,1,1|w=16,32,64") == conv_w + bn + 64 * 10 + 10 == 78_042
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_resnext_bottleneck_width_and_groups() -> None:
    sp = nasrank.create_space("nds-resnext-a")
    net = sp.build("d=1,1,1|w=16,64,256|r=1,2,4|g=1,2,4")
    grouped = [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)][1:]
    # bottleneck width w / r, groups g
    assert [(c.in_channels, c.groups, c.stride[0]) for c in grouped] == [(16, 1, 1), (32, 2, 2), (64, 4, 2)]


def test_down_scaling_keeps_groups_valid() -> None:
    sp = nasrank.create_space("nds-resnext-b")
    a = sp.from_str("d=1,1,1|w=64,64,64|r=4,4,4|g=16,8,2")
    net = sp.build(a, width_mult=1 / 32)  # width 2, bottleneck 0.5 -> rounded up to the groups
    grouped = [m for m in net.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert [(m.in_channels, m.groups) for m in grouped] == [(16, 16), (8, 8), (2, 2)]
    assert net(torch.randn(2, 3, 8, 8)).shape == (2, 10)
    with pytest.raises(ConfigError, match="width_mult"):
        sp.build(a, width_mult=0)
    with pytest.raises(ConfigError, match="unknown"):
        sp.build(a, C=8)


# --- one smoke test per space ---------------------------------------------------------------------
def test_smoke_proxies_live_tse_and_cli(space: Any, capsys: pytest.CaptureFixture) -> None:
    from nasrank.cli import main
    from nasrank.data import DataSpec, load_dataset
    from nasrank.search import LiveEvaluator

    arch = space.from_str(SMALL[space.name])
    tiny = space.default_config("tiny")
    # zero-cost proxies on the built network (digits: 1 channel, 8x8)
    x, y = load_dataset("digits").batch(torch.arange(16))
    torch.manual_seed(0)
    net = space.build(arch, in_channels=1, **tiny)
    names = nasrank.list_proxies()
    scores = nasrank.compute_proxies(net, (x, y), names, seed=0)
    assert set(scores) == set(names)
    finite = {n for n, v in scores.items() if math.isfinite(float(v))}
    assert {"synflow", "nwot", "grad_norm", "params", "flops"} <= finite, scores
    # one live TSE evaluation (one epoch on a digits subset)
    ev = LiveEvaluator(DataSpec("digits", train_size=128, val_size=32, test_size=32), "tse-ema",
                       epochs=1, space=space.name, space_config=tiny)
    rec = ev.evaluate(arch)
    assert rec.status == "ok", rec.error
    assert math.isfinite(ev.score(rec)) and ev.cost(rec) > 0
    # the CLI
    assert main(["spaces", "show", space.name, "--arch", SMALL[space.name], "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["arch"] == SMALL[space.name] and info["valid"] is True
    assert info["params"] == space.num_params(arch) and info["flops"] == space.flops(arch)
    assert "multiply-accumulates" in info["flops_convention"]
    assert main(["spaces", "show", space.name, "--arch", "d=1,2|w=3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error:") and err.count("\n") == 0
