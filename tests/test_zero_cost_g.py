"""zico, meco, epe-nas and swap: exact values on small hand-checkable networks, signs, NaN cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import nasrank
from nasrank.estimators.zero_cost import proxy_info
from nasrank.estimators.zero_cost.epe_nas import epe_nas_score
from nasrank.estimators.zero_cost.meco import min_channel_correlation_eigenvalue
from nasrank.estimators.zero_cost.swap import count_activation_patterns, swap_regulariser
from nasrank.estimators.zero_cost.zico import zico_from_gradients
from nasrank.exceptions import ConfigError
from nasrank.testing.proxies import tiny_batch, tiny_network


def _sum_loss(out: torch.Tensor, _y: torch.Tensor) -> torch.Tensor:
    return out.sum()


def _zico_numpy(rows: np.ndarray) -> float:
    std = rows.std(axis=0)
    keep = std != 0
    return float(np.log((np.abs(rows).mean(axis=0)[keep] / std[keep]).sum()))


# ---------------------------------------------------------------- zico
@pytest.mark.parametrize("accumulate", [False, True])
def test_zico_matches_a_hand_computation(accumulate: bool) -> None:
    """One bias-free Linear layer with loss = sum of outputs: dL/dW[i, :] = sum of the split's x."""
    net = nn.Sequential(nn.Linear(3, 2, bias=False))
    x = torch.tensor([[1.0, 2.0, 0.5], [0.0, 1.0, 1.0], [2.0, -1.0, 1.0], [1.0, 1.0, 3.0]], dtype=torch.float64)
    y = torch.zeros(4, dtype=torch.long)
    net = net.double()
    g1 = np.tile(x[:2].sum(0).numpy(), 2)
    g2 = np.tile(x[2:].sum(0).numpy(), 2)
    rows = np.stack([g1, g1 + g2] if accumulate else [g1, g2])
    v = nasrank.compute_proxies(net, (x, y), ["zico"], loss_fn=_sum_loss,
                                options={"zico": {"accumulate": accumulate}})["zico"]
    assert v == pytest.approx(_zico_numpy(rows), rel=1e-12)


def test_zico_from_gradients_skips_constant_weights_and_layers() -> None:
    a = torch.tensor([[1.0, 2.0, 5.0], [3.0, 2.0, 1.0]])
    const = torch.ones(2, 4)
    assert zico_from_gradients([a, const]) == pytest.approx(_zico_numpy(a.numpy()))
    assert math.isnan(zico_from_gradients([const]))


def test_zico_is_nan_when_no_gradient_varies() -> None:
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    nn.init.zeros_(net[0].weight)
    nn.init.zeros_(net[0].bias)  # hidden units all 0: every weight gradient is 0
    x = torch.randn(4, 3)
    assert math.isnan(nasrank.compute_proxies(net, (x, torch.zeros(4, dtype=torch.long)), ["zico"])["zico"])


def test_zico_options_are_validated() -> None:
    with pytest.raises(ConfigError, match="splits"):
        nasrank.compute_proxies(nn.Linear(2, 2), (torch.ones(2, 2), torch.zeros(2, dtype=torch.long)), ["zico"],
                                options={"zico": {"splits": 1}})


# ---------------------------------------------------------------- meco
def test_min_channel_correlation_eigenvalue_matches_numpy() -> None:
    g = torch.Generator().manual_seed(0)
    f = torch.randn(5, 4, 4, generator=g)
    ref = np.linalg.eigvalsh(np.corrcoef(f.reshape(5, -1).double().numpy())).min()
    assert min_channel_correlation_eigenvalue(f) == pytest.approx(ref, abs=1e-12)


def test_min_channel_correlation_eigenvalue_zeroes_constant_channels() -> None:
    f = torch.tensor([[1.0, 2.0, 4.0], [2.0, 2.0, 2.0], [0.0, 1.0, 3.0]])
    with np.errstate(all="ignore"):
        corr = np.corrcoef(f.double().numpy())
    corr[~np.isfinite(corr)] = 0.0
    assert min_channel_correlation_eigenvalue(f) == pytest.approx(np.linalg.eigvalsh(corr).min(), abs=1e-12)
    assert min_channel_correlation_eigenvalue(torch.ones(3, 4)) is None
    assert min_channel_correlation_eigenvalue(torch.ones(1, 4)) is None


def test_meco_of_an_identity_convolution_is_one_minus_abs_correlation_per_module() -> None:
    """Sequential(Conv2d 1x1 identity): two hooked modules (the container and the conv), both
    output the first sample's two channels, whose correlation matrix has eigenvalues 1 +- |r|."""
    conv = nn.Conv2d(2, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.eye(2).reshape(2, 2, 1, 1))
    net = nn.Sequential(conv)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 2, 4, 4, generator=g)
    r = np.corrcoef(x[0, 0].reshape(-1).double().numpy(), x[0, 1].reshape(-1).double().numpy())[0, 1]
    v = nasrank.compute_proxies(net, (x, torch.zeros(3, dtype=torch.long)), ["meco"])["meco"]
    assert v == pytest.approx(2 * (1 - abs(r)), abs=1e-6)


def test_meco_options() -> None:
    net, batch = tiny_network(), tiny_batch()
    plain = nasrank.compute_proxies(net, batch, ["meco"])["meco"]
    # more channels requested than any module has: MeCo_opt is plain MeCo
    assert nasrank.compute_proxies(net, batch, ["meco"], options={"meco": {"channels": 64}})["meco"] == plain
    a = nasrank.compute_proxies(net, batch, ["meco"], seed=1, options={"meco": {"input": "gaussian"}})["meco"]
    b = nasrank.compute_proxies(net, batch, ["meco"], seed=2, options={"meco": {"input": "gaussian"}})["meco"]
    assert a != b and math.isfinite(a) and math.isfinite(b)
    with pytest.raises(ConfigError, match="input"):
        nasrank.compute_proxies(net, batch, ["meco"], options={"meco": {"input": "noise"}})


# ---------------------------------------------------------------- epe-nas
def _epe_numpy(jac: np.ndarray, labels: np.ndarray, k: float = 1e-5) -> float:
    total = 0.0
    for c in np.unique(labels):
        rows = jac[labels == c]
        corr = np.corrcoef(rows) if len(rows) > 1 else np.array([[1.0]])
        total += abs(np.log(np.abs(corr) + k).sum())
    return total


def test_epe_nas_matches_an_independent_jacobian() -> None:
    """Linear-ReLU-Linear: d(sum of logits)/dx_i = W1^T (relu'(W1 x_i + b1) * (1^T W2)), in numpy."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3)).double()
    x = torch.randn(7, 4, dtype=torch.float64)
    y = torch.tensor([0, 1, 0, 2, 1, 0, 1])
    w1, b1, w2 = (t.detach().numpy() for t in (net[0].weight, net[0].bias, net[2].weight))
    mask = (x.numpy() @ w1.T + b1) > 0
    jac = (mask * w2.sum(0)) @ w1
    v = nasrank.compute_proxies(net, (x, y), ["epe-nas"])["epe-nas"]
    assert v == pytest.approx(_epe_numpy(jac, y.numpy()), rel=1e-9)
    assert proxy_info("epe_nas")["name"] == "epe-nas" and proxy_info("epe-nas")["higher_is_better"]


def test_epe_nas_many_classes_branch_and_nan() -> None:
    jac = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 2.5], [0.0, 1.0, 0.5]])
    labels = np.array([0, 0, 1])
    k = 1e-5
    s0 = np.log(np.abs(np.corrcoef(jac[:2])) + k).sum() / 2
    s1 = np.log(1 + k)
    assert epe_nas_score(jac, labels, n_classes=101) == pytest.approx(2 * abs(s0 - s1) / 2)
    assert epe_nas_score(jac, labels) == pytest.approx(abs(s0 * 2) + abs(s1))
    jac[0] = 5.0  # a row without variance: its correlations are undefined
    assert math.isnan(epe_nas_score(jac, labels))


# ---------------------------------------------------------------- swap
@pytest.mark.parametrize("n", [3, 16, 21, 70])
def test_count_activation_patterns_matches_a_set(n: int) -> None:
    g = torch.Generator().manual_seed(n)
    ts = [torch.randn(n, 2, 3, 3, generator=g) for _ in range(3)] + [torch.randn(n, 5, generator=g).sign()]
    bits = torch.cat([(t.reshape(n, -1) > 0).T for t in ts], 0)
    assert count_activation_patterns(ts) == len({tuple(r.tolist()) for r in bits})


def test_swap_counts_the_patterns_of_a_hand_network() -> None:
    """Conv 1x1 (weights +1 and -1) then ReLU: the units' patterns are sign(x) and sign(-x)."""
    conv = nn.Conv2d(1, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, -1.0]).reshape(2, 1, 1, 1))
    net = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.Linear(8, 2))
    x = torch.tensor([[1.0, -1.0, 2.0, 3.0], [1.0, 1.0, -2.0, 3.0]]).reshape(2, 1, 2, 2)
    y = torch.zeros(2, dtype=torch.long)
    # unit patterns over the 2 samples: +x: 11, 01, 10, 11; -x: 00, 10, 01, 00 -> {11, 01, 10, 00}
    v = nasrank.compute_proxies(net, (x, y), ["swap"], options={"swap": {"init": "as-built"}})["swap"]
    assert v == 4.0
    reg = nasrank.compute_proxies(net, (x, y), ["swap"],
                                  options={"swap": {"init": "as-built", "mu": 0.01, "sigma": 2.0}})["swap"]
    n_params = sum(p.numel() for p in net.parameters())
    assert reg == pytest.approx(4.0 * math.exp(-((n_params / 1e3 - 0.01) ** 2) / 2.0))
    assert swap_regulariser(n_params, n_params / 1e3, 1.0) == 1.0


def test_swap_is_nan_without_relu_and_validates_options() -> None:
    net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.Flatten(), nn.Linear(8, 2))
    batch = (torch.randn(3, 1, 2, 2), torch.zeros(3, dtype=torch.long))
    assert math.isnan(nasrank.compute_proxies(net, batch, ["swap"], options={"swap": {"repeats": 2}})["swap"])
    with pytest.raises(ConfigError, match="mu"):
        nasrank.compute_proxies(net, batch, ["swap"], options={"swap": {"mu": 1.0}})


def test_swap_gaussian_reinitialisation_is_seeded() -> None:
    net, batch = tiny_network(), tiny_batch()
    opts = {"swap": {"repeats": 3}}
    a = nasrank.compute_proxies(net, batch, ["swap"], seed=5, options=opts)["swap"]
    assert a == nasrank.compute_proxies(net, batch, ["swap"], seed=5, options=opts)["swap"]
    assert 1 <= a <= 2 ** batch[0].shape[0]


# ---------------------------------------------------------------- together
def test_all_four_on_a_degenerate_nb201_cell() -> None:
    """A cell with no path from input to output: the gradient/correlation proxies are NaN; SWAP
    still counts (its ReLUs, if any, see constant inputs: at most one pattern per layer)."""
    net = nasrank.create_space("nb201").build((0, 0, 0, 0, 0, 0), C=4, N=1)
    g = torch.Generator().manual_seed(0)
    batch = (torch.randn(4, 3, 8, 8, generator=g), torch.tensor([0, 1, 0, 1]))
    r = nasrank.compute_proxies(net, batch, ["zico", "meco", "epe-nas", "swap"], options={"swap": {"repeats": 1}})
    assert math.isnan(r["zico"]) and math.isnan(r["meco"]) and math.isnan(r["epe-nas"])
    assert math.isnan(r["swap"]) or r["swap"] <= 2
