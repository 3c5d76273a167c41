"""The worked example ``examples/chain_space``: a new search space added as ONE package.

Its only contact with nasrank is the registration import (``import chain_space``). The tests show
that everything generic then works on it: the conformance suite, sampling, the zero-cost
proxies, live training with a TSE estimator, every search strategy, Zero-Cost-PT (``nasrank
zcpt``) and the supernet methods.

The space is registered for the duration of this module only (a fixture), so the other test
modules see the registry as shipped.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import nasrank
from nasrank.data import DataSpec, load_dataset
from nasrank.spaces import SPACES

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _unregister(name: str) -> None:
    """Remove a test-only registration (the registry has no public way to do it)."""
    SPACES._items.pop(name, None)
    keys = getattr(SPACES, "_keys", None)
    if isinstance(keys, dict):
        for k in [k for k, v in keys.items() if v == name]:
            del keys[k]


@pytest.fixture(scope="module")
def space() -> Iterator[Any]:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import chain_space  # noqa: F401  (THE registration import: registers "chain")

        yield nasrank.create_space("chain")
    finally:
        _unregister("chain")
        for mod in [m for m in sys.modules if m == "chain_space" or m.startswith("chain_space.")]:
            del sys.modules[mod]
        sys.path.remove(str(EXAMPLES))


def _digits_batch(n: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    return load_dataset("digits").batch(torch.arange(n))


# --- the space itself ------------------------------------------------------------------------
def test_registered_by_one_import(space: Any) -> None:
    assert "chain" in nasrank.list_spaces()
    assert type(space).__module__ == "chain_space.space"
    assert space.has_supernet and space.depth_option is None


def test_conformance_suite_passes(space: Any) -> None:
    from nasrank.testing import check_search_space

    check_search_space(space)


def test_sampling(space: Any) -> None:
    a = space.sample(0)
    assert a == space.sample(0) and space.validate(a) == a
    assert space.from_str(space.to_str(a)) == a
    rng = np.random.default_rng(2)
    draws = {space.sample(rng) for _ in range(200)}
    assert len(draws) > 100  # 625 architectures, uniform draws
    assert all(v in c for arch in draws for v, c in zip(arch, space.choices(), strict=True))
    assert len(space.neighbours(a)) == 4 * space.length
    assert space.mutate(a, 0) in space.neighbours(a)


# --- estimators ------------------------------------------------------------------------------
def test_zero_cost_proxies_on_its_tiny_network(space: Any) -> None:
    x, y = _digits_batch()
    torch.manual_seed(0)
    net = space.build(space.from_str("conv_3x3>skip_connect>avg_pool_3x3>conv_1x1"),
                      in_channels=1, **space.default_config("tiny"))
    names = nasrank.list_proxies()
    scores = nasrank.compute_proxies(net, (x, y), names, seed=0)
    assert set(scores) == set(names)
    assert all(isinstance(float(v), float) for v in scores.values())
    finite = [n for n, v in scores.items() if math.isfinite(float(v))]
    assert {"synflow", "nwot", "grad_norm", "params"} <= set(finite), scores


def test_live_tse_training_of_one_cell(space: Any) -> None:
    from nasrank.search import LiveEvaluator

    ev = LiveEvaluator(DataSpec("digits", train_size=256, val_size=64, test_size=64), "tse-ema",
                       epochs=1, space="chain", space_config=space.default_config("search"))
    rec = ev.evaluate(space.from_str("conv_3x3>conv_1x1>max_pool_3x3>conv_3x3"))
    assert rec.status == "ok", rec.error
    assert math.isfinite(ev.score(rec)) and ev.cost(rec) > 0


# --- weight sharing --------------------------------------------------------------------------
def test_supernet_method_conformance(space: Any) -> None:
    from nasrank.testing.supernets import check_supernet_method

    check_supernet_method("spos", space)


def test_zero_cost_pt_on_the_chain_supernet(space: Any) -> None:
    from nasrank.oneshot import ZeroCostPT

    data = load_dataset("digits").subset(range(64))
    res = ZeroCostPT("chain", proposals=2, validation=1, batch_size=8,
                     supernet_config={"C": 4}, network_config={"C": 4}).search(data, seed=0)
    assert space.validate(res.arch) == res.arch
    assert res.perturbations == [5 * space.length] * 2  # |O| |E| for the random order


def test_zcpt_cli_asks_the_space_for_its_options(space: Any, capsys: pytest.CaptureFixture) -> None:
    import json

    from nasrank.cli import main

    assert main(["zcpt", "--space", "chain", "--proposals", "1", "--validation", "0", "--C", "4",
                 "--batch-size", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert space.from_str(out["arch_str"]) == tuple(out["arch"])
    assert out["config"]["supernet_config"] == {"C": 4}
    assert main(["zcpt", "--space", "chain", "--depth", "3"]) == 2  # the space has no depth option
    err = capsys.readouterr().err.strip()
    assert err.startswith("Error:") and "--depth" in err and err.count("\n") == 0


# --- search ----------------------------------------------------------------------------------
def _strategy_params(name: str, space: Any) -> dict[str, Any]:
    """The usual parameters of a strategy, from its class flags (scorer, fidelities)."""
    from nasrank.search import STRATEGIES, ProxyScorer

    cls = STRATEGIES.get(name)
    params: dict[str, Any] = {}
    if getattr(cls, "needs_scorer", False):
        params["scorer"] = ProxyScorer(space, "synflow", DataSpec("digits", test_size=0),
                                       batch_size=16, space_config=space.default_config("tiny"))
    if getattr(cls, "multi_fidelity", False):
        params.update(min_fidelity=1, max_fidelity=3)
    if name in ("evolution", "g-rea"):
        params["population_size"] = 3
    if name == "tpe":
        params["n_startup_trials"] = 2
    return params


def _strategies() -> list[Any]:
    from nasrank.search import list_strategies

    out = []
    for name in list_strategies():
        needs_optuna = name in ("tpe", "bohb") and importlib.util.find_spec("optuna") is None
        marks = [pytest.mark.skip(reason="needs optuna: pip install 'nasrank[search]'")] if needs_optuna else []
        out.append(pytest.param(name, marks=marks))
    return out


@pytest.mark.parametrize("name", _strategies())
def test_short_search_with_every_strategy(space: Any, name: str) -> None:
    from nasrank.search import (
        STRATEGIES,
        LiveEvaluator,
        ProxyEvaluator,
        create_strategy,
        run_search,
    )

    multi = getattr(STRATEGIES.get(name), "multi_fidelity", False)
    if multi:  # fidelities are training epochs: a (tiny) live evaluator
        ev: Any = LiveEvaluator(DataSpec("digits", train_size=128, val_size=32, test_size=0),
                                "tse-ema", epochs=3, space="chain",
                                space_config=space.default_config("tiny"))
    else:
        ev = ProxyEvaluator("synflow", DataSpec("digits", test_size=0), batch_size=16,
                            space="chain", space_config=space.default_config("tiny"))
    strategy = create_strategy(name, space, seed=0, **_strategy_params(name, space))
    res = run_search(strategy, ev, "4q")
    assert 1 <= len(res.steps) <= 4
    assert all(st["status"] == "ok" for st in res.steps), [st.get("error") for st in res.steps]
    best = res.best
    assert best is not None and math.isfinite(best["score"])
    arch = best["arch"]
    arch = space.from_str(arch) if isinstance(arch, str) else space.validate(arch)
    assert len(arch) == space.length
