"""The DARTS space: published genotypes' parameter counts and Zero-Cost-PT on the DARTS supernet.

1. DARTS-V1 / DARTS-V2 (Liu et al., 2019) as 20-cell C=36 CIFAR-10 networks: parameter counts with
   and without the auxiliary head (the published "3.3 M" excludes it), and a forward pass.
2. Zero-Cost-PT (nwot) on the untrained DARTS supernet (C=16, 8 cells, 7 candidate ops per edge
   as in DARTS-PT) with real CIFAR-10 minibatches: 14 op decisions per cell type plus the
   topology steps; prints the genotype, checks it, and reports wall and CPU time. The result is
   cached in ``validation/_cache/``. Usage::

    nice -n 10 python validation/darts_space.py [--data-dir DIR] [--batch-size 16]
        [--proposals 1] [--validation 0] [--order random] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_dir, require  # noqa: E402

from nasrank.data import load_dataset  # noqa: E402
from nasrank.oneshot import ZeroCostPT  # noqa: E402
from nasrank.spaces import DARTSSpace  # noqa: E402
from nasrank.spaces.darts import DARTS_V1, DARTS_V2  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "validation" / "_cache"
RESULTS = REPO / "validation" / "results"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--proposals", type=int, default=1)
    p.add_argument("--validation", type=int, default=0)
    p.add_argument("--order", default="random")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--skip-search", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    space = DARTSSpace()
    lines = ["DARTS space: published genotypes as CIFAR-10 networks (C=36, 20 cells)", ""]
    lines.append(f"{'genotype':<10} {'params (no aux)':>16} {'params (aux)':>13} {'published':>10}")
    for name, g, pub in (("DARTS-V1", DARTS_V1, "3.3 M"), ("DARTS-V2", DARTS_V2, "3.3 M")):
        a = space.from_str(g)
        assert space.to_str(a) == g
        n = space.num_params(a, C=36, layers=20, auxiliary=True, include_auxiliary=False)
        n_aux = space.num_params(a, C=36, layers=20, auxiliary=True)
        lines.append(f"{name:<10} {n:>16,} {n_aux:>13,} {pub:>10}")
    net = space.build(DARTS_V2, C=36, layers=20, auxiliary=True).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, 32, 32))
    lines.append(f"DARTS-V2 forward: logits {tuple(out.shape)}")
    if not args.skip_search:
        root = data_dir(args.data_dir)
        require(root / "cifar10", "CIFAR-10")
        tag = (f"darts_zcpt_{args.order}_n{args.proposals}_v{args.validation}_b{args.batch_size}"
               f"_s{args.seed}")
        cache = CACHE / f"{tag}.json"
        if cache.exists():
            rec = json.loads(cache.read_text())
        else:
            data = load_dataset("cifar10", root=root, train=True)
            zc = ZeroCostPT("darts", proxy="nwot", order=args.order, proposals=args.proposals,
                            validation=args.validation, batch_size=args.batch_size)
            t0, c0 = time.perf_counter(), time.process_time()
            res = zc.search(data, seed=args.seed,
                            progress=lambda s, d, t: print(f"{s} {d}/{t}", flush=True))
            rec = res.to_dict()
            rec["wall_seconds"] = time.perf_counter() - t0
            rec["cpu_seconds"] = time.process_time() - c0
            CACHE.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(rec))
        a = space.validate(tuple(rec["arch"]))
        lines += [
            "",
            f"Zero-Cost-PT on the untrained DARTS supernet (C=16, 8 cells, 7 ops/edge), real "
            f"CIFAR-10, nwot, order {args.order}, N={args.proposals}, V={args.validation}, batch "
            f"{args.batch_size}, seed {args.seed}:",
            f"  genotype: {rec['arch_str']}",
            f"  valid: {space.to_str(a) == rec['arch_str']}; perturbations per proposal "
            f"{rec['perturbations']}, topology evaluations {rec['topology_evaluations']}",
            f"  params of its C=36, 20-cell network: "
            f"{space.num_params(a, C=36, layers=20):,}",
            f"  time: {rec['wall_seconds']:.0f} s wall, {rec['cpu_seconds']:.0f} s CPU "
            "(1 thread, shared 2-core machine under load)",
        ]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "darts_space.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
