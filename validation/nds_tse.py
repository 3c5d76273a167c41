"""Small real learning-curve benchmarks of the NDS design spaces (seed 000 Fig. 1 e-h, at CPU scale).

For each family (``nds-resnet``, ``nds-resnext-a``, ``nds-resnext-b``) this script

1. builds a learning-curve benchmark with ``nasrank bench build`` (the architectures are a seeded
   uniform draw from the space; every run records per-minibatch and per-epoch losses/accuracies),
2. runs ``nasrank correlate`` on it (TSE, TSE-E, TSE-EMA, SoVL, early-stopped validation accuracy
   vs the final test accuracy, Spearman with bootstrap CIs at every budget T),

and writes ``validation/results/nds_tse.txt`` (scale, cost, tables, comparison with the paper).

Scale (defaults; the paper's in brackets): 24 architectures per family [25,000] (built in rounds
of 8, 16, 24 per family, so that every family has data early), 8 epochs [100],
1,024 CIFAR-10 training images at 16x16 [50,000 at 32x32], batch 64 [128] (128 SGD steps in
all), lr 0.1 cosine [same], networks down-scaled with ``width_mult`` (ResNet 1/8: widths 2-32; ResNeXt-A 1/4: 4-64;
ResNeXt-B 1/16: 4-64) [full width]; depths, ratios and groups exactly as the architectures say.
Cost: 36 minutes of training in total with one thread each (ResNet 16, ResNeXt-A 11, ResNeXt-B 9),
measured on a shared 2-core machine (recorded per family in the results).

Resumable: the training runs are kept in ``validation/_cache/nds_<family>.sqlite``; re-running
the same command retrains nothing already stored. Run it at low priority, e.g.::

    nice -n 10 python validation/nds_tse.py            # build (resumes) + correlate
    python validation/nds_tse.py --stage correlate     # tables only, from the built benchmarks
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from _common import REPO, data_dir, require

FAMILIES = {  # name -> (short name, width_mult)
    "nds-resnet": ("resnet", 0.125),
    "nds-resnext-a": ("resnext_a", 0.25),
    "nds-resnext-b": ("resnext_b", 0.0625),
}
ESTIMATORS = "tse,tse-e,tse-ema,sovl,vacc-es"
RESULTS = REPO / "validation" / "results"
CACHE = REPO / "validation" / "_cache"

PAPER = """\
Seed 000 Fig. 1 e-h (NDS ResNet / ResNeXt-A / ResNeXt-B on CIFAR-10, 25,000 architectures per
family, T_end = 100): TSE-EMA and TSE-E reach a higher Spearman rank correlation with the final
test accuracy than SoVL and the early-stopped validation accuracy for every budget T < 0.5 T_end,
TSE-EMA ahead of TSE-E at the smallest T (panels f and g: the same holds on the top 1% of the
architectures). The paper gives the curves only as plots; no numbers are restated here."""


def nasrank_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("nasrank")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "nasrank"]


def bench_dir(short: str, args: argparse.Namespace) -> Path:
    return RESULTS / f"nds_{short}_bench_{args.image_size}px"


def build(name: str, args: argparse.Namespace) -> None:
    short, width_mult = FAMILIES[name]
    out = bench_dir(short, args)
    cmd = [*nasrank_cmd(), "bench", "build", "--out", str(out.relative_to(REPO)),
           "--store", str((CACHE / f"nds_{short}.sqlite").relative_to(REPO)),
           "--space", name, "--config", f"width_mult={width_mult}",
           "--dataset", "cifar10", "--data-dir", str(args.data_dir),
           "--image-size", str(args.image_size), "--train-size", str(args.train_size),
           "--val-size", str(args.val_size), "--test-size", str(args.test_size),
           "--archs", str(args.archs), "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
           "--threads", "1", "--quiet"]
    print("+", " ".join(cmd), flush=True)
    t0 = time.time()
    subprocess.run(cmd, cwd=REPO, check=True)
    print(f"{name}: built in {time.time() - t0:.0f} s wall", flush=True)


def correlate(name: str, args: argparse.Namespace) -> str:
    short, _ = FAMILIES[name]
    out = bench_dir(short, args)
    if not (out / "benchmark.json").exists():
        return f"{name}: benchmark not built yet ({out.relative_to(REPO)})\n"
    stem = RESULTS / f"nds_{short}_bench_{args.image_size}px_correlation"
    cmd = [*nasrank_cmd(), "correlate", "-b", str(out.relative_to(REPO)), "-e", ESTIMATORS,
           "--csv", str(stem.with_suffix(".csv").relative_to(REPO)), "--plot",
           str(stem.with_suffix(".png").relative_to(REPO))]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        cmd[-1] = "none"
    res = subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True,
                         env={**__import__("os").environ, "COLUMNS": "140"})
    meta = json.loads((out / "benchmark.json").read_text())
    import numpy as np

    curves = np.load(out / "curves.npz")
    acc = curves["test_acc"]
    head = (f"== {name}: {meta['runs']} runs, {meta['epochs']} epochs, space_config {meta['space_config']}, "
            f"data {meta['data']}\n   training time {meta['total_train_seconds'] / 60:.1f} min summed over runs "
            f"(1 thread each, shared 2-core machine); final test accuracy min {acc.min():.3f} / mean {acc.mean():.3f} / max {acc.max():.3f}\n"
            f"   built by: {meta.get('build_command', '-')}\n")
    (stem.with_suffix(".txt")).write_text(res.stdout)
    return head + res.stdout + "\n"


def summary(args: argparse.Namespace) -> str:
    """Mean Spearman rho per estimator over the early budgets, from the correlation CSVs."""
    import csv

    rows = []
    for name, (short, _) in FAMILIES.items():
        path = RESULTS / f"nds_{short}_bench_{args.image_size}px_correlation.csv"
        if not path.exists():
            continue
        with open(path, newline="") as f:
            recs = [r for r in csv.DictReader(f) if r["epochs"].isdigit()]
        t_end = max(int(r["epochs"]) for r in recs)
        for label, t_max in ((f"T<={t_end // 2} (T_end/2)", t_end // 2), ("all T", t_end)):
            means = {}
            for est in ESTIMATORS.split(","):
                vals = [float(r["value"]) for r in recs if r["estimator"] == est and int(r["epochs"]) <= t_max]
                means[est] = sum(vals) / len(vals) if vals else float("nan")
            best = max(means, key=lambda k: means[k])
            rows.append(f"{name:15s} {label:22s} " + " ".join(f"{means[e]:8.3f}" for e in ESTIMATORS.split(","))
                        + f"   best: {best}")
    head = f"{'family':15s} {'budgets':22s} " + " ".join(f"{e:>8s}" for e in ESTIMATORS.split(","))
    return "Mean Spearman rho with the final test accuracy (from the tables below):\n" + "\n".join([head, *rows])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", default=",".join(FAMILIES), help="comma-separated subset of " + ", ".join(FAMILIES))
    p.add_argument("--stage", choices=["all", "build", "correlate"], default="all")
    p.add_argument("--archs", default="8,16,24",
                   help="architectures per family; a comma-separated list builds in rounds (every family to 8, "
                        "then to 16, ...: the seeded draw of 16 extends that of 8)")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--train-size", type=int, default=1024)
    p.add_argument("--val-size", type=int, default=256)
    p.add_argument("--test-size", type=int, default=1000)
    p.add_argument("--image-size", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--data-dir", default=None)
    args = p.parse_args()
    args.data_dir = data_dir(args.data_dir)
    require(args.data_dir / "cifar10", "CIFAR-10")
    names = [n.strip() for n in args.families.split(",") if n.strip()]
    bad = [n for n in names if n not in FAMILIES]
    if bad:
        p.error(f"unknown families {bad}; choose from {', '.join(FAMILIES)}")
    CACHE.mkdir(parents=True, exist_ok=True)
    rounds = [int(v) for v in str(args.archs).split(",")]
    if args.stage in ("all", "build"):
        for n_archs in rounds:
            args.archs = n_archs
            for n in names:
                build(n, args)
    if args.stage in ("all", "correlate"):
        text = [PAPER, "", "Scale" + __doc__.split("Scale", 1)[1].split("Resumable")[0].rstrip(), ""]
        tables = [correlate(n, args) for n in FAMILIES]
        text += [summary(args), "", *tables]
        (RESULTS / "nds_tse.txt").write_text("\n".join(text))
        print("\n".join(text))


if __name__ == "__main__":
    main()
