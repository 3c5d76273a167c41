from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from nasrank.exceptions import ConfigError, InvalidArchitectureError
from nasrank.nn import count_parameters
from nasrank.nn.ops import Zero
from nasrank.spaces import NB201Cell, NB201Space
from nasrank.spaces.nb201 import EDGES

SPACE = NB201Space()

# (official string, params_m_cifar10) rows of ../shared/data/nasbench201/nb201_accuracy_200ep.csv
BENCHMARK_PARAMS = [
    ("|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_1x1~0|avg_pool_3x3~1|avg_pool_3x3~2|", 0.129306),  # 10205
    ("|none~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|", 0.157306),  # 4185
    ("|skip_connect~0|+|nor_conv_3x3~0|none~1|+|avg_pool_3x3~0|skip_connect~1|none~2|", 0.316346),  # 12153
    ("|none~0|+|none~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|", 0.101306),  # 5874
    ("|skip_connect~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_1x1~2|", 0.615386),  # 11312
    ("|nor_conv_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_3x3~2|", 0.802426),  # 13787
    ("|none~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_3x3~1|none~2|", 0.372346),  # 12122
    ("|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|avg_pool_3x3~1|none~2|", 0.344346),  # 10682
    ("|none~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|", 0.344346),  # 13768
    ("|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|", 0.129306),  # 0
]


@pytest.mark.parametrize(("arch_str", "params_m"), BENCHMARK_PARAMS)
def test_param_count_matches_benchmark(arch_str, params_m):
    arch = SPACE.from_str(arch_str)
    assert SPACE.num_params(arch) == round(params_m * 1e6)
    assert count_parameters(SPACE.build(arch)) == round(params_m * 1e6)


def test_enumeration_counts():
    archs = list(SPACE.all_archs())
    assert len(archs) == 15625
    assert len({SPACE.canonical_key(a) for a in archs}) == 6466
    assert len({SPACE.canonical(a) for a in archs}) == 6466
    assert sum(SPACE.is_valid(a) for a in archs) == 15284
    # the benchmark's rule marks only node 1 as "#" when it is zero, so the 341 invalid cells
    # fall into 5 classes: 6,461 valid classes + 5 = 6,466
    invalid = {SPACE.canonical(a) for a in archs if not SPACE.is_valid(a)}
    assert len(invalid) == 5 and (0, 0, 0, 0, 0, 0) in invalid
    assert len({SPACE.canonical(a) for a in archs if SPACE.is_valid(a)}) == 6461


def test_string_format_and_order():
    s = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"
    assert SPACE.from_str(s) == (3, 3, 0, 1, 3, 4)
    assert SPACE.to_str((3, 3, 0, 1, 3, 4)) == s
    assert SPACE.from_str(" " + s.replace("|+|", "| + |") + "\n") == (3, 3, 0, 1, 3, 4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("garbage", "malformed"),
        ("|none~0|+|none~0|none~1|", "malformed"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 of"),
        ("|none~0|+|none~1|none~0|+|none~0|none~1|none~2|", "reads node 1, expected ~0"),
        ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown NB201 operation 'conv'"),
    ],
)
def test_from_str_errors(text, message):
    with pytest.raises(InvalidArchitectureError, match=message):
        SPACE.from_str(text)


@pytest.mark.parametrize("bad", [(0, 1, 2), (0, 1, 2, 3, 4, 5), (0, 1, 2, 3, 4, -1), (True,) * 6, "x"])
def test_validate_rejects(bad):
    with pytest.raises(InvalidArchitectureError):
        SPACE.validate(bad)


def test_neighbours_and_mutate():
    a = (3, 0, 1, 4, 2, 0)
    nb = SPACE.neighbours(a)
    assert len(nb) == 24 and len(set(nb)) == 24
    assert all(sum(x != y for x, y in zip(a, b, strict=True)) == 1 for b in nb)
    rng = np.random.default_rng(0)
    seen = {SPACE.mutate(a, rng) for _ in range(2000)}
    assert seen == set(nb)  # every neighbour is reachable


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        # edges out of node 1 when it only gets `none` are irrelevant
        ((0, 0, 0, 1, 3, 0), (0, 0, 0, 1, 2, 0), True),
        ((0, 3, 3, 1, 0, 3), (0, 3, 4, 1, 0, 3), True),
        # skip_connect chains collapse: 1<-0 skip, 3<-1 conv  ==  3<-0 conv
        ((1, 0, 0, 0, 3, 0), (0, 0, 0, 3, 0, 0), True),
        # the sum is order-free: conv1 on 3<-0 and conv3 on 3<-1 (node1 = skip) swap freely
        ((1, 0, 0, 2, 3, 0), (1, 0, 0, 3, 2, 0), True),
        # different ops are different functions
        ((0, 0, 0, 3, 0, 0), (0, 0, 0, 2, 0, 0), False),
        # pooling is not skip
        ((4, 0, 0, 0, 3, 0), (0, 0, 0, 3, 0, 0), False),
    ],
)
def test_canonical_examples(a, b, same):
    assert (SPACE.canonical_key(a) == SPACE.canonical_key(b)) is same
    assert (SPACE.canonical(a) == SPACE.canonical(b)) is same


def test_is_valid_examples():
    assert SPACE.is_valid((0, 0, 0, 1, 0, 0))
    assert not SPACE.is_valid((3, 3, 3, 0, 0, 0))  # nothing enters node 3
    assert SPACE.is_valid((3, 0, 0, 0, 3, 0))
    assert not SPACE.is_valid((0, 0, 3, 0, 3, 3))  # node 1 gets nothing


def test_encode():
    e = SPACE.encode((0, 1, 2, 3, 4, 0))
    assert e.shape == (30,) and e.dtype == np.float32 and e.sum() == 6
    assert e.reshape(6, 5).argmax(1).tolist() == [0, 1, 2, 3, 4, 0]


def test_flops_benchmark_convention():
    # NAS-Bench-201 reports 7.78 - 220.11 MFLOPs on CIFAR-10 (xautodl's counter)
    assert SPACE.flops((0,) * 6) == 7_783_050
    assert SPACE.flops((3,) * 6) == 220_119_690
    assert SPACE.flops((0,) * 6, convention="macs") == 7_783_050 - 10
    # ImageNet16-120: 16x16 inputs, 120 classes, a quarter of the conv work
    assert SPACE.flops((3,) * 6, input_size=(3, 16, 16), num_classes=120) == (220_119_690 - 650) // 4 + 7_800
    with pytest.raises(ConfigError):
        SPACE.flops((0,) * 6, convention="thop")


def test_build_config_errors():
    with pytest.raises(ConfigError, match="`C` must be an int >= 1"):
        SPACE.build((0,) * 6, C=0)
    with pytest.raises(ConfigError, match="unknown NB201 build option"):
        SPACE.build((0,) * 6, width=3)
    net = SPACE.build("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|", C=4, N=1)
    assert net.arch == (3, 0, 0, 0, 0, 3)


def test_state_dict_keys_follow_reference_layout():
    keys = set(SPACE.build((3, 2, 1, 4, 0, 3), C=4, N=1).state_dict())
    assert "stem.0.weight" in keys and "stem.1.running_var" in keys
    assert "cells.0.layers.0.op.1.weight" in keys  # edge 1<-0, nor_conv_3x3
    assert "cells.0.layers.1.op.2.bias" in keys  # edge 2<-0, nor_conv_1x1 BN
    assert not any(k.startswith("cells.0.layers.2.") for k in keys)  # skip_connect
    assert "cells.1.conv_a.op.1.weight" in keys and "cells.1.downsample.1.weight" in keys
    assert "lastact.0.weight" in keys and "classifier.bias" in keys
    assert not any(".bias" in k and ".op.1." in k for k in keys)  # cell convs are bias-free


# ---- the compiled cell plan computes exactly the reference sum over all six edges ------------


def _naive_forward(net, x):
    """Reference semantics: every edge evaluated, ``none`` as ``x * 0``, python ``sum`` order."""
    f = net.stem(x)
    for cell in net.cells:
        if isinstance(cell, NB201Cell):
            nodes = [f]
            for k in (1, 2, 3):
                terms = []
                for e, (d, j) in enumerate(EDGES):
                    if d == k:
                        op = cell.layers[e]
                        terms.append(nodes[j].mul(0.0) if isinstance(op, Zero) else op(nodes[j]))
                nodes.append(sum(terms))
            f = nodes[3]
        else:
            f = cell(f)
    out = net.lastact(f).mean((2, 3))
    return net.classifier(out)


SPECIAL = [
    (0, 0, 0, 0, 0, 0),  # nothing at all
    (0, 0, 0, 0, 3, 0),  # invalid, but a conv of a zero node reaches the output (BN shift)
    (0, 0, 0, 0, 2, 3),  # conv of zero -> conv of a constant
    (3, 0, 0, 0, 0, 0),  # invalid, node 1 dead
    (3, 0, 0, 1, 0, 0),  # node 1 dead, output = skip
    (1, 0, 0, 0, 3, 0),
    (0, 1, 3, 0, 0, 4),  # conv of a zero node into a live pooled node
    (3, 3, 3, 3, 3, 3),
    (4, 4, 4, 4, 4, 4),
    (1, 1, 1, 1, 1, 1),
]


@pytest.mark.parametrize("arch", SPECIAL + [SPACE.sample(s) for s in range(12)])
def test_plan_equals_naive_reference(arch):
    torch.manual_seed(0)
    net = SPACE.build(arch, C=4, N=2).double()
    with torch.no_grad():  # random BN state so eval mode is not the identity
        for name, buf in net.named_buffers():
            if name.endswith("running_mean"):
                buf.normal_(0, 0.3)
            elif name.endswith("running_var"):
                buf.uniform_(0.5, 2.0)
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.2)
    ref = copy.deepcopy(net)
    x = torch.randn(5, 3, 12, 12, dtype=torch.float64)
    for train in (True, False):
        net.train(train)
        ref.train(train)
        net.zero_grad(set_to_none=True)
        ref.zero_grad(set_to_none=True)
        y, y_ref = net(x), _naive_forward(ref, x)
        torch.testing.assert_close(y, y_ref, rtol=1e-10, atol=1e-12)
        (y * torch.arange(10, dtype=y.dtype)).sum().backward()
        (y_ref * torch.arange(10, dtype=y.dtype)).sum().backward()
        for (name, p), p_ref in zip(net.named_parameters(), ref.parameters(), strict=True):
            g = torch.zeros_like(p) if p.grad is None else p.grad
            g_ref = torch.zeros_like(p_ref) if p_ref.grad is None else p_ref.grad
            torch.testing.assert_close(g, g_ref, rtol=1e-9, atol=1e-12, msg=name)
    # BN statistics: identical, except in modules that cannot affect the output (no gradient)
    grads = {k: p.grad for k, p in net.named_parameters()}
    for (name, b), b_ref in zip(net.named_buffers(), ref.buffers(), strict=True):
        if not torch.allclose(b.double(), b_ref.double(), rtol=1e-9, atol=1e-12):
            module = name.rsplit(".", 1)[0]
            assert all(
                g is None for k, g in grads.items() if k.startswith(module + ".")
            ), f"{name} differs although its module affects the output"


def test_zero_output_cell_logits_do_not_depend_on_input():
    arch = (3, 3, 3, 0, 0, 0)  # node 3 receives only `none`
    net = SPACE.build(arch, C=4, N=1)
    x1, x2 = torch.randn(4, 3, 16, 16), torch.randn(4, 3, 16, 16)
    y1, y2 = net(x1), net(x2)
    torch.testing.assert_close(y1, y2)
    assert y1.shape == (4, 10)


def test_forward_features_shape():
    net = SPACE.build((3, 1, 2, 4, 3, 0), C=4, N=1)
    assert net.forward_features(torch.randn(2, 3, 32, 32)).shape == (2, 16, 8, 8)


def test_channels_last_is_the_cpu_default_and_computes_the_same_function():
    torch.manual_seed(0)
    auto = SPACE.build((3, 2, 1, 3, 4, 3), C=4, N=1)
    plain = SPACE.build((3, 2, 1, 3, 4, 3), C=4, N=1, channels_last=False)
    plain.load_state_dict(auto.state_dict())
    x = torch.randn(6, 3, 16, 16)
    assert auto.forward_features(x).is_contiguous(memory_format=torch.channels_last)
    assert plain.forward_features(x).is_contiguous()
    for train in (True, False):
        auto.train(train)
        plain.train(train)
        torch.testing.assert_close(auto(x), plain(x), rtol=1e-5, atol=1e-5)
    auto(x).sum().backward()
    assert all(p.grad is None or p.grad.is_contiguous() for p in auto.parameters())
