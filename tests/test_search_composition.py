"""The restructured search layer: proxy assistance as composition, space-agnostic model-based
strategies, keyword-only constructors with signature-derived parameters, the library-side
assembly of a search (``SearchConfig`` -> ``assemble``) and ``--config`` on the CLI."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

import nasrank
from nasrank.exceptions import ConfigError
from nasrank.search import (
    STRATEGIES,
    Assisted,
    BenchmarkSpace,
    ProxyAssist,
    RandomSearch,
    Reinforce,
    SearchConfig,
    Strategy,
    assemble,
    assist,
    build_evaluator,
    build_scorer,
    create_strategy,
    list_strategies,
)
from nasrank.testing import check_strategy
from nasrank.testing.strategies import _drive, check_async, toy_objective, toy_scorer

_MODEL = {"tpe", "bohb"}
_PLAIN = [n for n in list_strategies() if not n.startswith("g-")]
_FIDELITY = {"hyperband": {"max_fidelity": 9}, "bohb": {"max_fidelity": 9}}


class _Sum:
    """Toy scorer: the sum of the encoding (records the pools it saw)."""

    cost_ = 0.0

    def __init__(self) -> None:
        self.pools: list[list[tuple[int, ...]]] = []

    def __call__(self, archs):
        self.pools.append([tuple(a) for a in archs])
        return np.array([float(sum(a)) for a in archs])

    def config(self):
        return {"kind": "sum"}


# --- proxy assistance as composition ---------------------------------------------------------
@pytest.mark.parametrize("name,base", [("g-rs", "random"), ("g-rea", "evolution"), ("g-reinforce", "reinforce"),
                                       ("g-hb", "hyperband")])
def test_registered_assisted_entries_are_the_composition(name: str, base: str) -> None:
    entry = STRATEGIES.get(name)
    assert isinstance(entry, Assisted) and entry.needs_scorer and entry.base is STRATEGIES.get(base)
    assert entry.multi_fidelity == STRATEGIES.get(base).multi_fidelity
    kw = {"max_fidelity": 9} if base == "hyperband" else {}
    a = create_strategy(name, seed=4, scorer=toy_scorer(), pool_size=5, **kw)
    b = assist(create_strategy(base, seed=4, **kw), toy_scorer(), pool_size=5, name=name)
    assert type(a) is type(b) is STRATEGIES.get(base) and a.name == b.name == name
    assert a.params() == b.params() and a.params()["pool_size"] == 5
    assert [r[:3] for r in _drive(a, 40)] == [r[:3] for r in _drive(b, 40)]


@pytest.mark.parametrize("name", _PLAIN)
@pytest.mark.parametrize("space", ["nb201", "darts"])
def test_any_strategy_can_be_assisted(name: str, space: str) -> None:
    """Every plain strategy takes a proxy assistance; its proposals are the scorer's best of a
    pool, and the assisted strategy passes the conformance suite."""
    if name in _MODEL:
        pytest.importorskip("optuna")
    kw = {**_FIDELITY.get(name, {}), **({"n_startup_trials": 3} if name == "tpe" else {})}
    if name == "bohb":
        kw["min_points"] = 3  # the TPE model is used within the test's few results
    sc = _Sum()
    s = assist(create_strategy(name, space, seed=0, **kw), sc, pool_size=4)
    assert s.name == f"g-{name}" and s.scorer is sc and s.params()["pool_size"] == 4
    got = _drive(s, 12 if name in _MODEL else 30)
    assert sc.pools and all(len(p) == 4 for p in sc.pools)
    picks = {p[int(np.argmax([sum(a) for a in p]))] for p in sc.pools}
    for i, (_, arch, _, _) in enumerate(got):
        initial = name == "evolution" and i < 10  # the initial population is random, unscreened
        promoted = arch in {r[1] for r in got[:i]}  # Hyperband rungs re-ask their best cells
        assert arch in picks or initial or promoted, (i, arch)
    make = lambda seed: assist(create_strategy(name, space, seed=seed, **kw), toy_scorer(), pool_size=3)  # noqa: E731
    if name in _MODEL:
        check_async(make, n=10)
    else:
        check_strategy(make, ["ask_tell", "async"])


def test_assist_refuses_a_used_strategy_and_a_missing_scorer() -> None:
    s = RandomSearch("nb201", seed=0)
    with pytest.raises(ConfigError, match="pass scorer="):
        assist(s, None)
    s.ask()
    with pytest.raises(ConfigError, match="must be fresh"):
        assist(s, toy_scorer())
    with pytest.raises(ConfigError, match="`pool_size` must be an int >= 1, got 0"):
        ProxyAssist(toy_scorer(), 0)
    with pytest.raises(ConfigError, match="strategy 'g-rea' pre-screens candidates"):
        create_strategy("g-rea")


def test_assisted_entries_check_parameters_against_their_signature() -> None:
    with pytest.raises(ConfigError, match="its parameters: scorer, pool_size, population_size, sample_size, "
                                          "exclude_seen"):
        create_strategy("g-rea", scorer=toy_scorer(), populaton_size=3)
    with pytest.raises(ConfigError, match="strategy 'random' has no parameter 'scorer'"):
        create_strategy("random", scorer=toy_scorer())


# --- keyword-only constructors, parameters from the signature --------------------------------
@pytest.mark.parametrize("name", _PLAIN)
def test_constructors_are_keyword_only_and_params_follow_the_signature(name: str) -> None:
    import inspect

    cls = STRATEGIES.get(name)
    sig = inspect.signature(cls.__init__)
    kinds = {n: p.kind for n, p in sig.parameters.items() if n not in ("self", "space")}
    assert all(k in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD) for k in kinds.values())
    with pytest.raises(TypeError):
        cls("nb201", 0)
    s = cls("nb201", seed=2)
    expected = [n for n in kinds if not (n == "exclude_seen" and not s.exclude_seen)]
    assert list(s.params()) == expected and s.params()["seed"] == 2


def test_params_of_a_custom_strategy_come_from_its_signature() -> None:
    class Greedy(Strategy):
        name = "greedy"

        def __init__(self, space="nb201", *, seed=0, width=3):
            super().__init__(space, seed=seed)
            self.width = width

        def _ask(self):
            return self._propose(self._random_arch)

    s = Greedy("nb201", seed=1, width=5)
    assert s.params() == {"seed": 1, "width": 5} and repr(s) == "Greedy(seed=1, width=5)"
    check_strategy(lambda seed: Greedy("nb201", seed=seed))
    check_strategy(lambda seed: assist(Greedy("darts", seed=seed), toy_scorer(), pool_size=2))


# --- space-agnostic TPE / REINFORCE / BOHB ---------------------------------------------------
def test_reinforce_policy_follows_the_space_choices() -> None:
    sp = nasrank.create_space("darts")
    s = Reinforce(sp, seed=0)
    assert s.logits_.shape == (32, 7)
    p = s._probs()
    for row, c in zip(p, sp.choices(), strict=True):
        assert np.allclose(row[: len(c)], 1 / len(c)) and not row[len(c):].any()
    for _ in range(30):
        q = s.ask()
        assert sp.validate(q.arch) == q.arch
        s.tell(q, toy_objective(q.arch))
    assert np.isfinite(s.logits_).all() and not s.m_[~s.mask_].any()  # padding never learns


@pytest.mark.parametrize("name", ["tpe", "reinforce", "bohb"])
def test_model_based_strategies_refuse_a_space_without_choices(name: str) -> None:
    sp = nasrank.create_space("nb201")

    class Opaque(type(sp)):
        name = "opaque"

        def choices(self):
            raise NotImplementedError

    with pytest.raises(ConfigError, match="declares no per-position choices"):
        create_strategy(name, Opaque(), seed=0)


@pytest.mark.parametrize("name", ["tpe", "bohb", "reinforce"])
def test_model_based_strategies_repair_draws_on_darts(name: str) -> None:
    """DARTS draws with two equal inputs of a node are repaired by ``space.project`` (a model
    samples the positions independently, so unrepaired draws would be invalid)."""
    if name in _MODEL:
        pytest.importorskip("optuna")
    darts = type(nasrank.create_space("darts"))

    class Counting(darts):
        repaired = 0

        def project(self, arch, rng=None):
            out = super().project(arch, rng)
            Counting.repaired += out != tuple(arch)
            return out

    sp = Counting()
    kw = {"tpe": {"n_startup_trials": 2}, "bohb": {"max_fidelity": 3, "min_points": 3, "random_fraction": 0.0}}
    s = create_strategy(name, sp, seed=1, **kw.get(name, {}))
    assert all(sp.validate(r[1]) == r[1] for r in _drive(s, 20))
    assert Counting.repaired > 0


def test_tpe_and_reinforce_on_a_benchmark_subset_stay_inside_it() -> None:
    pytest.importorskip("optuna")
    sp = nasrank.create_space("nb201")
    rng = np.random.default_rng(3)
    sub = BenchmarkSpace(sp, sorted({sp.sample(rng) for _ in range(100)})[:25])
    for name in ("tpe", "reinforce", "bohb"):
        kw = {"max_fidelity": 3, "min_points": 3} if name == "bohb" else {}
        s = create_strategy(name, sub, seed=0, **kw)
        assert all(r[1] in sub for r in _drive(s, 15)), name


# --- the conformance suite's asynchronous check can fail -------------------------------------
def test_check_async_catches_a_strategy_that_reproposes_a_pending_query() -> None:
    class Sticky(RandomSearch):
        name = "sticky"

        def ask(self):
            if len(self.pending_) >= 2:
                return next(iter(self.pending_.values()))
            return super().ask()

    with pytest.raises(AssertionError, match="proposed twice while pending"):
        check_async(lambda seed: Sticky("nb201", seed=seed))


def test_check_async_catches_lost_pending_bookkeeping() -> None:
    class Forgetful(RandomSearch):
        name = "forgetful"

        def tell(self, query, score):
            super().tell(query, score)
            self.pending_.clear()  # forgets the other queries in flight

    with pytest.raises(AssertionError, match="pending queries"):
        check_async(lambda seed: Forgetful("nb201", seed=seed))


# --- library-side assembly -------------------------------------------------------------------
def test_build_config_comes_from_the_space() -> None:
    assert SearchConfig().build_config(nasrank.create_space("nb201")) == {"C": 8, "N": 1}
    assert SearchConfig(config={"layers": 4}).build_config(nasrank.create_space("darts")) == {"C": 8, "layers": 4}
    ev = build_evaluator(SearchConfig(space="darts", epochs=1, train_size=100, val_size=50, test_size=50, batch_size=50,
                                      config={"C": 4}))
    assert ev.space_config == {"C": 4, "layers": 5} and ev.space.name == "darts"
    sc = build_scorer(SearchConfig(proxy="nwot"), ev)
    assert sc.config()["space_config"] == {"C": 4, "layers": 5}
    tab = build_evaluator(SearchConfig(benchmark="nb201-mini"))
    assert build_scorer(SearchConfig(proxy="nwot", config={"C": 4}), tab).config()["space_config"] == {"C": 4, "N": 1}


def test_assemble_validates_before_anything_runs(tmp_path: Path) -> None:
    bad = [
        ({"benchmark": None, "estimator": "none"}, "needs an --estimator"),
        ({"budget": "soon"}, "malformed budget"),
        ({"lr": 0.0}, "--lr"),
        ({"seeds": "5:2"}, "selects no seed"),
        ({"seeds": "a"}, "--seeds must be ints"),
        ({"strategy": "evolutoin"}, "Did you mean 'evolution'"),
        ({"params": {"populaton_size": 3}}, "no parameter 'populaton_size'"),
        ({"workers": 2}, "--executor serial runs one evaluation at a time"),
        ({"store": str(tmp_path / "missing" / "r.db")}, "does not exist"),
    ]
    for kw, msg in bad:
        with pytest.raises(nasrank.NasrankError, match=msg):
            assemble(SearchConfig(**{"benchmark": "nb201-mini", **kw}))
    assert list(tmp_path.iterdir()) == []


def test_assemble_and_run_match_the_driver(tmp_path: Path) -> None:
    from nasrank.benchmarks import load_benchmark
    from nasrank.search import TabularEvaluator, run_search

    cfg = SearchConfig(benchmark="nb201-mini", strategy="g-rea", proxy="params", budget="12q", seeds=(0, 1),
                       params={"population_size": 4}, store=tmp_path / "runs.db")
    with assemble(cfg) as setup:
        assert setup.deadline is None and setup.executor is None
        res = setup.run()
    assert [len(r.steps) for r in res] == [12, 12]
    ev = TabularEvaluator(load_benchmark("nb201-mini"), "tse-ema", epochs=5)
    again = run_search(create_strategy("g-rea", ev.space, seed=1, population_size=4,
                                       scorer=build_scorer(cfg, ev)), ev, "12q")
    assert [s["arch"] for s in again.steps] == [s["arch"] for s in res[1].steps]
    assert again.run_id == res[1].run_id


def test_assisted_runs_with_different_proxies_are_stored_and_reported_apart(tmp_path: Path) -> None:
    """The stored run configuration names the scorer, and the report keeps one curve per proxy
    (runs that differ only in the proxy are different searches)."""
    from nasrank.search import anytime_curves, load_runs

    store = tmp_path / "runs.db"
    for proxy in ("params", "flops", "ensemble:params,flops"):
        with assemble(SearchConfig(benchmark="nb201-mini", strategy="g-rea", proxy=proxy, budget="6q", seeds=(0,),
                                   params={"population_size": 3}, store=store)) as setup:
            setup.run()
    runs = load_runs(store)
    assert sorted(nasrank.search.scorer_label(r["config"]["scorer"]) for r in runs) == \
        ["ensemble:params,flops", "flops", "params"]
    groups = sorted(c.group for c in anytime_curves(runs))
    assert len(groups) == 3 and all(g.startswith("g-rea / ") for g in groups)
    assert [g.rsplit(" / ", 1)[1] for g in groups] == ["ensemble:params,flops", "flops", "params"]
    rep = nasrank.search.write_report(store, tmp_path / "rep", plot=False)
    rows = list(csv.DictReader(rep["runs_csv"].read_text().splitlines()))
    assert len(rows) == 3 * 6 and {r["scorer"] for r in rows} == {"ensemble:params,flops", "flops", "params"}


def test_live_deadline_only_for_one_live_run_with_a_time_budget() -> None:
    with assemble(SearchConfig(epochs=1, budget="100s", train_size=100, val_size=50, test_size=50, batch_size=50)) as setup:
        assert setup.deadline == pytest.approx(setup.started + 100 - 2.0)
        assert setup.executor is not None  # live: the serial executor sets the torch threads
    with assemble(SearchConfig(epochs=1, budget="100s", seeds="0,1", train_size=100, val_size=50,
                               test_size=50, batch_size=50)) as setup:
        assert setup.deadline is None


# --- CLI --------------------------------------------------------------------------------------
def _cli(args: list[str]) -> tuple[int, str, str]:
    from nasrank.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(args)
    return rc, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("strategy", ["tpe", "reinforce"])
def test_cli_darts_search_works_out_of_the_box(strategy: str) -> None:
    """``nasrank search --space darts --dataset digits --strategy tpe|reinforce`` needs no build
    options: the space's search configuration (C=8, 5 cells) trains on 8x8 digits."""
    if strategy == "tpe":
        pytest.importorskip("optuna")
    rc, out, err = _cli(["search", "--space", "darts", "--dataset", "digits", "--strategy", strategy,
                         "--epochs", "1", "--budget", "3q", "--json", "-q"])
    assert rc == 0, err
    (row,) = json.loads(out)
    assert row["evaluations"] == 3 and row["best_arch"].startswith("Genotype(normal=[")
    assert math.isfinite(row["best_score"])


def test_cli_config_option_and_shortcuts(tmp_path: Path) -> None:
    from nasrank.store import ResultStore

    db = tmp_path / "runs.db"
    base = ["search", "--dataset", "digits", "--strategy", "random", "--epochs", "1", "--budget", "1q",
            "--train-size", "100", "--val-size", "50", "--test-size", "50", "--batch-size", "50", "--store", str(db), "--json", "-q"]
    rc, out, err = _cli([*base, "--config", "C=4"])
    assert rc == 0, err
    rc2, out2, _ = _cli([*base, "--C", "4", "--N", "1"])  # the same build options: the same run
    assert rc2 == 0 and json.loads(out2)[0]["run_id"] == json.loads(out)[0]["run_id"]
    assert json.loads(out2)[0]["evaluated_now"] == 0
    with ResultStore(db) as st:
        (run,) = st.search_runs()
    rc, _, err = _cli([*base, "--C", "4", "--config", "C=8"])
    assert rc == 2 and err.startswith("Error: --C 4 and --config C=8 disagree")
    rc, _, err = _cli([*base, "--config", "C"])
    assert rc == 2 and err.startswith("Error: --config must be key=value")
    rc, _, err = _cli([*base, "--space", "darts", "--N", "1"])
    assert rc == 2 and err.startswith("Error: ") and "'N'" in err
    assert run["status"] == "done"


def test_cli_bench_build_takes_config(tmp_path: Path) -> None:
    from nasrank.benchmarks import load_benchmark

    out = tmp_path / "b"
    rc, _, err = _cli(["bench", "build", "--out", str(out), "--space", "darts", "--dataset", "digits", "--archs", "1",
                       "--epochs", "1", "--train-size", "100", "--val-size", "50", "--test-size", "50", "--batch-size", "50",
                       "--config", "C=4", "--config", "layers=3", "--quiet"])
    assert rc == 0, err
    assert load_benchmark(str(out)).metadata["space_config"] == {"C": 4, "layers": 3}


def test_cli_g_rea_with_an_ensemble_of_the_later_proxies(tmp_path: Path) -> None:
    """``nasrank search --strategy g-rea --proxy ensemble:...`` pre-screens with a label-free
    ensemble of the later proxies; the ensemble is part of the run's identity, and a misspelt
    member is a one-line error naming the fix."""
    db = tmp_path / "runs.db"
    base = ["search", "--dataset", "digits", "--strategy", "g-rea", "--epochs", "1", "--budget", "3q",
            "--C", "4", "--N", "1", "--pool-size", "4", "--train-size", "100", "--val-size", "50",
            "--test-size", "50", "--batch-size", "50", "--store", str(db), "--json", "-q"]
    rc, out, err = _cli([*base, "--proxy", "ensemble:zico,meco,flops"])
    assert rc == 0, err
    (row,) = json.loads(out)
    assert row["strategy"] == "g-rea" and row["evaluations"] == 3 and math.isfinite(row["best_score"])
    rc, out2, err = _cli([*base, "--proxy", "ensemble:zico,swap"])
    assert rc == 0, err
    assert json.loads(out2)[0]["run_id"] != row["run_id"]
    rc, _, err = _cli([*base, "--proxy", "ensemble:zico,mecoo"])
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("Error: Unknown proxy 'mecoo'") and "Did you mean 'meco'" in err


def test_cli_proxies_list_shows_the_later_proxies() -> None:
    rc, out, err = _cli(["proxies", "--list", "--json"])
    assert rc == 0, err
    names = {r["name"] for r in json.loads(out)}
    assert names >= {"zico", "meco", "swap", "az-nas-expressivity", "az-nas-progressivity",
                     "az-nas-trainability", "vkdnw", "vkdnw-entropy", "ntk-cond", "linear-regions", "epe-nas"}
