"""NAS-Bench-Macro: the ``nb-macro`` space against the published benchmark file (issue 17).

Provenance of the published data: ``data/nas-bench-macro_cifar10.json`` of github
xiusu/NAS-Bench-Macro (commit 61a2bfc2ca0dce04d0997e6cf498047c27d6acf2), the benchmark of Su et
al., "Prioritized Architecture Sampling with Monte-Carlo Tree Search", CVPR 2021. Its network is
``train/model.py`` of that repository, its ``params`` the sum of ``named_parameters`` sizes and its
``flops`` ``count_FLOPs`` of ``train/utils.py`` (convolution and linear multiply-accumulates at
3x32x32). The file is not shipped with nasrank: put it in ``<data dir>/nasbench_macro/`` or pass
``--bench PATH``.

Two parts, each writing a results file:

* ``profile`` (``validation/results/nb_macro_profile.txt``): for all 6,561 architectures the
  space's closed-form parameter and FLOP counts, and the counts of the *built* network (parameters
  of the module; multiply-accumulates of its convolutions and linear layer hooked during a forward
  pass of a 3x32x32 image), against the published ``params`` / ``flops``; and the benchmark's
  canonical classes (every encoding's entry equals its canonical form's; 3,969 classes).
  About 3-4 CPU minutes (building 6,561 networks); ``--no-build`` checks the closed form only.
* ``zcpt`` (``validation/results/nb_macro_zcpt.txt``): Zero-Cost-PT (``nasrank zcpt --space
  nb-macro``; seed 004 App. A.10) on the untrained supernet with real CIFAR-10 minibatches, proxy
  nwot, random edge order; the selected architectures' published mean test accuracies against the
  space's best, median and a random architecture. Proposals and validation scores are cached as
  JSON lines under ``validation/_cache/`` (resumable; a rerun only reports). CPU cost at
  ``C=32``, batch 64, 1 thread: about 20 CPU s per proposal (24 perturbations) and under 1 CPU s
  per validation minibatch of each distinct proposal.

Usage::

    nice -n 10 python validation/nb_macro.py profile --bench /path/to/nas-bench-macro_cifar10.json
    nice -n 10 python validation/nb_macro.py zcpt --bench ... --C 32 --proposals 3 --validation 5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_dir, require  # noqa: E402

from nasrank.benchmarks import NBMacroBenchmark, find_nb_macro_file  # noqa: E402
from nasrank.exceptions import BenchmarkDataError  # noqa: E402
from nasrank.nn import count_parameters  # noqa: E402
from nasrank.spaces.nbmacro import NBMacroSpace  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "validation" / "_cache"
RESULTS = REPO / "validation" / "results"


def _bench(args: argparse.Namespace) -> NBMacroBenchmark:
    try:
        return NBMacroBenchmark(find_nb_macro_file(args.bench or data_dir(args.data_dir)))
    except BenchmarkDataError as exc:
        print(f"SKIPPED: {exc}")
        sys.exit(0)


def _hook_macs(net: nn.Module, shape: tuple[int, int, int]) -> int:
    """Multiply-accumulates of the convolutions and linear layers of one forward pass (1 image)."""
    total = 0

    def hook(m: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(m, nn.Conv2d):
            total += (m.in_channels // m.groups * m.out_channels * m.kernel_size[0] * m.kernel_size[1]
                      * out.shape[2] * out.shape[3])
        else:
            total += m.in_features * m.out_features

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        net.eval()(torch.zeros(1, *shape))
    for h in handles:
        h.remove()
    return total


# --- profile -------------------------------------------------------------------------------------
def profile(args: argparse.Namespace) -> None:
    bench = _bench(args)
    space = NBMacroSpace()
    archs = bench.archs()
    pub_p, pub_f = bench.table("params"), bench.table("flops")
    t0 = time.process_time()
    cf_p = np.array([space.num_params(a) for a in archs], dtype=np.float64)
    cf_f = np.array([space.flops(a) for a in archs], dtype=np.float64)
    t_cf = time.process_time() - t0
    lines = [
        "NAS-Bench-Macro: parameters and FLOPs of all 6,561 architectures vs the published file",
        f"file: {bench.path_.name} (github xiusu/NAS-Bench-Macro @ 61a2bfc, data/nas-bench-macro_cifar10.json)",
        "network: NBMacroSpace().build(arch) with the defaults (C=32, head 1280, 10 classes) = train/model.py",
        f"FLOPs convention: {space.flops_convention}; input 3x32x32",
        "",
        f"closed form (NBMacroSpace.num_params / .flops, {t_cf:.1f} CPU s for all):",
        f"  params equal: {int((cf_p == pub_p).sum())} / {len(archs)}  (max |diff| {np.abs(cf_p - pub_p).max():.0f})",
        f"  FLOPs  equal: {int((cf_f == pub_f).sum())} / {len(archs)}  (max |diff| {np.abs(cf_f - pub_f).max():.0f})",
    ]
    if not args.no_build:
        torch.set_num_threads(1)
        t0 = time.process_time()
        bp = np.zeros(len(archs))
        bf = np.zeros(len(archs))
        for i, a in enumerate(archs):
            net = space.build(a)
            bp[i] = count_parameters(net)
            bf[i] = _hook_macs(net, (3, 32, 32))
            if i % 500 == 0:
                print(f"built {i}/{len(archs)} ({time.process_time() - t0:.0f} CPU s)", flush=True)
        t_b = time.process_time() - t0
        lines += [
            f"built networks (parameters of the module; conv/linear MACs hooked in a forward pass; "
            f"{t_b:.0f} CPU s):",
            f"  params equal: {int((bp == pub_p).sum())} / {len(archs)}  (max |diff| {np.abs(bp - pub_p).max():.0f})",
            f"  FLOPs  equal: {int((bf == pub_f).sum())} / {len(archs)}  (max |diff| {np.abs(bf - pub_f).max():.0f})",
        ]
    # canonical classes: the benchmark trained one network per class and copied its entry
    metrics = ("test_acc_seed0", "test_acc_seed1", "test_acc_seed2", "params", "flops")
    tables = {m: bench.table(m) for m in metrics}
    index = {a: i for i, a in enumerate(archs)}
    same = sum(all(tables[m][i] == tables[m][index[space.canonical(a)]] for m in metrics)
               for i, a in enumerate(archs))
    classes = {space.canonical_key(a) for a in archs}
    pairs = {}
    for i, a in enumerate(archs):
        pairs.setdefault(tuple(tables[m][i] for m in metrics), set()).add(space.canonical_key(a))
    merged = sum(len(v) > 1 for v in pairs.values())
    acc = bench.table("test_acc")
    best_arch, best = bench.best()
    lines += [
        "",
        "canonical form (stride-1 identity layers moved to the end of their stage = the benchmark's get_real_arch):",
        f"  distinct canonical classes: {len(classes)} (expected 9 x 21 x 21 = 3969)",
        f"  encodings whose published entry (3 seed accuracies, params, FLOPs) equals their canonical form's: "
        f"{same} / {len(archs)}",
        f"  distinct published entries: {len(pairs)} ({merged} shared by more than one class)",
        "",
        f"published mean test accuracy: best {100 * best:.2f}% ({space.to_str(best_arch)}), median "
        f"{100 * np.median(acc):.2f}%, mean {100 * acc.mean():.2f}%, worst {100 * acc.min():.2f}%",
    ]
    _write(RESULTS / "nb_macro_profile.txt", lines)


# --- Zero-Cost-PT --------------------------------------------------------------------------------
def _read(path: Path) -> list[dict]:
    out = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line cut by an interrupted write
    return out


def _append(path: Path, rec: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(rec) + "\n")


def zcpt(args: argparse.Namespace) -> None:
    from nasrank.data import load_dataset
    from nasrank.oneshot import ZeroCostPT, validation_score

    bench = _bench(args)
    space = NBMacroSpace()
    root = data_dir(args.data_dir)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    tag = f"{args.proxy}_C{args.C}_b{args.batch_size}_{args.order}"
    prop_file = CACHE / f"nb_macro_zcpt_proposals_{tag}.jsonl"
    val_file = CACHE / f"nb_macro_zcpt_validation_{tag}.jsonl"
    cfg = {"C": args.C}
    zc = ZeroCostPT("nb-macro", proxy=args.proxy, order=args.order, proposals=args.proposals,
                    validation=args.validation, batch_size=args.batch_size, supernet_config=cfg,
                    network_config=cfg)
    if not args.report_only:
        require(root / "cifar10", "CIFAR-10")
        torch.set_num_threads(args.threads)
        data = load_dataset("cifar10", root=root, train=True)
        for seed in seeds:
            done = {r["index"] for r in _read(prop_file) if r["seed"] == seed}
            todo = [i for i in range(args.proposals) if i not in done]
            net = zc.build_supernet(data, seed) if todo else None
            for i in todo:
                t0, c0 = time.perf_counter(), time.process_time()
                arch, n_pert, _ = zc.propose_one(net, data, seed, i)
                _append(prop_file, {"seed": seed, "index": i, "arch": space.to_str(arch), "perturbations": n_pert,
                                    "seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0})
                print(f"[seed {seed}] proposal {i}: {space.to_str(arch)}", flush=True)
        for seed in seeds:
            props = sorted((r for r in _read(prop_file) if r["seed"] == seed and r["index"] < args.proposals),
                           key=lambda r: r["index"])
            unique = list(dict.fromkeys(r["arch"] for r in props))
            if len(unique) < 2:
                continue  # the only proposal is the answer
            for a in unique:
                have = {r["v"] for r in _read(val_file) if r["seed"] == seed and r["arch"] == a}
                missing = [v for v in range(args.validation) if v not in have]
                if not missing:
                    continue
                net = zc.build_network(space.from_str(a), data, seed)
                for v in missing:
                    c0 = time.process_time()
                    s = validation_score(net, [zc.validation_batch(data, v)], args.proxy)[0]
                    _append(val_file, {"seed": seed, "arch": a, "v": v, "score": float(s),
                                       "cpu_seconds": time.process_time() - c0})
                print(f"[seed {seed}] validated {a} on {len(missing)} batches", flush=True)
    _zcpt_report(args, bench, seeds, tag, prop_file, val_file)


def _zcpt_report(args, bench, seeds, tag, prop_file, val_file) -> None:
    space = bench.space
    acc = bench.table("test_acc")
    params = bench.table("params")
    best_arch, best = bench.best()
    props, vals = _read(prop_file), _read(val_file)
    lines = [
        f"Zero-Cost-PT on NAS-Bench-Macro (seed 004 App. A.10), real CIFAR-10 (JPEG-decoded copy, 20k training "
        f"images), proxy {args.proxy}, order {args.order}, supernet C={args.C} (head {40 * args.C}; the benchmark "
        f"network is C=32), batch {args.batch_size}, N={args.proposals}, V={args.validation}, untrained supernet, "
        "candidate BN non-affine; validation on freshly initialised stand-alone networks (build, C as the supernet)",
        "Accuracy: the published NAS-Bench-Macro mean CIFAR-10 test accuracy (%) of the selected architecture; "
        "percentile = share of the 6,561 architectures with a lower published accuracy.",
        f"Space: best {100 * best:.2f}% ({space.to_str(best_arch)}), median {100 * np.median(acc):.2f}%, "
        f"random architecture {100 * acc.mean():.2f}% (expected), largest network (most params, "
        f"{space.to_str(bench.archs()[int(np.argmax(params))])}) {100 * acc[int(np.argmax(params))]:.2f}%",
        "",
        f"{'seed':>4} {'selected':>9} {'acc %':>7} {'pctile':>7} {'distinct':>8} {'CPU s':>7}  proposals",
    ]
    chosen = []
    for seed in seeds:
        pr = sorted((r for r in props if r["seed"] == seed and r["index"] < args.proposals), key=lambda r: r["index"])
        if len(pr) < args.proposals:
            lines.append(f"{seed:>4} (incomplete: {len(pr)}/{args.proposals} proposals)")
            continue
        unique = list(dict.fromkeys(r["arch"] for r in pr))
        cpu = sum(r.get("cpu_seconds", float("nan")) for r in pr)
        if len(unique) == 1:
            sel = unique[0]
        else:
            totals = {}
            for a in unique:
                vs = {r["v"]: r for r in vals if r["seed"] == seed and r["arch"] == a and r["v"] < args.validation}
                if len(vs) < args.validation:
                    break
                totals[a] = sum(r["score"] for r in vs.values())
                cpu += sum(r["cpu_seconds"] for r in vs.values())
            if len(totals) < len(unique):
                lines.append(f"{seed:>4} (validation incomplete)")
                continue
            sel = max(unique, key=lambda a: totals[a])  # nwot / synflow: higher is better
        a = bench.query(sel)
        chosen.append(a)
        pct = 100 * float(np.mean(acc < a))
        lines.append(f"{seed:>4} {sel:>9} {100 * a:>7.2f} {pct:>6.1f}% {len(unique):>8} {cpu:>7.0f}  "
                     + ",".join(r["arch"] for r in pr))
    if chosen:
        c = 100 * np.array(chosen)
        lines += ["", f"mean over {len(c)} seeds: {c.mean():.2f} +- {c.std(ddof=1) if len(c) > 1 else 0.0:.2f}% "
                      f"(best of space {100 * best:.2f}%, median {100 * np.median(acc):.2f}%)"]
    _write(RESULTS / f"nb_macro_zcpt_{tag}.txt", lines)


def _write(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"written {path}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("part", choices=["profile", "zcpt"])
    p.add_argument("--bench", default=None, help="nas-bench-macro_cifar10.json or its folder")
    p.add_argument("--data-dir", default=None, help="data dir with cifar10/ (and nasbench_macro/)")
    p.add_argument("--no-build", action="store_true", help="profile: closed form only")
    p.add_argument("--proxy", default="nwot")
    p.add_argument("--order", default="random")
    p.add_argument("--C", type=int, default=32)
    p.add_argument("--proposals", type=int, default=3)
    p.add_argument("--validation", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seeds", default="0,1,2,3")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args()
    profile(args) if args.part == "profile" else zcpt(args)


if __name__ == "__main__":
    main()
