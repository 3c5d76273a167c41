"""Correlation harness, plot and ``nasrank correlate`` on an in-memory synthetic benchmark."""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from _synthetic_bench import SyntheticBenchmark, synthetic_curves

import nasrank.cli._correlate as cli_correlate
from nasrank import create_estimator
from nasrank.cli import main
from nasrank.estimators import GAMMA_PAPER, GAMMA_RELEASED_CODE, LcSVR
from nasrank.evaluation import (
    CorrelationRow,
    EstimatorSpec,
    bootstrap_ci,
    correlate_benchmark,
    correlation_table,
    parse_epochs,
    parse_estimators,
    plot_correlations,
    spearman,
)
from nasrank.exceptions import ConfigError, MissingDependencyError, UnknownNameError

FAST = dict(n_boot=200, lcsvr_n_search=3)


@pytest.fixture(scope="module")
def data():
    return synthetic_curves(n=60, epochs=12, seed=0, n_diverged=3)


def test_parse_epochs() -> None:
    assert parse_epochs(None, 4) == [1, 2, 3, 4]
    assert parse_epochs("1:20", 20) == list(range(1, 21))
    assert parse_epochs("1,2,5,10,50%", 20) == [1, 2, 5, 10]
    assert parse_epochs("end,1,1", 7) == [1, 7]
    assert parse_epochs("2:end:3", 10) == [2, 5, 8]
    assert parse_epochs([5, 1], 5) == [1, 5]
    assert parse_epochs(3, 5) == [3]
    for bad, msg in (("0", "outside 1..20"), ("21", "outside"), ("x", "malformed budget"),
                     ("5:2", "empty"), ("150%", "percentage"), ("", "no budgets"), ("1:2:3:4", "a:b")):
        with pytest.raises(ConfigError, match=msg):
            parse_epochs(bad, 20)
    with pytest.raises(ConfigError, match="ints"):
        parse_epochs([1.5], 20)


def test_estimator_specs() -> None:
    spec = EstimatorSpec.parse(" TSE-EMA : gamma=0.1 ")
    assert (spec.name, spec.kwargs, spec.label) == ("tse-ema", {"gamma": 0.1}, "tse-ema:gamma=0.1")
    assert EstimatorSpec.parse("lcsvr:all_curve=false:n_search=5").kwargs == {"all_curve": False, "n_search": 5}
    assert [s.label for s in parse_estimators("tse,,tse-e")] == ["tse", "tse-e"]
    with pytest.raises(UnknownNameError, match="Unknown estimator 'tsee'. Did you mean"):
        EstimatorSpec.parse("tsee")
    with pytest.raises(ConfigError, match="key=value"):
        EstimatorSpec.parse("tse-ema:gamma")
    with pytest.raises(ConfigError, match="twice"):
        parse_estimators("tse,tse")
    with pytest.raises(ConfigError, match="estimator .tse-ema. has no parameter .bogus.; its parameters: gamma"):
        EstimatorSpec.parse("tse-ema:bogus=1").create()
    with pytest.raises(ConfigError, match="gamma"):
        EstimatorSpec.parse("tse-ema:gamma=2").create()


def test_table_values_match_direct_computation(data) -> None:
    curves, y = data
    rows = correlation_table(curves, y, ["tse", "tse-ema:gamma=0.1", "vacc-es"], "1,6,12", **FAST)
    assert [(r.estimator, r.epochs) for r in rows] == [
        (e, t) for e in ("tse", "tse-ema:gamma=0.1", "vacc-es") for t in (1, 6, 12)]
    for r in rows:
        est = EstimatorSpec.parse(r.estimator).create()
        scores = [est.score(c, r.epochs) for c in curves]
        assert r.value == pytest.approx(spearman(scores, y))
        assert (r.ci_low, r.ci_high) == pytest.approx(bootstrap_ci("spearman", scores, y, n_boot=200, seed=0))
        assert r.ci_low <= r.value <= r.ci_high
        assert r.n + r.n_dropped == len(curves) and r.n_fit == 0 and r.metric == "spearman"
    # the 3 diverged curves (stopped after epoch 4 with a NaN loss) are dropped, and only when read
    by = {(r.estimator, r.epochs): r for r in rows}
    assert by[("tse", 1)].n_dropped == 0 and by[("tse", 12)].n_dropped == 3
    assert by[("vacc-es", 1)].n_dropped == 0
    # TSE (a loss: lower raw = better) must be signed so that the correlation is positive
    assert by[("tse", 12)].value > 0.5


def test_both_gamma_conventions_and_kendall(data) -> None:
    curves, y = data
    rows = correlation_table(curves, y, [f"tse-ema:gamma={GAMMA_PAPER}", f"tse-ema:gamma={GAMMA_RELEASED_CODE}"],
                             [12], metric="kendall", n_boot=50)
    assert {r.metric for r in rows} == {"kendall"}
    assert rows[0].value != rows[1].value
    sk = correlation_table(curves, y, ["tse"], [12], metric="sparse_kendall", n_boot=20)
    assert sk[0].metric == "sparse_kendall" and -1 <= sk[0].value <= 1
    with pytest.raises(ConfigError, match="metric"):
        correlation_table(curves, y, ["tse"], [12], metric="regret")


def test_lcsvr_protocol_fit_on_subset_scored_on_rest(data) -> None:
    curves, y = data
    rows = correlation_table(curves, y, ["tse", "lcsvr"], [3, 12], fit_size=20, **FAST)
    lc = [r for r in rows if r.estimator == "lcsvr"]
    ts = [r for r in rows if r.estimator == "tse"]
    assert all(r.n_fit == 20 and r.n + r.n_dropped == 40 for r in lc)
    assert all(r.n + r.n_dropped == 60 for r in ts)
    # reproduce the T=3 row by hand: same seeded split of the fully trained curves, same fit
    pool = np.array([i for i, c in enumerate(curves) if not c.diverged])
    fit = np.sort(np.random.default_rng(0).permutation(pool)[:20])
    rest = np.setdiff1d(np.arange(60), fit)
    est = LcSVR(n_search=3, seed=0).fit([curves[i] for i in fit], epochs=3)
    pred = est.predict([curves[i] for i in rest], epochs=3)
    assert lc[0].value == pytest.approx(spearman(pred, y[rest]))
    # holdout_only puts every estimator on the held-out architectures
    rows_h = correlation_table(curves, y, ["tse", "lcsvr"], [3], fit_size=20, holdout_only=True, **FAST)
    assert rows_h[0].n + rows_h[0].n_dropped == 40
    tse3 = [create_estimator("tse").score(curves[i], 3) for i in rest]
    assert rows_h[0].value == pytest.approx(spearman(tse3, y[rest]))
    # the spec overrides the harness default n_search
    assert correlation_table(curves, y, ["lcsvr:n_search=2"], [3], fit_size=20, n_boot=10)[0].n_fit == 20


def test_lcsvr_sign_follows_the_predicted_field() -> None:
    """LcSVR on a loss predicts a loss (lower = better): its score is negated, so rho stays positive."""
    from nasrank.training import LearningCurve

    quality = np.linspace(0.0, 1.0, 40)  # the known ranking: the target is the quality itself
    t = np.arange(1, 9)
    curves = [LearningCurve(train_loss=1.5 - q + np.exp(-t), val_loss=1.7 - q + np.exp(-t),
                            val_acc=0.25 + 0.6 * q * (1 - np.exp(-t))) for q in quality]
    specs = ["lcsvr", "lcsvr:field=val_loss", "lcsvr:field=train_loss"]
    rows = correlation_table(curves, quality, specs, [2, 8], n_boot=20, lcsvr_n_search=4)
    assert [(r.estimator, r.epochs) for r in rows] == [(s, T) for s in specs for T in (2, 8)]
    assert all(r.value > 0.95 and r.n == 20 for r in rows), [(r.estimator, r.value) for r in rows]
    assert (LcSVR().higher_is_better, LcSVR(field="train_acc").higher_is_better) == (True, True)
    est = LcSVR(n_search=3, field="val_loss").fit(curves[::2], epochs=2)
    assert est.higher_is_better is False and repr(est).endswith("field='val_loss')")
    pred = est.predict(curves[1::2], epochs=2)
    assert [est.score(c, 2) for c in curves[1::2]] == pytest.approx(-pred)
    assert spearman([est.score(c, 2) for c in curves[1::2]], quality[1::2]) > 0.95


def test_table_errors(data) -> None:
    curves, y = data
    with pytest.raises(ConfigError, match="one value per curve"):
        correlation_table(curves, y[:-1], ["tse"], [1])
    with pytest.raises(ConfigError, match="not a LearningCurve"):
        correlation_table([1, 2, 3], [1, 2, 3], ["tse"], [1])
    with pytest.raises(ConfigError, match="outside 1..12"):
        correlation_table(curves, y, ["tse"], [13])
    with pytest.raises(ConfigError, match="leaves no held-out"):
        correlation_table(curves, y, ["lcsvr"], [2], fit_size=57)
    from nasrank.training import LearningCurve
    no_val = [LearningCurve(train_loss=c.train_loss) for c in curves[3:]]
    with pytest.raises(ConfigError, match="sovl at T=2: .*val_loss"):
        correlation_table(no_val, y[3:], ["sovl"], [2])


def test_correlate_benchmark_and_no_curves() -> None:
    bench = SyntheticBenchmark(n=40, epochs=6, seed=1)
    rows = correlate_benchmark(bench, estimators="tse,sovl", epochs="1,end", n_boot=50)
    curves = [bench.curve(a) for a in bench.archs()]
    direct = correlation_table(curves, bench.table("test_acc"), ["tse", "sovl"], [1, 6], n_boot=50)
    assert rows == direct
    with pytest.raises(ConfigError, match="no per-epoch learning curves"):
        correlate_benchmark(SyntheticBenchmark(n=10, curves=False), estimators="tse")
    with pytest.raises(UnknownNameError, match="no metric 'val_acc'"):
        correlate_benchmark(bench, target="val_acc", estimators="tse")


def test_plot(tmp_path: Path, data) -> None:
    pytest.importorskip("matplotlib")
    curves, y = data
    rows = correlation_table(curves, y, ["tse", "vacc-es"], "1:12", n_boot=20)
    fig = plot_correlations(rows, tmp_path / "p.png", title="t")
    assert (tmp_path / "p.png").stat().st_size > 5000
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["TSE", "VAccES"]
    assert list(ax.lines[0].get_xdata()) == list(range(1, 13))
    with pytest.raises(ConfigError, match="empty"):
        plot_correlations([])


def test_plot_without_matplotlib(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    row = CorrelationRow("tse", 1, "spearman", 0.5, 0.4, 0.6, 10, 0)
    with pytest.raises(MissingDependencyError, match=r"pip install 'nasrank\[plot\]'"):
        plot_correlations([row])


@pytest.fixture
def synthetic_cli(monkeypatch):
    bench = SyntheticBenchmark(n=50, epochs=8, seed=2, n_diverged=2)
    seen = []

    def load(name):
        seen.append(name)
        if name != "synthetic":
            from nasrank.exceptions import UnknownNameError

            raise UnknownNameError(f"Unknown benchmark {name!r}. Available: synthetic.")
        return bench

    monkeypatch.setattr(cli_correlate, "_load_benchmark", load)
    return seen


def test_cli_table_csv_json_plot(synthetic_cli, capsys, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    args = ["correlate", "--benchmark", "synthetic", "--epochs", "1,4,end", "--n-boot", "50",
            "--lcsvr-n-search", "2", "--fit-size", "20"]
    assert main(args + ["--csv", str(tmp_path / "t.csv"), "--plot", str(tmp_path / "t.png")]) == 0
    out = capsys.readouterr().out
    for word in ("tse-ema", "gamma=0.1", "sovl", "vacc-es", "lcsvr", "fitted on", "dropped"):
        assert word in out
    with open(tmp_path / "t.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 7 * 3
    assert {r["estimator"] for r in table} == {"tse", "tse-e", "tse-ema", "tse-ema:gamma=0.1", "sovl",
                                               "vacc-es", "lcsvr"}
    assert (tmp_path / "t.png").stat().st_size > 5000
    assert main(args + ["--json", "--estimators", "tse,vacc-es", "--plot", "none"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["benchmark"] == "synthetic" and info["target"] == "test_acc"
    assert [(r["estimator"], r["epochs"]) for r in info["rows"]] == [
        ("tse", 1), ("tse", 4), ("tse", 8), ("vacc-es", 1), ("vacc-es", 4), ("vacc-es", 8)]
    assert all(-1 <= r["value"] <= 1 and r["ci_low"] <= r["ci_high"] for r in info["rows"])


def test_cli_writes_the_plot_by_default(synthetic_cli, capsys, tmp_path: Path, monkeypatch) -> None:
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)
    assert main(["correlate", "--benchmark", "synthetic", "--estimators", "tse,sovl", "--n-boot", "20"]) == 0
    assert (tmp_path / "synthetic_correlation.png").stat().st_size > 5000
    assert "plot written to synthetic_correlation.png" in capsys.readouterr().out
    assert main(["correlate", "--benchmark", "synthetic", "--estimators", "tse", "--n-boot", "20",
                 "--plot", "none", "--csv", "t.csv"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synthetic_correlation.png", "t.csv"]


def test_cli_default_benchmark_name(synthetic_cli, capsys) -> None:
    assert main(["correlate", "--estimators", "tse"]) == 2
    assert synthetic_cli == ["nb201-mini"]
    assert "Unknown benchmark 'nb201-mini'" in capsys.readouterr().err


@pytest.mark.parametrize("extra, msg", [
    (["--estimators", "tse,bogus"], "Unknown estimator 'bogus'"),
    (["--epochs", "0:3"], "outside 1..8"),
    (["--epochs", "1,x"], "malformed budget"),
    (["--target", "val_acc"], "no metric 'val_acc'"),
    (["--dataset", "imagenet"], "no dataset 'imagenet'"),
    (["--metric", "pearson"], "Unknown metric"),
    (["--estimators", "tse-ema:gamma=5"], "gamma"),
])
def test_cli_bad_input_is_one_line_exit_2(synthetic_cli, capsys, extra, msg) -> None:
    assert main(["correlate", "--benchmark", "synthetic", "--n-boot", "10"] + extra) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("Error:") and msg in err


def test_cli_help_lists_correlate(capsys) -> None:
    assert main(["--help"]) == 0
    assert "correlate" in capsys.readouterr().out
    assert main(["correlate", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--estimators" in out and "--plot" in out and "--epochs" in out


def test_rows_serialise() -> None:
    r = CorrelationRow("tse", 3, "spearman", math.nan, 0.1, 0.2, 5, 1, 0)
    d = r.to_dict()
    assert d["estimator"] == "tse" and math.isnan(d["value"]) and d["n_dropped"] == 1
