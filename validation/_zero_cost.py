"""The engine of the zero-cost validations on NASLib's published cells
(``validation/zero_cost_nb101.py``, ``validation/zero_cost_nb301.py``): one real CIFAR-10
minibatch per proxy group with the NB201 protocol of ``validation/zero_cost_nb201.py``, per-cell
results cached as JSON lines (resumable), and the result table (Spearman rho with the file's
``val_accuracy``, NASLib's own score's rho on the same cells, the per-cell agreement with NASLib).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import nasrank
from nasrank.estimators.zero_cost import list_proxies, proxy_info

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
CACHE = REPO / "validation" / "_cache"
RESULTS = REPO / "validation" / "results"

# The NB201 protocol's batch groups (validation/zero_cost_nb201.py).
GROUP_64 = ["grad_norm", "snip", "grasp", "fisher", "plain", "jacob_cov", "synflow", "params",
            "flops", "l2_norm"]
GROUP_128 = ["nwot", "gradsign", "jacob_cov"]  # jacob_cov at 128 is reported as jacob_cov_b128
GROUP_16 = ["zen"]
#: Label-free proxy sets of the ensemble reports; a set is used where all its proxies were scored.
LABEL_FREE_SETS = {
    "seeds' best 4 (nwot, synflow, jacob_cov, gradsign)": ["nwot", "synflow", "jacob_cov", "gradsign"],
    "nwot + synflow + flops": ["nwot", "synflow", "flops"],
    "nwot + gradsign + synflow": ["nwot", "gradsign", "synflow"],
    "all data-dependent seeds' proxies": ["grad_norm", "snip", "grasp", "fisher", "jacob_cov", "synflow", "nwot",
                                          "gradsign"],
    "table's 6 + params + flops": ["gradsign", "nwot", "synflow", "jacob_cov", "snip", "grad_norm", "params",
                                   "flops"],
    "AZ-NAS (4 components)": ["az-nas-expressivity", "az-nas-progressivity", "az-nas-trainability", "flops"],
    "new label-free (zico, meco, swap, az-nas parts, vkdnw)": ["zico", "meco", "swap", "az-nas-expressivity",
                                                               "az-nas-progressivity", "az-nas-trainability",
                                                               "vkdnw-entropy", "flops"],
    # fixed before the 500-cell run of the new proxies (chosen by published rho, not by our labels)
    "VKDNW_agg members (vkdnw, expressivity, trainability, flops, jacob_cov)": [
        "vkdnw", "az-nas-expressivity", "az-nas-trainability", "flops", "jacob_cov"],
    "published >= .80 (meco, az-nas 4, vkdnw, zico, swap, nwot)": [
        "meco", "az-nas-expressivity", "az-nas-progressivity", "az-nas-trainability", "flops", "vkdnw",
        "zico", "swap", "nwot"],
    "meco + az-nas 4 + nwot + synflow": ["meco", "az-nas-expressivity", "az-nas-progressivity",
                                         "az-nas-trainability", "flops", "nwot", "synflow"],
}
#: Derived from another proxy's value instead of computed (vkdnw = tensors + entropy / log 10).
DERIVED = {"vkdnw-entropy": "vkdnw"}

@dataclass
class Setup:
    """What differs between the NB101 and the NB301 validation."""

    tag: str                                  # cache / result file prefix
    title: str
    load_bench: Callable[[Path], Any]         # data dir -> NASLib adapter
    default_C: int
    build: Callable[[Any, tuple[int, ...], int], torch.nn.Module]  # (space, arch, C) -> net
    network: Callable[[int], str]             # C -> description of the network
    published: dict[str, float] = field(default_factory=dict)
    published_note: str = ""
    notes: list[str] = field(default_factory=list)  # extra header lines (e.g. a params check)


def load_batch(data_dir: Path, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """256 normalised CIFAR-10 training images (seeded) and their labels; the first 128 are the
    NB201 protocol's batch (the same draw as ``validation/zero_cost_nb201.py``), the rest serve
    proxies published at batch 256 (epe-nas)."""
    ds = nasrank.data.load_dataset("cifar10", root=data_dir, train=True)
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(ds.labels), generator=g)[:256]
    m = torch.tensor(ds.mean).view(1, 3, 1, 1)
    s = torch.tensor(ds.std).view(1, 3, 1, 1)
    return (ds.images[idx].float() / 255.0 - m) / s, ds.labels[idx]


def _finite_pairs(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """The pairs where both are finite, and whether a rank correlation of them is defined
    (at least 3 pairs, neither side constant)."""
    x, y = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    return x, y, bool(x.size >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0)


def spearman(a: Any, b: Any) -> tuple[float, int]:
    from scipy.stats import spearmanr

    x, y, defined = _finite_pairs(a, b)
    return (float(spearmanr(x, y).correlation) if defined else float("nan")), len(x)


def kendall(a: Any, b: Any) -> float:
    """Kendall's tau over the pairs where both are finite (NaN if undefined)."""
    from scipy.stats import kendalltau

    x, y, defined = _finite_pairs(a, b)
    return float(kendalltau(x, y).statistic) if defined else float("nan")


def vkdnw_entropy_of(vkdnw: float) -> float:
    """``vkdnw-entropy`` from a ``vkdnw`` value (parameter tensors + entropy / log 10, entropy < log 10)."""
    return (vkdnw - math.floor(vkdnw)) * math.log(10) if math.isfinite(vkdnw) else vkdnw


def score_cell(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, proxies: list[str],
               seed: int) -> dict[str, float]:
    """Every requested proxy of one network, with the NB201 protocol's batch sizes (the seeds'
    proxies in their groups; any other proxy at its authors' batch size, ``proxy_info``)."""
    scores: dict[str, float] = {}
    g64 = [p for p in GROUP_64 if p in proxies]
    g128 = [p for p in ("nwot", "gradsign") if p in proxies] + (["jacob_cov"] if "jacob_cov_b128" in proxies else [])
    g16 = [p for p in GROUP_16 if p in proxies]
    known = set(GROUP_64) | set(GROUP_128) | set(GROUP_16) | {"jacob_cov_b128"}
    wanted = [p for p in proxies if p not in known]
    need = list(dict.fromkeys(DERIVED.get(p, p) for p in wanted))
    by_size: dict[int, list[str]] = {}
    for p in need:
        by_size.setdefault(int(proxy_info(p)["batch_size"] or 1), []).append(p)
    if g64:
        scores.update(nasrank.compute_proxies(net, (x[:64], y[:64]), g64, seed=seed))
    if g128:
        r = nasrank.compute_proxies(net, (x[:128], y[:128]), g128, seed=seed)
        for k, v in r.items():
            scores["jacob_cov_b128" if k == "jacob_cov" else k] = v
    if g16:
        scores.update(nasrank.compute_proxies(net, (x[:16], y[:16]), g16, seed=seed))
    for b, names in by_size.items():
        if b > len(x):
            raise ValueError(f"{names} need a batch of {b}; load_batch draws {len(x)}")
        scores.update(nasrank.compute_proxies(net, (x[:b], y[:b]), names, seed=seed))
    for p in wanted:
        if p in DERIVED:  # vkdnw's fractional part is its entropy / log(10)
            scores[p] = vkdnw_entropy_of(scores[DERIVED[p]])
    return {p: scores[p] for p in proxies}


def run(setup: Setup, argv: list[str] | None = None) -> int:
    """Compute (resumably) and report the validation described by ``setup``."""
    ap = argparse.ArgumentParser(description=setup.title)
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--num-cells", type=int, default=None, help="first N cells of the seeded order (default all)")
    ap.add_argument("--C", type=int, default=setup.default_C, help=f"network width (published: {setup.default_C})")
    ap.add_argument("--proxies", default=None,
                    help="comma-separated subset (default every registered proxy and jacob_cov_b128)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--reverse", action="store_true",
                    help="work from the last uncached cell backwards into a separate cache file (a second process)")
    ap.add_argument("--distinct", action="store_true",
                    help="only the first entry of each isomorphism class (the file may repeat a cell)")
    ap.add_argument("--max-minutes", type=float, default=None, help="stop computing after this long")
    ap.add_argument("--out", type=Path, default=None, help="result table (default validation/results/...)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = args.data_dir
    zc_dir = data / "naslib_zc"
    if not zc_dir.is_dir() or not (data / "cifar10").is_dir():
        print(f"NASLib zero-cost files or CIFAR-10 not found under {data}; skipping (pass --data-dir)")
        return 0
    bench = setup.load_bench(data)
    space = bench.space
    archs = bench.archs()
    order = np.random.default_rng(args.seed).permutation(len(archs))
    cells = [archs[i] for i in order][: args.num_cells]
    if args.distinct:  # the first entry of each isomorphism class, in the seeded order
        seen: set[tuple[int, ...]] = set()
        firsts = []
        for a in cells:
            c = space.canonical(a)
            if c not in seen:
                seen.add(c)
                firsts.append(a)
        cells = firsts
    proxies = (args.proxies.split(",") if args.proxies else list_proxies() + ["jacob_cov_b128"])

    CACHE.mkdir(parents=True, exist_ok=True)
    stem = f"{setup.tag}_seed{args.seed}_C{args.C}"
    cache_path = CACHE / f"{stem}{'.rev' if args.reverse else ''}.jsonl"
    done: dict[str, dict] = {}
    read_upto: dict[Path, int] = {}  # bytes of each process's file merged into ``done`` so far

    def add(rec: dict) -> None:
        """Merge one record; one whose scores are all known already adds no time (no double count)."""
        have = done.setdefault(rec["arch"], {"arch": rec["arch"], "scores": {}, "seconds": 0.0})
        if set(rec["scores"]) - set(have["scores"]):
            have["scores"].update(rec["scores"])
            have["seconds"] += float(rec["seconds"])

    def merge_caches(skip: Path | None = None) -> None:
        """Merge the complete lines every process's cache file gained since the last call."""
        for path in sorted(CACHE.glob(f"{stem}*.jsonl")):
            if path == skip:
                continue
            with open(path, "rb") as fh:
                fh.seek(read_upto.get(path, 0))
                chunk = fh.read()
            end = chunk.rfind(b"\n") + 1  # a line still being written is read next time
            read_upto[path] = read_upto.get(path, 0) + end
            for line in chunk[:end].decode().splitlines():
                if line.strip():
                    add(json.loads(line))

    # the committed per-cell records (every finished score, kept in git) first: a fresh checkout
    # resumes from them, and the local cache files add what was computed since
    committed = RESULTS / f"{setup.tag}{'' if args.seed == 0 else f'_seed{args.seed}'}_C{args.C}_cells.jsonl"
    if committed.exists():
        for line in committed.read_text().splitlines():
            if line.strip():
                add(json.loads(line))
    merge_caches()

    def missing(a: tuple[int, ...]) -> list[str]:
        have = done.get(space.to_str(a), {}).get("scores", {})
        return [p for p in proxies if p not in have]

    if not args.report_only:
        x, y = load_batch(data, args.seed)
        todo = [a for a in cells if missing(a)]
        if args.reverse:
            todo.reverse()
        print(f"{setup.title}: {len(cells)} cells, {len(cells) - len(todo)} cached; {setup.network(args.C)}; "
              f"{torch.get_num_threads()} thread(s)", flush=True)
        t_start = time.perf_counter()
        with open(cache_path, "a") as out:
            for n, arch in enumerate(todo, 1):
                if args.max_minutes is not None and time.perf_counter() - t_start > 60 * args.max_minutes:
                    print(f"stopping after {args.max_minutes} min (--max-minutes); run again to continue")
                    break
                key = space.to_str(arch)
                merge_caches(skip=cache_path)  # what the other process finished meanwhile
                if not missing(arch):
                    continue
                t0 = time.perf_counter()
                torch.manual_seed(args.seed)  # the same weight-init stream for every cell
                net = setup.build(space, arch, args.C)
                scores = score_cell(net, x, y, missing(arch), args.seed)
                rec = {"arch": key, "scores": scores, "seconds": time.perf_counter() - t0}
                out.write(json.dumps(rec) + "\n")
                out.flush()
                add(rec)
                el = time.perf_counter() - t_start
                print(f"{n}/{len(todo)}  {rec['seconds']:.1f}s/cell  elapsed {el / 60:.1f} min  "
                      f"eta {el / n * (len(todo) - n) / 60:.1f} min", flush=True)

    if done:  # every score so far, one merged record per cell (plain data, kept in git)
        tmp = committed.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in done.values()))
        tmp.replace(committed)
    return report(setup, bench, cells, done, proxies, args)


def ensemble_lines(recs: list[dict], val: np.ndarray, names: list[str], space: Any,
                   ks: tuple[int, ...] = (20, 50, 100), repeats: int = 20) -> list[str]:
    """Label-free aggregates (:data:`LABEL_FREE_SETS`, and every proxy) and the few-label
    combiner on these cells. A cell listed more than once (NB101's file repeats isomorphic cells,
    each with the accuracy of another training seed) counts once, with its first entry's scores
    and the mean accuracy, so that no cell is on both sides of a fit/score split."""
    from nasrank.evaluation import aggregate, few_label_study
    from nasrank.evaluation import spearman as rho_of

    by_arch: dict[str, list[float]] = {}
    first: dict[str, dict] = {}
    for r, v in zip(recs, val, strict=True):
        key = space.to_str(space.canonical(space.from_str(r["arch"])))  # one key per isomorphism class
        by_arch.setdefault(key, []).append(float(v))
        first.setdefault(key, r)
    keys = list(by_arch)
    y = np.array([np.mean(by_arch[k]) for k in keys])
    use = [n for n in names if n != "jacob_cov_b128"  # scored on every cell (a partial run: not yet)
           and all(n in first[k]["scores"] for k in keys)
           and any(math.isfinite(first[k]["scores"][n]) for k in keys)]
    if len(keys) < 30 or len(use) < 2:
        return []
    table = {n: np.array([first[k]["scores"].get(n, math.nan) for k in keys], float) for n in use}
    signs = {n: bool(proxy_info(n)["higher_is_better"]) for n in use}
    out = ["", f"ensembles on the {len(keys)} distinct cells (labels: mean val_accuracy per cell; NaN ranks worst)",
           f"{'label-free set':<74}{'mean rank':>10}{'log-rank':>10}"]
    sets = dict(LABEL_FREE_SETS)
    sets[f"every proxy above ({len(use)})"] = use
    for label, members in sets.items():
        if all(m in table for m in members):
            sub = {m: table[m] for m in members}
            r1 = rho_of(aggregate(sub, "mean_rank", higher_is_better=signs), y)
            r2 = rho_of(aggregate(sub, "log_rank", higher_is_better=signs), y)
            out.append(f"{label:<74}{r1:>10.3f}{r2:>10.3f}")
    ks = tuple(k for k in ks if k < len(keys) - 2)
    out.append(f"few-label combiner on every proxy above (fit on k cells, Spearman on the other cells; "
               f"mean +- std over {repeats} draws)")
    out.append(f"{'model':<20}" + "".join(f"{f'k={k} (n={len(keys) - k})':>22}" for k in ks))
    enc = np.stack([np.asarray(space.encode(space.from_str(k)), float) for k in keys])
    for model in ("gbm", "ridge"):
        for tag, e in (("", None), (" + encoding", enc)):
            res = few_label_study(table, y, ks=ks, repeats=repeats, model=model, encoding=e, seed=0,
                                  higher_is_better=signs)
            cells = [f"{r['spearman_mean']:.3f} +- {r['spearman_std']:.3f}" for r in res["by_k"]]
            out.append(f"{model + tag:<20}" + "".join(f"{c:>22}" for c in cells))
    return out


def width_lines(setup: Setup, bench: Any, recs: list[dict], names: list[str], args: argparse.Namespace) -> list[str]:
    """For every other width with committed scores: per proxy, on the cells both widths scored,
    the rank agreement of the two widths' scores and each width's Spearman with val_accuracy."""
    seed_part = "" if args.seed == 0 else f"_seed{args.seed}"
    mine = {r["arch"]: r["scores"] for r in recs}
    index = {a: i for i, a in enumerate(bench.archs())}
    val_all = bench.table("val_acc")
    out: list[str] = []
    for path in sorted(RESULTS.glob(f"{setup.tag}{seed_part}_C*_cells.jsonl")):
        other = int(path.name[len(f"{setup.tag}{seed_part}_C"):].split("_")[0])
        if other == args.C:
            continue
        theirs = {}
        for line in path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                theirs[rec["arch"]] = rec["scores"]
        shared = [a for a in mine if a in theirs]
        rows = [(name, [a for a in shared if name in mine[a] and name in theirs[a]]) for name in names]
        rows = [(name, cells) for name, cells in rows if len(cells) >= 10]
        if not rows:
            continue
        out += ["", f"width: our scores at C={args.C} vs C={other} (validation/results/{path.name}) on the cells "
                    "both scored; rho(C,Cx) = rank agreement of the two widths' scores, rho@C = Spearman vs val_accuracy",
                f"{'proxy':<22}{'n':>5}{'rho(C,Cx)':>12}{f'rho@C{args.C}':>10}{f'rho@C{other}':>10}"]
        for name, cells in rows:
            a = np.array([mine[c][name] for c in cells], float)
            b = np.array([theirs[c][name] for c in cells], float)
            v = val_all[[index[bench.space.from_str(c)] for c in cells]]
            fmt3 = [f"{x:.3f}" if math.isfinite(x) else "-" for x in (spearman(a, b)[0], spearman(a, v)[0],
                                                                      spearman(b, v)[0])]
            out.append(f"{name:<22}{len(cells):>5}{fmt3[0]:>12}{fmt3[1]:>10}{fmt3[2]:>10}")
    return out


def report(setup: Setup, bench: Any, cells: list[tuple[int, ...]], done: dict[str, dict],
           proxies: list[str], args: argparse.Namespace) -> int:
    space = bench.space
    index = {a: i for i, a in enumerate(bench.archs())}
    recs = [done[space.to_str(a)] for a in cells if space.to_str(a) in done]
    lines: list[str] = []
    emit = lines.append
    total = len({space.canonical(a) for a in bench.archs()}) if args.distinct else len(bench.archs())
    wall = sum(r["seconds"] for r in recs)
    partial = len(recs) < total
    emit(f"{setup.title}")
    emit(f"scale: {len(recs)} of the file's {total} {'distinct ' if args.distinct else ''}cells "
         f"(seeded order, seed {args.seed})"
         f"{' -- PARTIAL' if partial else ''}; {setup.network(args.C)}"
         f"{'' if args.C == setup.default_C else f' (NOT the published width C={setup.default_C})'}")
    if recs:
        later = ", ".join(f"{p} {b}" for p, b in (("zico", 128), ("meco", 1), ("swap", 16), ("epe-nas", 256))
                          if p in proxies)
        later = f"; later proxies at their authors' size: {later}" if later else ""
        emit(f"protocol: one CIFAR-10 training batch (seed {args.seed}), train mode, batch 64 "
             f"(nwot, gradsign, jacob_cov_b128: 128; zen: 16{later}); same weight seed for every cell; "
             f"compute {wall / 60:.1f} min ({wall / len(recs):.1f} s/cell, "
             f"{args.threads} thread(s), shared CPU)")
    lines.extend(setup.notes)
    emit(f"continue: nice -n 15 python validation/{setup.tag}.py --C {args.C} --seed {args.seed}"
         f"{'' if args.num_cells is None else f' --num-cells {args.num_cells}'}"
         f"{' --distinct' if args.distinct else ''}{f' --proxies {args.proxies}' if args.proxies else ''}  (resumes from validation/_cache/ and the committed _cells.jsonl)")
    if not recs:
        emit("no results yet")
        print("\n".join(lines))
        return 0
    rows = [index[space.from_str(r["arch"])] for r in recs]
    val = bench.table("val_acc")[rows]
    naslib_names = set(bench.proxies())
    emit("")
    emit("rho = Spearman vs val_accuracy on these cells; NASLib rho = NASLib's published score of the same proxy on the")
    emit("same cells; rho(ours,NASLib) = per-cell rank agreement of the two scores; published = " + setup.published_note)
    emit("tau = Kendall's tau vs val_accuracy; 'const' = the proxy has one value on every cell (no ranking)")
    emit(f"{'proxy':<22}{'sign':>5}{'n':>5}{'NaN':>5}{'rho':>8}{'tau':>8}{'NASLib rho':>12}{'rho(ours,NASLib)':>18}"
         f"{'published':>11}")
    names = [p for p in proxies if any(p in r["scores"] for r in recs)]
    for name in names:
        v = np.array([r["scores"].get(name, math.nan) for r in recs], float)
        base = name.replace("_b128", "")
        hib = proxy_info(base)["higher_is_better"]
        rho, n = spearman(v, val)
        nl = agree = ""
        if base in naslib_names:
            theirs = bench.scores(base)[rows]
            r_n, _ = spearman(theirs, val)
            r_a, _ = spearman(v, theirs)
            nl, agree = f"{r_n:.3f}", f"{r_a:.3f}"
        pub = setup.published.get(name)
        n_nan = int(np.sum(~np.isfinite(v)))
        fin = v[np.isfinite(v)]
        const = fin.size > 0 and np.ptp(fin) == 0
        rho_s, tau_s = ("const", "const") if const else (f"{rho:.3f}", f"{kendall(v, val):.3f}")
        emit(f"{name:<22}{'+' if hib else '-':>5}{n:>5}{n_nan:>5}{rho_s:>8}{tau_s:>8}{nl:>12}{agree:>18}"
             f"{(f'{pub:.3f}' if pub is not None else ''):>11}")
    if {"ntk-cond", "linear-regions"} <= set(names):  # TE-NAS's rank combination of its two parts
        from nasrank.estimators.zero_cost.te_nas import te_nas_rank

        te = te_nas_rank(*(np.array([r["scores"].get(p, math.nan) for r in recs], float)
                           for p in ("ntk-cond", "linear-regions")))
        rho, n = spearman(te, val)
        emit(f"{'TE-NAS rank':<22}{'+':>5}{n:>5}{int(np.sum(~np.isfinite(te))):>5}{rho:>8.3f}"
             f"{kendall(te, val):>8.3f}")
    others = sorted(naslib_names - {p.replace('_b128', '') for p in names})
    for name in others:
        r_n, n = spearman(bench.scores(name)[rows], val)
        emit(f"{name:<22}{'':>5}{n:>5}{'':>5}{'':>8}{'':>8}{r_n:>12.3f}{'(NASLib only)':>18}")
    lines.extend(width_lines(setup, bench, recs, names, args))
    lines.extend(ensemble_lines(recs, val, names, space))
    text = "\n".join(lines)
    print(text)
    out = args.out or RESULTS / (f"{setup.tag}_C{args.C}{'_distinct' if args.distinct else ''}"
                                 f"{'_partial' if partial else ''}.txt")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    print(f"\nwritten to {out}")
    return 0
