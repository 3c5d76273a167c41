"""One-shot NAS on NAS-Bench-201 ranked by training speed (seed 000 Tab. 2 / 4, seed 002 Tab. 4.1).

For every (method, seed): train a weight-sharing NB201 supernet on real CIFAR-10, then take each of
the 200 cells of the shipped ``nb201-mini`` benchmark as a subnet, evaluate it with the inherited
weights and fine-tune it for B minibatches (reference protocol: fresh SGD, constant lr 0.001, batch
64, each loss recorded before its own step), and rank the 200 subnets by every estimator. The
rankings are compared with two ground truths:

* **NB201-200ep** — NAS-Bench-201's CIFAR-10 test accuracy after the benchmark's 200-epoch training
  of the C=16, N=5 network (``../shared/data/nasbench201``);
* **mini** — the ``nb201-mini`` test accuracy of the same cell trained from scratch at the
  supernet's own scale (C=8, N=1, 16x16 CIFAR-10, 3,072 training images, 20 epochs).

CPU scale (the papers: C=16, N=5, 32x32, 25k-50k images, 100-250 supernet epochs on a GPU): C=8,
N=1 supernets on 16x16 CIFAR-10 with nb201-mini's own split (3,072 training images, 1,024
validation images, data seed 0), ``--epochs`` supernet epochs (default 200) at batch 64 (SGD, Nesterov momentum
0.9, lr 0.025 cosine to 0.001, weight decay 5e-4). Everything is resumable: each supernet is a
checkpoint under ``validation/_cache/oneshot_nb201/`` and each subnet evaluation a JSON line there,
so a stopped run continues where it was, and ``--report-only`` prints the table from whatever is
done. Finished (method, seed) runs are also written to
``validation/results/oneshot_nb201_e{epochs}_B{B}_values.csv`` (per-subnet estimator values, kept
in git), which later runs read and skip, so a run spanning sessions on fresh machines loses at most
the supernet in progress. Usage::

    nice -n 10 python validation/oneshot_nb201.py --methods spos,fairnas,multipath --budgets 100 &
    nice -n 10 python validation/oneshot_nb201.py --methods reptile,metaprox --budgets 100 &
    python validation/oneshot_nb201.py --report-only --budgets 100
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_dir, load_nb201_csv, require  # noqa: E402
from _oneshot import (  # noqa: E402
    ESTIMATORS,
    INHERITED,
    LABEL,
    METHODS,
    cell,
    collect,
    logger,
    names,
    train_and_rank,
    write_values,
)

from nasrank.benchmarks import load_benchmark  # noqa: E402
from nasrank.data import DataSpec  # noqa: E402
from nasrank.spaces import NB201Space  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "validation" / "_cache" / "oneshot_nb201"
RESULTS = REPO / "validation" / "results"

# seed 000 Tab. 4, NB201-CIFAR10: {B: {estimator: {method: (rho, rho_sd, top10, top10_sd)}}}
PAPER_000 = {
    100: {"tse": {"spos": (.70, .02, 92.67, .12), "fairnas": (.84, .01, 92.70, .10), "multipath": (.83, .01, 92.63, .12)},
          "val_acc": {"spos": (.44, .15, 91.47, .31), "fairnas": (.56, .17, 91.73, .21), "multipath": (.67, .05, 91.77, .78)},
          "sovl": {"spos": (.54, .13, 92.57, .15), "fairnas": (.84, .06, 92.67, .06), "multipath": (.83, .01, 92.73, .06)},
          "tl-mini": {"spos": (.62, .03, 91.80, .40), "fairnas": (.72, .09, 92.33, .40), "multipath": (.74, .02, 92.43, .06)}},
    200: {"tse": {"spos": (.70, .03, 92.70, .00), "fairnas": (.85, .01, 92.77, .06), "multipath": (.83, .01, 92.73, .06)},
          "val_acc": {"spos": (.41, .10, 91.53, .55), "fairnas": (.56, .17, 92.40, .10), "multipath": (.53, .11, 92.23, .23)},
          "sovl": {"spos": (.52, .17, 90.70, 1.35), "fairnas": (.84, .06, 92.53, .15), "multipath": (.80, .02, 92.50, .10)},
          "tl-mini": {"spos": (.46, .14, 92.00, .35), "fairnas": (.72, .10, 92.53, .25), "multipath": (.69, .06, 92.40, .27)}},
    300: {"tse": {"spos": (.71, .03, 92.70, .00), "fairnas": (.85, .00, 92.77, .06), "multipath": (.82, .01, 92.70, .00)},
          "val_acc": {"spos": (.44, .04, 91.20, .35), "fairnas": (.62, .08, 92.10, .50), "multipath": (.59, .71, 91.43, .72)},
          "sovl": {"spos": (.45, .21, 91.00, 1.60), "fairnas": (.81, .05, 92.53, .15), "multipath": (.81, .03, 92.53, .06)},
          "tl-mini": {"spos": (.47, .12, 91.60, .44), "fairnas": (.74, .02, 92.43, .21), "multipath": (.70, .04, 92.27, .12)}},
}
# seed 002 Tab. 4.1, CIFAR10: SoTL after 100 minibatches, the rest with the inherited weights
PAPER_002 = {
    "tse": {"spos": (.78, .06, 92.87, .25), "fairnas": (.89, .01, 92.23, .15), "multipath": (.91, .01, 92.73, .12),
            "reptile": (.87, .01, 91.97, .15), "metaprox": (.88, .01, 92.00, .17)},
    "tl-mini@1": {"spos": (.81, .04, 92.13, .47), "fairnas": (.83, .03, 92.20, .27), "multipath": (.86, .02, 92.30, .70),
                  "reptile": (.81, .03, 92.40, .20), "metaprox": (.82, .01, 92.23, .31)},
    "val_acc@0": {"spos": (.75, .03, 92.33, .74), "fairnas": (.76, .12, 92.57, .25), "multipath": (.76, .06, 93.03, .06),
                  "reptile": (.76, .16, 92.63, .31), "metaprox": (.64, .02, 92.07, .23)},
    "val_acc_mini@1": {"spos": (.71, .05, 91.83, .70), "fairnas": (.69, .11, 92.93, .06), "multipath": (.66, .19, 91.69, .97),
                       "reptile": (.74, .21, 92.37, .25), "metaprox": (.76, .08, 91.60, .87)},
}


def data_spec(root: Path) -> DataSpec:
    """nb201-mini's own split of CIFAR-10 (same training and validation images)."""
    return DataSpec("cifar10", root=str(root), image_size=16, train_size=3072, val_size=1024, test_size=0, seed=0)


def tag(args: argparse.Namespace, method: str, seed: int) -> str:
    return f"{method}_s{seed}_e{args.epochs}"



def report(args: argparse.Namespace, table: dict, gts: dict[str, dict], lines: list[str]) -> None:
    done: dict[str, list] = {}  # method -> the finished seeds' values
    for (method, _seed), vals in sorted(table.items(), key=lambda kv: (args.methods.index(kv[0][0]), kv[0][1])):
        done.setdefault(method, []).append(vals)
    if not done:
        lines.append("no finished (method, seed) yet")
        return
    lines.append("finished supernets (seeds): " + ", ".join(
        f"{LABEL[m]} {','.join(str(sd) for mm, sd in sorted(table) if mm == m)}" for m in done))
    for gt_name, gt in gts.items():
        lines.append("")
        lines.append(f"== ground truth: {gt_name} (top-10 = mean ground-truth accuracy % of each estimator's top 10) ==")
        for B in args.budgets:
            lines.append(f"-- B = {B} fine-tuning minibatches --")
            head = f"{'estimator':<16}" + "".join(f"{LABEL[m]:>30}" for m in done)
            lines.append(head + "   | published rho / top-10 (seed 000 Tab. 4)")
            for est in ESTIMATORS:
                row = f"{est:<16}" + "".join(cell(per_seed, gt, f"{est}@{B}", 30) for per_seed in done.values())
                pub = PAPER_000.get(B, {}).get(est)
                if pub:
                    row += "   | " + ", ".join(f"{LABEL[m]} {v[0]:.2f} / {v[2]:.2f}" for m, v in pub.items())
                lines.append(row)
        lines.append("-- inherited weights (no fine-tuning) and SoTL after 100 minibatches (seed 002 Tab. 4.1) --")
        for est in ("tse@100", *INHERITED):
            if est == "tse@100" and 100 not in args.budgets:
                continue
            row = f"{est:<16}" + "".join(cell(per_seed, gt, est, 30) for per_seed in done.values())
            pub = PAPER_002.get(est.replace("@100", ""))
            if pub:
                row += "   | " + ", ".join(f"{LABEL[m]} {v[0]:.2f} / {v[2]:.2f}" for m, v in pub.items())
            lines.append(row)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=200, help="supernet training epochs")
    p.add_argument("--budgets", default="100,200,300", help="fine-tuning minibatches B")
    p.add_argument("--subnets", type=int, default=200)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args()
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    args.seeds = [int(s) for s in args.seeds.split(",")]
    args.budgets = [int(b) for b in args.budgets.split(",")]
    torch.set_num_threads(args.threads)
    root = data_dir(args.data_dir)
    require(root / "cifar10", "CIFAR-10")
    rows = load_nb201_csv(root)
    space = NB201Space()
    nb201 = {space.from_str(r["arch"]): float(r["cifar10_test"]) for r in rows}
    mini = load_benchmark("nb201-mini")
    archs = [tuple(a) for a in mini.archs()][: args.subnets]
    gts = {"NB201-200ep": {space.to_str(a): nb201[a] for a in archs},
           "mini": {space.to_str(a): 100 * float(mini.query(a, "test_acc")) for a in archs}}
    CACHE.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = logger(CACHE / "log.txt")
    committed = RESULTS / f"oneshot_nb201_e{args.epochs}_B{max(args.budgets)}_values.csv"

    def cache_of(method: str, seed: int) -> Path:
        return CACHE / f"{tag(args, method, seed)}_B{max(args.budgets)}.jsonl"

    def finished(methods: list[str] = args.methods, seeds: list[int] = args.seeds) -> dict:
        return collect(methods, seeds, [(cache_of, committed)], args.subnets, names(args.budgets), space.to_str)

    if not args.report_only:
        spec = data_spec(root)
        for seed in args.seeds:
            for method in args.methods:
                if finished([method], [seed]):  # this run only: the cache or the committed values
                    continue  # in the cache or in the committed values
                train_and_rank("nb201", method, seed, {"C": 8, "N": 1}, args.epochs, args.budgets, spec, archs,
                               CACHE / f"{tag(args, method, seed)}.safetensors", cache_of(method, seed), args.quiet,
                               log)
    table = finished()
    if table:
        write_values(committed, table, names(args.budgets), gts)
    lines = [f"One-shot NB201 (CPU scale: C=8, N=1, 16x16 CIFAR-10, 3,072 train / 1,024 val images, "
             f"{args.epochs} supernet epochs, batch 64; fine-tuning lr 0.001 constant, batch 64), "
             f"{args.subnets} nb201-mini cells as subnets",
             "cell: Spearman rho (sd over seeds) / mean ground-truth accuracy of the top 10"]
    report(args, table, gts, lines)
    text = "\n".join(lines)
    print(text)
    out = RESULTS / f"oneshot_nb201_e{args.epochs}_B{max(args.budgets)}.txt"
    out.write_text(text + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
