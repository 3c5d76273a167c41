"""``exclude_seen`` of random search, regularised evolution and their proxy-assisted variants."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import nasrank
from nasrank.exceptions import ConfigError
from nasrank.search import (
    BenchmarkSpace,
    TableScorer,
    TabularEvaluator,
    create_strategy,
    run_search,
)
from nasrank.store import ResultStore
from nasrank.testing import STRATEGY_CHECKS, strategy_factory
from nasrank.testing.strategies import _drive, toy_objective

sys.path.insert(0, str(Path(__file__).parent))
from _synthetic_bench import SyntheticBenchmark  # noqa: E402

NAMES = ["random", "g-rs", "evolution", "g-rea"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("check", list(STRATEGY_CHECKS))
def test_conformance_with_exclude_seen(name: str, check: str) -> None:
    STRATEGY_CHECKS[check](strategy_factory(name, exclude_seen=True))


# trajectories (80 toy results) of the code before exclude_seen existed: the default is unchanged
_BEFORE = {
    ("random", 0): "7514b4ee2a828757", ("random", 7): "f97a45147cd0b34c",
    ("g-rs", 0): "b9b8310d488ced0d", ("g-rs", 7): "caab62bcb11e6052",
    ("evolution", 0): "ddc30883a13d1ffd", ("evolution", 7): "8337492344c4e6a3",
    ("g-rea", 0): "b62e0b1e772069df", ("g-rea", 7): "b1640a1a420cb2f1",
}


def _digest(strategy) -> str:
    tr = [list(r[1]) for r in _drive(strategy, 80)]
    return hashlib.sha1(json.dumps(tr).encode()).hexdigest()[:16]


@pytest.mark.parametrize("name", NAMES)
def test_default_trajectory_unchanged(name: str) -> None:
    for seed in (0, 7):
        assert _digest(strategy_factory(name)(seed)) == _BEFORE[name, seed]
        assert _digest(strategy_factory(name, exclude_seen=False)(seed)) == _BEFORE[name, seed]
    s = strategy_factory(name)(0)
    assert "exclude_seen" not in s.params()  # run ids of stores written before stay the same
    assert strategy_factory(name, exclude_seen=True)(0).params()["exclude_seen"] is True


@pytest.mark.parametrize("name", NAMES)
def test_exclude_seen_must_be_a_bool(name: str) -> None:
    for bad in ("yes", 1, 0, None):
        with pytest.raises(ConfigError, match="exclude_seen"):
            strategy_factory(name, exclude_seen=bad)(0)
    strategy_factory(name, exclude_seen=np.bool_(True))(0)


def _tiny_space(n: int, seed: int = 0) -> BenchmarkSpace:
    sp = nasrank.create_space("nb201")
    rng = np.random.default_rng(seed)
    archs = sorted({sp.sample(rng) for _ in range(4 * n)})[:n]
    return BenchmarkSpace(sp, archs)


class _RecordingScorer:
    """Toy proxy that remembers every pool it scored."""

    cost_ = 0.0

    def __init__(self) -> None:
        self.pools: list[list[tuple[int, ...]]] = []

    def __call__(self, archs):
        self.pools.append([tuple(a) for a in archs])
        return np.array([toy_objective(tuple(a)) for a in archs])

    def config(self):
        return {"kind": "recording"}


@pytest.mark.parametrize("name", ["random", "g-rs"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_cells_are_new_until_the_space_is_exhausted(name: str, seed: int) -> None:
    space = _tiny_space(12, seed)
    kw = {"scorer": _RecordingScorer(), "pool_size": 3} if name == "g-rs" else {}
    s = create_strategy(name, space, seed=seed, exclude_seen=True, **kw)
    archs = []
    for _ in range(space.size):
        seen = set(archs)
        q = s.ask()
        if name == "g-rs":
            assert not seen & set(kw["scorer"].pools[-1])  # every pool member is new
        archs.append(q.arch)
        s.tell(q, toy_objective(q.arch))
    assert len(set(archs)) == space.size  # no duplicate before the whole space was asked
    q = s.ask()  # exhausted: a repeat, no error
    assert q.arch in set(archs)
    # without exclude_seen the same run repeats cells long before
    s0 = create_strategy(name, space, seed=seed, **({"scorer": _RecordingScorer(), "pool_size": 3} if kw else {}))
    plain = [s0.ask().arch for _ in range(space.size)]
    assert len(set(plain)) < space.size


@pytest.mark.parametrize("name", ["evolution", "g-rea"])
@pytest.mark.parametrize("tiny", [True, False])
def test_mutations_are_new_unless_the_parent_has_no_new_neighbour(name: str, tiny: bool) -> None:
    space = _tiny_space(40) if tiny else nasrank.create_space("nb201")
    n = 40 if tiny else 150
    sc = _RecordingScorer()
    kw = {"scorer": sc, "pool_size": 4} if name == "g-rea" else {}
    s = create_strategy(name, space, seed=3, population_size=5, sample_size=2, exclude_seen=True, **kw)
    parents: list[tuple[int, ...]] = []
    orig = s._parent
    s._parent = lambda: parents.append(orig()) or parents[-1]  # type: ignore[method-assign]
    asked: list[tuple[int, ...]] = []
    n_forced = 0
    for _ in range(n):
        seen = set(asked)
        n_parents = len(parents)
        q = s.ask()
        if len(parents) > n_parents:  # a child
            all_seen = set(space.neighbours(parents[-1])) <= seen
            n_forced += all_seen
            members = sc.pools[-1] if name == "g-rea" else [q.arch]
            if not all_seen:
                assert not seen & set(members), "a mutation repeated an asked cell although a new one existed"
        else:
            assert q.arch not in seen
        asked.append(q.arch)
        s.tell(q, toy_objective(q.arch))
    if not tiny:  # on the full space every query is a new cell, unlike without exclude_seen
        assert len(set(asked)) == n and n_forced == 0
        plain = create_strategy(name, space, seed=3, population_size=5, sample_size=2,
                                **({"scorer": _RecordingScorer(), "pool_size": 4} if kw else {}))
        assert len({r[1] for r in _drive(plain, n)}) < n


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_restores_the_seen_set(name: str) -> None:
    make = strategy_factory(name, exclude_seen=True)
    ref = make(0)
    full = _drive(ref, 60)
    s = make(0)
    head = _drive(s, 23)
    pend = s.ask()
    state = json.loads(json.dumps(s.state_dict()))
    s2 = make(0)
    s2.load_state_dict(state)
    assert s2.seen_ == s.seen_ == {q.arch for q, _ in s.history_} | {pend.arch}
    s2.tell(pend, toy_objective(pend.arch))
    rest = _drive(s2, 60 - 24)
    assert [r[1] for r in full] == [r[1] for r in head] + [pend.arch] + [r[1] for r in rest]


def _synth_eval():
    return TabularEvaluator(SyntheticBenchmark(n=60, epochs=12), "tse-ema", epochs=3)


@pytest.mark.parametrize("name", ["evolution", "g-rea"])
def test_driver_resumes_identically_with_exclude_seen(tmp_path: Path, name: str) -> None:
    ev = _synth_eval()
    archs = list(ev.benchmark.archs())
    kw = {"scorer": TableScorer(archs, [float(sum(a)) for a in archs])} if name == "g-rea" else {}
    make = lambda: create_strategy(name, ev.space, seed=1, population_size=5, exclude_seen=True, **kw)  # noqa: E731
    ref = run_search(make(), ev, "30q", store=str(tmp_path / "ref.db"))
    db = str(tmp_path / "runs.db")

    def stop(step):
        if step["step"] == 12:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_search(make(), ev, "30q", store=db, on_step=stop)
    again = run_search(make(), ev, "30q", store=db)
    strip = lambda steps: [{k: v for k, v in s.items() if k != "reused"} for s in steps]  # noqa: E731
    assert strip(again.steps) == strip(ref.steps)
    with ResultStore(db) as st:
        (run,) = st.search_runs()
        assert run["status"] == "done"


def test_cli_passes_exclude_seen_as_a_param() -> None:
    from typer.testing import CliRunner

    from nasrank.cli import app

    base = ["search", "--benchmark", "nb201-mini", "--estimator", "none", "--strategy", "evolution",
            "--budget", "60q", "--seeds", "0", "--param", "population_size=5", "--json", "-q"]
    r = CliRunner().invoke(app, base + ["--param", "exclude_seen=true"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)[0]["evaluations"] == 60
    r = CliRunner().invoke(app, base + ["--param", "exclude_seen=maybe"])
    assert r.exit_code != 0 and "exclude_seen" in (r.output + str(r.exception))
