"""Validation: rank correlation of TSE-family estimators on small NB201 cells trained for real.

Trains ``--cells`` random NAS-Bench-201 cells (C=8, N=1 by default) with the NB201 protocol
(SGD nesterov, lr 0.1 cosine over the run, wd 5e-4, crop+flip) on CIFAR-10 downsampled to 16x16
(from ``--data-dir``; falls back to scikit-learn's digits when CIFAR-10 is absent), then prints
Spearman's rho between each estimator at several budgets T and the final test accuracy.

Per-cell learning curves are cached in ``validation/_cache/`` (JSON lines) so an interrupted
run resumes. Run from the repository root::

    nice -n 10 python validation/tse_small.py --cells 60

Everything is CPU, single-threaded by default (``--threads``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

import nasrank
from nasrank.data import load_dataset
from nasrank.estimators import GAMMA_PAPER, GAMMA_RELEASED_CODE, create_estimator
from nasrank.training import LearningCurve, TrainConfig, train

REPO = Path(__file__).resolve().parents[1]

ESTIMATORS = [
    ("tse", {}),
    ("tse-e", {"E": 1}),
    ("tse-ema", {"gamma": GAMMA_PAPER}),
    ("tse-ema", {"gamma": GAMMA_RELEASED_CODE}),
    ("sovl", {}),
    ("vacc-es", {}),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--dataset", choices=["auto", "cifar10", "digits"], default="auto")
    p.add_argument("--cells", type=int, default=60)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--C", type=int, default=8)
    p.add_argument("--N", type=int, default=1)
    p.add_argument("--size", type=int, default=16, help="CIFAR-10 image side after downsampling")
    p.add_argument("--train-size", type=int, default=1536)
    p.add_argument("--val-size", type=int, default=512)
    p.add_argument("--test-size", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--budgets", type=str, default="1,2,3,4,6,8")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cache", type=Path, default=REPO / "validation" / "_cache" / "tse_small.jsonl")
    return p.parse_args(argv)


def load_data(args: argparse.Namespace) -> tuple[str, object, object, object]:
    use_cifar = args.dataset == "cifar10" or (
        args.dataset == "auto" and (args.data_dir / "cifar10" / "cifar-10-batches-py" / "test_batch").exists()
    )
    if use_cifar:
        pool = load_dataset("cifar10", root=args.data_dir, size=args.size,
                            max_samples=args.train_size + args.val_size, seed=args.seed)
        frac = args.val_size / len(pool)
        tr, va = pool.split(frac, seed=args.seed)
        te = load_dataset("cifar10", root=args.data_dir, train=False, size=args.size,
                          max_samples=args.test_size, seed=args.seed)
        return f"cifar10@{args.size}x{args.size}", tr, va, te
    print(f"CIFAR-10 not found under {args.data_dir}; using scikit-learn digits (8x8) instead.")
    tr, va = load_dataset("digits").split(0.5, seed=args.seed)  # NB201 style: half / half
    return "digits", tr, va, load_dataset("digits", train=False)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    name, tr, va, te = load_data(args)
    space = nasrank.create_space("nb201")
    cfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size)
    fp = hashlib.sha1(json.dumps(
        [name, len(tr), len(va), len(te), args.C, args.N, args.seed, vars(cfg)], sort_keys=True, default=str
    ).encode()).hexdigest()[:12]
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    done: dict[str, LearningCurve] = {}
    if args.cache.exists():
        for line in args.cache.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("fp") == fp:
                done[rec["arch"]] = LearningCurve.from_dict(rec["curve"])
    print(f"dataset {name}: train {len(tr)}, val {len(va)}, test {len(te)}; C={args.C} N={args.N}; "
          f"{args.epochs} epochs, batch {args.batch_size}; {len(done)} cells cached (fingerprint {fp})")

    rng = np.random.default_rng(args.seed)
    archs: list[str] = []
    while len(archs) < args.cells:
        a = space.to_str(space.sample(rng))
        if a not in archs:
            archs.append(a)
    t_start = time.time()
    for i, a in enumerate(archs):
        if a in done:
            continue
        with torch.random.fork_rng():
            torch.manual_seed(args.seed * 100003 + i)
            net = space.build(a, num_classes=tr.num_classes, C=args.C, N=args.N, in_channels=tr.image_shape[0])
        t0 = time.time()
        curve = train(net, tr, va, cfg, seed=args.seed + i, test_set=te)
        done[a] = curve
        with open(args.cache, "a") as f:
            f.write(json.dumps({"fp": fp, "arch": a, "curve": curve.to_dict()}) + "\n")
        print(f"[{len(done):3d}/{len(archs)}] {time.time() - t0:5.1f}s test_acc={curve.test_acc:.3f} "
              f"tse={curve.train_loss.sum():.3f} {a}", flush=True)
    print(f"training wall time this run: {time.time() - t_start:.0f}s")

    curves = [done[a] for a in archs]
    target = np.array([c.test_acc if c.test_acc is not None else math.nan for c in curves], dtype=float)
    budgets = [int(b) for b in args.budgets.split(",") if int(b) <= args.epochs]
    print()
    print(f"Spearman rho vs final test accuracy ({len(curves)} cells, {name}, "
          f"test acc mean {np.nanmean(target):.3f}, range {np.nanmin(target):.3f}-{np.nanmax(target):.3f})")
    header = f"{'estimator':<22}" + "".join(f"{'T=' + str(b):>8}" for b in budgets)
    print(header)
    print("-" * len(header))
    for est_name, params in ESTIMATORS:
        est = create_estimator(est_name, **params)
        label = est_name + "".join(f" {k}={v}" for k, v in params.items())
        row = f"{label:<22}"
        for b in budgets:
            s = np.array([est.score(c, b) for c in curves])
            ok = np.isfinite(s) & np.isfinite(target)
            rho = spearmanr(s[ok], target[ok]).statistic if ok.sum() > 2 else math.nan
            row += f"{rho:8.3f}"
        print(row)
    n_div = sum(c.diverged for c in curves)
    print(f"(scores signed higher = better; {n_div} diverged cells; "
          f"mean epoch time {np.mean([c.epoch_time.mean() for c in curves]):.2f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
