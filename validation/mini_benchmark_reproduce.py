"""Validation: re-training cells of a nasrank benchmark with its recorded config reproduces their curves.

Picks ``--cells`` architectures of the benchmark (default: the shipped ``nb201-mini``; seeded
choice), re-trains each with the benchmark's own recorded protocol (``CurveBenchmark.train_job``),
and compares the new curve with the stored one: final validation accuracy (target: within 0.5
points) and per-epoch training loss (target: within 2%). On the same machine and thread count the
runs are expected to be bit-identical; across machines/BLAS builds small float differences grow
through training, which is what the tolerances are for.

    python validation/mini_benchmark_reproduce.py [--benchmark nb201-mini] [--cells 3] [--data-dir D]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_dir, require  # noqa: E402

from nasrank.benchmarks import load_benchmark, run_train_job  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--benchmark", default="nb201-mini")
    p.add_argument("--cells", type=int, default=3)
    p.add_argument("--seed", type=int, default=0, help="seed of the cell choice")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    bench = load_benchmark(args.benchmark)
    root = data_dir(args.data_dir)
    ds = bench.metadata["data"]["dataset"]
    if ds != "digits":
        require(root / ds, f"dataset {ds!r} of the benchmark")
    rng = np.random.default_rng(args.seed)
    archs = bench.archs()
    picks = [archs[i] for i in rng.choice(len(archs), size=args.cells, replace=False)]
    print(f"benchmark {bench.name}: {len(archs)} cells, {bench.epochs} epochs; build: {bench.metadata.get('build_command')}")
    print(f"{'cell':<92} {'val_acc stored':>14} {'re-trained':>10} {'diff pts':>8} {'max rel dTL':>11} {'time':>6}  verdict")
    ok_all = True
    for a in picks:
        stored = bench.curve(a)
        t0 = time.perf_counter()
        rec = run_train_job(bench.train_job(a, seed=int(stored.meta["seed"]), data_root=root))
        dt = time.perf_counter() - t0
        if rec.status != "ok":
            print(f"{bench.space.to_str(a):<92} re-training failed: {rec.status} {rec.error}")
            ok_all = False
            continue
        new = rec.learning_curve()
        dv = 100 * abs(new.val_acc[-1] - stored.val_acc[-1])
        rel = float(np.max(np.abs(new.train_loss - stored.train_loss) / np.abs(stored.train_loss)))
        ok = dv <= 0.5 and rel <= 0.02
        ok_all &= ok
        print(f"{bench.space.to_str(a):<92} {100 * stored.val_acc[-1]:>13.2f}% {100 * new.val_acc[-1]:>9.2f}% "
              f"{dv:>8.2f} {rel:>11.2e} {dt:>5.0f}s  {'OK' if ok else 'MISS'}"
              f"{' (bit-identical)' if np.array_equal(new.minibatch_loss, stored.minibatch_loss.astype(np.float32).astype(np.float64)) or np.array_equal(new.train_loss, stored.train_loss) else ''}")
    print("RESULT:", "all cells reproduce (val acc within 0.5 points, train loss within 2%)" if ok_all else "MISS")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
