"""The MobileNet-like (ProxylessNAS) space ``mobilenet``: published networks, encoding, canonical
form, supernet, and one fast smoke run of the generic machinery (proxies, live TSE training,
``nasrank spaces show``, Zero-Cost-PT, a supernet method step).

The conformance suites (tests/test_spaces_conformance.py, test_search.py, test_oneshot_protocols.py)
cover the rest through the registry.
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
from nasrank.nn import Identity, count_parameters
from nasrank.spaces.mobilenet import PUBLISHED, MobileNetSpace
from nasrank.spaces.mobilenet.encoding import FIRST_OF_STAGE, SKIP, STAGE_BLOCKS


@pytest.fixture(scope="module")
def space() -> MobileNetSpace:
    return nasrank.create_space("mobilenet")


def _digits_batch(n: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    return load_dataset("digits").batch(torch.arange(n))


# --- published networks ----------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_networks_have_their_published_size(space: MobileNetSpace, name: str) -> None:
    net = PUBLISHED[name]
    arch = space.from_str(net.arch_str)
    assert space.to_str(arch) == net.arch_str
    assert space.num_params(arch, num_classes=1000, widths=net.widths) == net.params
    if net.flops_m is not None:
        flops = space.flops(arch, (3, 224, 224), num_classes=1000, widths=net.widths) / 1e6
        assert abs(flops - net.flops_m) < (1.0 if name == "mobilenetv2" else 0.05)


def test_built_network_matches_closed_form_and_runs_at_224(space: MobileNetSpace) -> None:
    gpu = PUBLISHED["proxylessnas-gpu"]
    net = space.build(gpu.arch_str, num_classes=1000, widths=gpu.widths).eval()
    assert count_parameters(net) == 7_119_848
    with torch.no_grad():
        assert net(torch.randn(1, 3, 224, 224)).shape == (1, 1000)
    # a skip block is the identity module (ProxylessNAS-GPU has 8 of them)
    assert sum(isinstance(b, Identity) for b in net.blocks) == gpu.arch.count(SKIP) == 8


# --- encoding --------------------------------------------------------------------------------
def test_string_format_and_aliases(space: MobileNetSpace) -> None:
    a = space.sample(0)
    s = space.to_str(a)
    assert s.count("|") == len(STAGE_BLOCKS) - 1 and space.from_str(s) == a
    flat = s.replace("|", ",")
    assert space.from_str(flat) == a
    proxyless = ",".join(["5x5_MBConv3", "zero", "Identity", "skip"] + ["7x7_MBConv6"] * 17)
    assert space.from_str(proxyless)[:5] == (3, 0, 0, 0, 6)
    assert space.size == 6**6 * 7**15 and len(space.neighbours(a)) == 6 * 5 + 15 * 6
    assert [len(c) for c in space.choices()] == [6 if f else 7 for f in FIRST_OF_STAGE]


@pytest.mark.parametrize("bad", [
    "MB6_3x3",                                          # too short
    "skip," + ",".join(["MB6_3x3"] * 20),               # skip at the first block of a stage
    ",".join(["MB6_9x9"] * 21),                         # unknown block
    "|".join(["MB6_3x3"] * 6),                          # stages of the wrong length
])
def test_malformed_strings_raise_one_line_errors(space: MobileNetSpace, bad: str) -> None:
    with pytest.raises(InvalidArchitectureError) as err:
        space.from_str(bad)
    assert "\n" not in str(err.value) and "mobilenet" in str(err.value)


def test_bad_build_options_are_config_errors(space: MobileNetSpace) -> None:
    a = space.sample(0)
    for kwargs in ({"widths": "huge"}, {"widths": (8, 8)}, {"C": 0}, {"stem_stride": 3}, {"depth": 3}):
        with pytest.raises(ConfigError):
            space.build(a, **kwargs)


def test_canonical_form_computes_the_same_function(space: MobileNetSpace) -> None:
    rest = "|" + "|".join([",".join(["MB3_3x3"] * 4)] * 4) + "|MB6_7x7"
    a = space.from_str("MB6_3x3,skip_connect,MB3_5x5,skip_connect" + rest)
    c = space.canonical(a)
    assert c[:4] == (2, 3, 0, 0) and space.canonical_key(a) == space.canonical_key(c)
    assert space.canonical_key(a) != space.canonical_key(space.from_str("MB6_3x3,MB3_5x5,MB3_5x5,skip_connect" + rest))
    torch.manual_seed(0)
    net_a = space.build(a, C=4).eval()
    net_c = space.build(c, C=4).eval()
    net_c.stem.load_state_dict(net_a.stem.state_dict())
    net_c.head.load_state_dict(net_a.head.state_dict())
    start = 0
    for n in STAGE_BLOCKS:  # same MBConvs in the same order within each stage
        src = [b for b, o in zip(net_a.blocks[start:start + n], a[start:start + n], strict=True) if o != SKIP]
        dst = [b for b, o in zip(net_c.blocks[start:start + n], c[start:start + n], strict=True) if o != SKIP]
        for s_, d_ in zip(src, dst, strict=True):
            d_.load_state_dict(s_.state_dict())
        start += n
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(net_a(x), net_c(x))


# --- supernet --------------------------------------------------------------------------------
def test_supernet_path_is_the_stand_alone_network(space: MobileNetSpace) -> None:
    torch.manual_seed(1)
    sn = space.supernet(C=4).eval()
    a = space.sample(5)
    net = space.build(a, C=4).eval()
    net.stem.load_state_dict(sn.stem.state_dict())
    net.head.load_state_dict(sn.head.state_dict())
    for e, o in enumerate(a):
        net.blocks[e].load_state_dict(sn.blocks[e][o].state_dict())
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(sn(x, sn.path_weights(a)), net(x), atol=1e-6)
    # derived architectures never put a skip on the first block of a stage
    w = np.zeros((21, 7))
    w[:, SKIP] = 1.0
    w[:, 4] = 0.5
    derived = sn.arch_from_weights(w)
    assert [o for o, f in zip(derived, FIRST_OF_STAGE, strict=True) if f] == [4] * 6
    assert space.validate(derived) == derived


def test_zero_cost_pt_proposal_respects_the_candidate_mask(space: MobileNetSpace) -> None:
    from nasrank.nn import SoftmaxAlpha
    from nasrank.oneshot import propose

    sn = space.supernet(C=4)
    param = SoftmaxAlpha(torch.zeros(sn.num_edges, len(sn.ops)))
    param.reset(0)
    prefers_skip = lambda w, b: float(w[:, SKIP].sum())  # noqa: E731  (a stand-in score)
    arch, perturbations, _ = propose(sn, prefers_skip, lambda: None, order="fixed", mode="discretize",
                                     param=param)
    assert perturbations == 6 * 6 + 15 * 7
    assert space.validate(arch) == arch
    assert all((o == SKIP) != f for o, f in zip(arch, FIRST_OF_STAGE, strict=True))


# --- the generic machinery on the space: one fast smoke run -----------------------------------
def test_zero_cost_proxies_on_the_tiny_network(space: MobileNetSpace) -> None:
    # 32 x 32 inputs and a stride-1 stem keep every feature map at least 2 x 2 (gradsign's
    # train-mode BatchNorm on single samples refuses 1 x 1 maps)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(8, 3, 32, 32, generator=g), torch.randint(0, 10, (8,), generator=g)
    torch.manual_seed(0)
    net = space.build(PUBLISHED["proxylessnas-mobile"].arch, stem_stride=1, **space.default_config("tiny"))
    names = nasrank.list_proxies()
    scores = nasrank.compute_proxies(net, (x, y), names, seed=0)
    assert set(scores) == set(names)
    finite = {n for n, v in scores.items() if math.isfinite(float(v))}
    assert {"synflow", "grad_norm", "snip", "gradsign", "params", "flops"} <= finite, scores


def test_nwot_reads_the_relu6_activations(space: MobileNetSpace) -> None:
    x, y = _digits_batch()
    net = space.build(space.sample(0), in_channels=1, **space.default_config("tiny"))
    assert math.isfinite(float(nasrank.compute_proxies(net, (x, y), ["nwot"], seed=0)["nwot"]))


def test_live_tse_training_of_one_network(space: MobileNetSpace) -> None:
    from nasrank.search import LiveEvaluator

    ev = LiveEvaluator(DataSpec("digits", train_size=64, val_size=32, test_size=0), "tse-ema",
                       epochs=1, space="mobilenet", space_config=space.default_config("tiny"))
    rec = ev.evaluate(space.sample(2))
    assert rec.status == "ok", rec.error
    assert math.isfinite(ev.score(rec)) and ev.cost(rec) > 0


def test_spaces_cli_show_and_errors(capsys: pytest.CaptureFixture) -> None:
    from nasrank.cli import main

    gpu = PUBLISHED["proxylessnas-gpu"]
    assert main(["spaces", "show", "mobilenet", "--arch", gpu.arch_str, "--num-classes", "1000",
                 "--input-size", "224", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["params"] == 7_119_848 and round(info["flops"] / 1e6, 1) == 465.3
    assert info["canonical"] != info["arch"] and "ProxylessNAS" in info["flops_convention"]
    assert main(["spaces", "show", "mobilenet", "--arch", "MB6_3x3,bogus"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error:") and "mobilenet" in err and err.count("\n") == 0


def test_supernet_method_step(space: MobileNetSpace) -> None:
    from nasrank.oneshot import create_supernet_method

    m = create_supernet_method("spos", space, seed=0, supernet_config=space.default_config("tiny"),
                               num_classes=10, in_channels=1)
    x, y = _digits_batch(8)
    out = m.step((x, y))
    assert math.isfinite(float(out["loss"])) and space.validate(out["arch"]) == out["arch"]


# 141 perturbed supernet forwards: ~10-15 s of CPU even at C=4 (issue 17 asks for this run in the tests)
def test_zcpt_cli_on_the_mobilenet_supernet(space: MobileNetSpace, capsys: pytest.CaptureFixture) -> None:
    from nasrank.cli import main

    assert main(["zcpt", "--space", "mobilenet", "--proposals", "1", "--validation", "1", "--C", "4",
                 "--batch-size", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert space.from_str(out["arch_str"]) == tuple(out["arch"])
    assert out["config"]["supernet_config"] == {"C": 4}
