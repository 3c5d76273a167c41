"""GradSign's fast path: per-sample sign counts without per-sample passes, checked against
brute force (one backward per sample) in float64, where they must agree exactly."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import nasrank
from nasrank.estimators.zero_cost import gradsign as gs

SPACE = nasrank.create_space("nb201")


def brute_counts(layer: nn.Module, x: torch.Tensor, gout: torch.Tensor) -> torch.Tensor:
    """sum_n sign(d <layer(x_n), gout_n> / d weight), one autograd call per sample."""
    total = torch.zeros_like(layer.weight)
    for j in range(x.shape[0]):
        w = layer.weight.detach().clone().requires_grad_(True)
        params = {"weight": w}
        if getattr(layer, "bias", None) is not None:
            params["bias"] = layer.bias.detach()
        out = torch.func.functional_call(layer, params, (x[j : j + 1],))
        (g,) = torch.autograd.grad((out * gout[j : j + 1]).sum(), w)
        total += torch.sign(g)
    return total


CONVS = [
    dict(in_channels=8, out_channels=6, kernel_size=3, padding=1),  # the NB201 3x3: shift path
    dict(in_channels=3, out_channels=6, kernel_size=3, padding=1),  # few input channels: im2col
    dict(in_channels=8, out_channels=6, kernel_size=1),  # 1x1: one product
    dict(in_channels=5, out_channels=6, kernel_size=3, stride=2, padding=1),  # strided: im2col
    dict(in_channels=5, out_channels=6, kernel_size=1, stride=2),
    dict(in_channels=8, out_channels=3, kernel_size=(3, 2), padding=(2, 0)),  # uneven, "valid" width
    dict(in_channels=8, out_channels=3, kernel_size=3, padding=3, dilation=2),  # dilated shift
    dict(in_channels=4, out_channels=3, kernel_size=3, stride=(2, 1), padding=1, dilation=(1, 2)),
    dict(in_channels=4, out_channels=6, kernel_size=3, padding=1, groups=2),  # general path
    dict(in_channels=4, out_channels=3, kernel_size=3, padding=1, padding_mode="reflect"),
    dict(in_channels=4, out_channels=3, kernel_size=3, padding="same", bias=True),
]


@pytest.mark.parametrize("cfg", CONVS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
@pytest.mark.parametrize("channels_last", [False, True])
def test_conv_sign_counts_equal_brute_force(cfg, channels_last, monkeypatch):
    monkeypatch.setattr(gs, "_CHUNK", 4)  # 11 samples: two full blocks and a partial one
    torch.manual_seed(0)
    cfg = dict(cfg)
    conv = nn.Conv2d(bias=cfg.pop("bias", False), **cfg).double()
    x = torch.randn(11, conv.in_channels, 9, 8, dtype=torch.float64)
    x[:, :, :2] = 0.0  # exact zeros in the input: zero gradients, sign(0) = 0
    gout = torch.randn_like(conv(x))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
        gout = gout.contiguous(memory_format=torch.channels_last)
    counter = gs._SignCounter()
    expected = brute_counts(conv, x, gout)
    assert torch.equal(counter(conv, x, gout), expected)
    # the cached buffers are reused by a second layer of the same shape, and by other batch sizes
    assert torch.equal(counter(conv, x, gout), expected)
    assert torch.equal(counter(conv, x[:3], gout[:3]), brute_counts(conv, x[:3], gout[:3]))


def test_linear_sign_counts_equal_brute_force():
    torch.manual_seed(0)
    lin = nn.Linear(7, 4).double()
    x = torch.randn(9, 7, dtype=torch.float64)
    gout = torch.randn(9, 4, dtype=torch.float64)
    assert torch.equal(gs._SignCounter()(lin, x, gout), brute_counts(lin, x, gout))


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("constant_channel", [False, True])
def test_sample_norm_is_batchnorm_of_each_sample(affine, channels_last, constant_channel):
    torch.manual_seed(0)
    bn = nn.BatchNorm2d(6, affine=affine).double()
    if affine:
        with torch.no_grad():
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-1, 1)
    x = (torch.randn(5, 6, 7, 4, dtype=torch.float64) * 3 + 2)  # one-pass statistics
    if constant_channel:  # zero variance (eps only): a large mean / spread, two-pass statistics
        x[1, 2] = 4.0
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    g = torch.randn_like(x)
    ref_x = x.clone().requires_grad_(True)
    ref = torch.cat([F.batch_norm(ref_x[j : j + 1], None, None, bn.weight, bn.bias, True, 0.0, bn.eps)
                     for j in range(5)])
    ref.backward(g)
    norm = gs._SampleNorm(bn)
    xx = x.clone().requires_grad_(True)
    out = norm(xx)
    out.backward(g)
    torch.testing.assert_close(out, ref.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(xx.grad, ref_x.grad, rtol=1e-10, atol=1e-10)
    assert out.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_sample_norm_rejects_single_values():
    norm = gs._SampleNorm(nn.BatchNorm2d(3))
    with pytest.raises(ValueError, match="more than one value per channel"):
        norm(torch.randn(4, 3, 1, 1))


ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|",
    "|nor_conv_1x1~0|+|none~0|nor_conv_3x3~1|+|avg_pool_3x3~0|none~1|none~2|",
    "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_1x1~2|",  # an all-zero node
]


@pytest.mark.parametrize("arch", ARCHS)
def test_vectorised_counts_equal_loop_exactly_in_float64(arch):
    torch.manual_seed(0)
    net = SPACE.build(SPACE.from_str(arch), C=8, N=1).double()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(20, 3, 16, 16, generator=g, dtype=torch.float64)
    y = torch.randint(0, 10, (20,), generator=g)
    vec = gs.sign_counts_vectorized(copy.deepcopy(net), x, y)
    loop = gs.sign_counts_loop(copy.deepcopy(net), x, y)
    assert len(vec) == len(loop)
    for a, b in zip(vec, loop, strict=True):
        assert torch.equal(a, b)


def test_float32_differences_are_rounding_of_near_zero_gradients():
    """In float32 both paths round differently; a few per-sample gradients that are tiny next to
    the layer's typical size can change sign. The float64 score is the reference for both."""
    torch.manual_seed(0)
    net = SPACE.build(SPACE.from_str(ARCHS[0]), C=8, N=1)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(24, 3, 16, 16, generator=g)
    y = torch.randint(0, 10, (24,), generator=g)
    exact = gs.gradsign_loop(copy.deepcopy(net).double(), x.double(), y)
    vec32 = gs.gradsign_vectorized(copy.deepcopy(net), x, y)
    loop32 = gs.gradsign_loop(copy.deepcopy(net), x, y)
    assert abs(vec32 - exact) <= 1e-4 * exact
    assert abs(loop32 - exact) <= 1e-4 * exact


def test_layer_called_twice_sums_per_sample_gradients_before_the_sign():
    torch.manual_seed(0)

    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(3)
            self.fc = nn.Linear(3, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            h = self.conv(torch.relu(self.bn(self.conv(x))))
            return self.fc(h.mean((2, 3)))

    net = Twice().double()
    x = torch.randn(7, 3, 6, 6, dtype=torch.float64)
    y = torch.randint(0, 4, (7,))
    vec = gs.sign_counts_vectorized(copy.deepcopy(net), x, y)
    loop = gs.sign_counts_loop(copy.deepcopy(net), x, y)
    for a, b in zip(vec, loop, strict=True):
        assert torch.equal(a, b)


def test_gradient_mode_of_the_caller_does_not_matter():
    torch.manual_seed(0)
    net = SPACE.build(SPACE.from_str(ARCHS[0]), C=4, N=1)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(6, 3, 16, 16, generator=g), torch.randint(0, 10, (6,), generator=g)
    expected = gs.gradsign_vectorized(copy.deepcopy(net), x, y)
    assert expected > 0
    with torch.no_grad():
        assert gs.gradsign_vectorized(copy.deepcopy(net), x, y) == expected
        assert gs.gradsign_loop(copy.deepcopy(net), x, y) > 0
