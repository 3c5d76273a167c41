"""The ``randwired`` space (RandWiredNN, Xie et al. 2019; seed 000 App. B).

Generators (determinism, edge counts, networkx cross-check when installed), encoding and string
format, the wiring as canonical key, the closed-form parameter / FLOP counts against the built
network and the paper's small-regime numbers, and one smoke test of everything generic (proxies,
live TSE training on digits, ``nasrank spaces show``).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import nasrank
from nasrank.data import DataSpec, load_dataset
from nasrank.exceptions import ConfigError, InvalidArchitectureError
from nasrank.nn import count_parameters
from nasrank.spaces.randwired import (
    SETTINGS,
    RandWiredSpace,
    Stream,
    barabasi_albert,
    erdos_renyi,
    watts_strogatz,
)
from nasrank.spaces.randwired.graphs import to_dag


@pytest.fixture(scope="module")
def space() -> RandWiredSpace:
    return nasrank.create_space("randwired")


# --- generators ---------------------------------------------------------------------------------
def test_streams_and_graphs_are_pinned() -> None:
    # raw PCG64 / SeedSequence output is fixed by their published algorithms, and the generators
    # use no other randomness: if these values change, every stored RandWiredNN graph changed
    s = Stream([0x52574E4E, 2, 4000, 750, 3, 0])
    assert [s.integer(1000) for _ in range(4)] == [124, 568, 315, 60]
    assert Stream([5]).uniform() == 0.8050029237453802
    g = RandWiredSpace().cell_graphs((2, 1, 3, 3))  # WS:K=4,P=0.75:seed=3
    assert g[0][:6] == ((0, 26), (0, 28), (1, 15), (1, 21), (1, 23), (1, 30))


def test_generators_structure() -> None:
    n = 32
    for p in (0.0, 0.3, 1.0):
        e = erdos_renyi(n, p, Stream([1]))
        assert all(i < j for i, j in e)
        if p == 0.0:
            assert e == []
        if p == 1.0:
            assert len(e) == n * (n - 1) // 2
    for m in (1, 3, 8):
        e = barabasi_albert(n, m, Stream([2]))
        assert len(e) == m * (n - m) and len(set(e)) == len(e)
        deg = np.bincount(np.array(e).ravel(), minlength=n)
        assert deg.min() >= 1  # every node takes part
    for k in (2, 4, 8):
        ring = watts_strogatz(n, k, 0.0, Stream([3]))
        assert len(ring) == n * k // 2 and ring == watts_strogatz(n, k, 0.0, Stream([99]))
        rewired = watts_strogatz(n, k, 0.75, Stream([3]))
        assert len(rewired) == n * k // 2 and rewired != ring
    assert to_dag(4, [(3, 1), (1, 3), (0, 2)]) == [(0, 2), (1, 3)]
    with pytest.raises(ConfigError, match="even int"):
        watts_strogatz(n, 3, 0.5, Stream([0]))


def test_generator_statistics_match_networkx_when_installed() -> None:
    nx = pytest.importorskip("networkx")
    n, reps = 32, 40
    ours = np.mean([len(erdos_renyi(n, 0.2, Stream([s]))) for s in range(reps)])
    theirs = np.mean([nx.erdos_renyi_graph(n, 0.2, seed=s).number_of_edges() for s in range(reps)])
    assert abs(ours - theirs) < 12 and abs(ours - 0.2 * n * (n - 1) / 2) < 12
    ours_ws = [watts_strogatz(n, 4, 0.5, Stream([s])) for s in range(reps)]
    clust = np.mean([nx.average_clustering(nx.Graph(e)) for e in ours_ws])
    ref = np.mean([nx.average_clustering(nx.watts_strogatz_graph(n, 4, 0.5, seed=s)) for s in range(reps)])
    assert abs(clust - ref) < 0.08
    ba_max = np.mean([max(np.bincount(np.array(barabasi_albert(n, 2, Stream([s]))).ravel())) for s in range(reps)])
    ref_ba = np.mean([max(dict(nx.barabasi_albert_graph(n, 2, seed=s).degree()).values()) for s in range(reps)])
    assert abs(ba_max - ref_ba) < 4  # hubs of comparable size


# --- encoding -----------------------------------------------------------------------------------
def test_settings_and_strings(space: RandWiredSpace) -> None:
    assert len(SETTINGS) == 36 and space.size == 36 * 100
    for text, arch in [("ER:P=0.2:seed=5", (0, 1, 0, 5)), ("BA:M=5:seed=0", (1, 4, 0, 0)),
                       ("WS:K=4,P=0.75:seed=3", (2, 1, 3, 3)), ("WS:K=8,P=0.0:seed=99", (2, 3, 0, 99))]:
        assert space.from_str(text) == arch and space.to_str(arch) == text
    assert space.from_str(" ws : p=0.75 , k=4 : SEED=3 ") == (2, 1, 3, 3)
    for bad in ["ER:P=0.25:seed=1", "XX:P=0.2:seed=1", "BA:M=5,P=0.1:seed=1", "WS:K=4:seed=1",
                "ER:P=0.2:seed=100", "ER:P=0.2", "ER:P=abc:seed=1"]:
        with pytest.raises(InvalidArchitectureError):
            space.from_str(bad)
    with pytest.raises(InvalidArchitectureError):
        space.validate((0, 1, 1, 0))  # ER has no second hyperparameter
    assert space.project((0, 5, 3, 2)) == (0, 5, 0, 2) and space.project((2, 7, 4, 2)) == (2, 3, 4, 2)
    with pytest.raises(ConfigError):
        RandWiredSpace(nodes=8)


def test_graphs_are_deterministic_and_cells_differ(space: RandWiredSpace) -> None:
    a = space.from_str("ER:P=0.2:seed=1")
    g = space.cell_graphs(a)
    assert g == RandWiredSpace().cell_graphs(a)
    assert len({g[0], g[1], g[2]}) == 3  # one independent draw per cell
    assert g != space.cell_graphs(space.from_str("ER:P=0.2:seed=2"))
    assert g != space.cell_graphs(space.from_str("ER:P=0.3:seed=1"))
    ring = space.from_str("WS:K=4,P=0.0:seed=7")
    assert space.canonical(ring) == (2, 1, 0, 0)
    assert space.canonical_key(ring) == space.canonical_key((2, 1, 0, 0))
    assert RandWiredSpace(nodes=16).cell_graphs(a) != g


def test_neighbours_connect_families(space: RandWiredSpace) -> None:
    nb = space.neighbours((2, 1, 3, 3))  # WS K=4 P=0.75
    assert (2, 0, 3, 3) in nb and (2, 2, 3, 3) in nb and (2, 1, 2, 3) in nb and (2, 1, 4, 3) in nb
    assert (0, 1, 0, 3) in nb and (1, 1, 0, 3) in nb
    assert all(space.setting(b) != (2, 1, 3) or b[3] in (2, 4) for b in nb)
    assert (2, 1, 3, 3) in space.neighbours((0, 1, 0, 3))


# --- networks -----------------------------------------------------------------------------------
def test_closed_form_counts_match_network_and_paper(space: RandWiredSpace) -> None:
    a = space.from_str("BA:M=3:seed=4")
    cfg = space.default_config("search")
    net = space.build(a, num_classes=7, in_channels=1, **cfg)
    assert count_parameters(net) == space.num_params(a, num_classes=7, in_channels=1, **cfg)
    # MACs counted by hooks on the convolutions and the linear layer
    macs = []

    def hook(mod: torch.nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        if isinstance(mod, torch.nn.Conv2d):
            macs.append(out[0].numel() * mod.in_channels // mod.groups * mod.kernel_size[0] * mod.kernel_size[1])
        else:
            macs.append(mod.in_features * mod.out_features)

    for m in net.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            m.register_forward_hook(hook)
    net.eval()(torch.zeros(1, 1, 16, 16))
    assert sum(macs) == space.flops(a, input_size=(1, 16, 16), num_classes=7, **cfg)
    # Xie et al. Tab. 2, small regime RandWire-WS (K=4, P=0.75), C=78: 583M FLOPs, 5.6M parameters
    ws = [space.from_str(f"WS:K=4,P=0.75:seed={s}") for s in range(5)]
    params = np.mean([space.num_params(w, num_classes=1000) for w in ws]) / 1e6
    flops = np.mean([space.flops(w, num_classes=1000) for w in ws]) / 1e6
    assert abs(params - 5.6) < 0.15 and abs(flops - 583) < 20


def test_conformance_suite(space: RandWiredSpace) -> None:
    from nasrank.testing import check_search_space

    check_search_space(space)


def test_smoke_proxies_live_tse_and_cli(space: RandWiredSpace, capsys: pytest.CaptureFixture) -> None:
    from nasrank.cli import main
    from nasrank.search import LiveEvaluator

    x, y = load_dataset("digits").batch(torch.arange(16))
    torch.manual_seed(0)
    arch = space.from_str("WS:K=4,P=0.75:seed=0")
    net = space.build(arch, in_channels=1, **space.default_config("tiny"))
    scores = nasrank.compute_proxies(net, (x, y), ["synflow", "nwot", "zen", "params"], seed=0)
    assert all(math.isfinite(float(v)) for v in scores.values()), scores

    ev = LiveEvaluator(DataSpec("digits", train_size=64, val_size=32, test_size=32), "tse-ema", epochs=1,
                       space="randwired", space_config=space.default_config("tiny"))
    rec = ev.evaluate(arch)
    assert rec.status == "ok", rec.error
    assert math.isfinite(ev.score(rec)) and ev.cost(rec) > 0

    assert main(["spaces", "show", "randwired", "--arch", "ER:P=0.2:seed=1", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["encoding"] == [0, 1, 0, 1] and info["params"] > 0 and info["flops"] > 0
    assert "multiply-accumulates" in info["flops_convention"]
    assert main(["spaces", "show", "randwired", "--arch", "ER:P=0.25:seed=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error:") and "grid" in err and err.count("\n") == 0
