"""Validate nasrank's zero-cost proxies on NAS-Bench-201 with real CIFAR-10.

For a seeded random sample of NB201 cells (exact C=16, N=5 network, 10 classes) every proxy is
computed on one real CIFAR-10 training minibatch (the same batch and the same weight seed for
every cell; batch 64, 128 for nwot and gradsign as in their papers, 16 for zen) and correlated
(Spearman) with the benchmark's CIFAR-10 accuracies, next to the zero-cost-nas paper's values.
Also correlates the per-cell scores with NASLib's published scores and NASWOT's published scores.

The cell sample starts with the (randomly chosen) cells of NASLib's published file, in a seeded
order, so that the NASLib comparison has as many cells in common as possible; further cells are
drawn uniformly from the 15,625.

Per-cell results are appended as JSON lines to ``validation/_cache/`` so an interrupted run
resumes. Usage::

    python validation/zero_cost_nb201.py --num-cells 500
    python validation/zero_cost_nb201.py --report-only     # table from the cache
    python validation/zero_cost_nb201.py --reverse         # a second process, from the other end
    python validation/zero_cost_nb201.py --set new         # issue 19's proxies on the same cells

``--set new`` scores ZiCo, MeCo, SWAP, EPE-NAS, the AZ-NAS components, VKDNW and TE-NAS's two
terms on the same cells, same weight seed and the same seeded CIFAR-10 draw (extended to 256
images; each proxy reads the first ``batch_size`` of them, its authors' size), into its own cache,
and reports Spearman and Kendall per proxy and for the set-level scores (AZ-NAS and VKDNW
log-rank aggregates, TE-NAS rank sum, regularised SWAP), which take ``flops``, ``params`` and
``jacob_cov`` from the seeds' run of the same cells.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import torch

import nasrank
from nasrank.estimators.zero_cost import proxy_info

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _zero_cost import kendall, spearman, vkdnw_entropy_of  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
CACHE = REPO / "validation" / "_cache"

PUBLISHED = {  # Abdelfattah et al. 2021, |Spearman| on NB201 CIFAR-10 (cifar10-valid test acc)
    "grad_norm": 0.594, "snip": 0.596, "grasp": 0.514, "fisher": 0.360, "synflow": 0.737,
    "jacob_cov": 0.731, "gradsign": 0.765,
}
GROUP_64 = ["grad_norm", "snip", "grasp", "fisher", "plain", "jacob_cov", "synflow", "params",
            "flops", "l2_norm"]
GROUP_128 = ["nwot", "gradsign", "jacob_cov"]  # jacob_cov at 128 shares nwot's backward pass
GROUP_16 = ["zen"]
# --set new (issue 19): proxies published after the seeds, each at its authors' batch size
# (vkdnw-entropy is derived from vkdnw, which carries it as its fractional part)
NEW_PROXIES = ["zico", "meco", "swap", "epe-nas", "az-nas-expressivity", "az-nas-progressivity",
               "az-nas-trainability", "vkdnw", "ntk-cond", "linear-regions"]
PUBLISHED_NEW = {  # NB201 CIFAR-10 Spearman as published (issue 19's list)
    "zico": 0.80, "meco": 0.89, "swap": 0.81, "vkdnw": 0.82, "AZ-NAS aggregate": 0.91,
    "VKDNW aggregate": 0.92, "TE-NAS rank": 0.72,
}
# nasrank op index -> NASLib op index; NASLib edge order in terms of nasrank edge positions
_NASLIB_OP = {0: 1, 1: 0, 2: 3, 3: 2, 4: 4}
_NASLIB_EDGES = (0, 1, 3, 2, 4, 5)


def naslib_key(arch: tuple[int, ...]) -> str:
    return str(tuple(_NASLIB_OP[arch[e]] for e in _NASLIB_EDGES))


def from_naslib_key(key: str) -> tuple[int, ...]:
    ops = [int(t) for t in key.strip("()").split(",")]
    inv = {v: k for k, v in _NASLIB_OP.items()}
    arch = [0] * 6
    for pos, e in enumerate(_NASLIB_EDGES):
        arch[e] = inv[ops[pos]]
    return tuple(arch)


def load_train_images(data_dir: Path) -> tuple[torch.Tensor, torch.Tensor, tuple, tuple, str]:
    """uint8 images (N,3,32,32), labels, mean, std, and where they came from."""
    try:
        from nasrank.data import load_dataset  # type: ignore[attr-defined]

        ds = load_dataset("cifar10", root=data_dir, train=True)
        return ds.images, ds.labels, tuple(ds.mean), tuple(ds.std), "nasrank.data.load_dataset"
    except ImportError:
        pass
    # minimal private reader of the official python batches
    base = data_dir / "cifar10" / "cifar-10-batches-py"
    xs, ys = [], []
    for i in range(1, 6):
        p = base / f"data_batch_{i}"
        if p.exists():
            with open(p, "rb") as f:
                d = pickle.load(f, encoding="bytes")
            xs.append(np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(d[b"labels"], dtype=np.int64))
    if not xs:
        sys.exit(f"CIFAR-10 training batches not found under {base}")
    return (torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys)),
            (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), "private pickle reader")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--num-cells", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--set", dest="proxy_set", choices=["seeds", "new"], default="seeds",
                    help="seeds: the seeds' proxies (default); new: issue 19's later proxies")
    ap.add_argument("--reverse", action="store_true",
                    help="work from the last uncached cell backwards, into a separate cache file, so "
                         "that a second process can share the run on another core")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = args.data_dir
    gt_path = data / "nasbench201" / "nb201_accuracy_200ep.csv"
    if not gt_path.exists():
        print(f"NB201 ground truth not found at {gt_path}; skipping (pass --data-dir)")
        return 0
    space = nasrank.create_space("nb201")
    gt: dict[tuple, dict] = {}
    with open(gt_path) as f:
        for row in csv.DictReader(f):
            gt[space.from_str(row["arch"])] = row
    naslib = json.loads((data / "naslib_zc" / "zc_nasbench201.json").read_text())
    naslib = naslib.get("nasbench201", naslib)["cifar10"]
    naswot: dict[tuple, float] = {}
    with open(data / "nasbench201" / "naswot_v1_scores.csv") as f:
        for row in csv.DictReader(f):
            naswot[space.from_str(row["arch"])] = float(row["naswot_v1_score_bs128"] or "nan")

    # the cell sample: NASLib's cells (seeded order), then uniform random others
    rng = np.random.default_rng(args.seed)
    first = [from_naslib_key(k) for k in naslib]
    first = [first[i] for i in rng.permutation(len(first))]
    seen = set(first)
    rest = [a for a in (tuple(int(v) for v in np.unravel_index(i, (5,) * 6)) for i in rng.permutation(5**6))
            if a not in seen]
    cells = (first + rest)[: args.num_cells]

    CACHE.mkdir(parents=True, exist_ok=True)
    suffix = ".rev" if args.reverse else ""
    stem = "zero_cost_nb201_new" if args.proxy_set == "new" else "zero_cost_nb201"
    cache_path = CACHE / f"{stem}_seed{args.seed}{suffix}.jsonl"
    done: dict[str, dict] = {}
    for path in sorted(CACHE.glob(f"{stem}_seed{args.seed}*.jsonl")):  # every process's file
        for line in path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                done[rec["arch"]] = rec

    if not args.report_only:
        images, labels, mean, std, source = load_train_images(data)
        g = torch.Generator().manual_seed(args.seed)
        # the first 128 of this draw are the seeds' set's batch; --set new reads up to 256
        idx = torch.randperm(len(labels), generator=g)[:256 if args.proxy_set == "new" else 128]
        m = torch.tensor(mean).view(1, 3, 1, 1)
        s = torch.tensor(std).view(1, 3, 1, 1)
        x256 = (images[idx].float() / 255.0 - m) / s
        y256 = labels[idx]
        x128, y128 = x256[:128], y256[:128]
        print(f"CIFAR-10 via {source}; batch of {len(idx)} training images (seed {args.seed}); "
              f"{len(cells)} cells, {sum(space.to_str(a) in done for a in cells)} cached", flush=True)
        todo = [a for a in cells if space.to_str(a) not in done]
        if args.reverse:
            todo.reverse()
        t_start = time.perf_counter()
        with open(cache_path, "a") as out:
            for n, arch in enumerate(todo, 1):
                t0 = time.perf_counter()
                torch.manual_seed(args.seed)  # the same weight-init stream for every cell
                net = space.build(arch, num_classes=10, C=16, N=5)
                scores: dict[str, float] = {}
                seconds: dict[str, float] = {}
                if args.proxy_set == "new":
                    by_size: dict[int, list[str]] = {}
                    for name in NEW_PROXIES:
                        by_size.setdefault(int(proxy_info(name)["batch_size"]), []).append(name)
                    for b, names_b in by_size.items():
                        res = nasrank.compute_proxies(net, (x256[:b], y256[:b]), names_b,
                                                      seed=args.seed, details=True)
                        for name, r in res.items():
                            scores[name], seconds[name] = r.value, r.seconds
                    scores["vkdnw-entropy"] = vkdnw_entropy_of(scores["vkdnw"])
                else:
                    scores.update(nasrank.compute_proxies(net, (x128[:64], y128[:64]), GROUP_64, seed=args.seed))
                    r128 = nasrank.compute_proxies(net, (x128, y128), GROUP_128, seed=args.seed)
                    scores["nwot"], scores["gradsign"] = r128["nwot"], r128["gradsign"]
                    scores["jacob_cov_b128"] = r128["jacob_cov"]
                    scores.update(nasrank.compute_proxies(net, (x128[:16], y128[:16]), GROUP_16, seed=args.seed))
                rec = {"arch": space.to_str(arch), "scores": scores, "seconds": time.perf_counter() - t0}
                if seconds:
                    rec["proxy_seconds"] = seconds
                out.write(json.dumps(rec) + "\n")
                out.flush()
                done[rec["arch"]] = rec
                el = time.perf_counter() - t_start
                eta = el / n * (len(todo) - n)
                bar = "#" * int(30 * n / len(todo))
                print(f"[{bar:<30}] {n}/{len(todo)}  {rec['seconds']:.1f}s/cell  "
                      f"elapsed {el / 60:.1f} min  eta {eta / 60:.1f} min", flush=True)

    recs = [done[space.to_str(a)] for a in cells if space.to_str(a) in done]
    if not recs:
        print("no results yet")
        return 0
    if args.proxy_set == "new":
        return report_new(recs, gt, space, args)
    names = list(recs[0]["scores"])
    archs = [space.from_str(r["arch"]) for r in recs]
    acc_v = [float(gt[a]["cifar10valid_test"]) for a in archs]
    acc_t = [float(gt[a]["cifar10_test"]) for a in archs]
    wall = sum(r["seconds"] for r in recs)
    print(f"\n{len(recs)} cells, compute time {wall / 60:.1f} min ({wall / len(recs):.1f} s/cell); "
          f"batch 64 (nwot, gradsign: 128; zen: 16), seed {args.seed}")
    print(f"{'proxy':<15}{'sign':>5}{'rho c10-valid':>15}{'|rho|':>7}{'published':>10}{'diff':>7}"
          f"{'rho c10-test':>14}{'NaN':>5}{'rho NASLib':>12}{'n':>5}")
    for name in names:
        v = [r["scores"][name] for r in recs]
        base = name.replace("_b128", "")
        hib = proxy_info(base)["higher_is_better"]
        rv, _ = spearman(v, acc_v)
        rt, _ = spearman(v, acc_t)
        pub = PUBLISHED.get(name)
        diff = f"{abs(rv) - pub:+.3f}" if pub is not None and math.isfinite(rv) else ""
        nl = "-"
        nn_ = ""
        key = {"jacob_cov": "jacov"}.get(name, name)
        pairs = [(r["scores"][name], naslib[naslib_key(a)][key]["score"]) for r, a in zip(recs, archs, strict=True)
                 if naslib_key(a) in naslib and key in naslib[naslib_key(a)]]
        if pairs:
            rn, k = spearman([p[0] for p in pairs], [p[1] for p in pairs])
            nl, nn_ = f"{rn:.3f}", str(k)
        n_nan = sum(not math.isfinite(x) for x in v)
        print(f"{name:<15}{'+' if hib else '-':>5}{rv:>15.3f}{abs(rv):>7.3f}"
              f"{(f'{pub:.3f}' if pub else ''):>10}{diff:>7}{rt:>14.3f}{n_nan:>5}{nl:>12}{nn_:>5}")
    for name in ("nwot", "jacob_cov_b128", "jacob_cov"):
        v = [r["scores"][name] for r in recs]
        rn, k = spearman(v, [naswot.get(a, float("nan")) for a in archs])
        print(f"rank correlation {name} vs NASWOT published naswot_v1_scores.csv: {rn:.3f} (n={k})")
    gv = [float(gt[a]["cifar10valid_test"]) for a in archs]
    rn, k = spearman([naswot.get(a, float("nan")) for a in archs], gv)
    print(f"(NASWOT published score vs cifar10-valid test acc on these cells: {rn:.3f}, n={k})")
    return 0


def report_new(recs: list[dict], gt: dict, space, args) -> int:
    """The ``--set new`` table: each later proxy and the set-level scores built from them."""
    from nasrank.estimators.zero_cost.swap import swap_regulariser
    from nasrank.estimators.zero_cost.te_nas import te_nas_rank
    from nasrank.estimators.zero_cost.vkdnw import vkdnw_aggregate
    from nasrank.evaluation import az_nas_aggregate

    seeds_file = REPO / "validation" / "results" / "zero_cost_nb201_cells.jsonl"
    old = {}
    if seeds_file.exists():
        for line in seeds_file.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                old[r["arch"]] = r["scores"]
    archs = [space.from_str(r["arch"]) for r in recs]
    acc_v = [float(gt[a]["cifar10valid_test"]) for a in archs]
    acc_t = [float(gt[a]["cifar10_test"]) for a in archs]
    wall = sum(r["seconds"] for r in recs)
    cols: dict[str, np.ndarray] = {n: np.array([r["scores"][n] for r in recs], float)
                                   for n in recs[0]["scores"]}
    print(f"\n{len(recs)} cells (the seeds' set's cells, same order), compute time {wall / 60:.1f} min "
          f"({wall / len(recs):.1f} s wall per cell in its process); seed {args.seed}; each proxy at its authors' "
          "batch size; rho/tau oriented so that + = agrees with its sign; NaN cells left out")
    print(f"{'proxy':<24}{'batch':>6}{'sign':>5}{'rho c10-valid':>14}{'tau':>7}{'published':>10}"
          f"{'diff':>7}{'rho c10-test':>13}{'NaN':>5}{'s/cell':>8}")

    def row(name: str, v: np.ndarray, batch: str, sign: str, s_cell: float | None) -> None:
        rv, _ = spearman(list(v), acc_v)
        tv = kendall(v, acc_v)
        rt, _ = spearman(list(v), acc_t)
        pub = PUBLISHED_NEW.get(name)
        diff = f"{rv - pub:+.3f}" if pub is not None and math.isfinite(rv) else ""
        n_nan = int((~np.isfinite(v)).sum())
        sc = f"{s_cell:.2f}" if s_cell is not None else ""
        print(f"{name:<24}{batch:>6}{sign:>5}{rv:>14.3f}{tv:>7.3f}{(f'{pub:.2f}' if pub else ''):>10}"
              f"{diff:>7}{rt:>13.3f}{n_nan:>5}{sc:>8}")

    for name, v in cols.items():
        info = proxy_info(name)
        hib = info["higher_is_better"]
        secs = [r.get("proxy_seconds", {}).get(name) for r in recs]
        secs = [x for x in secs if x is not None]
        row(name, v if hib else -v, str(info["batch_size"]), "+" if hib else "-",
            float(np.mean(secs)) if secs else None)

    have_old = all(r["arch"] in old for r in recs)
    if not have_old:
        print(f"(set-level scores need flops/params/jacob_cov of every cell from {seeds_file})")
        return 0
    flops = np.array([old[r["arch"]]["flops"] for r in recs], float)
    params_m = np.array([old[r["arch"]]["params"] for r in recs], float)
    jc = np.array([old[r["arch"]]["jacob_cov"] for r in recs], float)
    print("\nset-level scores over these cells (ranks within the set):")
    az = az_nas_aggregate({"az-nas-expressivity": cols["az-nas-expressivity"],
                           "az-nas-progressivity": cols["az-nas-progressivity"],
                           "az-nas-trainability": cols["az-nas-trainability"], "flops": flops})
    row("AZ-NAS aggregate", az, "64", "+", None)
    row("TE-NAS rank", te_nas_rank(cols["ntk-cond"], cols["linear-regions"]), "64", "+", None)
    row("VKDNW aggregate", vkdnw_aggregate(cols["vkdnw"], cols["az-nas-expressivity"],
                                           cols["az-nas-trainability"], flops, jc), "64", "+", None)
    # regularised SWAP (mu/sigma are not published for NB201): mu = the median or the largest
    # parameter count of the cells (label-free choices), sigma over a grid; the best pair is
    # chosen *with* the labels, so it is an upper bound, not a result
    p_k = params_m * 1000.0
    best = None
    for mu_name, mu in (("median", float(np.median(p_k))), ("largest", float(np.max(p_k)))):
        line = []
        for sigma in (1e4, 1e5, 1e6, 1e7):
            reg = np.array([c * swap_regulariser(int(round(p * 1000)), mu, sigma)
                            for c, p in zip(cols["swap"], p_k, strict=True)])
            rv, _ = spearman(list(reg), acc_v)
            line.append(f"sigma {sigma:.0e}: {rv:.3f}")
            if best is None or rv > best[0]:
                best = (rv, mu_name, sigma)
        print(f"  regularised SWAP, mu = {mu:.0f}k params ({mu_name}): rho c10-valid " + ", ".join(line))
    print(f"  (best pair mu {best[1]}, sigma {best[2]:.0e}, chosen on the labels: an upper bound, rho "
          f"{best[0]:.3f}; published: regularised SWAP above plain SWAP's .81)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
