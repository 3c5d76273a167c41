"""``nasrank synthetic``: the seeds' small exact experiments on why training speed ranks models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from ._common import fnum, set_threads

app = typer.Typer(
    help="Small exact experiments: SoTL as marginal likelihood, SoTL hypergradients (CPU, seconds to minutes).",
    no_args_is_help=True,
)


def _seed_option() -> Any:
    return typer.Option(0, "--seed", min=0, help="Seed of the data, initial weights and batch order.")


def _plot_option() -> Any:
    return typer.Option(None, "--plot", help="Write the figure to this PNG file (needs matplotlib).")


def _json_option() -> Any:
    return typer.Option(False, "--json", help="Print the numbers as JSON.")


def _prepare(plot: Path | None) -> None:
    """Fail fast on a bad --plot path or a missing matplotlib, before any work; one torch thread."""
    if plot is not None:
        from .._validate import output_file
        from ..evaluation.plots import import_figure

        output_file(plot, "--plot file")
        import_figure()
    set_threads(1)
    try:  # small BLAS calls: one thread is fastest (scikit-learn's dependency; absent = default)
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
    except ImportError:  # pragma: no cover
        pass


def _emit(data: dict[str, Any], as_json: bool, lines: list[str], plot: Path | None, fig_fn: Any, result: Any) -> None:
    if plot is not None:
        fig_fn(result, plot)
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        for line in lines:
            typer.echo(line)
        if plot is not None:
            typer.echo(f"figure: {plot}")


@app.command("bayes-linreg")
def bayes_linreg_cmd(
    n: int = typer.Option(100, "--n", min=1, help="Data points (inputs have n + 1 coordinates)."),
    samples: int = typer.Option(100, "--samples", min=1, help="Posterior samples per step for SoTL."),
    seed: int = _seed_option(),
    plot: Path = _plot_option(),  # noqa: B008
    as_json: bool = _json_option(),
) -> None:
    """Bayesian linear regression (seed 001 §5.1): SoTL, log evidence and its lower bound, final training loss of M1 (all features) and M2 (the target-correlated feature)."""  # noqa: E501
    from ..synthetic import BayesLinRegConfig, plot_bayes_linreg, run_bayes_linreg

    cfg = BayesLinRegConfig(n=n, num_samples=samples, seed=seed)
    _prepare(plot)
    res = run_bayes_linreg(cfg)
    lines = [f"Bayesian linear regression, n={n}, seed {seed}",
             f"{'model':>5} {'SoTL':>9} {'-lower bound':>12} {'log evidence':>12} {'final train loss':>16}"]
    for name, m in res.models.items():
        lines.append(f"{name:>5} {fnum(m.sotl, 2):>9} {fnum(-m.lower_bound, 2):>12} {fnum(m.log_evidence, 2):>12} "
                     f"{fnum(m.final_train_loss, 4):>16}")
    m1, m2 = res.models["M1"], res.models["M2"]
    lines.append(f"M2 SoTL < M1 SoTL: {m2.sotl < m1.sotl}; M2 evidence > M1 evidence: {m2.log_evidence > m1.log_evidence}; "
                 f"final training loss prefers {'M2' if m2.final_train_loss < m1.final_train_loss else 'M1'}")
    _emit(res.to_dict(), as_json, lines, plot, plot_bayes_linreg, res)


@app.command("fourier")
def fourier_cmd(
    steps: int = typer.Option(6000, "--steps", min=1, help="Weight-training steps of each MaxDeg search."),
    seed: int = _seed_option(),
    plot: Path = _plot_option(),  # noqa: B008
    as_json: bool = _json_option(),
) -> None:
    """Fourier ordered feature selection (seed 002 §4.1.2): fixed-degree SoTL and the differentiable MaxDeg trained by SoTL hypergradients (several inits and T) vs the one-step validation loss."""  # noqa: E501
    from ..synthetic import FourierConfig, plot_fourier, run_fourier

    cfg = FourierConfig(steps=steps, seed=seed)
    _prepare(plot)
    res = run_fourier(cfg)
    f = res.fixed
    lines = [f"Fourier data: true degree {cfg.true_degree}, {cfg.num_terms} terms, seed {seed}",
             "fixed-degree SoTL: " + ", ".join(f"k={d}: {fnum(float(s), 1)}" for d, s in zip(f.degrees, f.sotl, strict=True)),
             f"lowest SoTL: k_fixed = {f.best_degree}",
             f"{'MaxDeg run':>18} {'final':>7} {'steps to 3+-0.5':>15}"]
    for r in [*res.init_sweep, *res.T_sweep, res.val_baseline]:
        lines.append(f"{r.label:>18} {fnum(r.final, 2):>7} {r.steps_to_target if r.steps_to_target is not None else '-':>15}")
    _emit(res.to_dict(), as_json, lines, plot, plot_fourier, res)


@app.command("lr-hypergradient")
def lr_hypergradient_cmd(
    epochs: int = typer.Option(20, "--epochs", min=1, help="Training epochs of every run."),
    seed: int = _seed_option(),
    plot: Path = _plot_option(),  # noqa: B008
    as_json: bool = _json_option(),
) -> None:
    """Learning-rate hypergradients on digits (seed 002 §4.1.1): SoTL over T steps vs Baydin's T=2 and the validation loss."""  # noqa: E501
    from ..synthetic import LRHypergradConfig, plot_lr_hypergradient, run_lr_hypergradient

    cfg = LRHypergradConfig(epochs=epochs, seed=seed)
    _prepare(plot)
    res = run_lr_hypergradient(cfg)
    lines = [f"MLP (64-{cfg.hidden}-10) on digits, eta from {cfg.lr_init:g}, {epochs} epochs, seed {seed}",
             f"{'run':>12} {'epoch-1 acc%':>12} {'final acc%':>10} {'best acc%':>9} {'final eta':>10}"]
    for r in res.runs:
        lines.append(f"{r.label:>12} {fnum(float(r.epoch_test_acc[0]), 2):>12} {fnum(r.final_test_acc, 2):>10} "
                     f"{fnum(float(max(r.epoch_test_acc)), 2):>9} {r.final_lr:>10.4g}")
    _emit(res.to_dict(), as_json, lines, plot, plot_lr_hypergradient, res)
