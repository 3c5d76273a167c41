"""The seeds' small, exact experiments on why training speed ranks models (CPU, seconds each).

* Bayesian linear regression (seed 001 §3.1, §5.1, Fig. 1): exact sequential updating of models M1
  and M2; the per-step negative log posterior predictive sums to the negative log evidence, the
  sampled training losses (SoTL) estimate minus its lower bound, and SoTL separates M1 from M2
  where the final training loss does not -- :func:`run_bayes_linreg`.
* Ordered feature selection on Fourier data (seed 002 §4.1.2, Fig. 4.2-4.3): fixed-degree models'
  SoTL, and the differentiable ``MaxDeg`` optimised with exact SoTL hypergradients over ``T``
  unrolled steps vs the one-step validation loss -- :func:`run_fourier`.
* Learning-rate hypergradients on digits (seed 002 §4.1.1): SoTL over ``T`` steps vs Baydin's
  ``T = 2`` and the validation loss -- :func:`run_lr_hypergradient`.

The ``run_*`` functions return plain dataclasses of numbers and arrays; ``plot_*`` draw them
(matplotlib, optional). :func:`sotl_hypergradient` is the exact unrolled SoTL gradient they use.

Example:
    >>> from nasrank.synthetic import BayesLinRegConfig, run_bayes_linreg
    >>> r = run_bayes_linreg(BayesLinRegConfig(n=20, num_samples=10))
    >>> r.models["M2"].sotl < r.models["M1"].sotl
    True
"""

from __future__ import annotations

from ._bayes import (
    BayesLinRegConfig,
    BayesLinRegResult,
    BayesModelResult,
    batch_posterior,
    bayes_linreg_data,
    log_evidence,
    run_bayes_linreg,
    sequential_posterior,
)
from ._fourier import (
    FixedDegreeResult,
    FourierConfig,
    FourierResult,
    MaxDegRun,
    fixed_degree_sotl,
    fourier_data,
    fourier_gate,
    maxdeg_search,
    run_fourier,
)
from ._lr import (
    LRHypergradConfig,
    LRHypergradResult,
    LRRun,
    lr_hypergradient_run,
    run_lr_hypergradient,
)
from ._plots import plot_bayes_linreg, plot_fourier, plot_lr_hypergradient
from ._unroll import sotl_hypergradient, unroll

__all__ = [
    "BayesLinRegConfig",
    "BayesLinRegResult",
    "BayesModelResult",
    "bayes_linreg_data",
    "batch_posterior",
    "sequential_posterior",
    "log_evidence",
    "run_bayes_linreg",
    "FourierConfig",
    "FixedDegreeResult",
    "MaxDegRun",
    "FourierResult",
    "fourier_data",
    "fourier_gate",
    "fixed_degree_sotl",
    "maxdeg_search",
    "run_fourier",
    "LRHypergradConfig",
    "LRRun",
    "LRHypergradResult",
    "lr_hypergradient_run",
    "run_lr_hypergradient",
    "sotl_hypergradient",
    "unroll",
    "plot_bayes_linreg",
    "plot_fourier",
    "plot_lr_hypergradient",
]
