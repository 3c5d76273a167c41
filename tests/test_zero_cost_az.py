"""AZ-NAS components (nasrank.estimators.zero_cost.az_nas): exact values on small cases, sign, NaN."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import nasrank
from nasrank.estimators.zero_cost.az_nas import (
    az_nas_components,
    feature_entropy,
    trainability_score,
)
from nasrank.exceptions import ConfigError
from nasrank.testing.proxies import tiny_batch, tiny_network

NAMES = ["az-nas-expressivity", "az-nas-progressivity", "az-nas-trainability"]


def _np_entropy(f: np.ndarray) -> float:
    f = f.astype(np.float64)
    c = f.shape[1]
    x = np.moveaxis(f, 1, -1).reshape(-1, c)
    x = x - x.mean(0)
    s = np.clip(np.linalg.eigvalsh(x.T @ x / x.shape[0]), 0, None)
    p = s / s.sum()
    return float(-(p * np.log(p + 1e-8)).sum())


def _np_trainability(gi: np.ndarray, go: np.ndarray) -> float:
    gi, go = gi.astype(np.float64), go.astype(np.float64)
    m = np.moveaxis(gi, 1, -1).reshape(-1, gi.shape[1]).T @ np.moveaxis(go, 1, -1).reshape(-1, go.shape[1])
    s = np.linalg.svd(m / (go.shape[0] * go.shape[2] * go.shape[3]), compute_uv=False).max()
    return float(-s - 1 / (s + 1e-6) + 2)


def test_feature_entropy_matches_numpy() -> None:
    g = torch.Generator().manual_seed(0)
    f = torch.randn(3, 5, 4, 4, generator=g) * torch.arange(1, 6).view(1, 5, 1, 1)
    assert feature_entropy(f) == pytest.approx(_np_entropy(f.numpy()), rel=1e-9)
    # isotropic channels: entropy close to log C; one channel only: 0; constant map: NaN
    assert feature_entropy(torch.randn(4000, 3, generator=g)) == pytest.approx(math.log(3), abs=0.01)
    assert feature_entropy(torch.randn(50, 1, 2, 2, generator=g)) == pytest.approx(0.0, abs=1e-7)
    assert math.isnan(feature_entropy(torch.ones(4, 3, 2, 2)))


def test_trainability_score_matches_numpy_with_pixel_unshuffle() -> None:
    g = torch.Generator().manual_seed(1)
    go = torch.randn(2, 6, 2, 2, generator=g)
    gi = torch.randn(2, 3, 4, 4, generator=g)
    # pixel_unshuffle by 2: channel c*4 + 2*dy + dx holds position (2y + dy, 2x + dx)
    gi_u = gi.numpy().reshape(2, 3, 2, 2, 2, 2).transpose(0, 1, 3, 5, 2, 4).reshape(2, 12, 2, 2)
    assert trainability_score(gi, go) == pytest.approx(_np_trainability(gi_u, go.numpy()), rel=1e-9)
    same = torch.randn(2, 3, 2, 2, generator=g)
    assert trainability_score(3 * same, same) == pytest.approx(_np_trainability(3 * same.numpy(), same.numpy()))
    assert math.isnan(trainability_score(same, same))  # identity block (reference: -inf)
    assert math.isnan(trainability_score(torch.zeros_like(same), same))  # no gradient through
    # odd sizes: zero-padded to a multiple (5 -> 6 = 2 * 3)
    assert math.isfinite(trainability_score(torch.randn(2, 3, 5, 5, generator=g), torch.randn(2, 4, 3, 3, generator=g)))


class _Recorder(nn.Module):
    """stem + cells with the reference's ``extract_cell_features``; records the features it returns."""

    seen: list[list[torch.Tensor]] = []

    def __init__(self, cells: list[nn.Module]) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 1, bias=False)
        self.cells = nn.ModuleList(cells)
        self.head = nn.Linear(4, 2)

    def extract_cell_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        feats = [self.stem(x)]
        for c in self.cells:
            feats.append(c(feats[-1]))
        _Recorder.seen.append([f.detach().clone() for f in feats])
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.extract_cell_features(x)[-1].mean((2, 3)))


def test_components_are_the_documented_functions_of_the_features() -> None:
    _Recorder.seen.clear()
    net = _Recorder([nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()), nn.Conv2d(4, 4, 3, stride=2, padding=1)])
    v = az_nas_components(net, tiny_batch(), seed=2)
    (feats,) = _Recorder.seen
    ent = [_np_entropy(f.numpy()) for f in feats]
    assert v["expressivity"] == pytest.approx(sum(ent), rel=1e-6)
    assert v["progressivity"] == pytest.approx(min(ent[1] - ent[0], ent[2] - ent[1]), rel=1e-5, abs=1e-7)
    assert v["trainability"] <= 0  # 2 - s - 1/s <= 0
    # one linear block (1x1 conv W, no bias): M = W^T E[g g^T]; here check via one identity block
    _Recorder.seen.clear()
    assert math.isnan(az_nas_components(_Recorder([nn.Identity()]), tiny_batch())["trainability"])


def test_reference_init_makes_the_value_independent_of_the_weights() -> None:
    batch = tiny_batch()
    a = az_nas_components(tiny_network(seed=0), batch)
    b = az_nas_components(tiny_network(seed=1), batch)
    assert a == b
    kept = az_nas_components(tiny_network(seed=0), batch, init=None)
    assert kept != az_nas_components(tiny_network(seed=1), batch, init=None)
    assert az_nas_components(tiny_network(), batch, seed=1) != a  # the seed draws input and init
    with pytest.raises(ConfigError, match="init"):
        nasrank.compute_proxies(tiny_network(), batch, ["az-nas-trainability"], options={"az-nas-trainability": {"init": "xavier"}})


def test_proxies_share_one_pass_and_agree_with_the_function() -> None:
    calls = []

    class Counting(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = tiny_network()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            calls.append(1)
            return self.net(x)

    batch = tiny_batch()
    res = nasrank.compute_proxies(Counting(), batch, NAMES, seed=4)
    assert len(calls) == 1
    comp = az_nas_components(Counting(), batch, seed=4)
    assert [res[n] for n in NAMES] == [comp["expressivity"], comp["progressivity"], comp["trainability"]]
    assert all(nasrank.estimators.zero_cost.proxy_info(n)["higher_is_better"] for n in NAMES)


def test_nb201_cells() -> None:
    space = nasrank.create_space("nb201")
    x, y = torch.randn(4, 3, 8, 8), torch.randint(0, 10, (4,))
    dead = nasrank.compute_proxies(space.build((0, 0, 0, 0, 0, 0), C=4, N=1), (x, y), NAMES)
    assert all(math.isnan(v) for v in dead.values())  # output independent of the input
    ident = nasrank.compute_proxies(space.build((0, 0, 0, 1, 0, 0), C=4, N=1), (x, y), NAMES)
    assert math.isnan(ident["az-nas-trainability"]) and math.isfinite(ident["az-nas-expressivity"])
    conv = nasrank.compute_proxies(space.build((3, 3, 0, 1, 3, 4), C=4, N=1), (x, y), NAMES)
    assert all(math.isfinite(v) for v in conv.values()) and conv["az-nas-expressivity"] > 0


def test_darts_network() -> None:
    space = nasrank.create_space("darts")
    net = space.build(space.sample(np.random.default_rng(0)), C=4, layers=5)
    x, y = torch.randn(4, 3, 8, 8), torch.randint(0, 10, (4,))
    v = nasrank.compute_proxies(net, (x, y), NAMES)
    assert all(math.isfinite(s) for s in v.values()) and v["az-nas-trainability"] <= 0
