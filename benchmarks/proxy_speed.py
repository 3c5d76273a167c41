"""Speed of the zero-cost proxies on the exact NAS-Bench-201 network (C=16, N=5), CPU, batch 64.

Prints three ratios (median over ``--repeats`` runs, each over ``--archs`` random cells):

* GradSign (vectorised) time / one batched forward+backward time      (target <= 1.3)
* GradSign per-sample loop time / vectorised time                     (target >= 1.5)
* all proxies in one ``compute_proxies`` call / sum of each alone     (target <= 0.6)

Usage::

    python benchmarks/proxy_speed.py [--repeats 3] [--archs 3] [--threads N]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

import nasrank


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--archs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    space = nasrank.create_space("nb201")
    rng = np.random.default_rng(args.seed)
    archs = []
    while len(archs) < args.archs:
        a = space.sample(rng)
        if space.is_valid(a):
            archs.append(a)
    g = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.batch_size, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (args.batch_size,), generator=g)
    names = nasrank.list_proxies()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}, "
          f"C=16 N=5, {len(archs)} cells x {args.repeats} repeats")
    rows: dict[str, list[float]] = {k: [] for k in ("fb", "gs_vec", "gs_loop", "together", "alone")}
    per_proxy: dict[str, list[float]] = {n: [] for n in names}
    for rep in range(args.repeats):
        acc = dict.fromkeys(rows, 0.0)
        for a in archs:
            torch.manual_seed(args.seed)
            net = space.build(a)

            def fb(net=net) -> None:
                m = copy.deepcopy(net).train()
                F.cross_entropy(m(x), y).backward()

            fb()  # warm-up
            acc["fb"] += _time(fb)
            acc["gs_vec"] += _time(lambda net=net: nasrank.compute_proxies(net, (x, y), ["gradsign"]))
            acc["gs_loop"] += _time(lambda net=net: nasrank.compute_proxies(
                net, (x, y), ["gradsign"], options={"gradsign": {"method": "loop"}}))
            acc["together"] += _time(lambda net=net: nasrank.compute_proxies(net, (x, y), names))
            for n in names:
                t = _time(lambda net=net, n=n: nasrank.compute_proxies(net, (x, y), [n]))
                per_proxy[n].append(t)
                acc["alone"] += t
        for k in rows:
            rows[k].append(acc[k])
        print(f"repeat {rep + 1}: " + ", ".join(f"{k} {v:.2f}s" for k, v in acc.items()), flush=True)
    med = {k: statistics.median(v) for k, v in rows.items()}
    print("\nper proxy alone (median s per cell): " + ", ".join(
        f"{n} {statistics.median(v):.3f}" for n, v in per_proxy.items()))
    r1 = med["gs_vec"] / med["fb"]
    r2 = med["gs_loop"] / med["gs_vec"]
    r3 = med["together"] / med["alone"]
    print(f"GradSign / batched forward+backward: {r1:.2f}  (target <= 1.3)")
    print(f"GradSign loop / vectorised:          {r2:.2f}  (target >= 1.5)")
    print(f"all together / sum of each alone:    {r3:.2f}  (target <= 0.6)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
