"""Pilot for the second learning-curve benchmark (issue 22): spread of the cells' accuracies
against the seed-to-seed noise, per training-set size, before the 1,000-cell build.

``validation/lc_benchmark_design.py`` fixes everything but one lever it cannot compute: how far
apart the cells' accuracies are at CPU scale, and how much a second training seed moves them.
Both decide the noise ceiling (the best Spearman any estimator can reach against one seed's final
accuracy). This pilot trains the first ``--cells`` cells of the build's architecture draw
(``--arch-seed 1``; the draw is a seeded permutation, so they are the build's first cells) with
two training seeds for the build's 40 epochs at each ``--train-sizes`` value, with
``nasrank bench build`` (resumable: re-run the same command to continue), and reports for each:

* the spread: s.d. over cells of the seed-mean final test accuracy (full 10,000-image test set);
* the noise: s.d. of one run around its cell's mean, ``sd(acc_seed0 - acc_seed1) / sqrt(2)``
  (training seed and test-set sampling together);
* the reliability of one run ``R = var_true / (var_true + noise^2)`` with
  ``var_true = var(mean) - noise^2 / 2``, its ceiling ``sqrt(R)``, and the seed-to-seed Spearman
  measured directly (noisy at 24 cells);
* early signals on seed 0 against the seed-mean final accuracy: the sum of the training losses
  of the first T epochs (TSE, sign flipped) and the validation accuracy at epoch T, T = 2, 4;
* the CPU seconds per run (1 thread per process) and the projected cost of the 1,000-cell build
  with a second seed on 200 cells.

The runs at the build's training size (10,240 images, chosen from this pilot) have the build's exact
configuration and go into the build's store (``nb201-lc1000.sqlite`` in ``--store-dir``), so the
build reuses them (run the two one after the other, not at once: they would train the same first
cells twice); the 3,072-image runs are kept as ``benchmarks/results/lc-pilot-train3072-records.jsonl.gz``
(``nasrank store import benchmarks/_cache/nb201-lc-train3072.sqlite ...`` restores them). Per-run numbers are written as CSV beside the table.

Usage::

    nice -n 10 python validation/lc_benchmark_pilot.py --train-sizes 3072          # ~1.1 CPU-h
    nice -n 10 python validation/lc_benchmark_pilot.py --train-sizes 3072,10240    # + ~3.2 CPU-h
    python validation/lc_benchmark_pilot.py --train-sizes 3072,10240 --report-only
"""

from __future__ import annotations

import argparse
import csv
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, data_dir  # noqa: E402

RESULTS = REPO / "validation" / "results"
BUILD_CELLS, BUILD_SECOND_SEED = 1000, 200
BUILD_TRAIN = 10240  # chosen after the pilot (see lc_benchmark_design.py, "After the pilot")


def build_command(args: argparse.Namespace, train: int) -> list[str]:
    out = args.store_dir / f"lc-pilot-{train}"
    return ["nasrank", "bench", "build", "--out", str(out), "--name", f"lc-pilot-{train}", "--space", "nb201",
            "--C", "8", "--N", "1", "--dataset", "cifar10", "--data-dir", str(args.data),
            "--image-size", "16", "--train-size", str(train), "--val-size", "1024", "--archs", str(args.cells),
            "--arch-seed", "1", "--epochs", str(args.epochs), "--batch-size", "128", "--seeds", "0,1",
            "--store", str(args.store_dir / ("nb201-lc1000.sqlite" if train == BUILD_TRAIN else f"nb201-lc-train{train}.sqlite")),
            "--executor", "processes", "--workers", str(args.workers), "--threads", "1", "--quiet"]


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    return float(spearmanr(a[ok], b[ok]).correlation) if ok.sum() >= 3 else math.nan


def analyse(curves: Path, train: int, epochs: int) -> tuple[list[str], list[dict]]:
    z = np.load(curves, allow_pickle=False)
    arch, seed = z["arch"].astype(str), z["seed"].astype(int)
    ok = z["status"].astype(str) == "ok" if z["status"].dtype.kind in "US" else z["status"] == 0
    acc = z["test_acc"].astype(float) * (100.0 if np.nanmax(z["test_acc"]) <= 1.0 else 1.0)
    cells = sorted({a for a, s in zip(arch, seed, strict=True) if s == 0})
    idx = {(a, s): i for i, (a, s) in enumerate(zip(arch, seed, strict=True))}
    pairs = [(idx[(a, 0)], idx[(a, 1)]) for a in cells if (a, 1) in idx and ok[idx[(a, 0)]] and ok[idx[(a, 1)]]]
    rows = []
    for i in range(len(arch)):
        r = {"train_size": train, "arch": str(arch[i]), "seed": int(seed[i]), "ok": bool(ok[i]),
             "test_acc": round(float(acc[i]), 3), "seconds": round(float(np.nansum(z["epoch_time"][i])), 2)}
        for t in (2, 4):
            r[f"tse_T{t}"] = round(float(np.sum(z["train_loss"][i, :t])), 5)
            r[f"val_acc_T{t}"] = round(float(z["val_acc"][i, t - 1]), 5)
        rows.append(r)
    lines = [f"-- {train} training images: {len(cells)} cells, {len(pairs)} with both seeds, "
             f"{int(ok.sum())}/{len(arch)} runs ok --"]
    if len(pairs) < 3:
        lines.append("   too few finished pairs for the statistics; run again to continue")
        return lines, rows
    a0 = np.array([acc[i] for i, _ in pairs])
    a1 = np.array([acc[j] for _, j in pairs])
    mean = (a0 + a1) / 2
    noise = float(np.std(a0 - a1, ddof=1) / math.sqrt(2))
    var_true = max(float(np.var(mean, ddof=1)) - noise ** 2 / 2, 0.0)
    rel = var_true / (var_true + noise ** 2) if var_true + noise ** 2 > 0 else math.nan
    secs = np.array([r["seconds"] for r in rows if r["ok"]])
    per_run = float(np.median(secs))
    build_h = per_run * (BUILD_CELLS + BUILD_SECOND_SEED) / 3600
    lines += [
        f"   final test accuracy: mean {mean.mean():.2f}%, range {mean.min():.2f}-{mean.max():.2f}",
        f"   spread (s.d. over cells of the seed mean)        {np.std(mean, ddof=1):6.2f} points",
        f"   noise (s.d. of one run around its cell's mean)   {noise:6.2f} points",
        f"   true spread (s.d., noise removed)                {math.sqrt(var_true):6.2f} points",
        f"   reliability of one run R = {rel:.3f}, ceiling sqrt(R) = {math.sqrt(rel):.3f}; "
        f"seed-to-seed Spearman (measured) = {spearman(a0, a1):.3f}",
    ]
    by = {(r["arch"], r["seed"]): r for r in rows}
    first = [by[(a, 0)] for a in cells if (a, 1) in idx and ok[idx[(a, 0)]] and ok[idx[(a, 1)]]]
    for t in (2, 4):
        tse = -np.array([r[f"tse_T{t}"] for r in first])
        va = np.array([r[f"val_acc_T{t}"] for r in first])
        lines.append(f"   T = {t} of {epochs} epochs (seed 0 vs seed-mean final): Spearman TSE {spearman(tse, mean):.3f}, "
                     f"val acc {spearman(va, mean):.3f}")
    lines.append(f"   CPU seconds per run (median, 1 thread): {per_run:.0f}; the build ({BUILD_CELLS} cells + a second "
                 f"seed on {BUILD_SECOND_SEED}): {build_h:.1f} CPU-hours")
    return lines, rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-sizes", default="3072", help="comma-separated training-set sizes")
    ap.add_argument("--cells", type=int, default=24)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--store-dir", type=Path, default=REPO / "benchmarks" / "_cache")
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args(argv)
    args.data = data_dir(args.data_dir)
    if not (args.data / "cifar10").is_dir():
        print(f"SKIPPED: CIFAR-10 not found under {args.data}. Pass --data-dir or set NASRANK_DATA.")
        return 0
    sizes = [int(s) for s in args.train_sizes.split(",")]
    args.store_dir.mkdir(parents=True, exist_ok=True)
    lines = ["Learning-curve benchmark pilot (issue 22): NB201 C=8 N=1, CIFAR-10 16x16, 1,024 validation and "
             f"10,000 test images, {args.epochs} epochs, batch 128, SGD 0.1 cosine, {args.cells} cells of the build's "
             "draw (--arch-seed 1), training seeds 0 and 1", ""]
    all_rows: list[dict] = []
    for train in sizes:
        cmd = build_command(args, train)
        if not args.report_only:
            print("$ " + " ".join(cmd), flush=True)
            rc = subprocess.call(cmd)
            if rc != 0:
                print(f"bench build exited with {rc}; re-run to continue")
                return rc
        curves = args.store_dir / f"lc-pilot-{train}" / "curves.npz"
        if not curves.exists():
            lines.append(f"-- {train} training images: not built yet ({' '.join(cmd)}) --")
            continue
        part, rows = analyse(curves, train, args.epochs)
        lines += part + [""]
        all_rows += rows
    lines.append("Reading: the training size to build at is the one with the larger reliability per CPU-hour; "
                 "a ceiling well below 1 means the second seed, not more cells, limits what the benchmark can show.")
    text = "\n".join(lines)
    print(text)
    tag = "_".join(str(s) for s in sizes)
    (RESULTS / f"lc_benchmark_pilot_{tag}.txt").write_text(text + "\n")
    if all_rows:
        with open(RESULTS / f"lc_benchmark_pilot_{tag}_runs.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(all_rows[0]))
            w.writeheader()
            w.writerows(all_rows)
    print(f"\nwritten to {RESULTS / f'lc_benchmark_pilot_{tag}.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
