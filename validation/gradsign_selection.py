"""Seed 003 Tab. 5.2 and Tab. 5.4 on NAS-Bench-201 with nasrank's full-space proxy table.

Part 1 (Tab. 5.2 layout): Spearman's rho (and Kendall's tau) of each proxy of the table over all
15,625 NB201 cells (each cell gets its isomorphism class's score; cells where a proxy is NaN are
left out and counted) against the 200-epoch test accuracy of cifar10-valid, CIFAR-10, CIFAR-100
and ImageNet16-120, with the published values beside (the paper's "CIFAR10" row; it does not say
which CIFAR-10 split, so both are shown).

Part 2 (Tab. 5.4 protocol): for N = 10, 100, 1000, each of 500 runs draws N distinct cells
uniformly from the 15,625, picks the one with the highest proxy score (NaN last, ties: the first
drawn) and reports its accuracies; mean +- std over the runs. ``random`` = the first drawn cell;
``optimal`` = the best of the N by the search signal, cifar10-valid validation accuracy. All
methods see the same N cells in a run. Columns: cifar10-valid validation and test, CIFAR-10 test
(trained on the full training set), CIFAR-100 test, ImageNet16-120 test (the paper's CIFAR-100 /
ImageNet16-120 validation columns are not in the ground-truth file).

Protocol of the table (``nasrank proxies table``, shipped as ``nb201-cifar10``): the exact NB201
network (C=16, N=5, 10 classes) built under ``torch.manual_seed(0)``, one seeded minibatch of real
CIFAR-10 training images, each proxy at its published batch size (gradsign and nwot 128, snip,
grad_norm and jacob_cov 64, synflow one all-ones input). The paper used batch 64 for Tab. 5.2.

Usage::

    python validation/gradsign_selection.py [--data-dir ../shared/data] [--table nb201-cifar10]
        [--runs 500] [--ns 10,100,1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, spearmanr

from nasrank.benchmarks import NB201Benchmark, load_proxy_table
from nasrank.exceptions import NasrankError

# seed 003 Tab. 5.2 (Spearman rho over NB201; rows CIFAR10, CIFAR100, ImageNet16-120)
TAB52 = {
    "grad_norm": (0.594, 0.637, 0.579), "snip": (0.595, 0.637, 0.579), "grasp": (0.51, 0.549, 0.552),
    "fisher": (0.36, 0.386, 0.328), "synflow": (0.737, 0.763, 0.751), "nwot": (0.728, 0.703, 0.696),
    "gradsign": (0.765, 0.793, 0.783), "zen": (-0.016, -0.041, 0.032),
}
# seed 003 Tab. 5.4: (C10 valid, C10 test, C100 valid, C100 test, IN16 valid, IN16 test), mean and std
TAB54 = {
    ("synflow", 100): ((89.83, 0.75), (93.12, 0.52), (69.89, 1.87), (69.94, 1.88), (41.94, 4.13), (42.26, 4.26)),
    ("naswot-published", 100): ((89.55, 0.89), (92.81, 0.99), (69.35, 1.70), (69.48, 1.70), (42.81, 3.05),
                                (43.10, 3.16)),
    ("naswot-published", 1000): ((89.69, 0.73), (92.96, 0.81), (69.98, 1.22), (69.86, 1.21), (44.44, 2.10),
                                 (43.95, 2.05)),
    ("gradsign", 100): ((89.84, 0.61), (93.31, 0.47), (70.22, 1.32), (70.33, 1.28), (42.07, 2.78), (42.42, 2.81)),
    ("random", None): ((83.20, 13.28), (86.61, 13.46), (60.70, 12.55), (60.83, 12.58), (33.34, 9.39),
                       (33.13, 9.66)),
    ("optimal", 100): ((91.05, 0.28), (93.84, 0.23), (71.45, 0.79), (71.56, 0.78), (45.37, 0.61), (45.67, 0.64)),
}
COLUMNS = [  # (label, dataset, metric, index into the paper's tuple or None)
    ("C10-valid val", "cifar10-valid", "val_acc", 0),
    ("C10-valid test", "cifar10-valid", "test_acc", None),
    ("C10 test", "cifar10", "test_acc", 1),
    ("C100 test", "cifar100", "test_acc", 3),
    ("IN16 test", "imagenet16-120", "test_acc", 5),
]


def full_space_scores(table, bench: NB201Benchmark) -> dict[str, np.ndarray]:
    """Each proxy's score of every benchmark cell (in ``bench.archs()`` order), higher = better."""
    archs = bench.archs()
    rows = table.rows_of(archs)
    out = {}
    for j, name in enumerate(table.proxies):
        sign = 1.0 if table.higher_is_better(name) else -1.0
        out[name] = sign * table.scores[rows, j]
    out["naswot-published"] = bench.scores("naswot")
    return out


def correlations(scores: dict[str, np.ndarray], bench: NB201Benchmark) -> None:
    gt = {label: bench.table("test_acc", ds) for label, ds in
          (("C10-valid", "cifar10-valid"), ("C10", "cifar10"), ("C100", "cifar100"), ("IN16", "imagenet16-120"))}
    print("## Part 1: rank correlation over all 15,625 NB201 cells (seed 003 Tab. 5.2 layout)")
    print(f"{'proxy':18s} {'n':>6s} " + " ".join(f"{k + ' rho':>13s}" for k in gt)
          + f" {'C10 tau':>8s}   {'paper rho C10 / C100 / IN16':>28s}")
    for name, s in scores.items():
        ok = np.isfinite(s)
        rhos = [spearmanr(s[ok], a[ok]).correlation for a in gt.values()]
        tau = kendalltau(s[ok], gt["C10"][ok]).correlation
        pub = TAB52.get(name.replace("-published", ""))
        pub_s = " / ".join(f"{v:.3f}" for v in pub) if pub else "-"
        print(f"{name:18s} {int(ok.sum()):6d} " + " ".join(f"{r:13.3f}" for r in rhos) + f" {tau:8.3f}   {pub_s:>28s}")
    print()


def selection(scores: dict[str, np.ndarray], bench: NB201Benchmark, ns: list[int], runs: int, seed: int) -> None:
    acc = {label: 100.0 * bench.table(metric, ds) for label, ds, metric, _ in COLUMNS}
    signal = acc["C10-valid val"]
    n_cells = len(signal)
    methods = [*scores, "random", "optimal"]
    print(f"## Part 2: pick the best of N random cells (seed 003 Tab. 5.4 protocol), {runs} runs, seed {seed}")
    print("mean +- std of the picked cell's accuracy (%); paper values below ours where published\n")
    for n in ns:
        rng = np.random.default_rng([seed, n])
        picks: dict[str, list[int]] = {m: [] for m in methods}
        for _ in range(runs):
            idx = rng.choice(n_cells, size=n, replace=False)
            for m in methods:
                if m == "random":
                    picks[m].append(int(idx[0]))
                    continue
                s = signal[idx] if m == "optimal" else scores[m][idx]
                s = np.where(np.isfinite(s), s, -np.inf)
                picks[m].append(int(idx[int(np.argmax(s))]))
        print(f"### N = {n}")
        print(f"{'method':18s} " + " ".join(f"{c[0]:>16s}" for c in COLUMNS))
        for m in methods:
            p = np.array(picks[m])
            print(f"{m:18s} " + " ".join(f"{acc[c[0]][p].mean():8.2f} +- {acc[c[0]][p].std():5.2f}" for c in COLUMNS))
            pub = TAB54.get((m, n)) or (TAB54.get((m, None)) if m == "random" else None)
            if pub:
                cells = [("-" if c[3] is None else f"{pub[c[3]][0]:8.2f} +- {pub[c[3]][1]:5.2f}") for c in COLUMNS]
                print(f"{'  paper':18s} " + " ".join(f"{x:>16s}" for x in cells))
        print()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("NASRANK_DATA",
                                                         str(Path(__file__).resolve().parents[2] / "shared" / "data")))
    ap.add_argument("--table", default="nb201-cifar10", help="shipped table name or table directory")
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--ns", default="10,100,1000")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        bench = NB201Benchmark(args.data_dir)
        bench.archs()
    except NasrankError as exc:
        print(f"NAS-Bench-201 ground truth not available ({exc}); nothing to validate (pass --data-dir)")
        return 0
    try:
        table = load_proxy_table(args.table)
    except NasrankError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    print(f"proxy table {table.name}: {len(table.archs)} canonical cells, proxies {', '.join(table.proxies)}; "
          f"protocol {table.protocol}; built in {table.meta['seconds_total'] / 3600:.2f} CPU-h "
          f"({table.meta['threads']} thread(s))")
    print(f"ground truth: {len(bench)} cells ({args.data_dir})\n")
    scores = full_space_scores(table, bench)
    correlations(scores, bench)
    selection(scores, bench, [int(x) for x in args.ns.split(",") if x.strip()], args.runs, args.seed)
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
