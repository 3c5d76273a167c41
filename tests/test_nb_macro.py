"""NAS-Bench-Macro (``nb-macro``): facts of the published network and benchmark file, the canonical
form, the benchmark adapter, and one smoke run of everything generic (proxies, live TSE search,
``spaces show``, Zero-Cost-PT, a supernet method step)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import nasrank
from nasrank.benchmarks import NBMacroBenchmark, load_benchmark
from nasrank.exceptions import BenchmarkDataError, InvalidArchitectureError
from nasrank.nn import Identity, count_parameters
from nasrank.spaces.nbmacro import NBMacroSpace, NBMacroSupernet

# (params, flops) of a few architectures as published in nas-bench-macro_cifar10.json
PUBLISHED = {"02012100": (890666, 47327744), "00000000": (387882, 7713280),
             "22222222": (2932586, 105660928), "11111221": (2181386, 65012224),
             "11111111": (1588874, 53246464), "00011110": (1118378, 31390208)}


def _hook_macs(net: nn.Module, shape: tuple[int, int, int]) -> int:
    """Multiply-accumulates of convolutions and linear layers, counted from a real forward pass."""
    total = 0

    def hook(m: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1]
            total += m.in_channels // m.groups * m.out_channels * k * out.shape[2] * out.shape[3]
        else:
            total += m.in_features * m.out_features

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        net.eval()(torch.zeros(1, *shape))
    for h in handles:
        h.remove()
    return total


def _get_real_arch(s: str) -> str:
    """The benchmark's own key map (train/utils.py ``get_real_arch``), restated for the test."""
    out, i = "", 0
    for n in (2, 3, 3):
        stage = s[i : i + n]
        rest = [c for c in stage[1:] if c != "0"]
        out += stage[0] + "".join(rest) + "0" * (n - 1 - len(rest))
        i += n
    return out


# --- facts ---------------------------------------------------------------------------------------
def test_registered_with_the_published_size_and_format() -> None:
    sp = nasrank.create_space("nb-macro")
    assert isinstance(sp, NBMacroSpace) and sp.size == 6561 and sp.has_supernet
    assert sp.from_str(" 02012100 ") == (0, 2, 0, 1, 2, 1, 0, 0)
    assert sp.to_str(sp.from_str("02012100")) == "02012100"
    assert len(list(sp.all_archs())) == 6561


@pytest.mark.parametrize("text", ["0201210", "020121000", "02012130", "0201210a", "", "[0,2,0,1,2,1,0,0]"])
def test_malformed_strings_give_one_line_errors(text: str) -> None:
    with pytest.raises(InvalidArchitectureError) as err:
        NBMacroSpace().from_str(text)
    msg = str(err.value)
    assert "\n" not in msg and "8 digits" in msg and "'02012100'" in msg


def test_published_params_and_flops_of_the_standard_network() -> None:
    sp = NBMacroSpace()
    for s, (params, flops) in PUBLISHED.items():
        net = sp.build(s)  # C=32, head 1280, 10 classes: the published network
        assert count_parameters(net) == sp.num_params(s) == params, s
        assert sp.flops(s) == flops, s
    # the closed form equals a real forward pass's count (also at other widths and sizes)
    for s in ("02012100", "21021120"):
        assert _hook_macs(sp.build(s), (3, 32, 32)) == sp.flops(s)
        assert _hook_macs(sp.build(s, C=4, num_classes=7), (3, 15, 17)) == sp.flops(
            s, input_size=(3, 15, 17), C=4, num_classes=7)


def test_the_published_network_layout() -> None:
    net = NBMacroSpace().build("01201200")
    assert [type(m).__name__ for m in net.layers] == [
        "Downsample", "MBConv", "MBConv", "Identity", "MBConv", "MBConv", "Identity", "Identity"]
    mb = net.layers[1]
    assert (mb.kernel_size, mb.expand_ratio, mb.hidden, mb.use_residual) == (3, 3, 192, True)
    first = net.layers[2]  # MB6_K5 opening stage 2: stride 2, 64 -> 128, hidden round(64 * 6)
    assert (first.kernel_size, first.stride, first.hidden, first.use_residual) == (5, 2, 384, False)
    assert not any(isinstance(m, nn.ReLU6) for m in net.modules())  # ReLU, as published
    assert net.head.conv[0].out_channels == 1280 and net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_canonical_is_the_benchmark_key_and_preserves_the_function() -> None:
    sp = NBMacroSpace()
    keys = {sp.canonical_key(a) for a in sp.all_archs()}
    assert len(keys) == 3969  # 9 x 21 x 21 distinct networks
    for a in list(sp.all_archs())[::37]:
        assert sp.canonical_key(a) == _get_real_arch(sp.to_str(a))
    # "01001010" and its canonical "01010010": the same layers in the same order -> the same function
    a, c = sp.from_str("01001010"), sp.from_str("01010010")
    assert sp.canonical(a) == c and sp.num_params(a) == sp.num_params(c)
    torch.manual_seed(0)
    na = sp.build(a, C=4)
    nc = sp.build(c, C=4)
    nc.stem.load_state_dict(na.stem.state_dict())
    nc.head.load_state_dict(na.head.state_dict())
    real_a = [m for m in na.layers if not isinstance(m, Identity)]
    real_c = [m for m in nc.layers if not isinstance(m, Identity)]
    for ma, mc in zip(real_a, real_c, strict=True):
        mc.load_state_dict(ma.state_dict())
    x = torch.randn(3, 3, 16, 16)
    torch.testing.assert_close(na.eval()(x), nc.eval()(x))


def test_supernet_single_path_equals_the_network_with_its_weights() -> None:
    sp = NBMacroSpace()
    torch.manual_seed(0)
    sn = sp.supernet(C=4, affine=True).eval()
    a = sp.from_str("21012201")
    net = sp.build(a, C=4).eval()
    for e, layer in enumerate(net.layers):
        layer.load_state_dict(sn.layers[e].ops[a[e]].state_dict())
    net.stem.load_state_dict(sn.stem.state_dict())
    net.head.load_state_dict(sn.head.state_dict())
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(sn(x, sn.path_weights(a)), net(x))
    assert isinstance(sn, NBMacroSupernet) and sn.arch_from_weights(sn.path_weights(a)) == a


# --- the benchmark adapter -----------------------------------------------------------------------
def _fake_file(path: Path) -> Path:
    """A file in the published format with made-up values (accuracy grows with the MB6 count)."""
    sp = NBMacroSpace()
    data = {}
    for a in sp.all_archs():
        c = sp.canonical(a)
        acc = 80.0 + 1.5 * c.count(2) + 0.5 * c.count(1)
        data[sp.to_str(a)] = {"test_acc": [acc - 0.1, acc, acc + 0.1], "mean_acc": acc, "std": 0.08,
                              "params": sp.num_params(a), "flops": sp.flops(a)}
    path.mkdir(parents=True, exist_ok=True)
    f = path / "nas-bench-macro_cifar10.json"
    f.write_text(json.dumps(data))
    return f


def test_adapter_reads_the_published_format(tmp_path: Path) -> None:
    f = _fake_file(tmp_path / "nasbench_macro")
    for root in (tmp_path, tmp_path / "nasbench_macro", f):
        bench = load_benchmark("nb-macro", root)
        assert isinstance(bench, NBMacroBenchmark) and len(bench) == 6561
    assert bench.space.name == "nb-macro" and bench.archs()[0] == (0,) * 8
    assert bench.query("02012100", "params") == 890666
    assert bench.query((0,) * 8, "flops") == 7713280
    acc = bench.query("22222222")
    assert 0.0 < acc < 1.0 and bench.query("22222222", "test_acc_seed2") == pytest.approx(acc + 0.001)
    assert bench.best()[0] == (2,) * 8 and bench.summary()["best_arch"] == "22222222"
    np.testing.assert_array_equal(bench.query_many([(0,) * 8, (2,) * 8]),
                                  [bench.query((0,) * 8), bench.query((2,) * 8)])
    assert bench.table("params").shape == (6561,)
    with pytest.raises(nasrank.UnknownNameError, match="val_acc"):
        bench.query("22222222", "val_acc")


def test_adapter_errors_are_one_line_and_say_where_the_file_goes(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(BenchmarkDataError) as err:
        NBMacroBenchmark(tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and "nasbench_macro/" in msg and "xiusu/NAS-Bench-Macro" in msg
    monkeypatch.delenv("NASRANK_DATA", raising=False)
    with pytest.raises(BenchmarkDataError, match="NASRANK_DATA"):
        NBMacroBenchmark()
    bad = tmp_path / "nas-bench-macro_cifar10.json"
    bad.write_text(json.dumps({"02012100": {"mean_acc": 1.0}}))
    with pytest.raises(BenchmarkDataError, match="6,561 architectures"):
        NBMacroBenchmark(bad)


def _real_file() -> Path | None:
    roots = [os.environ.get("NASRANK_DATA"), str(Path(__file__).resolve().parents[2] / "shared" / "data")]
    for r in roots:
        if r:
            try:
                return Path(nasrank.benchmarks.find_nb_macro_file(r))
            except BenchmarkDataError:
                continue
    return None


def test_published_file_if_present() -> None:
    path = _real_file()
    if path is None:
        pytest.skip("nas-bench-macro_cifar10.json not in $NASRANK_DATA/nasbench_macro/ or ../shared/data")
    bench = NBMacroBenchmark(path)
    sp = bench.space
    for s, (params, flops) in PUBLISHED.items():
        assert (bench.query(s, "params"), bench.query(s, "flops")) == (params, flops)
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = sp.sample(rng)
        assert bench.query(a, "params") == sp.num_params(a) and bench.query(a, "flops") == sp.flops(a)
        assert bench.query(a) == bench.query(sp.canonical(a))  # one trained network per class


# --- one smoke test: everything generic works on the space ---------------------------------------
def test_smoke_proxies_live_search_cli_zcpt_and_supernet_step(capsys: pytest.CaptureFixture) -> None:
    from nasrank.cli import main
    from nasrank.data import DataSpec, load_dataset
    from nasrank.search import LiveEvaluator, create_strategy, run_search
    from nasrank.testing.supernets import supernet_method_factory

    sp = nasrank.create_space("nb-macro")
    x, y = load_dataset("digits").batch(torch.arange(16))
    torch.manual_seed(0)
    net = sp.build(sp.from_str("02012100"), in_channels=1, **sp.default_config("tiny"))
    scores = nasrank.compute_proxies(net, (x, y), ["synflow", "nwot", "grad_norm", "params", "zen"], seed=0)
    assert all(math.isfinite(float(v)) for v in scores.values()), scores

    ev = LiveEvaluator(DataSpec("digits", train_size=128, val_size=32, test_size=0), "tse-ema",
                       epochs=1, space="nb-macro", space_config=sp.default_config("tiny"))
    res = run_search(create_strategy("evolution", sp, seed=0, population_size=2), ev, "3q")
    assert all(st["status"] == "ok" for st in res.steps), [st.get("error") for st in res.steps]
    assert res.best is not None and math.isfinite(res.best["score"])

    assert main(["spaces", "show", "nb-macro", "--arch", "02012100", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["params"], info["flops"]) == PUBLISHED["02012100"] and info["canonical"] == "02012100"
    assert main(["spaces", "show", "nb-macro", "--arch", "0201210x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error: malformed NAS-Bench-Macro architecture") and err.count("\n") == 0

    assert main(["zcpt", "--space", "nb-macro", "--proposals", "1", "--validation", "1", "--C", "2",
                 "--batch-size", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sp.from_str(out["arch_str"]) == tuple(out["arch"])
    assert out["perturbations"] == [8 * 3] and out["config"]["supernet_config"] == {"C": 2}

    m = supernet_method_factory("spos", "nb-macro")(0)
    step = m.step((torch.randn(4, *sp.tiny_input_shape), torch.tensor([0, 1, 2, 3])))
    assert math.isfinite(float(step["loss"])) and sp.validate(step["arch"]) == step["arch"]
