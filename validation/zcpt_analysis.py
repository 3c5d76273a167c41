"""Operation-scoring analysis on NAS-Bench-201, "initial" setting (seed 004 §3.2, Fig. 2 left, Tab. 1).

On the untrained NB201 supernet (C=16, N=5, architecture weights softmax(1e-3 N(0,1)), nothing
decided) every operation scoring function scores every (edge, op) once; for each we report the
Spearman rho of its per-edge op preference against the oracles ``best-acc`` / ``avg-acc`` (NB201
CIFAR-10 test accuracy), averaged over the 6 edges, and the cell obtained by taking each edge's
best op independently, with its accuracy and rank among the 15,625 cells.

Proxy-based scores use one real CIFAR-10 training minibatch (``--batch-size``, default 64; the
authors' NB201 pipeline uses 256, 64 is their DARTS-space value). ``darts`` / ``disc-acc`` /
``darts-pt`` are first computed on the *untrained* supernet (chance-level behaviour), then -- the
rows marked "(trained)", as in the paper -- on a supernet trained with first-order DARTS
(``nasrank.oneshot``'s ``darts`` method) at this script's scale: the same C=16, N=5 supernet on
32x32 CIFAR-10, but (CPU budget) ``--darts-train-size`` (1,024) search-train + as many search-val
images (data seed 0) and ``--darts-epochs`` (10) epochs at batch 64 instead of 25k + 25k images
and 50 epochs; its accuracies (``disc-acc``, ``darts-pt``) on ``--darts-eval-batches`` (2)
search-val minibatches of 64. The training is resumable (checkpoint under ``validation/_cache/``,
re-running continues it); ``--no-trained`` skips those rows. Published Spearman rho vs best-acc
(seed 004 Fig. 2, read from a public notebook that reproduces it): zc-pt(nwot) .77, darts-pt .42,
DARTS alpha .20, disc-acc -.32. Scores are cached under ``validation/_cache/``.

Oracles (``--oracle``): ``mean`` = best-acc over the NB201 CIFAR-10 test accuracy averaged over the
benchmark's seeds (per (edge, op): the max over cells of the seed mean); ``seed-max`` = the oracle of
the paper's Fig. 2 (the authors' notebook): the max over cells *and* seeds of the per-seed CIFAR-10
test accuracy (``nb201_cifar10_test_per_seed.csv``). ``both`` (default) reports both columns.
avg-acc, the selected cells' accuracies and ranks always use the seed means.

NASWOT hook set (``--relu-hooks``): ``relu`` (every ReLU once, default) or ``released`` (the released
code's hook set, which also hooks the ReLUConvBN blocks; see ``nasrank.oneshot.supernet_score``);
``both`` computes both. The nwot rows of the released mode are labelled ``[released]`` (the
``count`` row is left out there: the mode implies it). Usage::

    nice -n 10 python validation/zcpt_analysis.py [--data-dir DIR] [--seed 0] [--darts-epochs 10]
    python validation/zcpt_analysis.py --seed 3 --only 'zc-pt(nwot)' --relu-hooks both --no-trained
    python validation/zcpt_analysis.py --summary-seeds 0,1,2,3 --out results/FILE.txt
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_dir, require  # noqa: E402

from nasrank.benchmarks import NB201Benchmark  # noqa: E402
from nasrank.data import DataSpec, load_dataset  # noqa: E402
from nasrank.oneshot import (  # noqa: E402
    OperationScores,
    SupernetTrainConfig,
    create_supernet_method,
    ground_truth_grid,
    per_edge_spearman,
    score_operations,
    train_supernet,
)
from nasrank.spaces import NB201Space, NB201Supernet  # noqa: E402

ORACLES = ("mean", "seed-max")
RELEASED = " [released]"  # label suffix of the rows scored with the released hook set
#: the best-acc oracle of the paper's Fig. 2: max over cells and seeds of per-seed accuracies
SEED_METRICS = ("test_acc_seed0", "test_acc_seed1", "test_acc_seed2")

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "validation" / "_cache"
RESULTS = REPO / "validation" / "results"

# seed 004 Tab. 1: (avg. error %, rank) of the cell each function selects; Fig. 2 left: rho
PAPER_TAB1 = {"best-acc": (5.63, 1), "avg-acc": (6.24, 166), "disc-acc": (13.55, 12744),
              "darts-pt": (19.43, 13770), "zc-pt(nwot)": (5.81, 14),
              "disc-zc(nwot)": (22.96, 14274), "darts": (45.7, 15231)}
PAPER_RHO = {"zc-pt(nwot)": "~0.77 (text)", "darts": "weak, negative (text)",
             "disc-acc": "negative vs best-acc (text)", "darts-pt": "weak, positive (text)",
             "disc-zc(nwot)": "weak (text)"}

# seed 004 Fig. 2 (rho vs best-acc on a DARTS-trained supernet, from a public notebook reproducing it)
PAPER_RHO_TRAINED = {"darts (trained)": "0.20 (Fig. 2)", "disc-acc (trained)": "-0.32 (Fig. 2)",
                     "darts-pt (trained)": "0.42 (Fig. 2)"}
# (label, scoring function) on the DARTS-trained supernet
TRAINED = [("darts (trained)", "darts"), ("disc-acc (trained)", "disc-acc"), ("darts-pt (trained)", "darts-pt")]

# (label, scoring function, options)
SCORERS = [  # cheapest / most informative first
    ("darts", "darts", {}),
    ("zc-pt(nwot)", "zc-pt", {"proxy": "nwot"}),
    ("disc-zc(nwot)", "disc-zc", {"proxy": "nwot"}),
    ("zc-pt(nwot, count)", "zc-pt", {"proxy": "nwot", "inactive_relus": "count"}),
    ("darts-pt", "darts-pt", {}),
    ("disc-acc", "disc-acc", {}),
    ("zc-pt(synflow)", "zc-pt", {"proxy": "synflow"}),
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--only", default=None,
                   help="semicolon-separated labels to compute (labels contain commas), "
                        "e.g. 'zc-pt(nwot);zc-pt(nwot, count)'")
    p.add_argument("--summary-seeds", default=None,
                   help="comma-separated seeds: summarise their cached scores (no computing)")
    p.add_argument("--darts-epochs", type=int, default=10, help="epochs of the DARTS-trained supernet")
    p.add_argument("--darts-train-size", type=int, default=1024,
                   help="search-train images of the DARTS-trained supernet (as many search-val)")
    p.add_argument("--darts-eval-batches", type=int, default=2,
                   help="search-val minibatches (of 64) for disc-acc / darts-pt on the trained supernet")
    p.add_argument("--no-trained", action="store_true", help="skip the rows on the DARTS-trained supernet")
    p.add_argument("--relu-hooks", default="relu", choices=["relu", "released", "both"],
                   help="NASWOT hook set of the nwot rows (released: the released code's, "
                        "labelled [released]; both: compute both)")
    p.add_argument("--oracle", default="both", choices=["mean", "seed-max", "both"],
                   help="best-acc oracle: mean over seeds, the per-seed max (paper Fig. 2), or both columns")
    p.add_argument("--out", default=None,
                   help="write the table to this file (default: a name under validation/results/)")
    args = p.parse_args()
    if args.summary_seeds:
        summary(args, [int(x) for x in args.summary_seeds.split(",") if x.strip()])
        return
    torch.set_num_threads(args.threads)
    root = data_dir(args.data_dir)
    require(root / "cifar10", "CIFAR-10")
    require(root / "nasbench201" / "nb201_accuracy_200ep.csv", "NAS-Bench-201 ground truth")
    bench = NB201Benchmark(root)
    grid = 100 * ground_truth_grid(bench, "test_acc", "cifar10")
    flat = np.sort(grid.reshape(-1))[::-1]
    oracles = _oracles(args, bench, grid)
    data = load_dataset("cifar10", root=root, train=True)
    gen = np.random.default_rng(args.seed)
    idx = np.sort(gen.choice(len(data) // 2, size=args.batch_size, replace=False))
    batch = data.batch(torch.from_numpy(idx))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed)
        net = NB201Supernet(num_classes=10).eval()
    net.reset_arch_parameters(np.random.default_rng([args.seed, 0]))
    # "_sn2": bias-free supernet convolutions (the earlier cache used biased ones)
    cache_file = CACHE / f"zcpt_analysis_seed{args.seed}_b{args.batch_size}_sn2.jsonl"
    cached = {}
    if cache_file.exists():
        for line in cache_file.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                cached[r["label"]] = r
    best = {k: score_operations("best-acc", net, table=g) for k, g in oracles.items()}
    avg = score_operations("avg-acc", net, table=grid)
    only = {x.strip() for x in args.only.split(";")} if args.only else None
    rows = []
    for label, name, opts in [("best-acc", None, {}), ("avg-acc", None, {})] + _scorers(args):
        base_label = label.removesuffix(RELEASED)
        if name is None:
            sc = best[next(iter(best))] if label == "best-acc" else avg
            secs = 0.0
        elif label in cached:
            r = cached[label]
            sc = OperationScores(name, np.array(r["values"], dtype=float), r["higher_is_better"])
            secs = r["seconds"]
        elif only is not None and label not in only and base_label not in only:
            continue
        else:
            t0 = time.perf_counter()
            try:
                sc = score_operations(name, net, batch=batch, table=grid, seed=args.seed, **opts)
            except Exception as exc:  # noqa: BLE001 - report, do not crash the table
                print(f"{label}: failed ({type(exc).__name__}: {exc})")
                continue
            secs = time.perf_counter() - t0
            CACHE.mkdir(parents=True, exist_ok=True)
            with open(cache_file, "a") as f:
                f.write(json.dumps({"label": label, "values": np.where(np.isnan(sc.values), None, sc.values).tolist(),
                                    "higher_is_better": sc.higher_is_better, "seconds": secs}) + "\n")
            print(f"{label}: {secs:.0f} s", flush=True)
        arch, acc, rank = _selected(sc, grid, flat)
        rows.append((label, [per_edge_spearman(sc, b) for b in best.values()],
                     per_edge_spearman(sc, avg), arch, acc, rank, secs))
    trained_note = []
    if not args.no_trained and (only is None or any(lbl in only for lbl, _ in TRAINED)):
        trained, trained_note = _trained_rows(args, root, grid, flat, best, avg, only)
        rows += trained
    space = NB201Space()
    lines = [
        f"# command: {_command()}",
        f"Operation scoring on the untrained NB201 supernet (C=16, N=5), initial setting; seed "
        f"{args.seed}, one CIFAR-10 minibatch of {args.batch_size}; oracle = NB201 CIFAR-10 test "
        "accuracy: best-acc (mean) = max over cells of the mean over seeds, best-acc (seed-max) = "
        "max over cells and seeds (paper Fig. 2); avg-acc, C10 acc and rank: mean over seeds.",
        "rho = Spearman of per-edge op preferences, averaged over the 6 edges. darts / disc-acc / "
        "darts-pt: untrained supernet (paper: DARTS-trained), i.e. chance level here.",
        "'count' = released-code variant (removed convolutions still run on zeros); '[released]' = "
        "the released code's NASWOT hook set (ReLUConvBN blocks hooked too; implies 'count').",
        f"Two cells tie for the best CIFAR-10 accuracy ({flat[0]:.2f}; they differ only on edges "
        "3<-1 / 3<-2), so best-acc, choosing each edge's op independently with the first maximum, "
        "lands on a cell mixing the two.",
        "",
        f"{'scoring':<31} " + " ".join(f"{'rho best-acc (' + k + ')':>24}" for k in oracles)
        + f" {'rho avg-acc':>11} {'C10 acc':>8} {'rank':>6} "
        f"{'paper acc':>9} {'paper rank':>10} {'paper rho':>24} {'seconds':>8}  selected cell",
    ]
    for label, rb, ra, arch, acc, rank, secs in rows:
        pa = PAPER_TAB1.get(label.replace(" (trained)", "").removesuffix(RELEASED))
        lines.append(
            f"{label:<31} " + " ".join(f"{r:>24.3f}" for r in rb) + f" {ra:>11.3f} {acc:>8.2f} {rank:>6} "
            f"{(f'{100 - pa[0]:.2f}' if pa else '-'):>9} {(str(pa[1]) if pa else '-'):>10} "
            f"{PAPER_RHO_TRAINED.get(label, PAPER_RHO.get(label.removesuffix(RELEASED), '-')):>24} "
            f"{secs:>8.0f}  {space.to_str(arch)}"
        )
    lines += trained_note
    text = "\n".join(lines)
    print(text)
    if args.out:
        out = Path(args.out)
    else:
        default = args.seed == 0 and args.batch_size == 64 and only is None
        out = RESULTS / ("zcpt_analysis.txt" if default else (
            f"zcpt_analysis_seed{args.seed}_b{args.batch_size}{'_partial' if only else ''}.txt"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    print(f"written to {out}")


def _command() -> str:
    return "python " + " ".join(shlex.quote(a) for a in [f"validation/{Path(sys.argv[0]).name}"] + sys.argv[1:])


def _scorers(args: argparse.Namespace) -> list[tuple[str, str, dict]]:
    """:data:`SCORERS` for the chosen NASWOT hook set(s): nwot rows of the released set are
    labelled with :data:`RELEASED` (its ``count`` row is left out: the released set implies it)."""
    modes = ["relu", "released"] if args.relu_hooks == "both" else [args.relu_hooks]
    out = []
    for label, name, opts in SCORERS:
        nwot = name in ("zc-pt", "disc-zc") and opts.get("proxy") == "nwot"
        for mode in modes:
            if mode == "relu":
                out.append((label, name, opts))
            elif nwot and "inactive_relus" not in opts:
                out.append((label + RELEASED, name, {**opts, "relu_hooks": "released"}))
    return out


def _oracles(args: argparse.Namespace, bench: NB201Benchmark, grid: np.ndarray) -> dict[str, np.ndarray]:
    """``{oracle name: ground-truth grid (%)}`` of the best-acc oracle(s) chosen by ``--oracle``."""
    names = list(ORACLES) if args.oracle == "both" else [args.oracle]
    out = {}
    for k in names:
        if k == "mean":
            out[k] = grid
        else:
            if not all(m in bench.metrics("cifar10") for m in SEED_METRICS):
                msg = ("the seed-max oracle needs nb201_cifar10_test_per_seed.csv beside the NB201 "
                       "accuracy file")
                if args.oracle == "both":
                    print(f"{msg}; reporting the mean oracle only", flush=True)
                    continue
                raise SystemExit(msg)
            out[k] = 100 * ground_truth_grid(bench, SEED_METRICS, "cifar10")
    return out


def _trained_rows(args: argparse.Namespace, root: Path, grid: np.ndarray, flat: np.ndarray,
                  best: dict[str, OperationScores], avg: OperationScores, only: set[str] | None
                  ) -> tuple[list, list[str]]:
    """The ``darts`` / ``disc-acc`` / ``darts-pt`` rows on a supernet trained with first-order DARTS
    (trained resumably, scores cached), and the lines that describe that supernet."""
    n, E = args.darts_train_size, args.darts_epochs
    tag = f"darts_s{args.seed}_n{n}_e{E}"
    spec = DataSpec("cifar10", root=str(root), train_size=n, val_size=n, test_size=0, seed=0)
    train, val, _ = spec.load()
    m = create_supernet_method("darts", "nb201", seed=args.seed, supernet_config={"C": 16, "N": 5})
    CACHE.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    res = train_supernet(m, train, SupernetTrainConfig(epochs=E, batch_size=64), val_set=val,
                         checkpoint=CACHE / f"zcpt_analysis_{tag}.safetensors", data_key=spec.key(), progress=True)
    per_epoch = float(np.mean([h["seconds"] for h in res.history]))
    print(f"DARTS-trained supernet: {len(res.history)} epochs ({time.perf_counter() - t0:.0f} s now, "
          f"{per_epoch:.0f} s per epoch), derived cell {res.history[-1].get('arch')}", flush=True)
    net = res.method.supernet
    batches = list(val.batches(64, shuffle=False))[: args.darts_eval_batches]
    cache_file = CACHE / f"zcpt_analysis_trained_{tag}_v{args.darts_eval_batches}.jsonl"
    cached = {}
    if cache_file.exists():
        for line in cache_file.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                cached[r["label"]] = r
    rows = []
    for label, name in TRAINED:
        if label in cached:
            r = cached[label]
            sc = OperationScores(name, np.array(r["values"], dtype=float), r["higher_is_better"])
            secs = r["seconds"]
        elif only is not None and label not in only:
            continue
        else:
            t0 = time.perf_counter()
            sc = score_operations(name, net, batch=batches, seed=args.seed)
            secs = time.perf_counter() - t0
            with open(cache_file, "a") as f:
                f.write(json.dumps({"label": label, "values": np.where(np.isnan(sc.values), None, sc.values).tolist(),
                                    "higher_is_better": sc.higher_is_better, "seconds": secs}) + "\n")
            print(f"{label}: {secs:.0f} s", flush=True)
        arch, acc, rank = _selected(sc, grid, flat)
        rows.append((label, [per_edge_spearman(sc, b) for b in best.values()],
                     per_edge_spearman(sc, avg), arch, acc, rank, secs))
    h = res.history[-1]
    note = ["", f"(trained): C=16, N=5 supernet trained with first-order DARTS, seed {args.seed}, {E} epochs on {n} + {n} "
                f"32x32 CIFAR-10 search-train/search-val images ({per_epoch:.0f} s per epoch here; paper: 25k + 25k, 50 "
                f"epochs); final training loss {h['loss']:.3f}, validation loss {h.get('val_loss', float('nan')):.3f}, "
                f"derived cell {h.get('arch')} ({h.get('param_free')} of 6 parameter-free); disc-acc / darts-pt on "
                f"{len(batches)} search-val minibatches of 64 (BatchNorm running statistics of the search).",
            "paper rho of the (trained) rows: seed 004 Fig. 2 (zc-pt(nwot) .77 there)."]
    return rows, note


def _selected(sc: OperationScores, grid: np.ndarray, flat: np.ndarray) -> tuple[tuple[int, ...], float, int]:
    """The cell of each edge's best op, its accuracy and its rank (1 = best) in ``flat``."""
    arch = tuple(int(o) if o is not None else 0 for o in sc.selected_ops())
    acc = float(grid[arch])
    return arch, acc, int((flat > acc).sum()) + 1


def summary(args: argparse.Namespace, seeds: list[int]) -> None:
    """Per-seed and mean +- s.d. (s.e.) rho / rank of every scoring function cached for ``seeds``."""
    root = data_dir(args.data_dir)
    require(root / "nasbench201" / "nb201_accuracy_200ep.csv", "NAS-Bench-201 ground truth")
    bench = NB201Benchmark(root)
    grid = 100 * ground_truth_grid(bench, "test_acc", "cifar10")
    oracles = _oracles(args, bench, grid)
    flat = np.sort(grid.reshape(-1))[::-1]
    net = NB201Supernet(C=1, N=1)  # only its shape is used by the oracles
    best = {k: score_operations("best-acc", net, table=g) for k, g in oracles.items()}
    avg = score_operations("avg-acc", net, table=grid)
    only = {x.strip() for x in args.only.split(";")} if args.only else None
    per: dict[str, list[tuple]] = {}
    for seed in seeds:
        f = CACHE / f"zcpt_analysis_seed{seed}_b{args.batch_size}_sn2.jsonl"
        if not f.exists():
            print(f"seed {seed}: no cache ({f.name}); run the analysis for it first")
            continue
        for line in f.read_text().splitlines():
            if not line.strip():
                continue
            r = json.loads(line)
            if only is not None and r["label"] not in only and r["label"].removesuffix(RELEASED) not in only:
                continue
            sc = OperationScores(r["label"], np.array(r["values"], dtype=float), r["higher_is_better"])
            _arch, acc, rank = _selected(sc, grid, flat)
            per.setdefault(r["label"], []).append(
                (seed, [per_edge_spearman(sc, b) for b in best.values()], per_edge_spearman(sc, avg),
                 rank, acc))

    def ms(x: np.ndarray, digits: int = 3) -> str:
        x = np.asarray(x, dtype=float)
        x = x[np.isfinite(x)]
        if x.size == 0:
            return f"{'nan':>25}"
        sd = x.std(ddof=1) if x.size > 1 else float("nan")
        return f"{x.mean():.{digits}f} +- {sd:.{digits}f} ({sd / np.sqrt(x.size):.{digits}f})".rjust(25)

    lines = [f"# command: {_command()}",
             f"Operation scoring, initial setting, seeds {seeds} (batch {args.batch_size}; supernet "
             "init, alpha and minibatch differ per seed); rank of the selected cell among 15,625.",
             "Columns: mean +- s.d. (s.e.) over seeds, s.d. with ddof=1, s.e. = s.d./sqrt(n). "
             "best-acc (mean): max over cells of the seed-mean CIFAR-10 test accuracy; best-acc "
             "(seed-max): max over cells and seeds (the paper's Fig. 2 oracle). '[released]': the "
             "released code's NASWOT hook set (ReLUConvBN blocks hooked too).",
             "", f"{'scoring':<31} {'seeds':>5} "
             + " ".join(f"{'rho best-acc (' + k + ')':>25}" for k in oracles)
             + f" {'rho avg-acc':>25} {'C10 acc of cell':>25} {'paper rho':>12} {'paper rank':>10}  ranks"]
    for label, rs in per.items():
        pa = PAPER_TAB1.get(label.removesuffix(RELEASED))
        lines.append(
            f"{label:<31} {len(rs):>5} "
            + " ".join(ms(np.array([r[1][i] for r in rs])) for i in range(len(oracles)))
            + f" {ms(np.array([r[2] for r in rs]))} {ms(np.array([r[4] for r in rs]), 2)} "
            f"{PAPER_RHO.get(label.removesuffix(RELEASED), '-')[:12]:>12} "
            f"{(str(pa[1]) if pa else '-'):>10}  {','.join(str(r[3]) for r in rs)}")
    lines += ["", "Per seed (rho best-acc " + " / ".join(oracles) + ", rank):"]
    for label, rs in per.items():
        lines.append(f"  {label:<31} " + "  ".join(
            f"s{r[0]}: " + "/".join(f"{x:.3f}" for x in r[1]) + f" r{r[3]}" for r in rs))
    text = "\n".join(lines)
    print(text)
    out = Path(args.out) if args.out else RESULTS / f"zcpt_analysis_seeds_b{args.batch_size}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n")
    print(f"written to {out}")

if __name__ == "__main__":
    main()
