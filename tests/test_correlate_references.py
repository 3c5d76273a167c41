"""Budget-free lines of a correlation study (seed 000, Fig. 1): zero-cost proxies from a proxy
table and the noise ceiling from a benchmark built with a second seed on part of its cells."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr

from nasrank.benchmarks import BuildConfig, CurveBenchmark, ProxyProtocol, build_proxy_table
from nasrank.cli import main
from nasrank.evaluation import ReferenceRow, noise_ceiling, proxy_references, reference_row
from nasrank.exceptions import ConfigError
from nasrank.store import ResultStore

TINY = ["--dataset", "digits", "--C", "4", "--N", "1", "--epochs", "2", "--val-size", "300",
        "--test-size", "100", "--batch-size", "128", "-q"]


@pytest.fixture(scope="module")
def two_seed_bench(tmp_path_factory):
    """5 cells with seed 0, the first 4 of them also with seed 1 (one store, built in two steps)."""
    root = tmp_path_factory.mktemp("refs")
    store = root / "records.sqlite"
    first = root / "seed0"
    assert main(["bench", "build", "--out", str(first), "--archs", "5", "--store", str(store), *TINY]) == 0
    out = root / "bench"
    assert main(["bench", "build", "--out", str(out), "--archs", "5", "--seeds", "0,1:4", "--store", str(store),
                 *TINY]) == 0
    return first, out, store


def test_second_seed_on_a_prefix_of_the_cells_reuses_the_first_build(two_seed_bench):
    first, out, store = two_seed_bench
    one, two = CurveBenchmark(first), CurveBenchmark(out)
    assert one.seeds == [0] and two.seeds == [0, 1]
    assert one.archs() == two.archs()  # the same draw
    with ResultStore(store) as st:
        assert len(st) == 9  # 5 + 4: the seed-0 runs were not trained again
    assert two.metadata["seed_archs"] == {"1": 4} and two.metadata["seeds"] == [0, 1]
    assert "seed_archs" not in one.metadata  # a build without it is described as before
    for i, a in enumerate(two.archs()):
        assert two.query(a, "test_acc", seed=0) == one.query(a, "test_acc")
        if i < 4:
            assert np.isfinite(two.query(a, "test_acc", seed=1))
        else:  # the last cell has no seed-1 run
            with pytest.raises(Exception, match="no run of seed 1"):
                two.query(a, "test_acc", seed=1)
    assert [j.seed for j in BuildConfig("nb201", archs=3, seeds=(0, 1), seed_archs={1: 2}).jobs()] == [0, 1, 0, 1, 0]


@pytest.mark.parametrize("kw, match", [
    ({"seeds": (0, 1), "seed_archs": {2: 3}}, "not one of the seeds"),
    ({"seeds": (0, 1), "seed_archs": {1: 0}}, r"seed_archs\[1\]"),
    ({"seeds": (0, 1), "seed_archs": {1: 9}}, "only 5"),
    ({"seeds": (0, 1), "seed_archs": [1, 2]}, "must be a dict"),
])
def test_seed_archs_is_validated(kw, match):
    with pytest.raises(ConfigError, match=match):
        BuildConfig("nb201", archs=5, **kw)


@pytest.mark.parametrize("seeds", ["0,1:x", "0,1:", "a"])
def test_cli_bad_seed_spec_is_one_line_exit_2(tmp_path, capsys, seeds):
    assert main(["bench", "build", "--out", str(tmp_path / "b"), "--seeds", seeds, *TINY]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "SEED:K" in err[0]
    assert not (tmp_path / "b").exists()


def test_noise_ceiling_is_the_seed_to_seed_rank_correlation(two_seed_bench):
    _, out, _ = two_seed_bench
    bench = CurveBenchmark(out)
    a = [bench.query(x, "test_acc", seed=0) for x in bench.archs()[:4]]
    b = [bench.query(x, "test_acc", seed=1) for x in bench.archs()[:4]]
    row = noise_ceiling(bench, "test_acc", n_boot=200)
    assert isinstance(row, ReferenceRow) and row.kind == "ceiling" and row.source == "seeds 0 vs 1"
    assert row.n == 4 and row.n_dropped == 0
    assert row.value == pytest.approx(spearmanr(a, b)[0])
    vl = noise_ceiling(bench, "val_loss", metric="kendall", n_boot=50)
    va = [bench.query(x, "val_loss", seed=0) for x in bench.archs()[:4]]
    vb = [bench.query(x, "val_loss", seed=1) for x in bench.archs()[:4]]
    assert vl.metric == "kendall" and vl.value == pytest.approx(kendalltau(va, vb)[0])
    with pytest.raises(ConfigError, match="no runs of seed 7"):
        noise_ceiling(bench, seeds=(0, 7))
    with pytest.raises(ConfigError, match="two different seeds"):
        noise_ceiling(bench, seeds=(1, 1))


def test_noise_ceiling_needs_two_seeds_on_three_cells(two_seed_bench):
    first, _, _ = two_seed_bench
    assert noise_ceiling(CurveBenchmark(first)) is None  # one seed

    class TwoShared:  # a second seed on only 2 cells: too few for a correlation
        seeds = [0, 1]

        def archs(self):
            return [0, 1, 2, 3]

        def query(self, arch, metric, dataset=None, seed=None):
            if seed == 1 and arch > 1:
                raise ConfigError("no run")
            return float(arch)

    assert noise_ceiling(TwoShared()) is None


def test_reference_row_drops_nan_pairs_and_checks_its_input():
    rng = np.random.default_rng(1)
    t = rng.normal(size=50)
    s = t + rng.normal(0, 0.3, 50)
    s[[3, 7]] = np.nan
    row = reference_row("x", "proxy", s, t, n_boot=300, seed=4)
    keep = np.isfinite(s)
    assert row.n == 48 and row.n_dropped == 2
    assert row.value == pytest.approx(spearmanr(s[keep], t[keep])[0])
    assert row.ci_low < row.value < row.ci_high
    assert reference_row("x", "proxy", s, t, n_boot=300, seed=4) == row  # seeded
    assert np.isnan(reference_row("x", "proxy", [1.0, np.nan], [1.0, 2.0]).value)
    with pytest.raises(ConfigError, match="kind"):
        reference_row("x", "line", s, t)
    with pytest.raises(ConfigError, match="one length"):
        reference_row("x", "proxy", s[:3], t)
    with pytest.raises(ConfigError, match="metric"):
        reference_row("x", "proxy", s, t, metric="precision_at_k")


@pytest.fixture(scope="module")
def small_table(two_seed_bench, tmp_path_factory):
    """params, synflow and ntk-cond (lower is better) on 4 of the benchmark's 5 cells."""
    _, out, _ = two_seed_bench
    archs = CurveBenchmark(out).archs()
    p = ProxyProtocol("nb201", ("params", "synflow", "ntk-cond"), dataset="digits", space_config={"C": 2, "N": 1})
    path = tmp_path_factory.mktemp("tab") / "t"
    build_proxy_table(p, path, archs=archs[:4], progress=False)
    return path


def test_proxy_references_orient_and_drop_what_the_table_lacks(two_seed_bench, small_table):
    from nasrank.benchmarks import load_proxy_table

    _, out, _ = two_seed_bench
    bench, table = CurveBenchmark(out), load_proxy_table(small_table)
    archs, y = bench.archs(), bench.table("test_acc")
    assert table.holds(archs).tolist() == [True, True, True, True, False]
    with pytest.raises(ConfigError, match="not in the proxy table"):
        table.scores_of(archs, "params")
    rows = {r.label: r for r in proxy_references(table, archs, y, n_boot=100)}
    assert list(rows) == ["params", "synflow", "ntk-cond"]
    for name, sign in (("params", 1), ("synflow", 1), ("ntk-cond", -1)):
        col = table.scores_of(archs, name, missing="nan")
        assert np.isnan(col[4]) and rows[name].n_dropped == 1 and rows[name].n == 4
        assert rows[name].value == pytest.approx(spearmanr(sign * col[:4], y[:4])[0])
        assert rows[name].source == table.name and rows[name].kind == "proxy"
    assert [r.label for r in proxy_references(table, archs, y, ["synflow"], n_boot=10)] == ["synflow"]
    with pytest.raises(ConfigError, match="scores none"):
        proxy_references(table, archs[4:], y[4:], n_boot=10)
    with pytest.raises(ConfigError, match="has no 'zen'"):
        proxy_references(table, archs, y, ["zen"], n_boot=10)


def test_cli_correlate_shows_proxies_and_ceiling_everywhere(two_seed_bench, small_table, tmp_path, capsys):
    _, out, _ = two_seed_bench
    args = ["correlate", "--benchmark", str(out), "-e", "tse,vacc-es", "-T", "1,2", "--n-boot", "50"]
    assert main([*args, "--proxy-table", str(small_table), "--proxies", "params,ntk-cond", "--plot", "none",
                 "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    refs = {r["label"]: r for r in info["references"]}
    assert set(refs) == {"params", "ntk-cond", "noise ceiling"}
    bench = CurveBenchmark(out)
    assert refs["noise ceiling"]["value"] == pytest.approx(noise_ceiling(bench, n_boot=50).value)
    assert refs["params"]["n"] == 4 and refs["params"]["n_dropped"] == 1

    csv_path = tmp_path / "c.csv"
    assert main([*args, "--proxy-table", str(small_table), "--plot", "none", "--csv", str(csv_path)]) == 0
    text = capsys.readouterr().out
    assert "budget-free references" in text and "noise ceiling" in text and "ntk-cond (zero-cost)" in text
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["estimator"] for r in rows if not r["epochs"]] == ["proxy:params", "proxy:synflow", "proxy:ntk-cond",
                                                               "noise-ceiling"]
    assert len([r for r in rows if r["epochs"]]) == 4

    assert main([*args, "--no-ceiling", "--plot", "none", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["references"] == []


def test_plot_draws_the_references_as_horizontal_lines(two_seed_bench, small_table, tmp_path):
    pytest.importorskip("matplotlib")
    from nasrank.benchmarks import load_proxy_table
    from nasrank.evaluation import correlate_benchmark, plot_correlations

    _, out, _ = two_seed_bench
    bench = CurveBenchmark(out)
    rows = correlate_benchmark(bench, estimators="tse", epochs="1,2", n_boot=20)
    refs = proxy_references(load_proxy_table(small_table), bench.archs(), bench.table("test_acc"), n_boot=20)
    refs.append(noise_ceiling(bench, n_boot=20))
    fig = plot_correlations(rows, tmp_path / "p.png", references=refs)
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
    for r in refs:
        label = "noise ceiling (seeds 0 vs 1)" if r.kind == "ceiling" else f"{r.label} (zero-cost)"
        assert np.allclose(lines[label].get_ydata(), r.value)  # flat across every T
    assert lines["params (zero-cost)"].get_linestyle() == ":"
    assert (tmp_path / "p.png").stat().st_size > 0


@pytest.mark.parametrize("extra, match", [
    (["--proxy-table", "none", "--proxies", "params"], "--proxy-table"),
    (["--proxies", "params"], "has no 'params'"),  # auto: the shipped nb201-cifar10 table
    (["--proxy-table", "nb201-cifar10", "--curves", "x.csv"], "--benchmark"),
    (["--proxy-table", "no-such-table"], "no proxy table"),
])
def test_cli_reference_errors_are_one_line_exit_2(extra, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["correlate", "--plot", "none", *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0]


def test_cli_table_without_the_benchmark_cells_or_proxy_is_one_line(two_seed_bench, small_table, capsys, tmp_path):
    from nasrank.benchmarks import load_benchmark

    mini = load_benchmark("nb201-mini")
    sp = mini.space
    held = {sp.canonical_key(a) for a in mini.archs()}
    other = next(a for a in sp.all_archs() if sp.is_valid(a) and sp.canonical_key(a) not in held)
    table = tmp_path / "other"
    build_proxy_table(ProxyProtocol("nb201", ("params",), dataset="digits", space_config={"C": 2, "N": 1}),
                      table, archs=[other], progress=False)
    assert main(["correlate", "--plot", "none", "--proxy-table", str(table)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "scores none of the 200 cells of nb201-mini" in err[0]
    _, out, _ = two_seed_bench
    assert main(["correlate", "--plot", "none", "-b", str(out), "--proxy-table", str(small_table),
                 "--proxies", "zen"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "has no 'zen'" in err[0]


def test_cli_defaults_are_the_fig1_set(capsys, tmp_path):
    """Without options on nb201-mini: TLmini joins the estimators (its minibatch losses are
    recorded) and the shipped nb201-cifar10 proxies are the budget-free lines; on a benchmark
    without minibatch losses or a shipped table of its cells, neither."""
    from nasrank.benchmarks import load_proxy_table, write_benchmark

    assert main(["correlate", "-T", "5", "--n-boot", "20", "--plot", "none", "--json"]) == 0
    captured = capsys.readouterr()
    info = json.loads(captured.out)
    ests = [r["estimator"] for r in info["rows"]]
    assert ests == ["tse", "tse-e", "tse-ema", "tse-ema:gamma=0.1", "sovl", "vacc-es", "tl-mini", "lcsvr"]
    table = load_proxy_table("nb201-cifar10")
    assert sorted(r["label"] for r in info["references"]) == sorted(table.proxies)
    assert "shipped table nb201-cifar10" in captured.err
    assert main(["correlate", "-T", "5", "--n-boot", "20", "--plot", "none", "--json", "--proxy-table", "none"]) == 0
    assert json.loads(capsys.readouterr().out)["references"] == []

    from nasrank import create_space

    sp = create_space("nb201")
    space_cells, seen = [], set()
    for i in range(200):
        a = sp.canonical(sp.sample(i))
        if sp.is_valid(a) and sp.canonical_key(a) not in seen and len(space_cells) < 10:
            seen.add(sp.canonical_key(a))
            space_cells.append(sp.to_str(a))
    runs = [{"arch": a, "seed": 0, "status": "ok", "params": 1,
             "curve": {"train_loss": [2.0 - i / 10, 1.5 - i / 10], "val_acc": [.2 + i / 30, .3 + i / 30],
                       "val_loss": [2.0, 1.9], "test_acc": .3 + i / 30}} for i, a in enumerate(space_cells)]
    out = write_benchmark(tmp_path / "b", {"space": "nb201", "name": "plain",
                                           "data": {"dataset": "digits"}}, runs, epochs=2)
    assert main(["correlate", "-b", str(out), "-T", "2", "--n-boot", "20", "--plot", "none", "--json",
                 "--fit-size", "6"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert "tl-mini" not in [r["estimator"] for r in info["rows"]] and info["references"] == []


def test_target_seed_scores_one_run_against_an_independent_run(two_seed_bench, small_table, capsys):
    """--target-seed 1: the estimators read seed 0's curves, the target is seed 1's final value, on
    the 4 cells with both seeds; the proxies and the ceiling are scored on the same cells."""
    from nasrank.evaluation import correlate_benchmark, cross_seeds

    _, out, _ = two_seed_bench
    bench = CurveBenchmark(out)
    rows = correlate_benchmark(bench, estimators="vacc-es", epochs="2", target_seed=1, n_boot=20)
    archs = bench.archs()[:4]
    x = [bench.curve(a, seed=0).val_acc[-1] for a in archs]
    y = [bench.query(a, "test_acc", seed=1) for a in archs]
    assert rows[0].n == 4 and rows[0].value == pytest.approx(spearmanr(x, y)[0])
    default = correlate_benchmark(bench, estimators="vacc-es", epochs="2", n_boot=20)
    assert default[0].n == 5  # the default: every cell, against the mean over its runs
    # seed 1's curves against seed 0's target: the other direction
    back = correlate_benchmark(bench, estimators="vacc-es", epochs="2", target_seed=0, n_boot=20)
    x1 = [bench.curve(a, seed=1).val_acc[-1] for a in archs]
    y0 = [bench.query(a, "test_acc", seed=0) for a in archs]
    assert back[0].value == pytest.approx(spearmanr(x1, y0)[0])
    assert cross_seeds(bench, 0) == (1, 0) and cross_seeds(bench, 1) == (0, 1)

    assert main(["correlate", "-b", str(out), "-e", "vacc-es", "-T", "2", "--n-boot", "20", "--plot", "none",
                 "--target-seed", "1", "--proxy-table", str(small_table), "--proxies", "params", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["seeds"] == {"curves": 0, "target": 1}
    assert info["rows"][0]["value"] == pytest.approx(rows[0].value)
    refs = {r["label"]: r for r in info["references"]}
    assert refs["params"]["n"] == 4 and refs["params"]["n_dropped"] == 0  # the 4 cells, all in the table
    assert refs["noise ceiling"]["n"] == 4


@pytest.mark.parametrize("extra, match", [
    (["--target-seed", "2"], "no runs of target seed 2"),
    (["--target-seed", "0", "--curves", "x.csv"], "drop --target-seed"),
])
def test_target_seed_errors_are_one_line_exit_2(two_seed_bench, extra, match, capsys):
    _, out, _ = two_seed_bench
    args = ["correlate", "--plot", "none", *extra]
    if "--curves" not in extra:
        args += ["-b", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0]
    assert main(["correlate", "--plot", "none", "--target-seed", "1"]) == 2  # nb201-mini: one run per cell
    assert "one training run per cell" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="give target_seed too"):
        from nasrank.evaluation import correlate_benchmark

        correlate_benchmark(CurveBenchmark(out), estimators="tse", curve_seed=0)
