"""Proxy ensembles on NAS-Bench-201 (issue 19): label-free rank aggregation and the few-label
combiner, against each proxy alone.

Two cell sets, each scored against cifar10-valid test accuracy (200 epochs):

* **the 500 cells of ``validation/zero_cost_nb201.py``** (its per-cell file
  ``validation/results/zero_cost_nb201_cells.jsonl``, plus any further ``--cells`` files with more
  proxies of the same cells, merged by architecture) — the seeds' proxies on one real CIFAR-10
  minibatch;
* **all 15,625 cells** from a full-space proxy table (default: the shipped ``nb201-cifar10``,
  ``nasrank proxies table``), with each cell's ``params`` and ``flops`` from NB201's closed-form profile (C=16, N=5).

For each set: every proxy's Spearman rho; label-free aggregates (:func:`nasrank.evaluation.aggregate`,
mean rank and AZ-NAS-style log-rank sum) over named proxy sets; and the few-label combiner
(:func:`nasrank.evaluation.few_label_study`: fitted on k random labelled cells, scored by Spearman
on all the *other* cells only, mean +- std over repeats) with gradient boosting and ridge, with and
without the architecture encoding, at k = 20, 50, 100.

Published references (NB201 CIFAR-10 Spearman): best single label-free proxies ZiCo .80, MeCo .89,
SWAP .81, AZ-NAS .91 (aggregate), VKDNW .92 (aggregate); NAS-Bench-Suite-Zero (Krishnakumar et al.,
NeurIPS 2022 D&B) boosted trees on 13 proxies with 400 labels reach about .94.

Usage::

    python validation/proxy_ensembles_nb201.py [--data-dir ../shared/data] [--cells F1,F2]
        [--table nb201-cifar10] [--repeats 20] [--ks 20,50,100]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

import nasrank
from nasrank.benchmarks import NB201Benchmark, load_proxy_table
from nasrank.evaluation import aggregate, few_label_study, spearman
from nasrank.exceptions import NasrankError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _zero_cost import LABEL_FREE_SETS as SETS  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CELLS = REPO / "validation" / "results" / "zero_cost_nb201_cells.jsonl"

SKIP = {"jacob_cov_b128"}  # the same proxy at another batch size


def _signs(names: list[str]) -> dict[str, bool]:
    from nasrank.estimators.zero_cost import proxy_info

    return {n: bool(proxy_info(n)["higher_is_better"]) for n in names}


def report(title: str, table: dict[str, np.ndarray], y: np.ndarray, encoding: np.ndarray, ks: list[int],
           repeats: int) -> None:
    names = [n for n in table if n not in SKIP]
    table = {n: table[n] for n in names}
    signs = _signs(names)
    print(f"## {title}: {len(y)} cells, {len(names)} proxies")
    print(f"{'proxy':24s} {'rho':>7s}")
    for n in sorted(names, key=lambda n: -abs(spearman((1 if signs[n] else -1) * table[n], y))):
        print(f"{n:24s} {spearman((1 if signs[n] else -1) * table[n], y):7.3f}")
    print(f"\n{'label-free set':74s} {'mean rank':>10s} {'log-rank':>10s}")
    for label, members in SETS.items():
        if not all(m in table for m in members):
            continue
        sub = {m: table[m] for m in members}
        r1 = spearman(aggregate(sub, "mean_rank", higher_is_better=signs), y)
        r2 = spearman(aggregate(sub, "log_rank", higher_is_better=signs), y)
        print(f"{label:74s} {r1:10.3f} {r2:10.3f}")
    print(f"\nfew-label combiner on all {len(names)} proxies (fit on k labelled cells, Spearman on the rest; "
          f"mean +- std over {repeats} draws)")
    print(f"{'model':24s} " + " ".join(f"{'k=' + str(k):>15s}" for k in ks))
    for model in ("gbm", "ridge"):
        for enc_label, enc in (("", None), (" + encoding", encoding)):
            res = few_label_study(table, y, ks=ks, repeats=repeats, model=model, encoding=enc, seed=0,
                                  higher_is_better=signs)
            cells = [f"{r['spearman_mean']:.3f} +- {r['spearman_std']:.3f}" for r in res["by_k"]]
            print(f"{model + enc_label:24s} " + " ".join(f"{c:>15s}" for c in cells))
    print()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=os.environ.get("NASRANK_DATA", str(REPO.parent / "shared" / "data")))
    ap.add_argument("--cells", default=str(DEFAULT_CELLS), help="comma list of per-cell JSON-lines files")
    ap.add_argument("--table", default="nb201-cifar10", help="full-space proxy table (name or directory); "
                                                              "'none' to skip")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--ks", default="20,50,100")
    args = ap.parse_args(argv)
    ks = [int(k) for k in args.ks.split(",") if k.strip()]
    try:
        bench = NB201Benchmark(args.data_dir)
        bench.archs()
    except NasrankError as exc:
        print(f"NAS-Bench-201 ground truth not available ({exc}); nothing to validate (pass --data-dir)")
        return 0
    space = nasrank.create_space("nb201")
    t0 = time.perf_counter()
    y_all = bench.table("test_acc", "cifar10-valid")

    # the 500-cell set
    merged: dict[str, dict[str, float]] = {}
    in_files: list[set[str]] = []  # the cells of each file: only cells in every file are used
    for path in (Path(p) for p in args.cells.split(",") if p.strip()):
        if not path.is_file():
            print(f"(cells file {path} not found; skipped)")
            continue
        in_files.append(set())
        for line in path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                merged.setdefault(rec["arch"], {}).update(rec["scores"])
                in_files[-1].add(rec["arch"])
    if in_files:
        common = set.intersection(*in_files)
        merged = {a: v for a, v in merged.items() if a in common}
    if merged:
        archs = [space.from_str(a) for a in merged]
        names = sorted(set.intersection(*(set(s) for s in merged.values())))
        table = {n: np.array([np.nan if merged[space.to_str(a)][n] is None else merged[space.to_str(a)][n]
                              for a in archs], dtype=float) for n in names}
        y = y_all[[bench.index(a) for a in archs]]
        enc = np.stack([space.encode(a) for a in archs])
        report("the zero_cost_nb201.py cells", table, y, enc, ks, args.repeats)

    # the full space
    if args.table != "none":
        try:
            pt = load_proxy_table(args.table)
        except NasrankError as exc:
            print(f"(full-space table unavailable: {exc})")
        else:
            archs = bench.archs()
            rows = pt.rows_of(archs)
            table = {n: pt.scores[rows, j] for j, n in enumerate(pt.proxies)}
            table["params"] = np.array([space.num_params(a) for a in archs], dtype=float)
            table["flops"] = np.array([space.flops(a) for a in archs], dtype=float)
            enc = np.stack([space.encode(a) for a in archs])
            report(f"all NB201 cells, proxy table {pt.name}", table, y_all, enc, ks, args.repeats)
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
