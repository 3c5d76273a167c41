"""Differentiable NAS on the DARTS space: one short search per method, then what it found.

For each method (``--methods``) one search (seed ``--seed``) on real CIFAR-10 at a reduced CPU
scale, then for the genotype it derives: the genotype string, the parameters of its 20-cell,
C=36 CIFAR-10 network (the paper's evaluation network; auxiliary head excluded, as the published
"3.3 M" of DARTS-V2) and zero-cost proxies of that network on one real 32x32 CIFAR-10 minibatch
(``nasrank.compute_proxies``). The published DARTS-V2 genotype is listed for comparison. **No
ground truth is claimed**: the DARTS space has no tabular benchmark here (seed 000 uses
NAS-Bench-301's surrogate, which is not available), so the proxies are descriptions, not accuracy.

Scale (the papers: C=16, 8 cells, 32x32, 25k + 25k images, 50 epochs on a GPU; P-DARTS 5 -> 11 ->
17 cells): the space's ``"search"`` supernet (C=8, 5 cells, 8 candidate operations per edge) on
16x16 CIFAR-10, ``--train-size`` (512) search-train + as many search-val images (data seed 0),
``--epochs`` (6) at batch 64 (8 steps per epoch), each method's defaults otherwise. The SoTL /
SoVL window ``--inner-steps`` (2 = a quarter epoch, as in ``darts_nb201.py``); P-DARTS deepens the
supernet by ``--pdarts-add-depth`` (0,1,2 -> 5, 6, 7 cells instead of 5, 11, 17); progressive
methods scale their stage schedules to ``--epochs``. A DARTS-space step costs ~30x an NB201 one
on a CPU (see ``benchmarks/darts_speed.py``).

Resumable: every search is a checkpoint under ``validation/_cache/darts_space_search/``; finished
methods (genotype, parameters, proxies, seconds) are appended to
``validation/results/darts_space_search_<scale>.jsonl`` (kept in git) and skipped by later runs.
Usage::

    nice -n 10 python validation/darts_space_search.py &
    python validation/darts_space_search.py --report-only
    python validation/darts_space_search.py --methods darts --epochs 1 --train-size 64 \\
        --results /tmp/x --cache /tmp/y   # smoke test
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_dir, require  # noqa: E402
from _oneshot import logger  # noqa: E402

import nasrank  # noqa: E402
from nasrank.data import DataSpec, load_dataset  # noqa: E402
from nasrank.oneshot import (  # noqa: E402
    SUPERNET_METHODS,
    SupernetTrainConfig,
    create_supernet_method,
    train_supernet,
)
from nasrank.spaces import DARTSSpace  # noqa: E402
from nasrank.spaces.darts import DARTS_V2  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "validation" / "_cache" / "darts_space_search"
RESULTS = REPO / "validation" / "results"
METHODS = ("darts", "darts2", "sotl-darts", "sovl-darts", "drnas", "drnas-tse", "pdarts", "pdarts-sotl")
PROXIES = ("nwot", "synflow", "snip", "grad_norm", "jacob_cov", "flops")


def scale_tag(args: argparse.Namespace) -> str:
    return f"C{args.C}_L{args.layers}_n{args.train_size}_e{args.epochs}_K{args.inner_steps}_s{args.seed}"


def method_params(name: str, args: argparse.Namespace) -> dict:
    accepted = inspect.signature(SUPERNET_METHODS.get(name)).parameters
    params: dict = {}
    if "inner_steps" in accepted:
        params["inner_steps"] = args.inner_steps
    if "add_depth" in accepted:
        params["add_depth"] = tuple(int(x) for x in args.pdarts_add_depth.split(","))
    return params


def describe(space: DARTSSpace, arch: tuple, batch: tuple, seed: int) -> dict:
    """Genotype, parameters and proxies of the 20-cell C=36 network of ``arch``."""
    t0 = time.perf_counter()
    params = space.num_params(arch, C=36, layers=20, auxiliary=True, include_auxiliary=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = space.build(arch, C=36, layers=20)
    proxies = nasrank.compute_proxies(net, batch, names=list(PROXIES), seed=seed)
    cells = space.cells(arch)
    return {"arch": space.to_str(arch), "params": int(params),
            "proxies": {k: (float(v) if math.isfinite(float(v)) else None) for k, v in proxies.items()},
            "normal_skip": sum(op == "skip_connect" for op, _ in cells[0]),
            "normal_param_free": sum(op in ("skip_connect", "max_pool_3x3", "avg_pool_3x3", "none")
                                     for op, _ in cells[0]),
            "proxy_seconds": time.perf_counter() - t0}


def search(method: str, args: argparse.Namespace, spec: DataSpec, log) -> dict:
    train, val, _ = spec.load()
    m = create_supernet_method(method, "darts", seed=args.seed, supernet_config={"C": args.C, "layers": args.layers},
                               **method_params(method, args))
    ck = CACHE / f"{method}_{scale_tag(args)}.safetensors"
    res = train_supernet(m, train, SupernetTrainConfig(epochs=args.epochs, batch_size=64), val_set=val,
                         checkpoint=ck, data_key=spec.key(), progress=not args.quiet)
    secs = [h["seconds"] for h in res.history]
    last = res.history[-1]
    log(f"{method}: {len(res.history)} epochs, {np.mean(secs):.0f} s per epoch, derived {last.get('arch')}")
    return {"method": method, "epochs": len(res.history), "seconds_per_epoch": float(np.mean(secs)),
            "diverged": bool(res.diverged), "derived": res.method.derive(),
            "trajectory": [{"epoch": int(h["epoch"]) + 1, "param_free": h.get("param_free"), "skip": h.get("skip"),
                            "loss": h.get("loss"), "val_loss": h.get("val_loss")} for h in res.history]}


def read_done(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip():
            try:
                r = json.loads(line)
            except ValueError:  # a line cut short by an interruption
                continue
            out[r["method"]] = r
    return out


def main() -> None:
    global CACHE, RESULTS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--train-size", type=int, default=512, help="search-train images (as many search-val)")
    p.add_argument("--C", type=int, default=8)
    p.add_argument("--layers", type=int, default=5)
    p.add_argument("--inner-steps", type=int, default=2, help="SoTL/SoVL window K")
    p.add_argument("--pdarts-add-depth", default="0,1,2")
    p.add_argument("--proxy-batch", type=int, default=32, help="CIFAR-10 images of the proxy minibatch")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--results", default=str(RESULTS), help="results directory (smoke tests: elsewhere)")
    p.add_argument("--cache", default=str(CACHE), help="checkpoint directory")
    args = p.parse_args()
    CACHE, RESULTS = Path(args.cache), Path(args.results)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for m in args.methods:
        SUPERNET_METHODS.get(m)  # unknown names fail here
    torch.set_num_threads(args.threads)
    root = data_dir(args.data_dir)
    require(root / "cifar10", "CIFAR-10")
    space = DARTSSpace()
    CACHE.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = logger(CACHE / "log.txt")
    committed = RESULTS / f"darts_space_search_{scale_tag(args)}.jsonl"
    done = read_done(committed)
    test = load_dataset("cifar10", root=root, train=False)
    idx = np.sort(np.random.default_rng(args.seed).choice(len(test), size=args.proxy_batch, replace=False))
    batch = test.batch(torch.from_numpy(idx))
    if not args.report_only:
        spec = DataSpec("cifar10", root=str(root), image_size=16, train_size=args.train_size,
                        val_size=args.train_size, test_size=0, seed=0)
        for m in args.methods:
            if m in done:
                continue
            t0 = time.perf_counter()
            rec = search(m, args, spec, log)
            rec.update(describe(space, rec.pop("derived"), batch, args.seed))
            rec["wall_seconds_now"] = time.perf_counter() - t0
            with open(committed, "a") as f:
                f.write(json.dumps(rec) + "\n")
            done[m] = rec
            left = [x for x in args.methods if x not in done]
            if left:
                log(f"estimate: {len(left)} method(s) left, ~{len(left) * rec['seconds_per_epoch'] * args.epochs / 60:.0f}"
                    f" min at {m}'s {rec['seconds_per_epoch']:.0f} s per epoch (darts2, sovl and the progressive "
                    "methods cost more)")
    ref = describe(space, space.from_str(DARTS_V2), batch, args.seed)
    lines = [f"Differentiable NAS on the DARTS space, one short search per method (CPU scale: C={args.C}, "
             f"{args.layers}-cell supernet, 16x16 CIFAR-10, {args.train_size} search-train + {args.train_size} "
             f"search-val images, {args.epochs} epochs, batch 64, K={args.inner_steps}, seed {args.seed}).",
             "No ground truth: params = the 20-cell C=36 CIFAR-10 network (no auxiliary head); proxies of that "
             f"network on {args.proxy_batch} CIFAR-10 test images (32x32), untrained weights seeded {args.seed}.",
             ""]
    head = (f"{'method':<12} {'s/epoch':>8} {'params':>10} {'normal skip':>11} {'normal p-free':>13} "
            + "".join(f"{p:>12}" for p in PROXIES))
    lines.append(head)

    def row(name: str, r: dict, secs: str) -> str:
        pv = r["proxies"]
        return (f"{name:<12} {secs:>8} {r['params'] / 1e6:>9.2f}M {r['normal_skip']:>11} {r['normal_param_free']:>13} "
                + "".join(f"{(f'{pv[p]:.4g}' if pv.get(p) is not None else '-'):>12}" for p in PROXIES))

    for m in args.methods:
        if m in done:
            lines.append(row(m, done[m], f"{done[m]['seconds_per_epoch']:.0f}"))
    lines.append(row("DARTS-V2*", ref, "-"))
    lines.append("* the published DARTS-V2 genotype (Liu et al., 2019; 3.3 M parameters published), for comparison")
    lines.append("")
    lines.append("genotypes:")
    for m in args.methods:
        if m in done:
            lines.append(f"  {m:<12} {done[m]['arch']}")
    lines.append(f"  {'DARTS-V2*':<12} {ref['arch']}")
    text = "\n".join(lines)
    print(text)
    out = RESULTS / f"darts_space_search_{scale_tag(args)}.txt"
    out.write_text(text + "\n")
    print(f"written {out} and {committed}")


if __name__ == "__main__":
    main()
