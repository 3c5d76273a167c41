"""Harness overhead: 100 seeds x 300 queries of regularised evolution on the NB201 ground truth.

Everything but the table look-ups is the search machinery (strategy ask/tell, evaluator records,
budget bookkeeping, trajectory, incumbent). Target: <= 10 s in total.

Usage::

    python benchmarks/search_overhead.py [--data-dir ../shared/data] [--seeds 100] [--queries 300]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from nasrank.benchmarks import NB201Benchmark
from nasrank.search import TabularEvaluator, create_strategy, run_search


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("NASRANK_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data")))
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()
    bench = NB201Benchmark(args.data_dir)
    ev = TabularEvaluator(bench, None, metric="val_acc", dataset="cifar10-valid",
                          report={"test_acc": ("test_acc", "cifar10")})
    t0, c0 = time.perf_counter(), time.process_time()
    finals = []
    for seed in range(args.seeds):
        res = run_search(create_strategy("evolution", ev.space, seed=seed), ev, f"{args.queries}q")
        assert len(res.steps) == args.queries
        finals.append(res.best["metrics"]["test_acc"])
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = args.seeds * args.queries
    print(f"{args.seeds} seeds x {args.queries} queries of regularised evolution on NB201: {dt:.2f} s "
          f"wall, {cpu:.2f} s CPU ({1e6 * cpu / n:.0f} us CPU per query); target <= 10 s: "
          f"{'PASS' if dt <= 10 else 'FAIL (wall)'} / {'PASS' if cpu <= 10 else 'FAIL'} (CPU)")
    print(f"final incumbent CIFAR-10 test acc: {100 * np.mean(finals):.2f} +- {100 * np.std(finals, ddof=1):.2f}")


if __name__ == "__main__":
    main()
