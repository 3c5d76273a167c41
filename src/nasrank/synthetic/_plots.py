"""Figures of the synthetic experiments (matplotlib, optional: ``pip install 'nasrank[plot]'``).

Each ``plot_*`` draws on a new ``Figure`` (no pyplot, no global state), optionally saves it to
``path`` and returns it.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..evaluation.plots import import_figure
from ._bayes import BayesLinRegResult
from ._fourier import FourierResult
from ._lr import LRHypergradResult

__all__ = ["plot_bayes_linreg", "plot_fourier", "plot_lr_hypergradient"]

_COLOURS = {"M1": "tab:red", "M2": "tab:blue"}


def _save(fig: Any, path: str | os.PathLike | None, dpi: int) -> Any:
    if path is not None:
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return fig


def plot_bayes_linreg(result: BayesLinRegResult, path: str | os.PathLike | None = None, *, dpi: int = 150) -> Any:
    """Seed 001 Fig. 1: cumulative SoTL vs the evidence and its bound; the training loss.

    Left: the running sums over data points of the sampled training loss (SoTL), of the exact
    negative lower bound and of the negative log evidence, for M1 and M2. Right: the training loss
    on the points seen so far under the current posterior.

    Example:
        >>> from nasrank.exceptions import MissingDependencyError
        >>> from nasrank.synthetic import BayesLinRegConfig, run_bayes_linreg
        >>> result = run_bayes_linreg(BayesLinRegConfig(n=10, num_samples=5))
        >>> try:
        ...     panels = len(plot_bayes_linreg(result).axes)
        ... except MissingDependencyError:  # without matplotlib: the one-line install hint
        ...     panels = 2
        >>> panels
        2

    Raises:
        MissingDependencyError: if matplotlib is not installed.
    """
    Figure = import_figure()
    fig = Figure(figsize=(10, 4))
    ax1, ax2 = fig.subplots(1, 2)
    for name, m in result.models.items():
        c = _COLOURS.get(name)
        steps = np.arange(1, len(m.loss) + 1)
        ax1.plot(steps, np.cumsum(m.sample_loss), color=c, label=f"{name} SoTL (posterior samples)")
        ax1.plot(steps, np.cumsum(m.expected_loss), color=c, ls=":", label=f"{name} $-\\mathcal{{L}}$ (exact bound)")
        ax1.plot(steps, np.cumsum(m.loss), color=c, ls="--", label=f"{name} $-\\log p(\\mathcal{{D}})$")
        ax2.plot(steps, m.train_loss, color=c, label=f"{name} (final {m.final_train_loss:.3f})")
    ax1.set_xlabel("data points seen")
    ax1.set_ylabel("cumulative loss (nats)")
    ax1.set_title("Sum of training losses vs model evidence")
    ax1.legend(fontsize=7)
    ax2.set_xlabel("data points seen")
    ax2.set_ylabel("training loss on seen points")
    ax2.set_title("Training loss (final value does not separate M1/M2)")
    ax2.legend(fontsize=8)
    return _save(fig, path, dpi)


def plot_fourier(result: FourierResult, path: str | os.PathLike | None = None, *, dpi: int = 150) -> Any:
    """Seed 002 Fig. 4.2 and 4.3 a/b: fixed-degree SoTL, MaxDeg from every init, MaxDeg for every T.

    Example:
        >>> from nasrank.synthetic import FourierConfig, run_fourier
        >>> cfg = FourierConfig(n_points=200, num_terms=5, fixed_degrees=(1, 3), fixed_steps=5, steps=4,
        ...                     inits=(0.0,), T_values=(2,))
        >>> from nasrank.exceptions import MissingDependencyError
        >>> result = run_fourier(cfg)
        >>> try:
        ...     panels = len(plot_fourier(result).axes)
        ... except MissingDependencyError:  # without matplotlib: the one-line install hint
        ...     panels = 3
        >>> panels
        3

    Raises:
        MissingDependencyError: if matplotlib is not installed.
    """
    Figure = import_figure()
    fig = Figure(figsize=(15, 4))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    f = result.fixed
    k = result.config.true_degree
    colours = [ "tab:blue" if d == k else "0.6" for d in f.degrees]
    ax1.bar([str(d) for d in f.degrees], f.sotl, color=colours)
    ax1.set_xlabel("$k_{fixed}$ (maximum Fourier degree)")
    ax1.set_ylabel(f"SoTL over {f.losses.shape[1]} SGD steps")
    ax1.set_yscale("log")
    ax1.set_title(f"Fixed-degree models (true degree {k})")
    for ax, runs, title in ((ax2, result.init_sweep, f"MaxDeg by SoTL, T={result.config.T}"),
                            (ax3, [*result.T_sweep, *([result.val_baseline] if result.val_baseline else [])],
                             f"MaxDeg from {result.config.T_init:g}: unroll length T")):
        for r in runs:
            ls = "--" if r.objective == "val" else "-"
            ax.plot(np.r_[0, r.step], np.r_[r.init, r.maxdeg], ls=ls, label=r.label.split(",")[0]
                    if ax is ax3 else f"init {r.init:g}")
        ax.axhspan(k - 0.5, k + 0.5, color="tab:green", alpha=0.1)
        ax.axhline(k, color="tab:green", lw=0.8)
        ax.set_xlabel("weight training steps")
        ax.set_ylabel("MaxDeg")
        ax.set_title(title)
        ax.legend(fontsize=8)
    return _save(fig, path, dpi)


def plot_lr_hypergradient(result: LRHypergradResult, path: str | os.PathLike | None = None, *,
                          dpi: int = 150) -> Any:
    """Test accuracy and learning rate per epoch of every run (seed 002 Fig. 4.1, on digits).

    Example:
        >>> from nasrank.synthetic import LRHypergradConfig, run_lr_hypergradient
        >>> r = run_lr_hypergradient(LRHypergradConfig(epochs=1, hidden=8, T_values=(2,)))
        >>> from nasrank.exceptions import MissingDependencyError
        >>> try:
        ...     panels = len(plot_lr_hypergradient(r).axes)
        ... except MissingDependencyError:  # without matplotlib: the one-line install hint
        ...     panels = 2
        >>> panels
        2

    Raises:
        MissingDependencyError: if matplotlib is not installed.
    """
    Figure = import_figure()
    fig = Figure(figsize=(10, 4))
    ax1, ax2 = fig.subplots(1, 2)
    for r in result.runs:
        ep = np.arange(1, len(r.epoch_test_acc) + 1)
        ls = "--" if r.label in ("val", "fixed") else "-"
        ax1.plot(ep, r.epoch_test_acc, ls=ls, marker=".", label=r.label)
        ax2.plot(ep, r.epoch_lr, ls=ls, marker=".", label=r.label)
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("test accuracy (%)")
    ax1.set_title("MLP on digits, learning rate tuned online")
    ax1.legend(fontsize=8)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("learning rate $\\eta$")
    ax2.set_yscale("log")
    ax2.set_title("Learning rate")
    ax2.legend(fontsize=8)
    return _save(fig, path, dpi)
