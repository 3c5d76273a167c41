"""The seeds' synthetic experiments: why training speed ranks models (seed 001 §3, §5.1, Fig. 1;
seed 002 §3.1-3.3, §4.1, Fig. 4.1-4.3).

Regenerates three figures and the numbers behind them, and states whether each claim holds:

* ``validation/results/synthetic_bayes_linreg.png`` -- Bayesian linear regression (seed 001 Fig. 1):
  M2's SoTL < M1's and M2's log evidence > M1's (checked on ``--bayes-seeds`` data sets), while the
  final training loss prefers M1;
* ``validation/results/synthetic_fourier.png`` -- Fourier ordered feature selection (seed 002 Fig. 4.2,
  4.3 a/b): k_fixed = 3 has the lowest SoTL; MaxDeg trained by SoTL hypergradients ends at 3 +- 0.5
  from too-low and too-high initialisations, reaching it sooner for larger T; where the one-step
  validation-loss baseline ends;
* ``validation/results/synthetic_lr_hypergradient.png`` -- learning-rate hypergradients on digits
  (seed 002 Fig. 4.1 at digits scale): SoTL over T steps vs Baydin's T = 2 and the validation loss.

Everything runs on one CPU thread with the library defaults (``nasrank.synthetic``); the numbers go to
``validation/results/synthetic.txt``. Usage::

    nice -n 5 python validation/synthetic.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO  # noqa: E402

from nasrank.synthetic import (  # noqa: E402
    BayesLinRegConfig,
    FourierConfig,
    LRHypergradConfig,
    plot_bayes_linreg,
    plot_fourier,
    plot_lr_hypergradient,
    run_bayes_linreg,
    run_fourier,
    run_lr_hypergradient,
)


def _yes(ok: bool) -> str:
    return "HOLDS" if ok else "DOES NOT HOLD"


def bayes(out: Path, seeds: int, say) -> None:
    say("== Bayesian linear regression (seed 001 §5.1, Fig. 1) ==")
    say("n = 100 points, prior N(0, 1), noise variance 0.5, 100 posterior samples per step")
    say(f"{'seed':>4} {'SoTL M1':>9} {'SoTL M2':>9} {'logZ M1':>9} {'logZ M2':>9} {'-L M1':>9} {'-L M2':>9} "
        f"{'final train M1':>14} {'final train M2':>14}")
    ok_sotl = ok_ev = wrong_final = 0
    first = None
    for s in range(seeds):
        r = run_bayes_linreg(BayesLinRegConfig(seed=s))
        first = first or r
        m1, m2 = r.models["M1"], r.models["M2"]
        ok_sotl += m2.sotl < m1.sotl
        ok_ev += m2.log_evidence > m1.log_evidence
        wrong_final += m1.final_train_loss < m2.final_train_loss
        say(f"{s:>4} {m1.sotl:>9.2f} {m2.sotl:>9.2f} {m1.log_evidence:>9.2f} {m2.log_evidence:>9.2f} "
            f"{-m1.lower_bound:>9.2f} {-m2.lower_bound:>9.2f} {m1.final_train_loss:>14.4f} {m2.final_train_loss:>14.4f}")
    say(f"claim 'M2 SoTL < M1 SoTL': {_yes(ok_sotl == seeds)} ({ok_sotl}/{seeds} data sets)")
    say(f"claim 'M2 log evidence > M1 log evidence': {_yes(ok_ev == seeds)} ({ok_ev}/{seeds})")
    say(f"final training loss lower for M1 (the worse model) in {wrong_final}/{seeds} data sets: "
        "the final training loss does not separate the models the right way, SoTL does")
    plot_bayes_linreg(first, out / "synthetic_bayes_linreg.png")


def fourier(out: Path, say) -> None:
    cfg = FourierConfig()
    say("\n== Fourier ordered feature selection (seed 002 §4.1.2, Fig. 4.2-4.3) ==")
    say(f"{cfg.n_points} points in [-{cfg.x_range:g}, {cfg.x_range:g}], {cfg.num_terms} terms, true degree "
        f"{cfg.true_degree}, noise std {cfg.noise_std}; SGD lr {cfg.lr}, batch {cfg.batch_size}; MaxDeg: SGD lr "
        f"{cfg.arch_lr}, L2 decay {cfg.decay} per step, {cfg.steps} weight steps")
    r = run_fourier(cfg)
    f = r.fixed
    say("fixed-degree SoTL (" + f"{f.losses.shape[1]} steps): "
        + ", ".join(f"k={d}: {s:.1f}" for d, s in zip(f.degrees, f.sotl, strict=True)))
    say(f"claim 'k_fixed = 3 has the lowest SoTL': {_yes(f.best_degree == cfg.true_degree)} "
        f"(lowest: k = {f.best_degree})")
    say(f"{'run':>18} {'final MaxDeg':>12} {'steps to 3+-0.5':>15} {'mean |MaxDeg-3|, first 1000 steps':>34}")

    def mae(run) -> float:
        per_step = np.repeat(run.maxdeg, np.diff(np.r_[0, run.step]))
        return float(np.abs(per_step[:1000] - cfg.true_degree).mean())

    for run in [*r.init_sweep, *r.T_sweep, r.val_baseline]:
        say(f"{run.label:>18} {run.final:>12.2f} {str(run.steps_to_target):>15} {mae(run):>34.3f}")
    band = [abs(x.final - cfg.true_degree) <= 0.5 for x in r.init_sweep]
    low = [x for x in r.init_sweep if x.init < cfg.true_degree]
    high = [x for x in r.init_sweep if x.init > cfg.true_degree]
    say(f"claim 'MaxDeg converges to 3 +- 0.5 from too-low and too-high inits (T={cfg.T})': "
        f"{_yes(all(band) and bool(low) and bool(high))} (finals "
        + ", ".join(f"{x.init:g} -> {x.final:.2f}" for x in r.init_sweep) + ")")
    hits = [x.steps_to_target for x in r.T_sweep]
    mono = all(h is not None for h in hits) and all(a >= b for a, b in zip(hits, hits[1:], strict=False))
    say(f"claim 'faster for larger T' (steps to reach 3 +- 0.5 non-increasing in T): {_yes(mono)} "
        f"(T={[x.T for x in r.T_sweep]}: {hits}); every T ends within 3 +- 0.5: "
        f"{_yes(all(abs(x.final - cfg.true_degree) <= 0.5 for x in r.T_sweep))}")
    v = r.val_baseline
    say(f"validation-loss baseline (one unrolled step, from {cfg.T_init:g}): ends at MaxDeg {v.final:.2f} "
        f"after {int(v.step[-1])} steps; reaches 3 +- 0.5 after {v.steps_to_target} steps")
    plot_fourier(r, out / "synthetic_fourier.png")


def lr(out: Path, say) -> None:
    cfg = LRHypergradConfig()
    say("\n== Learning-rate hypergradients on digits (seed 002 §4.1.1, Fig. 4.1 at digits scale) ==")
    say(f"MLP 64-{cfg.hidden}-10, batch {cfg.batch_size}, {cfg.epochs} epochs, eta from {cfg.lr_init:g}, "
        f"hyper-lr {cfg.arch_lr:g}, clip {cfg.clip:g}; {cfg.val_fraction:.0%} of the digits training images "
        "held out for the validation baseline")
    r = run_lr_hypergradient(cfg)
    say(f"{'run':>12} {'acc% ep1':>8} {'acc% ep5':>8} {'final acc%':>10} {'best acc%':>9} {'final eta':>10}")
    for x in r.runs:
        say(f"{x.label:>12} {x.epoch_test_acc[0]:>8.2f} {x.epoch_test_acc[min(4, len(x.epoch_test_acc) - 1)]:>8.2f} "
            f"{x.final_test_acc:>10.2f} {max(x.epoch_test_acc):>9.2f} {x.final_lr:>10.4g}")
    by = {x.label: x for x in r.runs}
    longest = max((x for x in r.runs if x.label.startswith("SoTL")), key=lambda x: x.T)
    early = longest.epoch_test_acc[0] > max(by["Baydin T=2"].epoch_test_acc[0], by["val"].epoch_test_acc[0])
    final = longest.final_test_acc >= max(by["Baydin T=2"].final_test_acc, by["val"].final_test_acc)
    say(f"claim 'longer SoTL unrolling trains faster than T=2 and the validation loss' ({longest.label}, "
        f"epoch-1 accuracy): {_yes(early)}; final accuracy at least as high: {_yes(final)}")
    plot_lr_hypergradient(r, out / "synthetic_lr_hypergradient.png")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "validation" / "results")
    ap.add_argument("--bayes-seeds", type=int, default=10)
    ap.add_argument("--only", choices=["bayes", "fourier", "lr"], default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    args.out.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    t0 = time.time()
    if args.only in (None, "bayes"):
        bayes(args.out, args.bayes_seeds, say)
    if args.only in (None, "fourier"):
        fourier(args.out, say)
    if args.only in (None, "lr"):
        lr(args.out, say)
    say(f"\n({time.time() - t0:.0f} s; python validation/synthetic.py)")
    name = "synthetic.txt" if args.only is None else f"synthetic_{args.only}.txt"
    (args.out / name).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
