"""Forward+backward time of nasrank's NAS-Bench-201 network relative to the reference network.

Both networks have identical weights (nasrank's state dict is loaded into xautodl's TinyNetwork
with ``strict=True``), run in train mode on the same CPU batch (default 64 x 3 x 32 x 32) with a
cross-entropy loss. Timings of the two networks are interleaved so that background load affects
both alike; the median of the repeats is reported.

Targets: ratio <= 1.0 for a conv-heavy cell, <= 0.67 for cells with >= 3 ``none`` edges.

Needs ``pip install --no-deps xautodl`` (the reference), used only here.

    python benchmarks/nb201_forward.py [--batch 64] [--repeats 7] [--threads N] [--none-cells 8]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch

import nasrank


def _step(model, x, y, ref: bool) -> None:
    model.zero_grad(set_to_none=True)
    out = model(x)
    loss = torch.nn.functional.cross_entropy(out[1] if ref else out, y)
    loss.backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--none-cells", type=int, default=8, help="random cells with >= 3 none edges")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        from xautodl.models.cell_infers.tiny_network import TinyNetwork
        from xautodl.models.cell_searchs.genotypes import Structure
    except ImportError:
        print("SKIPPED: the reference package is not installed; run `pip install --no-deps xautodl`.")
        sys.exit(0)
    if args.threads:
        torch.set_num_threads(args.threads)

    space = nasrank.create_space("nb201")
    rng = np.random.default_rng(args.seed)
    sparse = []
    while len(sparse) < args.none_cells:
        a = space.sample(rng)
        if sum(op == 0 for op in a) >= 3 and space.is_valid(a) and a not in sparse:
            sparse.append(a)
    groups = [("conv-heavy", (3,) * 6), ("conv-heavy", (3, 3, 2, 3, 2, 3))]
    groups += [(">=3 none", (3, 0, 3, 0, 0, 3))] + [(">=3 none", a) for a in sparse]

    torch.manual_seed(args.seed)
    x = torch.randn(args.batch, 3, 32, 32)
    y = torch.randint(0, 10, (args.batch,))
    print(f"CPU, torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, "
          f"median of {args.repeats}\n")
    print("| group | cell | nasrank (ms) | reference (ms) | ratio |")
    print("|---|---|---|---|---|")
    ratios: dict[str, list[float]] = {}
    for group, arch in groups:
        net = space.build(arch).train()
        ref = TinyNetwork(16, 5, Structure.str2structure(space.to_str(arch)), 10).train()
        ref.load_state_dict(net.state_dict(), strict=True)
        _step(net, x, y, False)
        _step(ref, x, y, True)
        t_net, t_ref = [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            _step(net, x, y, False)
            t1 = time.perf_counter()
            _step(ref, x, y, True)
            t2 = time.perf_counter()
            t_net.append(t1 - t0)
            t_ref.append(t2 - t1)
        a, b = statistics.median(t_net), statistics.median(t_ref)
        ratios.setdefault(group, []).append(a / b)
        print(f"| {group} | `{space.to_str(arch)}` | {a * 1e3:.1f} | {b * 1e3:.1f} | {a / b:.3f} |", flush=True)
    print()
    targets = {"conv-heavy": 1.0, ">=3 none": 0.67}
    for group, rs in ratios.items():
        med = statistics.median(rs)
        print(f"{group}: median ratio {med:.3f} (max {max(rs):.3f}), target <= {targets[group]} ->",
              "PASS" if med <= targets[group] else "MISS")


if __name__ == "__main__":
    main()
