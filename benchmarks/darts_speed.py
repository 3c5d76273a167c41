"""Differentiable-search speed: DARTS, second-order DARTS and SoTL-DARTS steps vs plain supernet steps.

Targets (issue 15), on CPU, same minibatches for every method:

1. a ``darts2`` search step (one-step unrolled hypergradient with a finite-difference
   Hessian-vector product, then the weight step) <= 3 x a ``darts`` (first-order) search step;
2. a SoTL-DARTS outer step over K minibatches (K unrolled steps whose backward passes also give
   the architecture gradient, the Adam step, the reset and the re-training of the K minibatches
   under the new architecture) <= 2.0 x K plain supernet training steps. A *plain* step is one
   SGD step of the mixture supernet's weights with the architecture frozen
   (``DifferentiableMethod.weight_step``: forward of every candidate op, backward, clip, SGD).

The second target sits at the edge of what the reference protocol allows: re-training the K
minibatches alone is K plain steps, and each of the K unrolled steps is a plain step plus the
architecture gradient (per candidate operation, the inner product of its output with the gradient
reaching it), so a faithful implementation costs about ``1 + rollout / plain`` plain steps per
minibatch, 2.0 plus that gradient's share of a step. The table prints this estimate (``1 +`` the
``retrain=False`` outer step over K plain steps) beside the target; measured ratios fall on both
sides of 2.0 from run to run (the replayed re-training steps are sometimes faster than the plain
steps timed beside them).

Side by side, the SoTL outer step is also given relative to K first-order DARTS steps (the same
number of minibatches), and without the re-training (``retrain=False``); SoVL-DARTS (validation
minibatches for the architecture gradient) is listed too. Within each repeat the methods run
minibatch by minibatch side by side (one step of each in turn; a windowed method's K-th step
closes its window), after one warm-up step of each; every step is timed in process CPU time (the
target; insensitive to other processes on a shared machine) and in wall time. Ratios are medians
over the repeats. Random images, no dataset needed; 1 torch thread by default. The DARTS
supernet (8 candidate ops on 14 edges per cell) is ~30x slower per step than NB201's on a CPU,
hence its smaller K::

    python benchmarks/darts_speed.py [--spaces nb201,darts] [--C 8] [--N 1] [--layers 5]
        [--image-size 16] [--batch-size 64] [--K 100] [--reps 3] [--darts-K 5] [--darts-reps 2]
        [--threads 1] [--out benchmarks/results/darts_speed.txt]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from nasrank.oneshot import create_supernet_method

REPO = Path(__file__).resolve().parents[1]


def _batches(n: int, batch_size: int, size: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(batch_size, 3, size, size, generator=g), torch.randint(0, 10, (batch_size,), generator=g))
            for _ in range(n)]


class Timer:
    """Runs the methods of one space side by side, minibatch by minibatch: for each of the K
    minibatches of a repeat, one plain step, one darts step, one darts2 step and one step of each
    windowed method (whose K-th step closes its window: architecture update, reset, re-training)
    are timed in turn, so that a change of machine load hits every method alike. Each step is
    timed twice: process CPU time (what the computation costs; insensitive to other processes on
    a shared machine) and wall time."""

    def __init__(self, space: str, cfg: dict, train: list, val: list, K: int) -> None:
        def make(name: str, **params):
            m = create_supernet_method(name, space, seed=0, supernet_config=cfg, **params)
            m.set_lr(0.025)
            return m

        self.train, self.val, self.K = train, val, K
        self.windowed = {"sotl-darts": make("sotl-darts", inner_steps=K),
                         "sotl-darts retrain=False": make("sotl-darts", inner_steps=K, retrain=False),
                         "sovl-darts": make("sovl-darts", inner_steps=K)}
        plain, darts, darts2 = make("darts"), make("darts"), make("darts2")
        self.calls = {"plain": lambda b, v: plain.weight_step(b), "darts": darts.step, "darts2": darts2.step,
                      **{k: m.step for k, m in self.windowed.items()}}
        # warm-up: one step of each (windows closed early, so that every window timed is whole)
        for call in self.calls.values():
            call(train[0], val[0])
        for m in self.windowed.values():
            m.close_window()

    def repeat(self) -> dict[str, tuple[float, float]]:
        """``{method: (CPU seconds, wall seconds)}`` of K steps (one whole window of the windowed
        methods)."""
        cpu = dict.fromkeys(self.calls, 0.0)
        wall = dict.fromkeys(self.calls, 0.0)
        updates = {k: m.arch_updates for k, m in self.windowed.items()}
        for k in range(self.K):
            b, v = self.train[k % len(self.train)], self.val[k % len(self.val)]
            for name, call in self.calls.items():
                c0, w0 = time.process_time(), time.perf_counter()
                call(b, v)
                cpu[name] += time.process_time() - c0
                wall[name] += time.perf_counter() - w0
        for name, m in self.windowed.items():
            assert m.arch_updates == updates[name] + 1 and m.window_size == 0, "the window did not close after K steps"
        return {n: (cpu[n], wall[n]) for n in self.calls}


def run_space(space: str, cfg: dict, args: argparse.Namespace, K: int, reps: int, lines: list[str]) -> bool:
    s = args.image_size
    train = _batches(min(K, 20), args.batch_size, s, 1)
    val = _batches(min(K, 20), args.batch_size, s, 2)
    timer = Timer(space, cfg, train, val, K)
    times = [timer.repeat() for _ in range(reps)]

    def med(f, i: int) -> float:  # i = 0: CPU time, 1: wall time
        return statistics.median(f({k: v[i] for k, v in t.items()}) for t in times)

    lines.append(f"-- {space} {cfg}, {s}x{s} inputs, batch {args.batch_size}, K = {K}, {reps} repeats, "
                 f"{args.threads} thread(s) --")
    per = {k: med(lambda t, k=k: t[k], 0) / K for k in ("plain", "darts", "darts2")}
    outer = {k: med(lambda t, k=k: t[k], 0) for k in timer.windowed}
    lines.append(f"median CPU time per step: plain (weight_step) {per['plain'] * 1e3:.1f} ms, darts "
                 f"{per['darts'] * 1e3:.1f} ms, darts2 {per['darts2'] * 1e3:.1f} ms; per outer step (window of K): "
                 + ", ".join(f"{k} {v:.2f} s" for k, v in outer.items()))
    lines.append(f"{'what (median over repeats)':<52} {'CPU':>7} {'wall':>7} {'target':>7}  ok (CPU)")
    ok_all = True
    rows = [
        ("darts2 step / darts step", lambda t: t["darts2"] / t["darts"], 3.0),
        (f"sotl-darts outer step / {K} plain steps", lambda t: t["sotl-darts"] / t["plain"], 2.0),
        (f"sotl-darts outer step / {K} darts steps", lambda t: t["sotl-darts"] / t["darts"], None),
        (f"sotl-darts (retrain=False) outer / {K} plain steps",
         lambda t: t["sotl-darts retrain=False"] / t["plain"], None),
        (f"sovl-darts outer step / {K} plain steps", lambda t: t["sovl-darts"] / t["plain"], None),
        (f"estimate: 1 + (retrain=False outer / {K} plain)",
         lambda t: 1.0 + t["sotl-darts retrain=False"] / t["plain"], None),
        ("darts step / plain step", lambda t: t["darts"] / t["plain"], None),
    ]
    for what, f, target in rows:
        r, rw = med(f, 0), med(f, 1)
        ok = target is None or r <= target
        ok_all &= ok
        lines.append(f"{what:<52} {r:>7.3f} {rw:>7.3f} {('-' if target is None else f'{target:.2f}'):>7}  "
                     f"{'-' if target is None else ('yes' if ok else 'NO')}")
    print("\n".join(lines[-(len(rows) + 3):]), flush=True)
    return ok_all


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spaces", default="nb201,darts")
    p.add_argument("--C", type=int, default=8)
    p.add_argument("--N", type=int, default=1, help="NB201 cells per stage")
    p.add_argument("--layers", type=int, default=5, help="DARTS supernet cells")
    p.add_argument("--image-size", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--K", type=int, default=100, help="SoTL window (minibatches per outer step), NB201")
    p.add_argument("--darts-K", type=int, default=5, help="SoTL window on the (much slower) DARTS supernet")
    p.add_argument("--reps", type=int, default=3, help="repeats (median of the per-repeat ratios), NB201")
    p.add_argument("--darts-reps", type=int, default=2, help="repeats on the DARTS supernet")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "darts_speed.txt"))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    lines = ["Differentiable-search speed (medians; plain = one SGD step of the mixture supernet's weights, "
             "architecture frozen)"]
    ok_all = True
    for space in [s.strip() for s in args.spaces.split(",") if s.strip()]:
        if space == "nb201":
            ok_all &= run_space(space, {"C": args.C, "N": args.N}, args, args.K, args.reps, lines)
        else:
            ok_all &= run_space(space, {"C": args.C, "layers": args.layers}, args, args.darts_K, args.darts_reps,
                                lines)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"written {out}")
    return 0 if ok_all else 1


if __name__ == "__main__":
    raise SystemExit(main())
