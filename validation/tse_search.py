"""Seed 000 (Fig. 4 / App. G) on the shipped nb201-mini: searches driven by TSE-EMA at small T.

Regularised evolution and random search, each with three search signals on the same benchmark:

* ``tse-ema`` at T epochs (the paper's gamma = 0.999; cost = the recorded training time of the
  first T epochs);
* ``vacc-es`` at the same T (early-stopped validation accuracy; same cost);
* ``final val acc`` (the validation accuracy after all epochs; cost = the full training time).

The search space is restricted to the benchmark's cells. Every run returns, at each moment, the
incumbent chosen by its own signal; what is reported is that incumbent's *test* accuracy. For each
(strategy, signal): the time-to-reach (cost until the incumbent's test accuracy is within 0.5
points of the benchmark's best) and the final regret at the budget, over ``--seeds`` seeds; an
anytime plot (mean +- s.e. of the incumbent's test accuracy vs cost) and CSVs go to ``--out``.

    python validation/tse_search.py [--epochs 3] [--seeds 25] [--budget 1000] [--out validation/results/tse_search]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from nasrank.benchmarks import load_benchmark
from nasrank.search import TabularEvaluator, create_strategy, run_search, write_report
from nasrank.store import ResultStore

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--benchmark", default="nb201-mini")
    p.add_argument("--epochs", type=int, default=3, help="budget T of tse-ema / vacc-es")
    p.add_argument("--seeds", type=int, default=25)
    p.add_argument("--budget", type=float, default=1000.0, help="seconds of recorded training cost per run")
    p.add_argument("--within", type=float, default=0.5, help="points of test accuracy for time-to-reach")
    p.add_argument("--out", type=Path, default=REPO / "validation" / "results" / "tse_search")
    args = p.parse_args(argv)

    bench = load_benchmark(args.benchmark)
    best_arch, best = bench.best("test_acc")
    full = np.array([np.nansum(bench.epoch_times(a)) for a in bench.archs()])
    print(f"{bench.name}: {len(bench)} cells, {bench.epochs} epochs; best test acc {100 * best:.2f}% "
          f"({bench.space.to_str(best_arch)}); mean full-training cost {full.mean():.1f} s/cell; "
          f"budget {args.budget:.0f} s/run, {args.seeds} seeds, T={args.epochs}")
    signals = {
        f"tse-ema T={args.epochs}": TabularEvaluator(bench, "tse-ema", epochs=args.epochs),
        f"vacc-es T={args.epochs}": TabularEvaluator(bench, "vacc-es", epochs=args.epochs),
        "final val acc": TabularEvaluator(bench, None, metric="val_acc"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    db = REPO / "validation" / "_cache" / f"tse_search_{args.out.name}.sqlite"  # big: kept out of git
    db.parent.mkdir(parents=True, exist_ok=True)
    if db.exists():
        db.unlink()
    t0 = time.perf_counter()
    rows = []
    with ResultStore(db) as store:
        for strat in ("evolution", "random"):
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
    print(f"\nwithin = {args.within} points of the best test accuracy; time-to-reach = recorded training "
          f"seconds spent until the incumbent (by the run's own signal) first gets there; median over "
          f"seeds, counting runs that never reach as infinite. Wall time {time.perf_counter() - t0:.1f} s.")
    print(f"anytime plot: {rep['png']}; CSV: {rep['csv']}; all steps: nasrank report {db} --out DIR")
    return 0


if __name__ == "__main__":
    sys.exit(main())
