"""Seed 000 Fig. 1 on a learning-curve benchmark with a second training seed (issue 22).

Rank correlation with the final test accuracy, per budget T, of TSE, TSE-E, TSE-EMA (the paper's
gamma and the released code's), SoVL, VAccES, TLmini and LcSVR, with the shipped zero-cost proxy
table's scores and the noise ceiling as budget-free references, 95% bootstrap intervals. Two
protocols, both written:

* ``all cells`` -- what ``nasrank correlate --benchmark NAME`` shows: each cell's seed-0 curve
  against the mean final test accuracy over its runs. On a cell with one run the curve and the
  target come from the same run, so an estimator can pass the ceiling by sharing that run's noise.
* ``cross-seed`` -- ``nasrank correlate --benchmark NAME --target-seed 1``: seed 0's curves against
  seed 1's final test accuracy, on the cells trained with both. The ceiling (seed 0's final test
  accuracy against seed 1's) is then what a second full training run scores.

Writes ``validation/results/<name>_fig1.txt`` (the summary below), ``_fig1.png`` /
``_fig1_cross_seed.png`` (the Fig. 1 plots) and ``_fig1.csv`` (every row).

Usage::

    python validation/lc_fig1.py                      # benchmarks/_cache/nb201-lc1000, else the shipped one
    python validation/lc_fig1.py --benchmark DIR --n-boot 1000
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO  # noqa: E402

from nasrank.benchmarks import list_benchmarks, load_benchmark, load_proxy_table  # noqa: E402
from nasrank.evaluation import (  # noqa: E402
    DEFAULT_ESTIMATORS,
    correlate_benchmark,
    cross_seed_targets,
    noise_ceiling,
    plot_correlations,
    proxy_references,
)

RESULTS = REPO / "validation" / "results"
BUILT = REPO / "benchmarks" / "_cache" / "nb201-lc1000"
SHARES = (None, 0.05, 0.1, 0.25, 0.5, 1.0)  # None: T = 1


def budgets(t_end: int) -> list[int]:
    return sorted({1 if s is None else max(1, round(s * t_end)) for s in SHARES})


def study(bench, table, n_boot: int, target_seed: int | None):
    ests = list(DEFAULT_ESTIMATORS)
    if bench.curve(bench.archs()[0]).minibatch_loss is not None:
        ests.insert(ests.index("lcsvr"), "tl-mini")
    rows = correlate_benchmark(bench, estimators=ests, epochs=f"1:{bench.epochs}", n_boot=n_boot,
                               target_seed=target_seed)
    if target_seed is None:
        archs, y = bench.archs(), list(bench.table("test_acc"))
        seeds = None
    else:
        seeds = (0, target_seed)
        archs, y = cross_seed_targets(bench, "test_acc", None, seeds)
    refs = proxy_references(table, archs, y, n_boot=n_boot) if table is not None else []
    ceiling = noise_ceiling(bench, "test_acc", seeds=seeds, n_boot=n_boot)
    if ceiling is not None:
        refs.append(ceiling)
    return rows, refs


def summary(title: str, rows, refs, t_end: int) -> list[str]:
    ts = budgets(t_end)
    head = f"{'estimator':<20}" + "".join(f"{f'T={t} ({100 * t / t_end:.0f}%)':>22}" for t in ts)
    lines = [title, head]
    by = {(r.estimator, r.epochs): r for r in rows}
    for est in dict.fromkeys(r.estimator for r in rows):
        cells = []
        for t in ts:
            r = by.get((est, t))
            cells.append(f"{r.value:.3f} [{r.ci_low:.2f},{r.ci_high:.2f}]" if r else "-")
        lines.append(f"{est:<20}" + "".join(f"{c:>22}" for c in cells))
    n = max(r.n for r in rows)
    lines.append(f"(n = {n} cells; LcSVR is scored on the cells it was not fitted on)")
    for r in sorted(refs, key=lambda r: -r.value):
        what = "noise ceiling" if r.kind == "ceiling" else f"{r.label} (zero-cost)"
        lines.append(f"  {what:<28} {r.value:.3f} [{r.ci_low:.2f},{r.ci_high:.2f}]  n={r.n}  {r.source}")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--benchmark", default=None, help="benchmark name or directory (default: the build, else "
                                                       "the shipped nb201-lc1000)")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--proxy-table", default="nb201-cifar10")
    args = ap.parse_args(argv)
    name = args.benchmark
    if name is None:
        if (BUILT / "benchmark.json").is_file():
            name = str(BUILT)
        elif "nb201-lc1000" in list_benchmarks():
            name = "nb201-lc1000"
        else:
            print(f"SKIPPED: no nb201-lc1000 benchmark: neither built at {BUILT} nor shipped. Build it with "
                  "validation/lc_benchmark_build.py, or pass --benchmark.")
            return 0
    bench = load_benchmark(name)
    table = load_proxy_table(args.proxy_table) if args.proxy_table != "none" else None
    stem = RESULTS / f"{bench.name}_fig1"
    out: list[str] = [f"# python validation/lc_fig1.py --benchmark {args.benchmark or bench.name} "
                      f"--n-boot {args.n_boot}",
                      f"{bench.name}: {len(bench)} cells, {bench.epochs} epochs, seeds {bench.seeds}; Spearman rho "
                      f"with the final test accuracy [95% bootstrap interval]; proxies from {args.proxy_table}", ""]
    all_rows = []
    for label, target_seed, png in (("all cells: seed 0's curves vs the mean final test acc over the cell's runs",
                                     None, stem.with_suffix(".png")),
                                    ("cross-seed: seed 0's curves vs seed 1's final test acc (cells with both)",
                                     1, stem.parent / f"{stem.name}_cross_seed.png")):
        if target_seed is not None and len(bench.seeds) < 2:
            out.append(f"{label}: skipped, the benchmark has one seed")
            continue
        rows, refs = study(bench, table, args.n_boot, target_seed)
        out += summary(label, rows, refs, bench.epochs) + [""]
        title = f"{bench.name}: test_acc" if target_seed is None else \
            f"{bench.name}: seed 0's curves vs seed {target_seed}'s test_acc"
        plot_correlations(rows, png, title=title, references=refs)
        out.append(f"plot: {png.relative_to(REPO)}")
        out.append("")
        tag = "all" if target_seed is None else "cross-seed"
        all_rows += [(tag, r.estimator, r.epochs, r.value, r.ci_low, r.ci_high, r.n) for r in rows]
        all_rows += [(tag, f"ref:{r.label}", "", r.value, r.ci_low, r.ci_high, r.n) for r in refs]
    text = "\n".join(out)
    print(text)
    stem.with_suffix(".txt").write_text(text + "\n")
    with open(stem.with_suffix(".csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["protocol", "estimator", "epochs", "rho", "ci_low", "ci_high", "n"])
        w.writerows(all_rows)
    print(f"written {stem.with_suffix('.txt').relative_to(REPO)}, {stem.with_suffix('.csv').relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
