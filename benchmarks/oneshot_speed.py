"""One-shot speed: supernet training steps and subnet fine-tuning vs the stand-alone networks.

Targets (issue 14), all on CPU with the same minibatches:

1. a ``spos`` step <= 1.15 x one training step of the stand-alone network of the path it drew
   (only the sampled path is computed);
2. a ``fairnas`` step <= 1.15 x the |O| stand-alone steps of its paths;
3. fine-tuning a subnet for B minibatches from the supernet (``finetune_subnet``, training part)
   <= 1.10 x the same B steps of SGD on the stand-alone network.

Every ratio is a sum over many drawn architectures (the stand-alone step of each path is timed
after a warm-up step, as the median of ``--reps`` steps); per-architecture extremes are printed
too. Random images, no dataset needed::

    python benchmarks/oneshot_speed.py [--space nb201] [--C 8] [--N 1] [--image-size 16]
        [--batch-size 64] [--steps 30] [--archs 12] [--B 50] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

import nasrank
from nasrank.data import ImageDataset
from nasrank.oneshot import FinetuneConfig, create_supernet_method, finetune_subnet


def sgd(params, lr: float):
    return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)


class StandAlone:
    """Per-architecture stand-alone step times (median of ``reps`` after one warm-up step)."""

    def __init__(self, space, cfg: dict, batch, reps: int, in_channels: int) -> None:
        self.space, self.cfg, self.batch, self.reps, self.cin = space, cfg, batch, reps, in_channels
        self.times: dict[tuple, float] = {}

    def step_time(self, arch: tuple) -> float:
        if arch not in self.times:
            net = self.space.build(arch, num_classes=10, in_channels=self.cin, **self.cfg).train()
            opt = sgd(net.parameters(), 0.025)
            x, y = self.batch
            ts = []
            for i in range(self.reps + 1):
                t0 = time.perf_counter()
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(net(x), y).backward()
                opt.step()
                if i:
                    ts.append(time.perf_counter() - t0)
            self.times[arch] = statistics.median(ts)
        return self.times[arch]


def method_ratio(name: str, space, cfg: dict, batch, steps: int, alone: StandAlone, cin: int) -> tuple:
    m = create_supernet_method(name, space, seed=0, supernet_config=cfg, in_channels=cin)
    m.step(batch)  # warm-up
    per_step = []
    for _ in range(steps):
        t0 = time.perf_counter()
        out = m.step(batch)
        t = time.perf_counter() - t0
        ref = sum(alone.step_time(tuple(a)) for a in out["archs"])
        per_step.append((t, ref, len(out["archs"])))
    t_sum = sum(p[0] for p in per_step)
    r_sum = sum(p[1] for p in per_step)
    ratios = [p[0] / p[1] for p in per_step]
    return t_sum / r_sum, min(ratios), max(ratios), t_sum / steps, per_step[0][2]


def finetune_ratio(space, cfg: dict, data: ImageDataset, archs: list, B: int, cin: int) -> tuple:
    m = create_supernet_method("spos", space, seed=0, supernet_config=cfg, in_channels=cin)
    ft = FinetuneConfig(budgets=(B,), val_minibatch=False)
    finetune_subnet(m.supernet, archs[0], data, None, ft, seed=0)  # warm-up
    rows = []
    for arch in archs:
        res = finetune_subnet(m.supernet, arch, data, None, ft, seed=0)
        net = space.build(arch, num_classes=10, in_channels=cin, **cfg).train()
        opt = sgd(net.parameters(), ft.lr)
        rng = np.random.default_rng([0, 0])
        gen = torch.Generator().manual_seed(0)

        def stream(rng=rng, gen=gen):
            while True:  # epoch after epoch, as the fine-tuning does
                yield from data.batches(ft.batch_size, shuffle=True, seed=rng, augment=True, drop_last=True,
                                        generator=gen)

        batches = stream()
        t0 = time.perf_counter()
        for _, (x, y) in zip(range(B), batches, strict=False):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x), y).backward()
            opt.step()
        t_alone = time.perf_counter() - t0
        rows.append((res.train_seconds, t_alone, arch))
    t_sum = sum(r[0] for r in rows)
    a_sum = sum(r[1] for r in rows)
    ratios = [(r[0] / r[1], r[2]) for r in rows]
    worst = max(ratios)
    return t_sum / a_sum, min(r for r, _ in ratios), worst[0], worst[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="nb201")
    p.add_argument("--C", type=int, default=8)
    p.add_argument("--N", type=int, default=1, help="NB201 cells per stage (DARTS: --layers)")
    p.add_argument("--layers", type=int, default=5)
    p.add_argument("--image-size", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=30, help="supernet training steps timed per method")
    p.add_argument("--archs", type=int, default=12, help="subnets fine-tuned")
    p.add_argument("--B", type=int, default=50, help="fine-tuning minibatches per subnet")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    space = nasrank.create_space(args.space)
    cfg = {"C": args.C, "N": args.N} if args.space == "nb201" else {"C": args.C, "layers": args.layers}
    cin, s = 3, args.image_size
    g = torch.Generator().manual_seed(0)
    batch = (torch.randn(args.batch_size, cin, s, s, generator=g), torch.randint(0, 10, (args.batch_size,), generator=g))
    images = torch.randint(0, 256, (args.batch_size * 8, cin, s, s), dtype=torch.uint8, generator=g)
    data = ImageDataset(images, torch.randint(0, 10, (len(images),), generator=g), num_classes=10,
                        mean=(0.5,) * cin, std=(0.25,) * cin)
    alone = StandAlone(space, cfg, batch, args.reps, cin)
    print(f"one-shot speed on {args.space} {cfg}, {s}x{s} inputs, batch {args.batch_size}, "
          f"{args.threads} thread(s)")
    print(f"{'what':<44} {'ratio':>7} {'min':>6} {'max':>6} {'target':>7}  ok")
    ok_all = True
    for name, target in (("spos", 1.15), ("fairnas", 1.15)):
        r, lo, hi, per, k = method_ratio(name, space, cfg, batch, args.steps, alone, cin)
        ok = r <= target
        ok_all &= ok
        what = f"{name} step / {k} stand-alone step{'s' if k > 1 else ''} ({per * 1e3:.1f} ms)"
        print(f"{what:<44} {r:>7.3f} {lo:>6.2f} {hi:>6.2f} {target:>7.2f}  {'yes' if ok else 'NO'}")
    rng = np.random.default_rng(1)
    archs = list(dict.fromkeys(space.sample(rng) for _ in range(args.archs)))
    r, lo, hi, worst = finetune_ratio(space, cfg, data, archs, args.B, cin)
    ok = r <= 1.10
    ok_all &= ok
    what = f"fine-tune B={args.B} / stand-alone ({len(archs)} subnets)"
    print(f"{what:<44} {r:>7.3f} {lo:>6.2f} {hi:>6.2f} {1.10:>7.2f}  {'yes' if ok else 'NO'}")
    print(f"slowest subnet relative to its stand-alone network: {space.to_str(worst)}")
    return 0 if ok_all else 1


if __name__ == "__main__":
    raise SystemExit(main())
