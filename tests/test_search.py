"""Search strategies (conformance over the registry), evaluators, driver, store, report."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import nasrank
from nasrank.exceptions import ConfigError
from nasrank.search import (
    STRATEGIES,
    BenchmarkSpace,
    LiveEvaluator,
    TableScorer,
    TabularEvaluator,
    create_strategy,
    list_strategies,
    parse_budget,
    run_search,
    write_report,
)
from nasrank.store import ResultStore
from nasrank.testing import STRATEGY_CHECKS, check_strategy, strategy_factory

sys.path.insert(0, str(Path(__file__).parent))
from _synthetic_bench import SyntheticBenchmark  # noqa: E402

_SLOW_MODEL = {"tpe", "bohb"}  # Optuna's TPE: fewer results keep the suite fast


@pytest.mark.parametrize("space", nasrank.list_spaces())
@pytest.mark.parametrize("name", list_strategies())
@pytest.mark.parametrize("check", list(STRATEGY_CHECKS))
def test_strategy_conformance(name: str, check: str, space: str) -> None:
    """Every registered strategy passes the conformance suite on every registered space."""
    fn = STRATEGY_CHECKS[check]
    if name in _SLOW_MODEL:
        pytest.importorskip("optuna")
        kw = {"state_dict": {"n": 16, "cut": (5,)}, "determinism": {"n": 14}}.get(check, {"n": 12})
        fn(strategy_factory(name, space), **kw)
    else:
        fn(strategy_factory(name, space))


def test_registry_and_public_api() -> None:
    assert set(nasrank.list_strategies()) >= {"random", "evolution", "tpe", "reinforce", "hyperband", "bohb",
                                              "g-rs", "g-rea", "g-reinforce", "g-hb"}
    assert isinstance(nasrank.create_strategy("random"), STRATEGIES.get("random"))
    with pytest.raises(nasrank.UnknownNameError, match="Did you mean 'evolution'"):
        create_strategy("evolutoin")
    with pytest.raises(ConfigError, match="scorer"):
        create_strategy("g-rs")
    with pytest.raises(ConfigError, match="population_size"):
        create_strategy("evolution", population_size=0)


def test_conformance_suite_catches_a_seed_ignoring_strategy() -> None:
    from nasrank.search import Strategy

    class Bad(Strategy):
        name = "bad"

        def _ask(self):
            return self.space.sample(np.random.default_rng(0))

    with pytest.raises(AssertionError, match="seed"):
        check_strategy(lambda s: Bad("nb201", seed=s), ["determinism"])


def test_evolution_follows_the_protocol() -> None:
    s = create_strategy("evolution", seed=3, population_size=4, sample_size=2)
    qs = []
    for v in range(4):  # random initial population
        q = s.ask()
        qs.append(q)
        s.tell(q, float(v))
    child = s.ask()
    assert sum(a != b for a, b in zip(child.arch, qs[-1].arch, strict=False)) <= 6
    parents = [q.arch for q in qs]
    assert any(sum(a != b for a, b in zip(child.arch, p, strict=False)) == 1 for p in parents)  # one-edge mutation
    s.tell(child, 10.0)
    assert len(s.population_) == 4 and s.population_[0][0] == qs[1].arch  # the oldest left


def test_assisted_strategies_pick_the_proxy_best() -> None:
    sp = nasrank.create_space("nb201")
    archs = list(sp.all_archs())
    sc = TableScorer(archs, [float(sum(a)) for a in archs])
    rs = create_strategy("random", seed=0)
    grs = create_strategy("g-rs", seed=0, scorer=sc, pool_size=10)
    a = [sum(rs.ask().arch) for _ in range(30)]
    b = [sum(grs.ask().arch) for _ in range(30)]
    assert np.mean(b) > np.mean(a) + 3


def test_hyperband_brackets_and_waiting() -> None:
    s = create_strategy("hyperband", seed=0, min_fidelity=1, max_fidelity=9, eta=3)
    first = [s.ask() for _ in range(9)]
    assert {q.fidelity for q in first} == {1}
    assert s.ask() is None  # the rung needs its results
    for i, q in enumerate(first):
        s.tell(q, float(i))
    second = [s.ask() for _ in range(3)]
    assert {q.fidelity for q in second} == {3}
    assert {q.arch for q in second} == {q.arch for q in first[-3:]}  # the best third is promoted


def test_budget_parsing() -> None:
    assert parse_budget("5m").amount == 300 and parse_budget("5m").unit == "s"
    assert parse_budget("100q").unit == "query"
    assert parse_budget(12).amount == 12
    with pytest.raises(ConfigError, match="malformed budget"):
        parse_budget("soon")


def _synth_eval(**kw):
    return TabularEvaluator(SyntheticBenchmark(n=60, epochs=12), "tse-ema", epochs=kw.pop("epochs", 3), **kw)


def test_tabular_evaluator_on_a_partial_benchmark() -> None:
    ev = _synth_eval()
    assert isinstance(ev.space, BenchmarkSpace)
    members = set(ev.benchmark.archs())
    s = create_strategy("evolution", ev.space, seed=0, population_size=5)
    res = run_search(s, ev, "40s")
    assert all(ev.space.from_str(st["arch"]) in members for st in res.steps)
    assert res.spent <= 40 and res.steps[-1]["spent"] == pytest.approx(res.spent)
    assert all(st["cost"] == 3.0 for st in res.steps)  # no recorded times: T epochs as the unit
    best = res.best
    assert best is not None and best["score"] == max(st["score"] for st in res.steps if math.isfinite(st["score"]))
    # multi-fidelity strategies vary T; the incumbent only counts full-fidelity results
    hb = run_search(create_strategy("hyperband", ev.space, seed=0, min_fidelity=1, max_fidelity=12), ev, "300s")
    assert {st["fidelity"] for st in hb.steps} >= {1, 4, 12}
    assert all(st["best_step"] is None or hb.steps[st["best_step"]]["fidelity"] == 12 for st in hb.steps)
    with pytest.raises(ConfigError, match="no learning curves"):
        TabularEvaluator(SyntheticBenchmark(curves=False), "tse-ema")
    with pytest.raises(ConfigError, match="varies the training budget"):
        run_search(create_strategy("hyperband", seed=0), TabularEvaluator(SyntheticBenchmark(curves=False), metric="test_acc"), "5q")


def test_tpe_on_a_partial_benchmark_projects_into_it() -> None:
    pytest.importorskip("optuna")
    ev = _synth_eval()
    res = run_search(create_strategy("tpe", ev.space, seed=0, n_startup_trials=3), ev, "8q")
    assert len(res.steps) == 8
    assert all(ev.space.from_str(st["arch"]) in set(ev.benchmark.archs()) for st in res.steps)


def _interrupt_after(k: int):
    def hook(step):
        if step["step"] == k:
            raise KeyboardInterrupt

    return hook


@pytest.mark.parametrize("name", ["evolution", "tpe", "hyperband"])
def test_driver_resumes_identically(tmp_path: Path, name: str) -> None:
    if name == "tpe":
        pytest.importorskip("optuna")
    ev = _synth_eval()
    kw = {"max_fidelity": 12} if name == "hyperband" else {}
    make = lambda: create_strategy(name, ev.space, seed=1, **kw)  # noqa: E731
    ref = run_search(make(), ev, "14q", store=str(tmp_path / "ref.db"))
    db = str(tmp_path / "runs.db")
    with pytest.raises(KeyboardInterrupt):
        run_search(make(), ev, "14q", store=db, on_step=_interrupt_after(6))
    again = run_search(make(), ev, "14q", store=db)
    assert again.evaluated <= 14 - 7  # nothing committed is evaluated again
    with ResultStore(db) as a, ResultStore(tmp_path / "ref.db") as b:
        assert len(a) == len(b)  # the same set of evaluations as an uninterrupted run
    strip = lambda steps: [{k: v for k, v in s.items() if k != "reused"} for s in steps]  # noqa: E731
    assert strip(again.steps) == strip(ref.steps)
    done = run_search(make(), ev, "14q", store=db)  # finished: nothing to do
    assert done.evaluated == 0 and strip(done.steps) == strip(ref.steps)
    with ResultStore(db) as st:
        (run,) = st.search_runs()
        assert run["status"] == "done" and run["steps"] == 14


def test_live_search_reuses_records_and_reports(tmp_path: Path) -> None:
    from nasrank.data import DataSpec
    from nasrank.training import TrainConfig

    ev = LiveEvaluator(DataSpec("digits", train_size=150, val_size=60, test_size=60), "tse-ema", epochs=1,
                       space_config={"C": 2, "N": 1}, train=TrainConfig(epochs=1, batch_size=64))
    db = str(tmp_path / "runs.db")
    a = run_search(create_strategy("random", seed=0), ev, "2q", store=db)
    b = run_search(create_strategy("evolution", seed=0, population_size=3), ev, "2q", store=db)
    assert a.evaluated == 2 and len(b.steps) == 2
    assert b.evaluated == 0  # same seed, same random cells: training records are shared
    assert all(math.isfinite(s["score"]) and s["score"] < 0 for s in a.steps)
    rep = write_report(db, tmp_path / "rep")
    assert rep["csv"].is_file() and rep["runs_csv"].is_file()
    assert len(rep["groups"]) == 2
    if rep["png"] is not None:
        assert rep["png"].stat().st_size > 1000


def test_store_search_tables_are_additive(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "s.db") as st:
        st.start_search_run("r1", {"strategy": "random"})
        st.save_search_step("r1", 0, {"spent": 1.0, "x": math.nan}, {"k": [1, 2]}, 1.0)
        assert st.search_steps("r1") == [{"spent": 1.0, "x": None}]
        assert st.search_run("r1")["state"] == {"k": [1, 2]} and len(st) == 0


def test_cli_search_and_report(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nasrank.cli import app

    db = tmp_path / "runs.db"
    args = ["search", "--dataset", "digits", "--strategy", "evolution", "--estimator", "tse-ema", "--epochs", "1",
            "--budget", "2q", "--train-size", "150", "--val-size", "60", "--test-size", "60", "--C", "2",
            "--batch-size", "64", "--store", str(db), "-q"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "best architecture: |" in r.output and "estimator value (tse-ema@T=1)" in r.output
    r = CliRunner().invoke(app, args + ["--json"])
    row = json.loads(r.output)[0]
    assert row["evaluations"] == 2 and row["evaluated_now"] == 0  # resumed: already done
    r = CliRunner().invoke(app, ["report", str(db), "--out", str(tmp_path / "rep"), "--no-plot"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rep" / "anytime.csv").is_file()
    r = CliRunner().invoke(app, ["search", "--budget", "soon"])
    assert r.exit_code != 0
