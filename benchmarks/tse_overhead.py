"""Overhead of the ``TrainingSpeed`` hook on epoch wall time (target: <= 2%).

Runs the same plain training loop (SGD nesterov, pre-built batches) with and without
``ts.update(loss)`` / ``ts.end_epoch()``, interleaving the two so background load hits both alike,
and reports the ratio of the median epoch times. CPU, single-threaded by default.

    nice -n 10 python benchmarks/tse_overhead.py [--data-dir ../shared/data] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from _tse_common import add_common_args, build, load_train

from nasrank.training import TrainingSpeed


def epoch(model, opt, batches, ts: TrainingSpeed | None) -> float:
    t0 = time.perf_counter()
    for x, y in batches:
        loss = F.cross_entropy(model(x), y)
        if ts is not None:
            ts.update(loss)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    if ts is not None:
        ts.end_epoch()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(p)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    name, ds = load_train(args)
    batches = list(ds.batches(args.batch_size, shuffle=True, seed=0, augment=True,
                              generator=torch.Generator().manual_seed(0)))
    model = build(args, ds)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    epoch(model, opt, batches, None)  # warm-up
    ts = TrainingSpeed()
    plain, hooked = [], []
    for r in range(args.repeats):
        order = (None, ts) if r % 2 == 0 else (ts, None)
        for hook in order:
            (hooked if hook is not None else plain).append(epoch(model, opt, batches, hook))
    mp, mh = statistics.median(plain), statistics.median(hooked)
    ratio = mh / mp
    print(f"dataset {name}, {len(ds)} images, batch {args.batch_size}, {len(batches)} steps/epoch, "
          f"C={args.C} N={args.N}, {args.threads} thread(s), {args.repeats} repeats")
    print(f"{'loop':<22}{'median epoch s':>16}{'min s':>10}")
    print(f"{'without hook':<22}{mp:16.4f}{min(plain):10.4f}")
    print(f"{'with TrainingSpeed':<22}{mh:16.4f}{min(hooked):10.4f}")
    print(f"ratio with/without (median) = {ratio:.4f}  (overhead {100 * (ratio - 1):+.2f}%, target <= +2%)")
    print(f"ratio with/without (min)    = {min(hooked) / min(plain):.4f}")
    # noise-free view: the hook's own cost per step, measured in isolation
    probe, loss = TrainingSpeed(), torch.tensor(1.0)
    t0 = time.perf_counter()
    for _ in range(10):
        for _ in range(len(batches)):
            probe.update(loss)
        probe.end_epoch()
    per_epoch = (time.perf_counter() - t0) / 10
    print(f"hook cost in isolation: {1e6 * per_epoch / len(batches):.1f} us/step, "
          f"{100 * per_epoch / mp:.3f}% of a median epoch")
    print("PASS" if ratio <= 1.02 else "FAIL")
    return 0 if ratio <= 1.02 else 1


if __name__ == "__main__":
    sys.exit(main())
