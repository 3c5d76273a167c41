"""One-shot NAS on the DARTS space ranked by training speed (seed 000 Tab. 2, seed 002 Tab. 4.2).

For every (method, seed): train a reduced DARTS supernet on real CIFAR-10, take the 725 DARTS cells
of NASLib's NAS-Bench-Suite-Zero file (``../shared/data/naslib_zc/zc_nasbench301.json``; their
``val_accuracy`` is the NAS-Bench-301 ground truth) as subnets, evaluate each with the inherited
weights and after B fine-tuning minibatches (fresh SGD, constant lr 0.001, batch 64, every loss
recorded before its own step), and rank them by every estimator against NAS-Bench-301.

CPU scale (the papers: 8-cell C=16 supernets on 32x32 CIFAR-10 on a GPU, 350-500 subnets): a
``--C`` / ``--layers`` supernet (default C=4, 3 cells: one normal cell between the two reduction
cells) on 16x16 CIFAR-10, 3,072 training / 1,024 validation images. A DARTS path is ~10x an NB201
path on CPU: fine-tuning one subnet for 100 minibatches takes about 5.5 s (1 thread, one process
per core), so one (method, seed) costs about 1.1 core-hours per 100 minibatches, plus
the supernet (200 epochs by default, as for NB201: 7 min spos); ``--subnets`` takes the first N
cells of the file. The supernet budget decides whether there is anything to rank: at 30 epochs
(``oneshot_darts_C4_L3_e30_*``) TSE's rho with NB301 was -0.00 (SPOS), 0.15 (FairNAS), 0.05
(MultiPath); on the first 100 cells SPOS went from -0.03 at 30 epochs to 0.23 at 200
(``oneshot_darts_pilot_spos_s0_e200_n100.txt``). Resumable like
``oneshot_nb201.py`` (cache under ``validation/_cache/oneshot_darts/``); a (method, seed) longer than
a session also survives a fresh machine: every 25 subnets its values so far go to
``validation/results/oneshot_darts_<run>_partial.jsonl`` (kept in git) with a digest of the
supernet, and a re-run retrains the supernet from its seed (bit-identical on the same CPU build:
the digest is checked, a mismatch starts the unit over) and fine-tunes only the missing subnets;
the file is removed once the unit is in the values CSV. A run fine-tuned to a
larger B records every smaller budget on the same trajectory, so the B = 100 report also reads the
B = 300 runs (seed 000 publishes B = 200 / 300 for RandNAS only: run spos to 300, the rest to 100).
Usage::

    nice -n 10 python validation/oneshot_darts.py --methods spos --seeds 0 --budgets 100,200,300
    nice -n 10 python validation/oneshot_darts.py --methods fairnas,multipath --seeds 0 --budgets 100
    python validation/oneshot_darts.py --report-only --budgets 100
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from functools import partial
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_dir, require  # noqa: E402
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

from nasrank.benchmarks.naslib_zc_301 import NASLibNB301Benchmark, naslib_nb301_params  # noqa: E402
from nasrank.data import DataSpec  # noqa: E402
from nasrank.evaluation import spearman  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "validation" / "_cache" / "oneshot_darts"
RESULTS = REPO / "validation" / "results"
# published: seed 000 Tab. 2/4 (DARTS, RandNAS, B=100/200/300) and seed 002 Tab. 4.2 (SoTL after 100)
PAPER_000 = {100: {"tse": (.30, .04, 93.64), "val_acc": (.11, .04, 93.20), "sovl": (.10, .04, 93.21),
                   "tl-mini": (.05, .03, 93.38)},
             200: {"tse": (.32, .04, 93.55), "val_acc": (.09, .02, 93.34), "sovl": (.08, .02, 93.36),
                   "tl-mini": (.02, .01, 93.15)},
             300: {"tse": (.34, .04, 93.65), "val_acc": (.06, .02, 93.31), "sovl": (.05, .02, 93.26),
                   "tl-mini": (.09, .01, 92.95)}}
PAPER_002 = {"tse": {"spos": .18, "fairnas": .43, "multipath": .38, "reptile": .32, "metaprox": .37},
             "tl-mini@1": {"spos": .02, "fairnas": .23, "multipath": .23, "reptile": .20, "metaprox": .26},
             "val_acc@0": {"spos": .17, "fairnas": .19, "multipath": .19, "reptile": .16, "metaprox": .08},
             "val_acc_mini@1": {"spos": .15, "fairnas": .21, "multipath": .12, "reptile": .12, "metaprox": .06}}


def tag(args: argparse.Namespace, method: str, seed: int) -> str:
    return f"{method}_s{seed}_C{args.C}_L{args.layers}_e{args.epochs}"



def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--C", type=int, default=4)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--budgets", default="100,200,300")
    p.add_argument("--subnets", type=int, default=725)
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
    bench = NASLibNB301Benchmark(require(root / "naslib_zc" / "zc_nasbench301.json", "NASLib's NAS-Bench-301 cells"))
    archs = [tuple(a) for a in bench.archs()][: args.subnets]
    space = bench.space
    gt = {space.to_str(a): 100 * bench.query(a, "val_acc") for a in archs}  # NB301 val accuracy, %
    CACHE.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = logger(CACHE / "log.txt")
    stem = f"C{args.C}_L{args.layers}_e{args.epochs}_B"

    def committed_of(B: int) -> Path:
        return RESULTS / f"oneshot_darts_{stem}{B}_values.csv"

    def cache_of(method: str, seed: int, B: int = max(args.budgets)) -> Path:
        return CACHE / f"{tag(args, method, seed)}_B{B}.jsonl"

    # a run fine-tuned to a larger B holds these budgets too (the same trajectory, identical
    # values), so those runs' files are read after this run's own
    bmax = max(args.budgets)
    larger = {int(re.search(r"_B(\d+)[_.]", p.name).group(1))
              for p in [*RESULTS.glob(f"oneshot_darts_{stem}*_values.csv"), *CACHE.glob(f"*_{stem}*.jsonl")]}
    sources = [(partial(cache_of, B=b), committed_of(b)) for b in [bmax, *sorted(b for b in larger if b > bmax)]]
    committed = committed_of(bmax)

    def finished(methods: list[str] = args.methods, seeds: list[int] = args.seeds) -> dict:
        return collect(methods, seeds, sources, len(archs), names(args.budgets), space.to_str)

    if not args.report_only:
        spec = DataSpec("cifar10", root=str(root), image_size=16, train_size=3072, val_size=1024, test_size=0, seed=0)
        for seed in args.seeds:
            for method in args.methods:
                if finished([method], [seed]):  # this run only: the cache or the committed values
                    continue
                part = RESULTS / f"oneshot_darts_{tag(args, method, seed)}_B{bmax}_partial.jsonl"
                vals = train_and_rank("darts", method, seed, {"C": args.C, "layers": args.layers}, args.epochs,
                                      args.budgets, spec, archs, CACHE / f"{tag(args, method, seed)}.safetensors",
                                      cache_of(method, seed), args.quiet, log, partial=part, to_str=space.to_str)
                write_values(committed, {(method, seed): vals}, names(args.budgets), {"NB301": gt})
                part.unlink()  # the unit is whole in the committed values now
    # the report covers every finished (method, seed) of this scale, not only the ones just run
    table = finished(list(METHODS), sorted({0, 1, 2, *args.seeds}))
    if table:
        write_values(committed, table, names(args.budgets), {"NB301": gt})
    done: dict[str, list] = {}
    for (method, _seed), vals in sorted(table.items(), key=lambda kv: (METHODS.index(kv[0][0]), kv[0][1])):
        done.setdefault(method, []).append(vals)
    lines = [f"One-shot DARTS (CPU scale: C={args.C}, {args.layers} cells, 16x16 CIFAR-10, 3,072 train / 1,024 val "
             f"images, {args.epochs} supernet epochs, batch 64; fine-tuning lr 0.001 constant, batch 64), "
             f"{len(archs)} NAS-Bench-301 cells of NASLib's zc file as subnets; ground truth: their NB301 val accuracy",
             "cell: Spearman rho (sd over seeds) / mean NB301 accuracy of the top 10"]
    in_progress = []
    for part in sorted(RESULTS.glob(f"oneshot_darts_*_C{args.C}_L{args.layers}_e{args.epochs}_B*_partial.jsonl")):
        rows = [ln for ln in part.read_text().splitlines() if ln.strip().endswith("}")]
        arch_n = len({json.loads(ln)["arch"] for ln in rows})
        in_progress.append(f"{part.name.removeprefix('oneshot_darts_').removesuffix('_partial.jsonl')}: "
                           f"{arch_n} of {len(archs)} subnets")
    if in_progress:
        lines.append("in progress (committed partial units; re-run their command to continue): " + "; ".join(in_progress))
    if not done:
        lines.append("no finished (method, seed) yet")
        print("\n".join(lines))
        return
    lines.append("finished supernets (seeds): " + ", ".join(f"{LABEL[m]} {len(v)}" for m, v in done.items()))
    params = [naslib_nb301_params(a) for a in archs]  # the NB301 network's (C=32, 8 cells), no training
    lines.append(f"reference without a supernet: the cells' parameter count ranks them at rho "
                 f"{spearman(params, [gt[space.to_str(a)] for a in archs]):.2f}")
    for B in args.budgets:
        lines.append(f"-- B = {B} --")
        lines.append(f"{'estimator':<16}" + "".join(f"{LABEL[m]:>26}" for m in done)
                     + "   | published RandNAS rho / top-10 (seed 000 Tab. 4)")
        for est in ESTIMATORS:
            row = f"{est:<16}"
            for per in done.values():
                row += cell(per, gt, f"{est}@{B}", 26)
            pub = PAPER_000.get(B, {}).get(est)
            if pub:
                row += f"   | {pub[0]:.2f} / {pub[2]:.2f}"
            lines.append(row)
    lines.append("-- inherited weights and SoTL after 100 minibatches (seed 002 Tab. 4.2, DARTS rho) --")
    for est in ("tse@100", *INHERITED):
        if est == "tse@100" and 100 not in args.budgets:
            continue
        row = f"{est:<16}"
        for per in done.values():
            row += cell(per, gt, est, 26)
        pub = PAPER_002.get(est.replace("@100", ""))
        if pub:
            row += "   | " + ", ".join(f"{LABEL[m]} {v:.2f}" for m, v in pub.items())
        lines.append(row)
    text = "\n".join(lines)
    print(text)
    out = RESULTS / f"oneshot_darts_C{args.C}_L{args.layers}_e{args.epochs}_B{max(args.budgets)}.txt"
    out.write_text(text + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
