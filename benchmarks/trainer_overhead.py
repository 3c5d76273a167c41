"""Overhead of ``nasrank.training.train`` per epoch versus a bare forward+backward+step loop.

Both runs see the same batches: the bare loop draws them with the same ``ImageDataset.batches``
call (same seeds, shuffling and augmentation) that the trainer uses, so the ratio measures the
trainer's own bookkeeping (loss/accuracy recording, LR schedule, per-epoch sync, timing).
A second ratio compares with a bare loop on pre-built batches (excludes batch assembly too).
Target: trainer epoch <= 1.10 x bare epoch (median over interleaved repeats).

    nice -n 10 python benchmarks/trainer_overhead.py [--data-dir ../shared/data] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from _tse_common import add_common_args, build, load_train

from nasrank.training import TrainConfig, train


def bare_epoch(model, opt, batches) -> float:
    t0 = time.perf_counter()
    model.train()
    for x, y in batches:
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(p)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    name, ds = load_train(args)
    cfg = TrainConfig(epochs=1, batch_size=args.batch_size)
    model = build(args, ds)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    prebuilt = list(ds.batches(args.batch_size, shuffle=True, seed=0, augment=True,
                               generator=torch.Generator().manual_seed(0)))

    def live_batches(seed: int):
        return ds.batches(args.batch_size, shuffle=True, seed=np.random.default_rng(seed), augment=True,
                          generator=torch.Generator().manual_seed(seed))

    bare_epoch(model, opt, prebuilt)  # warm-up
    train(model, ds, config=cfg, seed=0)
    t_train, t_train_call, t_bare, t_pre = [], [], [], []
    def run_trainer(r: int) -> None:
        t0 = time.perf_counter()
        curve = train(model, ds, config=cfg, seed=r)
        t_train_call.append(time.perf_counter() - t0)
        t_train.append(float(curve.epoch_time[0]))

    for r in range(args.repeats):  # alternate the order so drifting background load hits both
        if r % 2 == 0:
            run_trainer(r)
        t_bare.append(bare_epoch(model, opt, live_batches(r)))
        t_pre.append(bare_epoch(model, opt, prebuilt))
        if r % 2 == 1:
            run_trainer(r)
    m_tr, m_call, m_bare, m_pre = (statistics.median(v) for v in (t_train, t_train_call, t_bare, t_pre))
    print(f"dataset {name}, {len(ds)} images, batch {args.batch_size}, C={args.C} N={args.N}, "
          f"{args.threads} thread(s), {args.repeats} repeats (median seconds per epoch)")
    print(f"{'run':<44}{'median s':>10}{'ratio':>8}")
    print(f"{'bare loop, same batch pipeline':<44}{m_bare:10.4f}{1.0:8.3f}")
    print(f"{'trainer epoch (curve.epoch_time)':<44}{m_tr:10.4f}{m_tr / m_bare:8.3f}")
    print(f"{'trainer whole train() call, 1 epoch':<44}{m_call:10.4f}{m_call / m_bare:8.3f}")
    print(f"{'bare loop, pre-built batches':<44}{m_pre:10.4f}{m_pre / m_bare:8.3f}")
    print(f"trainer / bare (same batches) = {m_tr / m_bare:.3f}   (target <= 1.10)")
    print(f"trainer / bare (pre-built batches) = {m_tr / m_pre:.3f}")
    ok = m_tr / m_bare <= 1.10
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
