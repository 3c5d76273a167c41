"""Seed 000 (Fig. 4 / Fig. 14 / App. G) on a learning-curve benchmark: searches driven by TSE-EMA
at small T.

Regularised evolution, random search and TPE (``--strategies``), each with three search signals on
the same benchmark:

* ``tse-ema`` at T epochs (the paper's gamma = 0.999; cost = the recorded training time of the
  first T epochs);
* ``vacc-es`` at the same T (early-stopped validation accuracy; same cost);
* ``final val acc`` (the validation accuracy after all epochs; cost = the full training time).

The search space is restricted to the benchmark's cells. Every run returns, at each moment, the
incumbent chosen by its own signal; what is reported is that incumbent's *test* accuracy. For each
(strategy, signal): the time-to-reach (cost until the incumbent's test accuracy is within 0.5
points of the benchmark's best) and the final regret at the budget, over ``--seeds`` seeds; an
anytime plot (mean +- s.e. of the incumbent's test accuracy vs cost) and CSVs go to ``--out``.

Why a signal does or does not speed a search up is read off a second table: over all of the
benchmark's cells, each signal's Spearman rho with the final test accuracy, its precision at the
top (the share of its best 1% / 5% of cells that are among the truly best 1% / 5%) and the regret
of its single best cell; a search only ever keeps the top of a signal's ranking.

    python validation/tse_search.py [--benchmark nb201-mini] [--epochs 3|10%] [--seeds 25]
        [--budget 1000|30x] [--strategies evolution,random,tpe] [--cost recorded|model]
        [--out validation/results/tse_search]

``--epochs 10%`` is 10% of the benchmark's epochs (seed 000 uses T = 10 of 200); ``--budget 30x``
is 30 times the mean cost of training one cell fully. TPE needs ``pip install 'nasrank[search]'``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from nasrank.benchmarks import fit_epoch_cost, load_benchmark
from nasrank.estimators import create_estimator
from nasrank.evaluation import precision_at_k, regret, spearman
from nasrank.search import TabularEvaluator, create_strategy, run_search, write_report
from nasrank.store import ResultStore

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--benchmark", default="nb201-mini")
    p.add_argument("--epochs", default="3", help="budget T of tse-ema / vacc-es: epochs, or N%% of the benchmark's")
    p.add_argument("--seeds", type=int, default=25)
    p.add_argument("--budget", default="1000",
                   help="recorded training seconds per run, or Kx = K times the mean full-training cost of a cell")
    p.add_argument("--strategies", default="evolution,random", help="comma-separated: evolution, random, tpe")
    p.add_argument("--cost", default="recorded", choices=("recorded", "model"),
                   help="recorded seconds per epoch, or predicted from the architecture (fit_epoch_cost)")
    p.add_argument("--within", type=float, default=0.5, help="points of test accuracy for time-to-reach")
    p.add_argument("--out", type=Path, default=REPO / "validation" / "results" / "tse_search")
    args = p.parse_args(argv)

    bench = load_benchmark(args.benchmark)
    best_arch, best = bench.best("test_acc")
    if args.cost == "model":
        model = fit_epoch_cost(bench)
        print(model.summary())
        full = model.predict(bench.archs()) * bench.epochs
    else:
        full = np.array([np.nansum(bench.epoch_times(a)) for a in bench.archs()])
    e = str(args.epochs).strip()
    args.epochs = max(1, round(bench.epochs * float(e[:-1]) / 100)) if e.endswith("%") else int(e)
    b = str(args.budget).strip()
    args.budget = float(b[:-1]) * float(full.mean()) if b.endswith("x") else float(b)
    strategies = [x for x in args.strategies.split(",") if x]
    print(f"{bench.name}: {len(bench)} cells, {bench.epochs} epochs; best test acc {100 * best:.2f}% "
          f"({bench.space.to_str(best_arch)}); mean full-training cost {full.mean():.1f} s/cell; "
          f"budget {args.budget:.0f} s/run, {args.seeds} seeds, T={args.epochs}, cost {args.cost}")
    # several runs per cell: each signal (and its recorded cost) reads seed 0's run, as a search that
    # trains every cell once would; the regret's test accuracy stays the mean over the cell's runs
    run = {"seed": 0} if len(getattr(bench, "seeds", None) or ()) > 1 else {}
    if run:
        print("signals from seed 0's runs; ground truth: each cell's mean test accuracy over its runs")
    signals = {
        f"tse-ema T={args.epochs}": TabularEvaluator(bench, "tse-ema", epochs=args.epochs, cost=args.cost, **run),
        f"vacc-es T={args.epochs}": TabularEvaluator(bench, "vacc-es", epochs=args.epochs, cost=args.cost, **run),
        "final val acc": TabularEvaluator(bench, None, metric="val_acc", cost=args.cost, **run),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    db = REPO / "validation" / "_cache" / f"tse_search_{args.out.name}.sqlite"  # big: kept out of git
    db.parent.mkdir(parents=True, exist_ok=True)
    if db.exists():
        db.unlink()
    t0 = time.perf_counter()
    rows = []
    with ResultStore(db) as store:
        for strat in strategies:
            for label, ev in signals.items():
                reach, regret, queries = [], [], []
                for seed in range(args.seeds):
                    res = run_search(create_strategy(strat, ev.space, seed=seed), ev, args.budget, store=store)
                    hit = math.nan
                    for st in res.steps:
                        acc = (st.get("best_metrics") or {}).get("test_acc")
                        if acc is not None and acc >= best - args.within / 100:
                            hit = st["spent"]
                            break
                    reach.append(hit)
                    fin = (res.best or {}).get("metrics", {}).get("test_acc")
                    regret.append(100 * (best - fin) if fin is not None else math.nan)
                    queries.append(len(res.steps))
                reach_a, reg = np.array(reach), np.array(regret)
                ok = np.isfinite(reach_a)
                rows.append((strat, label, ok.mean(), np.median(np.where(ok, reach_a, np.inf)),
                             np.nanmean(reg), np.nanstd(reg) / math.sqrt(max(np.isfinite(reg).sum(), 1)),
                             np.mean(queries)))
    rep = write_report(db, args.out)
    Path(rep["runs_csv"]).unlink()  # every step of every run (MBs); `nasrank report <db>` rewrites it
    print(f"\n{'strategy':<10} {'signal':<16} {'reached':>8} {'median time-to-reach':>21} "
          f"{'final regret (pts)':>19} {'queries/run':>12}")
    for strat, label, frac, med, mreg, sereg, q in rows:
        med_s = f"{med:.0f} s" if math.isfinite(med) else "never (median)"
        print(f"{strat:<10} {label:<16} {100 * frac:>7.0f}% {med_s:>21} {mreg:>12.2f} +- {sereg:.2f} {q:>12.1f}")
    print(f"\nwithin = {args.within} points of the best test accuracy; time-to-reach = training "
          f"seconds ({args.cost}) spent until the incumbent (by the run's own signal) first gets there; median over "
          f"seeds, counting runs that never reach as infinite. Wall time {time.perf_counter() - t0:.1f} s.")
    print(f"anytime plot: {rep['png']}; CSV: {rep['csv']}; all steps: nasrank report {db} --out DIR")
    signal_table(bench, args.epochs, **run)
    return 0


def signal_table(bench, T: int, **run) -> None:
    """Each signal over all the benchmark's cells: rho, precision at the top, regret of its best
    (``run``: ``seed=S`` reads the signals from that seed's runs, as the searches do)."""
    archs = bench.archs()
    y = np.asarray(bench.table("test_acc"), dtype=float)
    curves = [bench.curve(a, **run) for a in archs]
    tse_ema, vacc_es = create_estimator("tse-ema"), create_estimator("vacc-es")
    scores = {
        f"tse-ema T={T}": [tse_ema.score(c, T) for c in curves],
        f"vacc-es T={T}": [vacc_es.score(c, T) for c in curves],
        "final val acc": [bench.query(a, "val_acc", **run) for a in archs] if run else bench.table("val_acc"),
    }
    n = len(archs)
    ks = sorted({max(1, round(0.01 * n)), max(1, round(0.05 * n))})
    print(f"\nthe signals over all {n} cells against the final test accuracy "
          f"(precision@k: share of the signal's top k among the true top k)")
    print(f"{'signal':<16} {'spearman':>9} " + " ".join(f"{'prec@' + str(k):>8}" for k in ks)
          + f" {'regret of its top cell (pts)':>29}")
    for label, sc in scores.items():
        sc = np.asarray(sc, dtype=float)
        print(f"{label:<16} {spearman(sc, y):9.3f} " + " ".join(f"{precision_at_k(sc, y, k):8.2f}" for k in ks)
              + f" {100 * regret(sc, y):29.2f}")


if __name__ == "__main__":
    sys.exit(main())
