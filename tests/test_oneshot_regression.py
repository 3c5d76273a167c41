"""Regression fixtures of the space / supernet / Zero-Cost-PT code (recorded before the
space-package and weight-sharing restructure; they must keep passing unchanged).

``tests/data/oneshot_regression.json`` holds, for fixed seeds and small settings:

* ``nasrank zcpt --json`` outputs (genotypes, proposals, validation totals, perturbation and
  topology counts) for ``--space nb201`` and ``--space darts`` on digits;
* the per-edge operation scores of :func:`score_operations` (``darts``, ``zc-pt``, ``disc-zc``,
  ``disc-acc``, ``darts-pt``) on tiny NB201 and DARTS supernets;
* logits, parameter counts and state-dict layouts of ``space.build(...)`` networks and of the
  supernets.

Regenerate (only when a change of behaviour is intended) with
``python tests/test_oneshot_regression.py --write``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

FIXTURE = Path(__file__).resolve().parent / "data" / "oneshot_regression.json"

_NB201_CLI = ["--space", "nb201", "--dataset", "digits", "--proposals", "2", "--validation", "2",
              "--C", "4", "--depth", "1", "--batch-size", "16"]
_DARTS_CLI = ["--space", "darts", "--dataset", "digits", "--validation", "1", "--C", "2",
              "--depth", "3", "--batch-size", "8"]

#: name -> (argv after ``zcpt``, slow)
CLI_RUNS: dict[str, tuple[list[str], bool]] = {
    "nb201-random-s0": (_NB201_CLI + ["--seed", "0"], False),
    "nb201-random-s1": (_NB201_CLI + ["--seed", "1"], False),
    "nb201-random-s2": (_NB201_CLI + ["--seed", "2"], False),
    "nb201-fixed-s0": (_NB201_CLI + ["--seed", "0", "--order", "fixed"], False),
    "nb201-global-op-iter-s0": (_NB201_CLI + ["--seed", "0", "--order", "global-op-iter"], False),
    "nb201-global-edge-iter-s1": (_NB201_CLI + ["--seed", "1", "--order", "global-edge-iter"], False),
    "nb201-global-op-once-s3": (_NB201_CLI + ["--seed", "3", "--order", "global-op-once"], False),
    "nb201-global-edge-once-s0": (_NB201_CLI + ["--seed", "0", "--order", "global-edge-once"], False),
    "nb201-discretize-s0": (_NB201_CLI + ["--seed", "0", "--mode", "discretize",
                                          "--order", "global-op-once"], False),
    "nb201-synflow-s0": (_NB201_CLI + ["--seed", "0", "--proxy", "synflow"], False),
    "nb201-novalidation-s4": (["--space", "nb201", "--dataset", "digits", "--proposals", "3",
                               "--validation", "0", "--C", "4", "--depth", "1",
                               "--batch-size", "16", "--seed", "4"], False),
    "darts-fixed-s0": (_DARTS_CLI + ["--proposals", "1", "--seed", "0", "--order", "fixed"], False),
    "darts-random-s1": (_DARTS_CLI + ["--proposals", "2", "--seed", "1"], True),
    "darts-global-op-once-s0": (_DARTS_CLI + ["--proposals", "1", "--seed", "0",
                                              "--order", "global-op-once"], True),
}
_CLI_KEYS = ("arch", "arch_str", "proposals", "validation", "perturbations", "topology_evaluations")


# --- computing today's outputs -----------------------------------------------------------------
def _zcpt_cli(argv: list[str]) -> dict[str, Any]:
    from nasrank.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["zcpt", *argv, "--json"])
    assert rc == 0, f"nasrank zcpt {' '.join(argv)} exited {rc}"
    out = json.loads(buf.getvalue())
    return {k: out[k] for k in _CLI_KEYS}


def _supernet(space_name: str, **config: Any) -> Any:
    import nasrank

    return nasrank.create_space(space_name).supernet(**config)


def _layout(module: torch.nn.Module) -> str:
    text = "\n".join(f"{k}:{tuple(v.shape)}" for k, v in module.state_dict().items())
    return hashlib.sha256(text.encode()).hexdigest()


def _arr(a: np.ndarray) -> list[Any]:
    return np.asarray(a, dtype=np.float64).tolist()


def _digits(n: int, start: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    from nasrank.data import load_dataset

    return load_dataset("digits").batch(torch.arange(start, start + n))


def _scores(net: Any, names: list[str], batch: Any, **kw: Any) -> dict[str, Any]:
    from nasrank.oneshot import score_operations

    out = {}
    for name in names:
        sc = score_operations(name, net, batch=batch, **kw)
        out[name] = {"values": _arr(sc.values), "higher_is_better": sc.higher_is_better}
    return out


def compute_scores() -> dict[str, Any]:
    """Per-edge operation scores on tiny NB201 / DARTS supernets."""
    res: dict[str, Any] = {}
    batch = _digits(16)
    # NB201, alpha as initialised by the torch seed (no reset)
    torch.manual_seed(0)
    net = _supernet("nb201", C=4, N=1, num_classes=10, in_channels=1).eval()
    res["nb201-init"] = _scores(net, ["darts", "zc-pt", "disc-zc", "disc-acc", "darts-pt"], batch)
    res["nb201-init-count"] = _scores(net, ["zc-pt"], batch, inactive_relus="count")
    res["nb201-init-synflow"] = _scores(net, ["zc-pt"], batch, proxy="synflow")
    # NB201, a fresh proposal state with one decided edge, two minibatches
    net.reset_arch_parameters(np.random.default_rng(3))
    net.discretize(1, 2)
    res["nb201-partial"] = _scores(net, ["darts", "zc-pt", "disc-zc"],
                                   [batch, _digits(16, 16)])
    # DARTS, all but three edges decided
    torch.manual_seed(1)
    dnet = _supernet("darts", C=2, layers=3, num_classes=10, in_channels=1).eval()
    dnet.reset_arch_parameters(0)
    for e in range(dnet.num_edges):
        if e not in (0, 5, 20):
            dnet.discretize(e, e % len(dnet.ops))
    res["darts-partial"] = _scores(dnet, ["darts", "zc-pt", "disc-zc", "darts-pt"], _digits(8))
    return res


_NB201_ARCHS = [(3, 3, 4, 1, 3, 1), (0, 1, 3, 0, 0, 4), (1, 0, 0, 0, 3, 0), (0, 0, 0, 0, 0, 0),
                (2, 3, 1, 4, 2, 3)]


def _logits(net: torch.nn.Module, x: torch.Tensor) -> dict[str, Any]:
    net.train()
    with torch.no_grad():
        train = net(x)
    net.eval()
    with torch.no_grad():
        ev = net(x)
    return {"train": _arr(train.numpy()), "eval": _arr(ev.numpy())}


def compute_builds() -> dict[str, Any]:
    """Logits, parameter counts and state-dict layouts of built networks and supernets."""
    import nasrank
    from nasrank.nn import count_parameters

    res: dict[str, Any] = {}
    x = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    x32 = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))  # auxiliary head
    nb = nasrank.create_space("nb201")
    for i, a in enumerate(_NB201_ARCHS):
        torch.manual_seed(10 + i)
        net = nb.build(a, C=4, N=2)
        res[f"nb201-{i}"] = {"arch": list(a), "params": count_parameters(net),
                             "standard_params": nb.num_params(a), "layout": _layout(net),
                             **_logits(net, x)}
    ds = nasrank.create_space("darts")
    from nasrank.spaces.darts import DARTS_V1, DARTS_V2

    darts_archs = [ds.from_str(DARTS_V2), ds.from_str(DARTS_V1), ds.sample(0), ds.sample(1)]
    for i, a in enumerate(darts_archs):
        torch.manual_seed(20 + i)
        net = ds.build(a, C=4, layers=5, auxiliary=(i == 1))
        res[f"darts-{i}"] = {"arch": list(a), "params": count_parameters(net),
                             "standard_params": ds.num_params(a, C=36, layers=20),
                             "layout": _layout(net), **_logits(net, x32 if i == 1 else x)}
    # supernets: default weights, and a one-hot (discretised) weight matrix
    torch.manual_seed(5)
    sn = _supernet("nb201", C=4, N=1)
    w = sn.arch_weights()
    one_hot = np.eye(5)[[3, 2, 1, 4, 3, 0]]
    res["nb201-supernet"] = {"params": count_parameters(sn), "layout": _layout(sn),
                             "alpha": _arr(sn.alpha.detach().numpy()), **_logits(sn, x),
                             "one_hot": _arr(sn.eval()(x, one_hot).detach().numpy()),
                             "weights": _arr(w)}
    torch.manual_seed(6)
    sd = _supernet("darts", C=2, layers=3)
    res["darts-supernet"] = {"params": count_parameters(sd), "layout": _layout(sd),
                             "alpha": _arr(sd.alpha.detach().numpy()), **_logits(sd, x)}
    torch.manual_seed(7)
    sdn = _supernet("darts", C=2, layers=4, include_none=True)
    res["darts-supernet-none"] = {"params": count_parameters(sdn), "layout": _layout(sdn),
                                  "ops": list(sdn.ops), **_logits(sdn, x)}
    return res


def compute_all(include_slow: bool = True) -> dict[str, Any]:
    torch.set_num_threads(1)
    cli = {name: _zcpt_cli(argv) for name, (argv, slow) in CLI_RUNS.items()
           if include_slow or not slow}
    return {"cli": cli, "scores": compute_scores(), "builds": compute_builds()}


# --- comparison --------------------------------------------------------------------------------
def _close(got: Any, want: Any, path: str, rel: float = 1e-9, abs_: float = 1e-12) -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), f"{path}: keys {set(got)} != {set(want)}"
        for k in want:
            _close(got[k], want[k], f"{path}.{k}", rel, abs_)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: length differs"
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _close(g, w, f"{path}[{i}]", rel, abs_)
    elif isinstance(want, float):
        if want != want:
            assert got != got, f"{path}: {got} != NaN"
        else:
            assert got == pytest.approx(want, rel=rel, abs=abs_), f"{path}: {got} != {want}"
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


@pytest.fixture(scope="module")
def fixture() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if slow else n for n, (_a, slow) in CLI_RUNS.items()],
)
def test_zcpt_cli_genotypes_unchanged(name: str, fixture: dict[str, Any]) -> None:
    got = _zcpt_cli(CLI_RUNS[name][0])
    want = fixture["cli"][name]
    assert got["arch"] == want["arch"] and got["proposals"] == want["proposals"]
    _close(got, want, name, rel=1e-7)


def test_operation_scores_unchanged(fixture: dict[str, Any]) -> None:
    _close(compute_scores(), fixture["scores"], "scores", rel=1e-7, abs_=1e-9)


def test_built_networks_and_supernets_unchanged(fixture: dict[str, Any]) -> None:
    _close(compute_builds(), fixture["builds"], "builds", rel=1e-5, abs_=1e-6)


if __name__ == "__main__":
    if "--write" not in sys.argv:
        sys.exit("usage: python tests/test_oneshot_regression.py --write")
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(compute_all(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE}")
