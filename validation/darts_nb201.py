"""Differentiable NAS on NAS-Bench-201 at CPU scale: do the training-speed variants avoid the
skip-connection collapse of DARTS? (seed 002 Tab. 4.6 / Fig. 4.16, seed 000 Fig. 5.)

For every (method, seed) a differentiable search (what ``nasrank darts`` runs) on real CIFAR-10,
then the NAS-Bench-201 CIFAR-10 test accuracy (200-epoch benchmark training of the C=16, N=5
network, mean over seeds; ``../shared/data/nasbench201``) of the cell it derives after every
epoch, with the number of parameter-free (none / skip / pooling) and skip operations among the
cell's 6. The claim tested (seed 002 §4.3.1): DARTS (1st and 2nd order) and SoVL-DARTS collapse to
parameter-free cells, SoTL-DARTS / DARTS-TSE does not.

CPU scale (the papers: C=16, N=5 supernet on 32x32 CIFAR-10, 25k + 25k images, 50 epochs, batch
64, on a GPU): a C=8, N=1 supernet (non-affine BatchNorm, no conv bias) on 16x16 CIFAR-10; the
3,072 training images of nb201-mini's size split 50/50 (DARTS' protocol) into 1,536 search-train
and 1,536 search-val images (``--train-size`` each; data seed 0); ``--epochs`` (default 50) at
batch 64 = 24 steps per epoch; weights SGD lr 0.025 cosine to 0.001, Nesterov momentum 0.9, wd
5e-4, clip 5; architecture Adam lr 3e-4, betas (0.5, 0.999), wd 1e-3 (NB201's DARTS config). The
SoTL / SoVL window K: the reference sums 100 of its 390 steps per epoch (about 4 architecture
updates per epoch); windows never cross epochs, so at 24 steps per epoch K=100 would update the
architecture once per epoch (50 updates instead of ~200). ``--inner-steps`` (default 6 = a quarter
epoch, ~4 updates per epoch as in the reference) keeps the number of architecture updates; pass
``--inner-steps 100`` for the literal setting. The same K is given to drnas-tse / pdarts-sotl.

Everything is resumable: each search is a checkpoint under ``validation/_cache/darts_nb201/``
(re-running continues it after its last finished epoch), and the per-epoch records of every
finished (method, seed) are written to ``validation/results/darts_nb201_<scale>.csv`` (kept in
git; later runs read and skip them). ``--report-only`` prints the table from what is there.
Usage::

    nice -n 10 python validation/darts_nb201.py --methods darts,sotl-darts &
    nice -n 10 python validation/darts_nb201.py --methods darts2,sovl-darts,drnas,drnas-tse &
    python validation/darts_nb201.py --report-only
    python validation/darts_nb201.py --methods darts --seeds 0 --epochs 1 --train-size 256  # smoke test
"""

from __future__ import annotations

import argparse
import csv
import inspect
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_dir, load_nb201_csv, require  # noqa: E402
from _oneshot import logger  # noqa: E402

from nasrank.data import DataSpec  # noqa: E402
from nasrank.oneshot import (  # noqa: E402
    SUPERNET_METHODS,
    SupernetTrainConfig,
    create_supernet_method,
    train_supernet,
)
from nasrank.spaces import NB201Space  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "validation" / "_cache" / "darts_nb201"
RESULTS = REPO / "validation" / "results"
METHODS = ("darts", "darts2", "sotl-darts", "sovl-darts", "drnas", "drnas-tse")
LABEL = {"darts": "DARTS (1st)", "darts2": "DARTS (2nd)", "sotl-darts": "SoTL-DARTS", "darts-tse": "DARTS-TSE",
         "sovl-darts": "SoVL-DARTS", "drnas": "DrNAS", "drnas-tse": "SoTL-DrNAS", "pdarts": "P-DARTS",
         "pdarts-sotl": "SoTL-P-DARTS"}
# NB201 CIFAR-10 test accuracy of the searched cell, mean (sd) over 3 seeds, full scale:
# seed 002 Tab. 4.6 (CIFAR10 column) ...
PAPER_002 = {"darts": "59.84 (7.84)", "darts2": "65.38 (7.84)", "sotl-darts": "92.66 (0.00)",
             "sovl-darts": "54.30 (0.00)", "drnas": "93.76 (0.00)", "drnas-tse": "93.76 (0.00)"}
# ... and the original papers (DARTS in the NAS-Bench-201 paper, Dong & Yang 2020; DrNAS, Chen et al. 2021), the
# values issue 15 quotes
PAPER_ORIG = {"darts": "54.30 (0.00)", "darts2": "54.30 (0.00)", "drnas": "94.36 (0.00)"}
COLLAPSE = 5  # a cell with at least 5 of its 6 operations parameter-free is "collapsed"
FIELDS = ["method", "seed", "epoch", "loss", "val_loss", "param_free", "skip", "hessian", "nb201_acc", "seconds",
          "arch"]


def scale_tag(args: argparse.Namespace) -> str:
    return f"C{args.C}_n{args.train_size}_e{args.epochs}_K{args.inner_steps}"


def data_spec(root: Path, args: argparse.Namespace) -> DataSpec:
    return DataSpec("cifar10", root=str(root), image_size=16, train_size=args.train_size, val_size=args.train_size,
                    test_size=0, seed=0)


def method_params(name: str, args: argparse.Namespace) -> dict:
    params: dict = {}
    accepted = inspect.signature(SUPERNET_METHODS.get(name)).parameters
    if "inner_steps" in accepted:
        params["inner_steps"] = args.inner_steps
    if args.hessian:
        params["hessian"] = True
    return params


def read_records(path: Path) -> dict[tuple[str, int], list[dict]]:
    """The committed per-epoch records, ``{(method, seed): [row per epoch]}``."""
    if not path.exists():
        return {}
    out: dict[tuple[str, int], list[dict]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            out.setdefault((row["method"], int(row["seed"])), []).append(row)
    return out


def write_records(path: Path, table: dict[tuple[str, int], list[dict]]) -> None:
    """Merge ``table`` into the committed CSV (rows of other runs kept), atomically."""
    merged = {k: v for k, v in read_records(path).items() if k not in table}
    merged.update(table)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        for key in sorted(merged):
            for row in sorted(merged[key], key=lambda r: int(r["epoch"])):
                w.writerow({k: row.get(k, "") for k in FIELDS})
    os.replace(tmp, path)


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.6g}"
    return str(v)


def search(method: str, seed: int, args: argparse.Namespace, spec: DataSpec, acc: dict[str, float],
           log) -> list[dict]:
    """Run (or resume) one search; its per-epoch records."""
    train, val, _ = spec.load()
    m = create_supernet_method(method, "nb201", seed=seed, supernet_config={"C": args.C, "N": 1},
                               **method_params(method, args))
    ck = CACHE / f"{method}_s{seed}_{scale_tag(args)}{'_h' if args.hessian else ''}.safetensors"
    t0 = time.perf_counter()
    res = train_supernet(m, train, SupernetTrainConfig(epochs=args.epochs, batch_size=64), val_set=val,
                         checkpoint=ck, data_key=spec.key(), progress=not args.quiet)
    rows = []
    for h in res.history:
        a = h.get("arch")
        rows.append({"method": method, "seed": seed, "epoch": int(h["epoch"]) + 1, "loss": _cell(h.get("loss")),
                     "val_loss": _cell(h.get("val_loss")), "param_free": _cell(h.get("param_free")),
                     "skip": _cell(h.get("skip")), "hessian": _cell(h.get("hessian")),
                     "nb201_acc": _cell(acc.get(a)) if a else "", "seconds": _cell(h.get("seconds")),
                     "arch": a or ""})
    secs = [h["seconds"] for h in res.history]
    log(f"{method} seed {seed}: {len(res.history)} epochs ({time.perf_counter() - t0:.0f} s now, "
        f"{np.mean(secs):.1f} s per epoch), final cell {rows[-1]['arch']} -> NB201 {rows[-1]['nb201_acc']} %, "
        f"{rows[-1]['param_free']} parameter-free ops" + (" (DIVERGED)" if res.diverged else ""))
    return rows


def _f(x: float, d: int = 2) -> str:
    return "-" if not math.isfinite(x) else f"{x:.{d}f}"


def _ms(xs: list[float], d: int = 2) -> str:
    xs = [x for x in xs if math.isfinite(x)]
    if not xs:
        return "-"
    return f"{np.mean(xs):.{d}f} ({np.std(xs):.{d}f})" if len(xs) > 1 else f"{xs[0]:.{d}f}"


def report(args: argparse.Namespace, table: dict[tuple[str, int], list[dict]], lines: list[str]) -> None:
    # every finished (method, seed) of this scale, not only the ones this invocation ran: the
    # written report is the whole table, whatever subset ``--methods`` / ``--seeds`` computed now
    done: dict[str, list[list[dict]]] = {}
    order = list(METHODS) + sorted({m for m, _ in table} - set(METHODS))
    for m in order:
        for sd in sorted(sd for mm, sd in table if mm == m):
            done.setdefault(m, []).append(sorted(table[m, sd], key=lambda r: int(r["epoch"])))
    if not done:
        lines.append("no finished (method, seed) yet")
        return
    E = args.epochs
    marks = sorted({max(1, E // 5), E // 2, E} - {0})

    def at(runs: list[list[dict]], e: int, key: str) -> list[float]:
        return [float(r[e - 1][key]) if len(r) >= e and r[e - 1][key] not in ("", None) else math.nan for r in runs]

    head = (f"{'method':<13} {'seeds':>5} " + "".join(f"{f'acc@{e}':>15}" for e in marks)
            + f"{'best-epoch acc':>15} {'param-free@' + str(E):>14} {'skip@' + str(E):>8} {'collapsed':>9}  "
            + "| published (full scale): seed 002 Tab. 4.6; original paper")
    lines.append(head)
    for m, runs in done.items():
        best = [max((float(x["nb201_acc"]) for x in r if x["nb201_acc"] != ""), default=math.nan) for r in runs]
        pf = at(runs, E, "param_free")
        collapsed = sum(1 for x in pf if math.isfinite(x) and x >= COLLAPSE)
        row = (f"{LABEL.get(m, m):<13} {len(runs):>5} " + "".join(f"{_ms(at(runs, e, 'nb201_acc')):>15}" for e in marks)
               + f"{_ms(best):>15} {_ms(pf, 1):>14} {_ms(at(runs, E, 'skip'), 1):>8} {f'{collapsed}/{len(runs)}':>9}  "
               + f"| {PAPER_002.get(m, '-')}; {PAPER_ORIG.get(m, '-')}")
        lines.append(row)
    lines.append("")
    lines.append("acc@e: NB201 CIFAR-10 test accuracy (%) of the cell derived after epoch e, mean (sd) over seeds; "
                 f"collapsed: runs whose final cell has >= {COLLAPSE} of 6 parameter-free ops")
    lines.append("per-run final cells:")
    for m, runs in done.items():
        for r in runs:
            last = r[-1]
            lines.append(f"  {LABEL.get(m, m):<13} seed {last['seed']}: {last['arch']}  NB201 {last['nb201_acc']} %, "
                         f"param-free {last['param_free']}, skip {last['skip']}")
    secs = {m: float(np.mean([float(x["seconds"]) for r in runs for x in r if x["seconds"]])) for m, runs in done.items()}
    lines.append("measured seconds per search epoch (this machine): "
                 + ", ".join(f"{m} {s:.1f}" for m, s in secs.items()))
    # the claim
    col = {m: sum(1 for r in runs if r[-1]["param_free"] not in ("", None) and float(r[-1]["param_free"]) >= COLLAPSE)
           for m, runs in done.items()}
    verdict = []
    for base in ("darts", "darts2", "sovl-darts"):
        if base in col:
            verdict.append(f"{LABEL[base]} collapsed in {col[base]}/{len(done[base])}")
    for tse in ("sotl-darts", "darts-tse", "drnas-tse", "pdarts-sotl"):
        if tse in col:
            verdict.append(f"{LABEL[tse]} in {col[tse]}/{len(done[tse])}")
    if verdict:
        lines.append("claim (TSE/SoTL variants do not collapse while DARTS does): " + "; ".join(verdict))


def plot(table: dict[tuple[str, int], list[dict]], path: Path) -> str | None:
    """The trajectory figure (seed 000 Fig. 5 layout) from the records; None when drawn."""
    from nasrank.evaluation.trajectories import plot_trajectories, trajectory_curves
    from nasrank.exceptions import MissingDependencyError

    rows = []
    for (m, sd), rs in table.items():
        for r in rs:
            rows.append({"group": LABEL.get(m, m), "space": "nb201", "seed": sd, "checkpoint": f"{m}_{sd}",
                         "epoch": int(r["epoch"]),
                         **{k: (float(r[k]) if r.get(k) not in ("", None) else None)
                            for k in ("param_free", "skip", "hessian", "loss", "val_loss")},
                         "acc": float(r["nb201_acc"]) if r["nb201_acc"] else None})
    if not rows:
        return "nothing to plot"
    try:
        plot_trajectories(trajectory_curves(rows), path, title="NB201 CIFAR-10 ground truth")
    except MissingDependencyError as exc:
        return str(exc)
    return None


def main() -> None:
    global CACHE, RESULTS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--epochs", type=int, default=50, help="search epochs")
    p.add_argument("--train-size", type=int, default=1536, help="search-train images (as many search-val)")
    p.add_argument("--C", type=int, default=8)
    p.add_argument("--inner-steps", type=int, default=6, help="SoTL/SoVL window K (see above)")
    p.add_argument("--hessian", action="store_true", help="record the dominant Hessian eigenvalue every epoch")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--results", default=str(RESULTS), help="results directory (smoke tests: elsewhere)")
    p.add_argument("--cache", default=str(CACHE), help="checkpoint directory")
    args = p.parse_args()
    CACHE, RESULTS = Path(args.cache), Path(args.results)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    for m in args.methods:
        SUPERNET_METHODS.get(m)  # unknown names fail here
    torch.set_num_threads(args.threads)
    root = data_dir(args.data_dir)
    require(root / "cifar10", "CIFAR-10")
    space = NB201Space()
    acc = {space.to_str(space.from_str(r["arch"])): float(r["cifar10_test"]) for r in load_nb201_csv(root)}
    CACHE.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = logger(CACHE / "log.txt")
    name = f"darts_nb201_{scale_tag(args)}{'_h' if args.hessian else ''}"
    committed = RESULTS / f"{name}.csv"
    table = read_records(committed)
    table = {k: v for k, v in table.items() if len(v) == args.epochs}  # finished runs only
    if not args.report_only:
        spec = data_spec(root, args)
        t_start = time.perf_counter()
        todo = [(m, sd) for sd in args.seeds for m in args.methods if (m, sd) not in table]
        for i, (m, sd) in enumerate(todo):
            rows = search(m, sd, args, spec, acc, log)
            if len(rows) == args.epochs:
                table[m, sd] = rows
                write_records(committed, {(m, sd): rows})
            per_epoch = float(np.mean([float(r["seconds"]) for r in rows]))
            left = len(todo) - i - 1
            if left:
                log(f"estimate: {left} search(es) left, ~{left * per_epoch * args.epochs / 3600:.1f} h at this "
                    f"method's {per_epoch:.1f} s per epoch ({(time.perf_counter() - t_start) / 60:.0f} min so far)")
    lines = [f"Differentiable NAS on NAS-Bench-201 (CPU scale: C={args.C}, N=1 supernet, 16x16 CIFAR-10, "
             f"{args.train_size} search-train + {args.train_size} search-val images, {args.epochs} epochs, batch 64, "
             f"SoTL/SoVL window K={args.inner_steps}); ground truth: NB201 CIFAR-10 test accuracy (200 epochs, C=16, N=5)",
             ""]
    report(args, table, lines)
    text = "\n".join(lines)
    print(text)
    (RESULTS / f"{name}.txt").write_text(text + "\n")
    err = plot(table, RESULTS / f"{name}.png")
    print(f"written {RESULTS / (name + '.txt')}, {committed}" + ("" if err else f", {RESULTS / (name + '.png')}"))
    if err:
        print(f"no plot: {err}")


if __name__ == "__main__":
    main()
