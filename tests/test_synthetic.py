"""nasrank.synthetic: exactness (sequential == batch posterior, evidence == closed form, unrolled
hypergradient == finite differences) and behaviour (M2 beats M1, k=3 wins, CLI)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from nasrank.cli import main
from nasrank.exceptions import ConfigError
from nasrank.synthetic import (
    BayesLinRegConfig,
    FourierConfig,
    LRHypergradConfig,
    batch_posterior,
    bayes_linreg_data,
    fixed_degree_sotl,
    fourier_data,
    fourier_gate,
    log_evidence,
    lr_hypergradient_run,
    maxdeg_search,
    run_bayes_linreg,
    sequential_posterior,
    sotl_hypergradient,
)


@pytest.fixture(autouse=True)
def _one_thread():
    from threadpoolctl import threadpool_limits

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        yield
    torch.set_num_threads(old)


# --- exactness -------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["M1", "M2"])
def test_sequential_update_equals_batch_posterior(model: str) -> None:
    X, y = bayes_linreg_data(25, seed=3)
    Phi = X if model == "M1" else X[:, :1]
    _, _, mean, cov = sequential_posterior(Phi, y, prior_var=1.3, noise_var=0.7)
    bmean, bcov = batch_posterior(Phi, y, prior_var=1.3, noise_var=0.7)
    np.testing.assert_allclose(mean, bmean, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(cov, bcov, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("model", ["M1", "M2"])
def test_log_evidence_matches_closed_form(model: str) -> None:
    X, y = bayes_linreg_data(30, seed=1)
    Phi = X if model == "M1" else X[:, :1]
    s2, p2 = 0.5, 2.0
    ref = multivariate_normal(mean=np.zeros(len(y)), cov=p2 * Phi @ Phi.T + s2 * np.eye(len(y))).logpdf(y)
    pm, pv, _, _ = sequential_posterior(Phi, y, p2, s2)
    chain = float(np.sum(-0.5 * (np.log(2 * np.pi * pv) + (y - pm) ** 2 / pv)))
    assert chain == pytest.approx(ref, rel=1e-10)
    assert log_evidence(Phi, y, p2, s2) == pytest.approx(ref, rel=1e-10)


def test_run_bayes_linreg_evidence_and_bound() -> None:
    r = run_bayes_linreg(BayesLinRegConfig(n=40, num_samples=2000, seed=2))
    for m in r.models.values():
        assert m.log_evidence == pytest.approx(m.log_evidence_closed_form, rel=1e-10)
        assert m.lower_bound <= m.log_evidence  # Jensen
        assert -m.sotl == pytest.approx(m.lower_bound, rel=0.05)  # sampled SoTL estimates -L


def test_sotl_hypergradient_equals_finite_difference_maxdeg() -> None:
    cfg = FourierConfig(n_points=64, num_terms=4, noise_std=0.3, batch_size=8, lr=0.1, seed=4)
    _, X, y = fourier_data(cfg, dtype=torch.float64)
    degrees = torch.arange(cfg.num_terms + 1, dtype=torch.float64)
    batches = [np.arange(i * 8, i * 8 + 8) % 32 for i in range(6)]
    w0 = [torch.linspace(-0.5, 0.5, cfg.num_terms + 1, dtype=torch.float64)]

    def sotl_at(value: float) -> tuple[float, float]:
        m = torch.tensor(value, dtype=torch.float64, requires_grad=True)

        def loss(ws: list[torch.Tensor], b: np.ndarray) -> torch.Tensor:
            r = X[b] @ (ws[0] * fourier_gate(m, degrees)) - y[b]
            return (r * r).mean()

        s, g = sotl_hypergradient(loss, w0, batches, cfg.lr, m)
        return s, float(g)

    m0, h = 1.7, 1e-6
    _, grad = sotl_at(m0)
    fd = (sotl_at(m0 + h)[0] - sotl_at(m0 - h)[0]) / (2 * h)
    assert grad == pytest.approx(fd, rel=1e-6, abs=1e-9)
    assert abs(grad) > 1e-3  # the check is not vacuous


def test_sotl_hypergradient_equals_finite_difference_learning_rate() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(24, 5, generator=g, dtype=torch.float64)
    t = torch.randint(0, 3, (24,), generator=g)
    w0 = [torch.randn(3, 5, generator=g, dtype=torch.float64) * 0.3]
    batches = [slice(i * 6, i * 6 + 6) for i in range(4)]

    def sotl_at(value: float) -> tuple[float, float]:
        eta = torch.tensor(value, dtype=torch.float64, requires_grad=True)
        return tuple(map(float, sotl_hypergradient(
            lambda ws, b: torch.nn.functional.cross_entropy(x[b] @ ws[0].T, t[b]), w0, batches, eta, eta)))

    _, grad = sotl_at(0.3)
    fd = (sotl_at(0.3 + 1e-6)[0] - sotl_at(0.3 - 1e-6)[0]) / 2e-6
    assert grad == pytest.approx(fd, rel=1e-6)


# --- behaviour -------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_m2_beats_m1(seed: int) -> None:
    r = run_bayes_linreg(BayesLinRegConfig(n=50, num_samples=50, seed=seed))
    m1, m2 = r.models["M1"], r.models["M2"]
    assert m2.sotl < m1.sotl
    assert m2.log_evidence > m1.log_evidence
    assert m1.final_train_loss < m2.final_train_loss  # the final training loss picks the wrong model


def test_fixed_degree_true_degree_has_lowest_sotl() -> None:
    r = fixed_degree_sotl(FourierConfig(n_points=2000, fixed_degrees=(0, 1, 2, 3, 5, 9, 15), fixed_steps=150))
    assert r.best_degree == 3
    assert r.sotl[0] > r.sotl[1] > r.sotl[2] > r.sotl[3]  # underfitting models train slower


def test_maxdeg_moves_towards_true_degree() -> None:
    cfg = FourierConfig(n_points=2000)
    low = maxdeg_search(cfg, T=25, init=-1.0, steps=400)
    assert low.final > 1.5
    high = maxdeg_search(cfg, T=25, init=7.0, steps=400)
    assert high.final < 7.0


def test_lr_hypergradient_raises_a_too_small_learning_rate() -> None:
    r = lr_hypergradient_run(LRHypergradConfig(epochs=1, hidden=16), T=10)
    assert r.final_lr > 1e-3
    assert 0.0 <= r.final_test_acc <= 100.0


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match="`n` must be an int >= 1"):
        BayesLinRegConfig(n=0)
    with pytest.raises(ConfigError, match="true_degree"):
        FourierConfig(num_terms=2, true_degree=3)
    with pytest.raises(ConfigError, match="objective"):
        maxdeg_search(FourierConfig(n_points=100, num_terms=4), objective="bogus", steps=1)
    with pytest.raises(ConfigError, match="config must be"):
        run_bayes_linreg(FourierConfig())  # type: ignore[arg-type]


# --- CLI -------------------------------------------------------------------------------------
def test_cli_bayes_linreg_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synthetic", "bayes-linreg", "--n", "30", "--samples", "20", "--seed", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    m1, m2 = data["models"]["M1"], data["models"]["M2"]
    assert m2["sotl"] < m1["sotl"] and m2["log_evidence"] > m1["log_evidence"]
    assert data["config"]["seed"] == 1


def test_cli_bayes_linreg_table_and_plot(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "fig.png"
    assert main(["synthetic", "bayes-linreg", "--n", "10", "--samples", "5", "--plot", str(out)]) == 0
    text = capsys.readouterr().out
    assert "M2 SoTL < M1 SoTL: True" in text and out.stat().st_size > 0


@pytest.mark.parametrize("argv", [
    ["synthetic", "bayes-linreg", "--n", "0"],
    ["synthetic", "fourier", "--seed", "-1"],
    ["synthetic", "lr-hypergradient", "--epochs", "x"],
    ["synthetic", "bayes-linreg", "--plot", "/nonexistent-dir/x.png"],
    ["synthetic", "nope"],
])
def test_cli_bad_input_is_one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: ")


@pytest.mark.slow
def test_cli_fourier_and_lr_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synthetic", "fourier", "--steps", "200", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["fixed"]["best_degree"] == 3
    assert main(["synthetic", "lr-hypergradient", "--epochs", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["label"] for r in data["runs"]][:2] == ["fixed", "val"]
