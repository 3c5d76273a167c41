"""TE-NAS components (``ntk-cond``, ``linear-regions``, :func:`te_nas_rank`) and VKDNW
(``vkdnw``, ``vkdnw-entropy``, :func:`vkdnw_aggregate`): closed forms on tiny models."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import nasrank
from nasrank.estimators.zero_cost import proxy_info
from nasrank.estimators.zero_cost.te_nas import (
    count_linear_regions,
    ntk_condition_number,
    te_nas_rank,
)
from nasrank.estimators.zero_cost.vkdnw import (
    _cov_factor,
    vkdnw_aggregate,
    vkdnw_entropy,
    vkdnw_fisher,
)
from nasrank.exceptions import ConfigError
from nasrank.testing.proxies import tiny_batch, tiny_network

SPACE = nasrank.create_space("nb201")
NO_PATH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|none~2|"


def _two_layer(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4, bias=True), nn.Linear(4, 2, bias=True))


def test_signs_and_metadata() -> None:
    assert proxy_info("ntk-cond")["higher_is_better"] is False
    assert proxy_info("linear-regions")["higher_is_better"] is True
    assert proxy_info("vkdnw")["higher_is_better"] is True
    assert proxy_info("vkdnw")["bn_mode"] == "eval"
    assert proxy_info("ntk-cond")["batch_size"] == 64


def test_ntk_condition_number_matches_closed_form() -> None:
    """f(x) = 1^T (W2 (W1 x + b1) + b2); the biases are not differentiated (no 'weight' in
    their names), so NTK_ij = n_out (h_i . h_j) + |W2^T 1|^2 (x_i . x_j), h = W1 x + b1."""
    net = _two_layer()
    x = torch.randn(3, 3, generator=torch.Generator().manual_seed(1))  # N <= input dim: full rank
    W1, b1, W2 = (t.detach().double().numpy() for t in (net[0].weight, net[0].bias, net[1].weight))
    X = x.double().numpy()
    H = X @ W1.T + b1
    u = W2.sum(0)
    K = 2 * H @ H.T + (u @ u) * X @ X.T
    ev = np.linalg.eigvalsh(K)
    assert ntk_condition_number(net, x) == pytest.approx(ev[-1] / ev[0], rel=1e-5)


def test_ntk_cond_nan_when_singular() -> None:
    net = _two_layer()
    x = torch.randn(1, 3).repeat(4, 1)  # identical samples: rank-1 NTK
    assert math.isnan(ntk_condition_number(net, x))
    v = nasrank.compute_proxies(SPACE.build(SPACE.from_str(NO_PATH), C=4, N=1), tiny_batch(size=4),
                                ["ntk-cond"])["ntk-cond"]
    assert math.isnan(v)


def test_ntk_cond_uses_real_batch_in_train_mode() -> None:
    net, (x, y) = tiny_network(), tiny_batch()
    v = nasrank.compute_proxies(net, (x, y), ["ntk-cond"])["ntk-cond"]
    copy = tiny_network().train()
    assert v == pytest.approx(ntk_condition_number(copy, x), rel=1e-9)
    assert v != nasrank.compute_proxies(net, (x * 2 + 1, y), ["ntk-cond"])["ntk-cond"]


class _ConvRelu(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 1, bias=False)
        self.relu = nn.ReLU()
        self.head = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.relu(self.conv(x)).flatten(1))


def test_count_linear_regions_counts_distinct_patterns() -> None:
    net = _ConvRelu()
    with torch.no_grad():
        net.conv.weight.copy_(torch.tensor([1.0, -1.0]).reshape(2, 1, 1, 1))
    # units: (x > 0, -x > 0): patterns (1,0), (0,1) and (0,0) for x = 0
    x = torch.tensor([1.0, 2.0, -1.0, 0.0, 3.0]).reshape(5, 1, 1, 1)
    assert count_linear_regions(net, x) == 3.0
    # the reference's sum_i 1/#(same pattern) equals the count
    codes = np.array([[1, 0], [1, 0], [0, 1], [0, 0], [1, 0]])
    same = (codes[:, None, :] == codes[None, :, :]).all(-1).sum(1)
    assert (1.0 / same).sum() == pytest.approx(3.0)


def test_linear_regions_nan_cases() -> None:
    mlp = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))  # ReLU on 2-D tensors only
    assert math.isnan(count_linear_regions(mlp, torch.randn(4, 3)))
    net = SPACE.build(SPACE.from_str(NO_PATH), C=4, N=1)
    assert math.isnan(nasrank.compute_proxies(net, tiny_batch(size=4), ["linear-regions"])["linear-regions"])


def test_linear_regions_reads_random_inputs_only() -> None:
    net, (x, y) = tiny_network(), tiny_batch()
    a = nasrank.compute_proxies(net, (x, y), ["linear-regions"], seed=5)["linear-regions"]
    b = nasrank.compute_proxies(net, (torch.zeros_like(x), y), ["linear-regions"], seed=5)["linear-regions"]
    assert a == b and 1 <= a <= x.shape[0]


def test_te_nas_rank() -> None:
    r = te_nas_rank([10.0, 100.0, 50.0, float("nan")], [30.0, 60.0, 60.0, 90.0])
    assert r[:3].tolist() == [4.0, 3.5, 4.5] and math.isnan(r[3])
    with pytest.raises(ConfigError, match="one value per architecture"):
        te_nas_rank([1.0], [1.0, 2.0])


def _reference_L(p: np.ndarray) -> np.ndarray:
    """The Tanabe-Sagae factor written out element by element."""
    c = p.size
    q = 1 - np.cumsum(p)
    q[-1] = 0.0
    L = np.eye(c)
    for i in range(c):
        for j in range(i):
            L[i, j] = -p[i] / q[j] if q[j] > 0 else 0.0
    q_prev = np.concatenate([[1.0], q[:-1]])
    return L * np.sqrt(p * q / q_prev)[None, :]


def test_cov_factor_is_a_cholesky_factor() -> None:
    logits = torch.randn(3, 5, generator=torch.Generator().manual_seed(0))
    L = _cov_factor(logits)
    smooth = float(torch.tensor(0.05, dtype=torch.float16))
    for n in range(3):
        p = torch.softmax(logits[n].double(), 0).numpy() * (1 - smooth) + smooth / 5
        np.testing.assert_allclose(L[n].numpy(), _reference_L(p), atol=1e-12)
        np.testing.assert_allclose(L[n].numpy() @ L[n].numpy().T, np.diag(p) - np.outer(p, p), atol=1e-12)


def test_vkdnw_fisher_on_a_linear_model() -> None:
    """logits = W x + b: the first elements W[0, 0] and b[0] have Jacobian columns x_0 e_0 and e_0."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4)).eval()
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(2))
    F = vkdnw_fisher(net, x).numpy()
    logits = net(x).detach().double()
    smooth = float(torch.tensor(0.05, dtype=torch.float16))
    want = np.zeros((2, 2))
    for n in range(6):
        p = torch.softmax(logits[n], 0).numpy() * (1 - smooth) + smooth / 4
        J = np.zeros((4, 2))
        J[0, 0], J[0, 1] = float(x[n, 0]), 1.0
        A = _reference_L(p) @ J
        want += A.T @ A / 6
    np.testing.assert_allclose(F, want, rtol=1e-6, atol=1e-12)


def test_vkdnw_entropy_closed_forms() -> None:
    assert vkdnw_entropy(torch.eye(4)) == pytest.approx(math.log(9), abs=1e-8)
    lam = torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0, 10.0])
    q = np.quantile(lam.numpy(), np.arange(1, 10) / 10)
    t = q / (q.sum() + 1e-10)
    assert vkdnw_entropy(torch.diag(lam)) == pytest.approx(-(t * np.log(t + 1e-10)).sum(), rel=1e-9)
    assert math.isnan(vkdnw_entropy(torch.zeros(3, 3)))


def test_vkdnw_integer_part_counts_tensors_and_reinit_discards_weights() -> None:
    batch = tiny_batch()
    a = nasrank.compute_proxies(tiny_network(seed=0), batch, ["vkdnw"], seed=1)["vkdnw"]
    b = nasrank.compute_proxies(tiny_network(seed=7), batch, ["vkdnw"], seed=1)["vkdnw"]
    e = nasrank.compute_proxies(tiny_network(seed=0), batch, ["vkdnw-entropy"], seed=1)["vkdnw-entropy"]
    assert a == b  # re-initialised from the seed: the caller's weights do not matter
    assert int(a) == len(list(tiny_network().parameters())) == 8
    assert a - 8 == pytest.approx(e / math.log(10))
    keep = dict(reinit=False)
    c = nasrank.compute_proxies(tiny_network(seed=0), batch, ["vkdnw"], options={"vkdnw": keep})["vkdnw"]
    d = nasrank.compute_proxies(tiny_network(seed=7), batch, ["vkdnw"], options={"vkdnw": keep})["vkdnw"]
    assert c != d


def test_vkdnw_and_its_entropy_together_compute_the_fisher_once(monkeypatch) -> None:
    from nasrank.estimators.zero_cost import vkdnw as mod

    batch = tiny_batch()
    alone = {n: nasrank.compute_proxies(tiny_network(), batch, [n], seed=3)[n] for n in ("vkdnw", "vkdnw-entropy")}
    calls = []
    real = mod.vkdnw_fisher
    monkeypatch.setattr(mod, "vkdnw_fisher", lambda *a, **k: calls.append(1) or real(*a, **k))
    both = nasrank.compute_proxies(tiny_network(), batch, ["vkdnw", "vkdnw-entropy"], seed=3)
    assert len(calls) == 1
    assert both == alone  # bit-identical to computing each alone
    # other options are another computation, within the same call too
    calls.clear()
    nasrank.compute_proxies(tiny_network(), batch, ["vkdnw", "vkdnw-entropy"], seed=3,
                            options={"vkdnw": {"per_tensor": 2}})
    assert len(calls) == 2


def test_vkdnw_nan_on_a_cell_without_path_and_bad_options() -> None:
    net = SPACE.build(SPACE.from_str(NO_PATH), C=4, N=1)
    assert math.isnan(nasrank.compute_proxies(net, tiny_batch(size=4), ["vkdnw"])["vkdnw"])
    with pytest.raises(ConfigError, match="max_tensors"):
        nasrank.compute_proxies(tiny_network(), tiny_batch(), ["vkdnw"], options={"vkdnw": {"max_tensors": 0}})


def test_vkdnw_aggregate() -> None:
    out = vkdnw_aggregate([1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3], [3, 2, float("nan")])
    assert out[:2] == pytest.approx([math.log(2), 4 * math.log(2)])
    assert math.isnan(out[2])
    with pytest.raises(ConfigError, match="one value per architecture"):
        vkdnw_aggregate([1], [1], [1], [1], [1, 2])


def test_linear_regions_chunks_and_options() -> None:
    net = _ConvRelu()
    with torch.no_grad():
        net.conv.weight.copy_(torch.tensor([1.0, -1.0]).reshape(2, 1, 1, 1))
    chunks = [torch.tensor([1.0, 2.0]).reshape(2, 1, 1, 1), torch.tensor([-1.0, 0.0, 3.0]).reshape(3, 1, 1, 1)]
    assert count_linear_regions(net, chunks) == 3.0
    opts = {"linear-regions": {"num_samples": 20, "image_size": 3}}
    v = nasrank.compute_proxies(tiny_network(), tiny_batch(), ["linear-regions"], options=opts)["linear-regions"]
    assert 1 <= v <= 20
    with pytest.raises(ConfigError, match="num_samples"):
        nasrank.compute_proxies(tiny_network(), tiny_batch(), ["linear-regions"],
                                options={"linear-regions": {"num_samples": 0}})
