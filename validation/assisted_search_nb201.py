"""Seed 003, Tab. 5.5 on the NAS-Bench-201 ground truth: RS vs G-RS and REA vs G-REA.

Protocol (seed 003 App. A.0.5 and the GradSign code's ``autodl/RANDOM.py`` / ``R_EA.py``, built on
NAS-Bench-201's scripts):

* search signal: the validation accuracy of ``cifar10-valid`` (the NB201 search split);
  here the 200-epoch final value from ``nb201_accuracy_200ep.csv`` (NB201's scripts draw the
  12-epoch value of one random seed, which is not in these files — a cleaner, stronger signal);
* reported: CIFAR-10 test accuracy (trained on the full training set) of the returned cell =
  the best cell of the run's history by the search signal;
* proxy: the NASWOT paper's published scores (``naswot_v1_scores.csv``; the GradSign code used
  its own GradSign table instead); NaN scores (cells without an input-output path) rank last;
* pool size 10 candidates per query (G-RS: 10 random cells, G-REA: 10 mutations of the parent);
  REA population 10, tournament 3; uniform sampling over all 15,625 cells;
* budget: an equal number of queries for every method (default 100; the paper's 12,000 s of
  simulated 12-epoch training cost about 100-150 queries on NB201 [UNCERTAIN: the per-query time
  is not in these files]). Proxy scoring is free here (a table lookup).

Usage::

    python validation/assisted_search_nb201.py [--data-dir ../shared/data] [--runs 500] [--queries 100]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from nasrank.benchmarks import NB201Benchmark
from nasrank.search import TableScorer, TabularEvaluator, create_strategy, run_search

PAPER = {"REA": (93.85, 0.44), "G-REA": (94.10, 0.52), "RS": (93.72, 0.38), "G-RS": (94.02, 0.21)}
METHODS = {"RS": "random", "G-RS": "g-rs", "REA": "evolution", "G-REA": "g-rea"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("NASRANK_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data")))
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--pool-size", type=int, default=10)
    ap.add_argument("--json", default=None, help="write the per-run results here")
    args = ap.parse_args()

    bench = NB201Benchmark(args.data_dir)
    scorer = TableScorer(bench.archs(), bench.scores("naswot"), name="nb201-naswot")
    ev = TabularEvaluator(bench, None, metric="val_acc", dataset="cifar10-valid",
                          report={"test_acc": ("test_acc", "cifar10")})
    print(f"NB201 ground truth: {len(bench)} cells; best CIFAR-10 test acc {100 * bench.best('test_acc', 'cifar10')[1]:.2f}")
    print(f"{args.runs} runs per method, {args.queries} queries each, pool size {args.pool_size}, "
          f"signal = cifar10-valid val_acc (200 ep), proxy = published NASWOT scores\n")
    results: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    for label, name in METHODS.items():
        kw = {"scorer": scorer, "pool_size": args.pool_size} if name.startswith("g-") else {}
        if name in ("evolution", "g-rea"):
            kw.update(population_size=10, sample_size=3)
        accs = []
        for seed in range(args.runs):
            res = run_search(create_strategy(name, ev.space, seed=seed, **kw), ev, f"{args.queries}q")
            accs.append(100.0 * res.best["metrics"]["test_acc"])
        results[label] = accs
    dt = time.perf_counter() - t0
    print(f"{'method':8s} {'ours: C10 test acc':>22s} {'seed 003 Tab. 5.5':>20s}")
    for label in ("REA", "G-REA", "RS", "G-RS"):
        a = np.array(results[label])
        p = PAPER[label]
        print(f"{label:8s} {a.mean():15.2f} +- {a.std(ddof=1):4.2f} {p[0]:13.2f} +- {p[1]:4.2f}")
    for base in ("REA", "RS"):
        d = np.mean(results["G-" + base]) - np.mean(results[base])
        print(f"G-{base} - {base}: {d:+.2f} points ({'assisted better' if d > 0 else 'assisted NOT better'})")
    print(f"\n{4 * args.runs} searches in {dt:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "test_acc": results}, indent=1))


if __name__ == "__main__":
    main()
