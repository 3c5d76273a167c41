"""Seed 000 §4.3 as hyperparameter optimisation: the TSE pruner vs Optuna's pruners, replaying nb201-mini.

Every Optuna trial "trains" one cell of the shipped ``nb201-mini`` benchmark (200 NB201 cells, C=8,
20 epochs on a 16x16 CIFAR-10 subset) by replaying its recorded curve: after each epoch it reports
the epoch's recorded minibatch losses (:func:`nasrank.integrations.report_losses`) and the
recorded validation accuracy (``trial.report``), pays the recorded epoch time, and asks
``trial.should_prune()``. A completed trial's objective is its final validation accuracy. The
sampler is the same for every pruner: a seeded random permutation of the 200 cells (random search
without replacement, what Optuna's ``GridSampler`` does, but without its quadratic bookkeeping), so
for a given seed every pruner sees the same cells in the same order.

Pruners (the TSE pruners use the same rung schedules as their Optuna counterparts, so each pair
differs only in the signal: training speed vs the reported validation accuracy):

* ``none`` — ``NopPruner``;
* ``median`` — ``MedianPruner()`` (5 startup trials, prunes at every epoch below the median);
* ``tse-*:median`` — ``TSEPruner(rungs=1..19, keep_fraction=0.5, min_peers=5)``;
* ``sha`` — ``SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)`` (rungs 1, 3, 9);
* ``tse-*:sha`` — ``TSEPruner(min_epochs=1, reduction_factor=3)``;
* ``sha2`` / ``tse-ema:sha2`` — the same with a first rung at 2 epochs (rungs 2, 6, 18): a sensitivity
  check, since at one epoch neither signal ranks the cells well on this benchmark;
* ``hyperband`` — ``HyperbandPruner(min_resource=1, max_resource=20, reduction_factor=3)``.

``tse-ema`` is the paper's TSE-EMA (gamma = 0.999, the library default, chosen before looking at
the results); ``tse-e`` (E = 1, the last epoch's loss) is reported as a second variant.

The incumbent is the completed trial with the highest final validation accuracy (the objective).
Two regrets, in percentage points: *objective regret* = best final validation accuracy in the
benchmark - the incumbent's; *test regret* = best test accuracy - the incumbent's test accuracy
(what the seed's claim is about; it has a floor, since the best-validation cell is not the
best-test cell). Before a run's first completed trial a regret counts as the largest possible
(best - worst). Cost = cumulative recorded training seconds of every epoch run (pruned trials
included). Each run stops at ``--budget`` (a fraction of the
cost of fully training all 200 cells) or when all cells were tried.

    python validation/pruner_replay.py [--seeds 50] [--budget 0.25] [--out validation/results/pruner_replay]

Writes ``<out>.txt`` (tables), ``<out>.csv`` (mean +- s.e. regret on a cost grid per pruner) and
``<out>.png`` when matplotlib is available. Runs are cached in ``validation/_cache/pruner_replay``
(resumable; delete it to recompute).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nasrank.benchmarks import load_benchmark
from nasrank.integrations import tse_score

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "validation" / "_cache" / "pruner_replay"


def pruner_factories(epochs: int) -> dict[str, Callable[[], object]]:
    import optuna

    from nasrank.integrations import TSEPruner

    P = optuna.pruners
    return {
        "none": lambda: P.NopPruner(),
        "median": lambda: P.MedianPruner(),
        "tse-ema:median": lambda: TSEPruner("tse-ema", rungs=range(1, epochs), keep_fraction=0.5, min_peers=5),
        "tse-e:median": lambda: TSEPruner("tse-e", rungs=range(1, epochs), keep_fraction=0.5, min_peers=5),
        "sha": lambda: P.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
        "tse-ema:sha": lambda: TSEPruner("tse-ema", min_epochs=1, reduction_factor=3),
        "tse-e:sha": lambda: TSEPruner("tse-e", min_epochs=1, reduction_factor=3),
        "sha2": lambda: P.SuccessiveHalvingPruner(min_resource=2, reduction_factor=3),
        "tse-ema:sha2": lambda: TSEPruner("tse-ema", min_epochs=2, reduction_factor=3),
        "hyperband": lambda: P.HyperbandPruner(min_resource=1, max_resource=epochs, reduction_factor=3),
    }


def _permutation_sampler_class():
    import optuna

    class PermutationSampler(optuna.samplers.BaseSampler):
        """Trial k gets cell perm[k] of a seeded permutation (random search without replacement)."""

        def __init__(self, n: int, seed: int) -> None:
            self.perm = np.random.default_rng(seed).permutation(n)

        def infer_relative_search_space(self, study, trial):
            return {}

        def sample_relative(self, study, trial, search_space):
            return {}

        def sample_independent(self, study, trial, param_name, param_distribution):
            return int(self.perm[trial.number % len(self.perm)])

    return PermutationSampler


def PermutationSampler(n: int, seed: int):  # noqa: N802 - a class made on first use (optuna is optional)
    return _permutation_sampler_class()(n, seed)


def replay(bench, curves, pruner, seed: int, budget: float) -> dict:
    """One Optuna study replaying recorded curves; returns its event log."""
    import optuna

    from nasrank.integrations import report_losses

    archs = bench.archs()
    sampler = PermutationSampler(len(archs), seed)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    state = {"cost": 0.0, "epochs": 0}
    done: list[tuple[float, int, float]] = []  # (cost at completion, cell, final val acc)
    trials: list[tuple[int, int]] = []  # (cell, epochs run)

    def objective(trial):
        i = trial.suggest_int("cell", 0, len(archs) - 1)
        c = curves[i]
        n = 0
        for e in range(1, c["epochs"] + 1):
            state["cost"] += c["epoch_time"][e - 1]
            state["epochs"] += 1
            n = e
            report_losses(trial, c["minibatch"][e - 1], e, value=c["val_acc"][e - 1])
            if trial.should_prune():
                trials.append((i, n))
                raise optuna.TrialPruned()
        trials.append((i, n))
        done.append((state["cost"], i, c["val_acc"][-1]))
        return c["val_acc"][-1]

    def stop(study, trial):
        if state["cost"] >= budget:
            study.stop()

    study.optimize(objective, n_trials=len(archs), callbacks=[stop])
    return {"done": done, "trials": trials, "cost": state["cost"], "epochs": state["epochs"]}


def regret_curve(run: dict, target: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The run's regret (points) on ``grid``, measured on ``target`` (per cell); incumbent = best final val acc."""
    best, worst = float(np.max(target)), float(np.min(target))
    out = np.full(len(grid), 100 * (best - worst))
    inc_val, inc_regret = -math.inf, 100 * (best - worst)
    events = []
    for cost, cell, val in run["done"]:
        if val > inc_val:
            inc_val, inc_regret = val, 100 * (best - float(target[cell]))
        events.append((cost, inc_regret))
    for cost, reg in events:
        out[grid >= cost] = reg
    return out


#: (TSE pruner, its Optuna counterpart with the same rung schedule)
_PAIRS = (("tse-ema:sha", "sha"), ("tse-e:sha", "sha"), ("tse-ema:sha2", "sha2"),
          ("tse-ema:median", "median"), ("tse-e:median", "median"))


def _mse(a: np.ndarray) -> tuple[float, float]:
    return float(a.mean()), (float(a.std(ddof=1) / math.sqrt(len(a))) if len(a) > 1 else 0.0)


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(x, y)[0])


def _regret_tables(kind: str, R: dict[str, np.ndarray], names: list[str], grid: np.ndarray, budget: float,
                   fracs: list[float]) -> list[str]:
    """Tables of one regret kind: anytime means, cost to reach targets, equal-regret savings, paired differences."""
    col = [min(int(np.searchsorted(grid, f * budget)), len(grid) - 1) for f in fracs]
    out = [f"== {kind} regret ==", f"A. {kind} regret (mean +- s.e. over seeds) at fractions of the budget",
           f"{'pruner':16s}" + "".join(f"{f'{f:.0%} ({f * budget:.0f}s)':>18s}" for f in fracs)]
    for n in names:
        out.append(f"{n:16s}" + "".join(f"{'{:.2f} +- {:.2f}'.format(*_mse(R[n][:, j])):>18s}" for j in col))

    targets = [2.0, 1.0, 0.5] if kind == "test" else [1.0, 0.5, 0.25]
    out += ["", f"B. Cost (s) until the {kind} regret first drops to <= target, per seed (mean +- s.e.; a seed that "
            "never gets there counts as the full budget; hit = seeds that got there); saved = 1 - cost / cost(none)"]
    out.append(f"{'pruner':16s}" + "".join(f"{f'<= {t:g} pt: cost':>20s}{'hit':>6s}{'saved':>8s}" for t in targets))
    reach: dict[tuple[str, float], float] = {}
    for n in names:
        row = f"{n:16s}"
        for t in targets:
            costs, hit = [], 0
            for curve in R[n]:
                idx = np.nonzero(curve <= t + 1e-9)[0]
                costs.append(grid[idx[0]] if len(idx) else budget)
                hit += bool(len(idx))
            m, se = _mse(np.array(costs))
            reach[n, t] = m
            base = reach.get(("none", t))
            saved = f"{1 - m / base:+.0%}" if base else "-"
            row += f"{f'{m:.0f} +- {se:.0f}':>20s}{f'{hit}/{len(R[n])}':>6s}{saved:>8s}"
        out.append(row)

    if "none" in R:
        ref = float(R["none"][:, -1].mean())
        out += ["", f"C. Equal regret on the mean curves: cost until the mean {kind} regret <= no pruning's mean "
                f"regret at the full budget ({ref:.2f} pt)"]
        base_cost = math.nan
        for n in names:
            idx = np.nonzero(R[n].mean(axis=0) <= ref + 1e-9)[0]
            c = float(grid[idx[0]]) if len(idx) else math.nan
            if n == "none":
                base_cost = c
                note = ""
            else:
                note = f"{1 - c / base_cost:+.0%} compute vs none" if math.isfinite(c) else "never reached"
            out.append(f"{n:16s}{c:8.0f} s   {note}")

    pairs = [(a, b) for a, b in _PAIRS if a in R and b in R]
    if pairs:
        out += ["", f"D. Paired {kind} regret difference (TSE pruner - its Optuna counterpart, same seeds and cell "
                "order; negative = TSE better), mean +- s.e."]
        out.append(f"{'pair':26s}" + "".join(f"{f'{f:.0%}':>16s}" for f in fracs))
        for a, b in pairs:
            out.append(f"{a + ' - ' + b:26s}" + "".join(
                f"{'{:+.2f} +- {:.2f}'.format(*_mse(R[a][:, j] - R[b][:, j])):>16s}" for j in col))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--benchmark", default="nb201-mini")
    p.add_argument("--seeds", type=int, default=50)
    p.add_argument("--budget", type=float, default=0.25, help="fraction of the cost of fully training every cell")
    p.add_argument("--pruners", default="", help="comma-separated subset of the pruner names")
    p.add_argument("--out", type=Path, default=REPO / "validation" / "results" / "pruner_replay")
    args = p.parse_args(argv)
    try:
        import optuna
    except ImportError:
        print("SKIPPED: needs optuna (pip install optuna)")
        return 0
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    bench = load_benchmark(args.benchmark)
    archs = bench.archs()
    test = bench.table("test_acc")
    curves = []
    for a in archs:
        c = bench.curve(a)
        curves.append({
            "epochs": c.epochs,
            "epoch_time": [float(t) for t in bench.epoch_times(a)],
            "val_acc": [float(v) for v in c.val_acc],
            "minibatch": [c.minibatch_losses(e).tolist() for e in range(1, c.epochs + 1)],
        })
    full = sum(sum(c["epoch_time"]) for c in curves)
    budget = args.budget * full
    E = bench.epochs
    factories = pruner_factories(E)
    names = [n.strip() for n in args.pruners.split(",") if n.strip()] or list(factories)
    unknown = sorted(set(names) - set(factories))
    if unknown:
        print(f"Error: unknown pruner(s) {unknown}; choose from {', '.join(factories)}", file=sys.stderr)
        return 2
    print(f"{bench.name}: {len(archs)} cells x {E} epochs, best test acc {100 * test.max():.2f}%, "
          f"full cost of all cells {full:.0f} s, budget {budget:.0f} s ({args.budget:.0%}); "
          f"{args.seeds} seeds x {len(names)} pruners", flush=True)

    CACHE.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict]] = {n: [] for n in names}
    t0 = time.time()
    for name in names:
        for seed in range(args.seeds):
            path = CACHE / f"{bench.name}_b{args.budget:g}_{name.replace(':', '-')}_s{seed}.json"
            if path.is_file():
                runs[name].append(json.loads(path.read_text()))
                continue
            run = replay(bench, curves, factories[name](), seed, budget)
            path.write_text(json.dumps(run))
            runs[name].append(run)
        print(f"  {name:15s} done ({time.time() - t0:.0f} s)", flush=True)

    grid = np.linspace(0.0, budget, 401)
    val_final = np.array([c["val_acc"][-1] for c in curves])
    regrets = {"objective": val_final, "test": test}
    R = {k: {n: np.array([regret_curve(r, target, grid) for r in runs[n]]) for n in names}
         for k, target in regrets.items()}
    fracs = [0.1, 0.25, 0.5, 0.75, 1.0]
    lines = [
        f"Pruner replay on {bench.name} ({len(archs)} NB201 cells, C=8, {E} epochs, 16x16 CIFAR-10 subset; "
        f"recorded curves and epoch times)",
        f"command: python validation/pruner_replay.py --seeds {args.seeds} --budget {args.budget:g}",
        f"seeds: {args.seeds} (a seeded random order of the cells, identical for every pruner at a given seed)",
        f"budget per run: {budget:.0f} s of recorded training = {args.budget:.0%} of training all {len(archs)} cells "
        f"fully ({full:.0f} s); mean full training {full / len(archs):.1f} s/cell",
        "incumbent: the completed trial with the highest final val acc (the objective). objective regret = best final "
        "val acc - incumbent's (points);",
        f"test regret = best test acc - incumbent's test acc (floor: the best-val cell has test regret "
        f"{100 * (test.max() - test[int(np.argmax(val_final))]):.2f} pt; Spearman(final val, test) over the cells = "
        f"{_spearman(val_final, test):.2f})",
        "",
        "Work done per run (mean over seeds)",
        f"{'pruner':16s}{'trials':>8s}{'completed':>11s}{'pruned':>8s}{'epochs/trial':>14s}{'cost (s)':>10s}",
    ]
    for n in names:
        tr = [len(r["trials"]) for r in runs[n]]
        co = [len(r["done"]) for r in runs[n]]
        ep = [r["epochs"] / max(1, len(r["trials"])) for r in runs[n]]
        cost = [r["cost"] for r in runs[n]]
        lines.append(f"{n:16s}{np.mean(tr):8.1f}{np.mean(co):11.1f}{np.mean(tr) - np.mean(co):8.1f}"
                     f"{np.mean(ep):14.2f}{np.mean(cost):10.0f}")
    lines += ["", "Signals at the early rungs: Spearman(signal after T epochs, final test acc | final val acc = the "
              "objective) over the cells",
              f"{'signal':12s}" + "".join(f"{f'T={T}':>13s}" for T in (1, 2, 3, 6, 9))]
    top_test = set(np.argsort(-test, kind="stable")[:10].tolist())
    top_val = set(np.argsort(-val_final, kind="stable")[:10].tolist())
    top_rows: dict[str, list[str]] = {}
    for sig in ("tse-ema", "tse-e", "val acc"):
        row = f"{sig:12s}"
        for T in (1, 2, 3, 6, 9):
            if sig == "val acc":
                x = np.array([c["val_acc"][T - 1] for c in curves])
            else:
                x = np.array([tse_score([float(np.mean(m)) for m in c["minibatch"]], sig, T) for c in curves])
            row += f"{f'{_spearman(x, test):.2f} | {_spearman(x, val_final):.2f}':>13s}"
            keep = set(np.argsort(-x, kind="stable")[: len(x) // 3].tolist())
            top_rows.setdefault(sig, []).append(f"{len(keep & top_test)}/10 | {len(keep & top_val)}/10")
        lines.append(row)
    lines += ["Of the 10 best cells by final test acc | by final val acc, how many the signal after T epochs ranks in "
              "its top third (what a rung with reduction factor 3 keeps)"]
    for sig, cells in top_rows.items():
        lines.append(f"{sig:12s}" + "".join(f"{c:>13s}" for c in cells))
    for kind in regrets:
        lines += ["", *_regret_tables(kind, R[kind], names, grid, budget, fracs)]
    lines += ["", "Paired differences beyond 2 s.e. (D tables; negative = the TSE pruner reached lower regret):"]
    for kind in regrets:
        for a, b in _PAIRS:
            if a in names and b in names:
                for f, j in zip(fracs, [min(int(np.searchsorted(grid, f * budget)), len(grid) - 1) for f in fracs],
                                strict=True):
                    m, se = _mse(R[kind][a][:, j] - R[kind][b][:, j])
                    if abs(m) > 2 * se and se > 0:
                        lines.append(f"  {kind:9s} {a + ' - ' + b:24s} at {f:4.0%}: {m:+.2f} +- {se:.2f}")

    text = "\n".join(lines) + "\n"
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".txt").write_text(text)
    with open(args.out.with_suffix(".csv"), "w") as f:
        f.write("cost_s," + ",".join(f"{k}_{n}_mean,{k}_{n}_se" for k in R for n in names) + "\n")
        for j, c in enumerate(grid):
            if j % 4:
                continue  # every 4th point of the 401-point grid is plenty for a CSV
            vals = []
            for k in R:
                for n in names:
                    m, se = _mse(R[k][n][:, j])
                    vals += [f"{m:.4f}", f"{se:.4f}"]
            f.write(f"{c:.2f}," + ",".join(vals) + "\n")
    print(text)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no plot)")
        return 0
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    for ax, kind in zip(axes, R, strict=True):
        for n in names:
            m = R[kind][n].mean(axis=0)
            se = R[kind][n].std(axis=0, ddof=1) / math.sqrt(len(R[kind][n])) if len(R[kind][n]) > 1 else 0 * m
            ax.plot(grid, m, "-" if n.startswith("tse") else "--", label=n)
            ax.fill_between(grid, m - se, m + se, alpha=0.12)
        tail = [R[kind][n].mean(axis=0)[len(grid) // 10:] for n in names]
        ax.set_ylim(0, float(np.max(tail)) * 1.15)
        ax.set_xlabel("cumulative recorded training cost (s)")
        ax.set_ylabel(f"{kind} regret of the incumbent (points)")
        ax.set_title(f"{bench.name}: {kind} regret, {args.seeds} seeds (mean +- s.e.)", fontsize=10)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out.with_suffix(".png"), dpi=110)
    print(f"wrote {args.out.with_suffix('.txt')}, .csv, .png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
