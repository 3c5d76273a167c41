"""Exact sequential Bayesian linear regression: SoTL as the marginal likelihood (seed 001 §3.1, §5.1).

Data (seed 001 §5.1): ``n`` points with targets ``y_i ~ N(0, 1)`` and inputs
``x_i = (y_i + eps_0^i, 0, ..., eps_i, ..., 0)`` in ``R^(n+1)`` (``eps ~ N(0, 1)``; the noise
``eps_i`` sits in coordinate ``i``, private to point ``i``). Model M1 uses every coordinate
(``phi_1(x) = x``), M2 only the first, target-correlated one (``phi_2(x) = x^T e_1``). Both put the
prior ``theta ~ N(0, prior_var I)`` on the weights and the likelihood ``y ~ N(theta^T phi, noise_var)``.

The posterior is updated one point at a time (rank-one updates of the covariance). Step ``i``'s
"training loss" is the negative log posterior predictive ``-log p(y_i | D_<i)``; their sum is the
negative log evidence exactly (chain rule, seed 001 Eq. 2). SoTL is the sample version: the mean
negative log likelihood of ``y_i`` under ``num_samples`` weights drawn from ``p(theta | D_<i)``
(the losses of "trained" models), an unbiased estimate of minus the lower bound
``L(D) = sum_i E_{p(theta|D_<i)}[log p(y_i | theta)] <= log p(D)`` (Jensen).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from .._rng import as_generator
from .._validate import check_float, check_int

__all__ = [
    "BayesLinRegConfig",
    "BayesModelResult",
    "BayesLinRegResult",
    "bayes_linreg_data",
    "batch_posterior",
    "sequential_posterior",
    "log_evidence",
    "run_bayes_linreg",
]

_LOG_2PI = math.log(2.0 * math.pi)
MODELS = ("M1", "M2")


@dataclass(frozen=True)
class BayesLinRegConfig:
    """Setup of the Bayesian linear regression example (seed 001 §5.1).

    Attributes:
        n: Number of data points (inputs have ``n + 1`` coordinates).
        prior_var: Prior variance of every weight.
        noise_var: Observation noise variance of the likelihood. ``0.5`` is the true conditional
            variance of ``y`` given the first coordinate, so M2 is well specified.
        num_samples: Posterior samples per step for the sampled SoTL / lower bound.
        seed: Seed of the data and of the posterior samples.

    Example:
        >>> BayesLinRegConfig(n=20).n
        20
    """

    n: int = 100
    prior_var: float = 1.0
    noise_var: float = 0.5
    num_samples: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        check_int("n", self.n, minimum=1)
        check_float("prior_var", self.prior_var, minimum=0.0, exclusive_min=True)
        check_float("noise_var", self.noise_var, minimum=0.0, exclusive_min=True)
        check_int("num_samples", self.num_samples, minimum=1)
        check_int("seed", self.seed, minimum=0)


@dataclass(frozen=True)
class BayesModelResult:
    """Curves and totals of one model (all losses are negative log densities, in nats).

    Attributes:
        name: ``"M1"`` or ``"M2"``.
        loss: Per-step ``-log p(y_i | D_<i)`` (exact posterior predictive), shape ``(n,)``.
        sample_loss: Per-step mean ``-log p(y_i | theta)`` over posterior samples, shape ``(n,)``.
        expected_loss: Per-step exact ``-E_{p(theta|D_<i)} log p(y_i | theta)``, shape ``(n,)``.
        train_loss: After step ``i``, the mean expected negative log likelihood of the points seen so
            far under the current posterior (the usual "training loss"), shape ``(n,)``.
        log_evidence: ``log p(D)`` as the sum of the per-step log predictives.
        log_evidence_closed_form: ``log N(y; 0, prior_var Phi Phi^T + noise_var I)``.
        lower_bound: Exact ``L(D) = -sum(expected_loss)``.
        sotl: Sum of ``sample_loss`` (so ``-sotl`` estimates ``lower_bound``).
        final_train_loss: ``train_loss[-1]``.
    """

    name: str
    loss: np.ndarray
    sample_loss: np.ndarray
    expected_loss: np.ndarray
    train_loss: np.ndarray
    log_evidence: float
    log_evidence_closed_form: float
    lower_bound: float
    sotl: float
    final_train_loss: float

    def summary(self) -> dict[str, float]:
        """The scalar results as a JSON-ready dict.

        Example:
            >>> r = run_bayes_linreg(BayesLinRegConfig(n=5, num_samples=4)).models["M2"]
            >>> sorted(r.summary())[:2]
            ['final_train_loss', 'log_evidence']
        """
        return {"log_evidence": self.log_evidence, "log_evidence_closed_form": self.log_evidence_closed_form,
                "lower_bound": self.lower_bound, "sotl": self.sotl, "final_train_loss": self.final_train_loss}


@dataclass(frozen=True)
class BayesLinRegResult:
    """Both models on one data set.

    Attributes:
        config: The setup.
        models: ``{"M1": ..., "M2": ...}``.
    """

    config: BayesLinRegConfig
    models: dict[str, BayesModelResult] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready config and per-model totals.

        Example:
            >>> d = run_bayes_linreg(BayesLinRegConfig(n=5, num_samples=4)).to_dict()
            >>> sorted(d["models"])
            ['M1', 'M2']
        """
        return {"config": asdict(self.config), "models": {k: v.summary() for k, v in self.models.items()}}


def bayes_linreg_data(n: int, seed: int | np.random.Generator | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """The idealised data set ``(X, y)`` of seed 001 §5.1, ``X`` of shape ``(n, n + 1)``.

    Example:
        >>> X, y = bayes_linreg_data(3, seed=0)
        >>> X.shape, int((X[:, 1:] != 0).sum())
        ((3, 4), 3)
    """
    n = check_int("n", n, minimum=1)
    rng = as_generator(seed)
    y = rng.standard_normal(n)
    X = np.zeros((n, n + 1))
    X[:, 0] = y + rng.standard_normal(n)
    X[np.arange(n), np.arange(n) + 1] = rng.standard_normal(n)
    return X, y


def _features(X: np.ndarray, model: str) -> np.ndarray:
    return X if model == "M1" else X[:, :1]


def batch_posterior(Phi: np.ndarray, y: np.ndarray, prior_var: float, noise_var: float) -> tuple[np.ndarray, np.ndarray]:
    """Posterior mean and covariance of the weights given all of ``(Phi, y)`` at once.

    Example:
        >>> mean, cov = batch_posterior(np.ones((4, 1)), np.ones(4), 1.0, 1.0)
        >>> round(float(mean[0]), 3), round(float(cov[0, 0]), 3)
        (0.8, 0.2)
    """
    Phi = np.asarray(Phi, dtype=float)
    precision = np.eye(Phi.shape[1]) / prior_var + Phi.T @ Phi / noise_var
    cov = np.linalg.inv(precision)
    cov = (cov + cov.T) / 2
    return cov @ Phi.T @ np.asarray(y, dtype=float) / noise_var, cov


def sequential_posterior(
    Phi: np.ndarray, y: np.ndarray, prior_var: float, noise_var: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Update the posterior one point at a time (rank-one, exact).

    Returns:
        ``(pred_mean, pred_var, mean, cov)``: the posterior predictive mean and variance of each
        ``y_i`` given ``D_<i`` (shape ``(n,)``), and the final posterior mean ``(d,)`` and
        covariance ``(d, d)``.

    Example:
        >>> pm, pv, mean, cov = sequential_posterior(np.ones((4, 1)), np.ones(4), 1.0, 1.0)
        >>> float(pm[0]), float(pv[0]), round(float(mean[0]), 3)
        (0.0, 2.0, 0.8)
    """
    pm, pv, states = _sequential(np.asarray(Phi, dtype=float), np.asarray(y, dtype=float), prior_var, noise_var)
    return pm, pv, states[-1][0], states[-1][1]


def _sequential(Phi: np.ndarray, y: np.ndarray, prior_var: float, noise_var: float,
                keep: bool = False) -> tuple[np.ndarray, np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    n, d = Phi.shape
    mean = np.zeros(d)
    cov = np.eye(d) * prior_var
    pm, pv = np.empty(n), np.empty(n)
    states = [(mean, cov)]
    for i in range(n):
        phi = Phi[i]
        s = cov @ phi
        pm[i] = phi @ mean
        pv[i] = noise_var + phi @ s
        gain = s / pv[i]
        mean = mean + gain * (y[i] - pm[i])
        cov = cov - np.outer(gain, s)
        cov = (cov + cov.T) / 2
        if keep:
            states.append((mean, cov))
        else:
            states[0] = (mean, cov)
    return pm, pv, states


def log_evidence(Phi: np.ndarray, y: np.ndarray, prior_var: float, noise_var: float) -> float:
    """Closed-form ``log p(y) = log N(y; 0, prior_var Phi Phi^T + noise_var I)`` (Cholesky).

    Example:
        >>> round(log_evidence(np.zeros((1, 1)), np.zeros(1), 1.0, 1.0), 4)  # log N(0; 0, 1)
        -0.9189
    """
    Phi = np.asarray(Phi, dtype=float)
    y = np.asarray(y, dtype=float)
    K = prior_var * Phi @ Phi.T + noise_var * np.eye(len(y))
    L = np.linalg.cholesky(K)
    a = np.linalg.solve(L, y)
    return float(-0.5 * a @ a - np.log(np.diag(L)).sum() - 0.5 * len(y) * _LOG_2PI)


def _gauss_nll(y: np.ndarray | float, mean: np.ndarray | float, var: np.ndarray | float) -> np.ndarray:
    return 0.5 * (_LOG_2PI + np.log(var) + (y - mean) ** 2 / var)


def _model(X: np.ndarray, y: np.ndarray, name: str, cfg: BayesLinRegConfig,
           rng: np.random.Generator) -> BayesModelResult:
    Phi = _features(X, name)
    n, d = Phi.shape
    s2 = cfg.noise_var
    pm, pv, states = _sequential(Phi, y, cfg.prior_var, s2, keep=True)
    loss = _gauss_nll(y, pm, pv)
    fvar = pv - s2  # variance of phi^T theta under p(theta | D_<i)
    expected = 0.5 * (_LOG_2PI + math.log(s2)) + ((y - pm) ** 2 + fvar) / (2 * s2)
    sample = np.empty(n)
    train = np.empty(n)
    for i in range(n):
        mean, cov = states[i]
        chol = np.linalg.cholesky(cov + 1e-12 * np.eye(d))
        theta = mean + rng.standard_normal((cfg.num_samples, d)) @ chol.T
        sample[i] = _gauss_nll(y[i], theta @ Phi[i], s2).mean()
        m1, c1 = states[i + 1]  # after seeing point i
        seen = Phi[: i + 1]
        var_f = ((seen @ c1) * seen).sum(axis=1)
        train[i] = float(np.mean(0.5 * (_LOG_2PI + math.log(s2)) + ((y[: i + 1] - seen @ m1) ** 2 + var_f) / (2 * s2)))
    return BayesModelResult(
        name=name, loss=loss, sample_loss=sample, expected_loss=expected, train_loss=train,
        log_evidence=float(-loss.sum()), log_evidence_closed_form=log_evidence(Phi, y, cfg.prior_var, s2),
        lower_bound=float(-expected.sum()), sotl=float(sample.sum()), final_train_loss=float(train[-1]),
    )


def run_bayes_linreg(config: BayesLinRegConfig | None = None) -> BayesLinRegResult:
    """Sequential Bayesian updating of M1 and M2 on one data set: losses, evidence, bound, SoTL.

    Example:
        >>> r = run_bayes_linreg(BayesLinRegConfig(n=30, num_samples=20, seed=0))
        >>> r.models["M2"].sotl < r.models["M1"].sotl, r.models["M2"].log_evidence > r.models["M1"].log_evidence
        (True, True)
    """
    cfg = BayesLinRegConfig() if config is None else config
    if not isinstance(cfg, BayesLinRegConfig):
        from ..exceptions import ConfigError

        raise ConfigError(f"config must be a BayesLinRegConfig, got {type(cfg).__name__}")
    rng = as_generator(cfg.seed)
    X, y = bayes_linreg_data(cfg.n, rng)
    return BayesLinRegResult(cfg, {name: _model(X, y, name, cfg, rng) for name in MODELS})
