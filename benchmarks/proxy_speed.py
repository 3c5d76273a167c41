"""Speed of the zero-cost proxies on the exact NAS-Bench-201 network (C=16, N=5), CPU, batch 64.

Prints three ratios (median over ``--repeats`` runs, each summed over ``--archs`` random cells):

* GradSign (vectorised) time / one batched forward+backward time      (target <= 1.3)
* GradSign per-sample loop time / vectorised time                     (target >= 1.5)
* all proxies in one ``compute_proxies`` call / sum of each alone     (target <= 0.6)

What is timed (every variant on the same cells, batch and seed, interleaved cell by cell):

* ``fb``: one batched forward+backward as a proxy does it: a private deep copy of the network
  (every proxy works on one), train mode, cross-entropy of the batch, backward to every
  parameter.
* ``gs_vec`` / ``gs_loop``: ``compute_proxies(net, batch, ["gradsign"])`` with the vectorised
  (default) or the per-sample-loop method; the whole call (copy included).
* ``together``: one ``compute_proxies`` call with all registered proxies (one shared
  forward/backward serves grad_norm, snip, plain, fisher, grasp, jacob_cov and nwot).
* ``alone``: the sum of one ``compute_proxies`` call per proxy, what a user pays calling them
  separately; each proxy's own median time per cell is also printed, with its ratio to one
  batched forward+backward (all at ``--batch-size``; a proxy's published batch size is shown
  beside it). ``--proxies`` restricts the set.

Wall-clock ratios of the medians are the result. On a shared machine they are noisy, so the
range of the per-repeat ratios, the ratio of the fastest repeats (contention only ever adds time)
and the ratio of the process CPU times of the same runs (with one thread, CPU time excludes the
time spent waiting for a core) are printed too, with the load average before and after.

``--exactness`` also compares the vectorised GradSign with the per-sample loop on the same cells
and batch, in float32 and float64 (relative difference of the scores; float64 is the reference).

Usage::

    python benchmarks/proxy_speed.py [--repeats 3] [--archs 3] [--threads N] [--proxies a,b] [--exactness]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

import nasrank
from nasrank.estimators.zero_cost import proxy_info


def _time(fn) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _load() -> str:
    try:
        return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # not available on this platform
        return "load average n/a"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--archs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--proxies", default=None,
                    help="comma list of proxies for the 'together' / 'alone' / per-proxy rows (default: all "
                         "registered; gradsign is always included)")
    ap.add_argument("--exactness", action="store_true",
                    help="also compare vectorised and loop GradSign in float32 and float64")
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
    names = nasrank.list_proxies() if args.proxies is None else [
        proxy_info(n)["name"] for n in args.proxies.split(",") if n.strip()]
    if "gradsign" not in names:
        names.append("gradsign")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch_size}, "
          f"C=16 N=5, {len(archs)} cells x {args.repeats} repeats; {_load()}")
    keys = ("fb", "gs_vec", "gs_loop", "together", "alone")
    wall: dict[str, list[float]] = {k: [] for k in keys}
    cpu: dict[str, list[float]] = {k: [] for k in keys}
    per_proxy: dict[str, list[float]] = {n: [] for n in names}
    nets = []
    for a in archs:
        torch.manual_seed(args.seed)
        nets.append(space.build(a))
    for net in nets:  # warm-up: first-call costs (allocator, oneDNN primitives) are not timed
        nasrank.compute_proxies(net, (x, y), names)
    for rep in range(args.repeats):
        acc = {k: [0.0, 0.0] for k in keys}

        def add(key: str, t: tuple[float, float], acc: dict[str, list[float]] = acc) -> None:
            acc[key][0] += t[0]
            acc[key][1] += t[1]

        for net in nets:

            def fb(net=net) -> None:
                m = copy.deepcopy(net).train()
                F.cross_entropy(m(x), y).backward()

            add("fb", _time(fb))
            add("gs_vec", _time(lambda net=net: nasrank.compute_proxies(net, (x, y), ["gradsign"])))
            add("gs_loop", _time(lambda net=net: nasrank.compute_proxies(
                net, (x, y), ["gradsign"], options={"gradsign": {"method": "loop"}})))
            add("together", _time(lambda net=net: nasrank.compute_proxies(net, (x, y), names)))
            for n in names:
                t = _time(lambda net=net, n=n: nasrank.compute_proxies(net, (x, y), [n]))
                per_proxy[n].append(t[0])
                add("alone", t)
        for k in keys:
            wall[k].append(acc[k][0])
            cpu[k].append(acc[k][1])
        print(f"repeat {rep + 1}: " + ", ".join(f"{k} {v[0]:.2f}s" for k, v in acc.items())
              + "  (cpu: " + ", ".join(f"{k} {v[1]:.2f}s" for k, v in acc.items()) + ")", flush=True)
    fb_cell = statistics.median(wall["fb"]) / len(nets)
    print(f"\nper proxy alone, batch {args.batch_size} (median over cells and repeats; one batched "
          f"forward+backward = {fb_cell:.3f} s per cell):")
    print(f"{'proxy':24s} {'s per cell':>11s} {'x forward+backward':>19s} {'published batch':>16s}")
    for n, v in sorted(per_proxy.items(), key=lambda kv: statistics.median(kv[1])):
        b = proxy_info(n)["batch_size"]
        print(f"{n:24s} {statistics.median(v):11.3f} {statistics.median(v) / fb_cell:19.2f} "
              f"{'-' if b is None else b:>16}")
    targets = (("gs_vec", "fb", "GradSign / batched forward+backward", "<= 1.3"),
               ("gs_loop", "gs_vec", "GradSign loop / vectorised         ", ">= 1.5"),
               ("together", "alone", "all together / sum of each alone   ", "<= 0.6"))
    for num, den, label, target in targets:
        r_wall = statistics.median(wall[num]) / statistics.median(wall[den])
        r_cpu = statistics.median(cpu[num]) / statistics.median(cpu[den])
        r_best = min(wall[num]) / min(wall[den])
        per_rep = [a / b for a, b in zip(wall[num], wall[den], strict=True)]
        print(f"{label}: {r_wall:.2f}  (target {target}; per repeat "
              f"{min(per_rep):.2f}-{max(per_rep):.2f}; fastest repeats {r_best:.2f}; cpu time {r_cpu:.2f})")
    print(_load())
    if args.exactness:
        _exactness(space, archs, nets, x, y)
    return 0


def _exactness(space, archs, nets, x, y) -> None:
    from nasrank.estimators.zero_cost.gradsign import gradsign_loop, gradsign_vectorized

    print("\nGradSign, vectorised vs per-sample loop (relative differences of the scores):")
    worst = [0.0, 0.0, 0.0, 0.0]
    for a, net in zip(archs, nets, strict=True):
        v32 = gradsign_vectorized(copy.deepcopy(net), x, y)
        l32 = gradsign_loop(copy.deepcopy(net), x, y)
        v64 = gradsign_vectorized(copy.deepcopy(net).double(), x.double(), y)
        l64 = gradsign_loop(copy.deepcopy(net).double(), x.double(), y)
        rel = [abs(v64 - l64) / l64, abs(v32 - l32) / l32, abs(v32 - l64) / l64, abs(l32 - l64) / l64]
        worst = [max(w, r) for w, r in zip(worst, rel, strict=True)]
        print(f"  {space.to_str(a)}: float64 vec/loop {rel[0]:.1e}; float32 vec/loop {rel[1]:.1e}, "
              f"vec32/float64 {rel[2]:.1e}, loop32/float64 {rel[3]:.1e}")
    print(f"  worst: float64 vec/loop {worst[0]:.1e}; float32 vec/loop {worst[1]:.1e}, "
          f"vec32/float64 {worst[2]:.1e}, loop32/float64 {worst[3]:.1e}")


if __name__ == "__main__":
    raise SystemExit(main())
