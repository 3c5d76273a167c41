"""Hand-computed tests of the learning-curve estimators, LcSVR and the effective-budget rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

import nasrank
from nasrank.estimators import (
    GAMMA_PAPER,
    GAMMA_RELEASED_CODE,
    LcSVR,
    create_estimator,
    effective_training_budget,
    list_estimators,
    overfit_epoch,
)
from nasrank.exceptions import ConfigError, UnknownNameError
from nasrank.training import LearningCurve

CURVE_ESTIMATORS = [n for n in list_estimators() if n != "lcsvr"]


@pytest.fixture
def curve() -> LearningCurve:
    return LearningCurve(
        train_loss=[4.0, 2.0, 1.0, 0.5],
        train_acc=[0.1, 0.3, 0.6, 0.8],
        val_loss=[3.0, 2.5, 2.0, 2.2],
        val_acc=[0.2, 0.3, 0.5, 0.45],
        minibatch_loss=[5, 3, 2.5, 1.5, 1.25, 0.75, 0.6, 0.4],
        steps_per_epoch=2,
        sog=[1.0, 3.0, 4.0, 4.5],
        sogn=[2.0, 5.0, 7.0, 9.0],
    )


def test_registry_and_public_api() -> None:
    assert set(list_estimators()) == {
        "tse", "tse-e", "tse-ema", "sovl", "sovl-e", "vacc-es", "tl-mini",
        "sotacc", "sovacc", "sog", "sogn", "lcsvr",
    }
    assert nasrank.list_estimators() == list_estimators()
    assert isinstance(nasrank.create_estimator("tse"), type(create_estimator("tse")))
    with pytest.raises(UnknownNameError, match="Did you mean 'tse-ema'"):
        create_estimator("tse-emaa")


@pytest.mark.parametrize(
    "name, params, epochs, expected",
    [
        ("tse", {}, 1, 4.0),
        ("tse", {}, 3, 7.0),
        ("tse", {}, 4, 7.5),
        ("tse-e", {}, 4, 0.5),
        ("tse-e", {"E": 2}, 4, 1.5),
        ("tse-e", {"E": 3}, 3, 7.0),  # E == T -> TSE
        ("tse-ema", {"gamma": 0.5}, 3, 4.0 * 0.25 + 2.0 * 0.5 + 1.0),
        ("tse-ema", {"gamma": 1.0}, 4, 7.5),  # gamma 1 -> TSE
        ("tse-ema", {"gamma": 0.0}, 4, 0.5),  # gamma 0 -> last epoch
        ("tse-ema", {"gamma": 0.0}, 1, 4.0),
        ("sovl", {}, 2, 5.5),
        ("sovl-e", {"E": 2}, 4, 4.2),
        ("vacc-es", {}, 3, 0.5),
        ("vacc-es", {}, 4, 0.45),
        ("tl-mini", {}, 2, 1.5),
        ("tl-mini", {"step": 0}, 4, 0.6),
        ("sotacc", {}, 3, 1.0),
        ("sotacc", {"E": 1}, 3, 0.6),
        ("sovacc", {}, 2, 0.5),
        ("sovacc", {"E": 2}, 4, 0.95),
        ("sog", {}, 2, 3.0),
        ("sogn", {}, 4, 9.0),
    ],
)
def test_hand_computed_values(curve: LearningCurve, name: str, params: dict, epochs: int, expected: float) -> None:
    assert create_estimator(name, **params).compute(curve, epochs) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", CURVE_ESTIMATORS)
def test_score_sign_convention(curve: LearningCurve, name: str) -> None:
    est = create_estimator(name)
    raw, score = est.compute(curve, 3), est.score(curve, 3)
    assert isinstance(est.higher_is_better, bool)
    assert score == (raw if est.higher_is_better else -raw)


def test_higher_is_better_flags() -> None:
    better_high = {n for n in CURVE_ESTIMATORS + ["lcsvr"] if create_estimator(n).higher_is_better}
    assert better_high == {"vacc-es", "sotacc", "sovacc", "sog", "sogn", "lcsvr"}


def test_tse_ema_default_gamma_and_released_code_equivalence() -> None:
    assert create_estimator("tse-ema").gamma == GAMMA_PAPER == 0.999
    losses = np.array([2.3, 1.9, 1.4, 1.2, 0.9, 0.85])
    c = LearningCurve(train_loss=losses)
    # the authors' released recursion: ema_0 = L_0, ema_t = 0.1 ema_{t-1} + 0.9 L_t
    for T in range(1, len(losses) + 1):
        ema = losses[0]
        for t in range(1, T):
            ema = 0.1 * ema + 0.9 * losses[t]
        ours = create_estimator("tse-ema", gamma=GAMMA_RELEASED_CODE).compute(c, T)
        assert ema == pytest.approx(0.9 * ours + 0.1**T * losses[0], rel=1e-12)


def test_parameter_validation(curve: LearningCurve) -> None:
    for bad in (-0.1, 1.5, "0.9", True):
        with pytest.raises(ConfigError, match="gamma"):
            create_estimator("tse-ema", gamma=bad)
    for bad in (0, -1, 1.5):
        with pytest.raises(ConfigError, match="`E` must be an int >= 1"):
            create_estimator("tse-e", E=bad)
    with pytest.raises(ConfigError, match="window E=3 is larger than the budget epochs=2"):
        create_estimator("tse-e", E=3).compute(curve, 2)
    with pytest.raises(ConfigError, match="`epochs` must be an int >= 1, got 0"):
        create_estimator("tse").compute(curve, 0)
    with pytest.raises(ConfigError, match="tl-mini step=5"):
        create_estimator("tl-mini", step=5).compute(curve, 1)


def test_more_epochs_than_curve_is_an_error(curve: LearningCurve) -> None:
    for name in CURVE_ESTIMATORS:
        with pytest.raises(ConfigError, match="needs 5 epochs but the curve has 4"):
            create_estimator(name).compute(curve, 5)


def test_missing_records_explain_how_to_get_them() -> None:
    c = LearningCurve(train_loss=[1.0, 0.5])
    with pytest.raises(ConfigError, match="pass val_set"):
        create_estimator("sovl").compute(c, 1)
    with pytest.raises(ConfigError, match="track_gradients=True"):
        create_estimator("sog").compute(c, 1)
    with pytest.raises(ConfigError, match="per-minibatch"):
        create_estimator("tl-mini").compute(c, 1)


def test_nan_policy() -> None:
    c = LearningCurve(train_loss=[1.0, math.nan, 0.5], val_acc=[0.1, math.inf, 0.3])
    assert math.isnan(create_estimator("tse").compute(c, 3))
    assert create_estimator("tse").compute(c, 1) == 1.0
    assert math.isnan(create_estimator("tse-ema").score(c, 3))
    assert create_estimator("tse-e").compute(c, 3) == 0.5  # NaN outside the window is not read
    assert math.isnan(create_estimator("tse-e", E=2).compute(c, 3))
    assert create_estimator("tse-ema", gamma=0.0).compute(c, 3) == 0.5
    assert math.isnan(create_estimator("vacc-es").compute(c, 2))  # inf -> NaN
    assert create_estimator("vacc-es").compute(c, 3) == 0.3


def test_diverged_short_curve_gives_nan_not_error() -> None:
    c = LearningCurve(train_loss=[2.0, math.nan], diverged=True, planned_epochs=10)
    for name in ("tse", "tse-e", "tse-ema"):
        assert math.isnan(create_estimator(name).score(c, 10))
    assert create_estimator("tse").compute(c, 1) == 2.0


# --- effective training budget (seed 000, App. F, Algorithm 1) ----------------------------------
def test_effective_budget_hand_computed() -> None:
    a = LearningCurve(train_loss=[2.0, 1.0, 0.5, 0.2, 0.15, 0.09, 0.05, 0.01, 0.01, 0.01])  # T_o = 6
    b = LearningCurve(train_loss=[2.0, 0.5, 0.3, 0.2, 0.12, 0.11, 0.08, 0.05, 0.02, 0.01])  # T_o = 7
    never = LearningCurve(train_loss=[2.0] * 10)  # T_o = T_end = 10
    assert overfit_epoch(a) == 6 and overfit_epoch(b) == 7 and overfit_epoch(never) == 10
    assert effective_training_budget([a, b, never]) == 5  # floor(0.9 * 6) = 5
    assert effective_training_budget([b, never]) == 6  # floor(6.3)
    assert effective_training_budget([never]) == 9
    assert effective_training_budget([b], threshold=0.5) == 2  # loss < 0.5 first at epoch 3 -> floor(2.7)
    assert effective_training_budget([b], fraction=1.0) == 7
    assert effective_training_budget([LearningCurve(train_loss=[0.01])]) == 1  # at least 1
    assert effective_training_budget([a], is_overfit=lambda loss: loss <= 0.2) == 3  # floor(3.6)
    nan_curve = LearningCurve(train_loss=[1.0, math.nan, math.nan])
    assert overfit_epoch(nan_curve) == 3  # NaN never counts as overfitting


def test_effective_budget_errors() -> None:
    c = LearningCurve(train_loss=[1.0])
    with pytest.raises(ConfigError, match="at least one"):
        effective_training_budget([])
    with pytest.raises(ConfigError, match="fraction"):
        effective_training_budget([c], fraction=0)
    with pytest.raises(ConfigError, match="fraction"):
        effective_training_budget([c], fraction=1.5)
    with pytest.raises(ConfigError, match="threshold"):
        effective_training_budget([c], threshold=0)
    with pytest.raises(ConfigError, match="no epochs"):
        effective_training_budget([LearningCurve(train_loss=[])])
    with pytest.raises(ConfigError, match="LearningCurve"):
        effective_training_budget([[1.0, 0.5]])  # type: ignore[list-item]


# --- LcSVR ---------------------------------------------------------------------------------------
def _parametric_curves(n: int, seed: int, t_end: int = 50) -> list[LearningCurve]:
    """Validation accuracy a * (1 - exp(-r t)) + noise: slow learners can end up best."""
    rng = np.random.default_rng(seed)
    t = np.arange(1, t_end + 1)
    curves = []
    for _ in range(n):
        a, r = rng.uniform(0.5, 0.95), rng.uniform(0.03, 0.6)
        vc = a * (1 - np.exp(-r * t)) + rng.normal(0, 0.002, t_end)
        curves.append(LearningCurve(train_loss=np.ones(t_end), val_acc=vc))
    return curves


def test_lcsvr_beats_last_observed_value() -> None:
    train, test = _parametric_curves(120, 0), _parametric_curves(100, 1)
    T = 6
    truth = np.array([c.val_acc[-1] for c in test])
    est = LcSVR(n_search=40, seed=0).fit(train, epochs=T)
    pred = est.predict(test)
    rho_svr = spearmanr(pred, truth).statistic
    rho_last = spearmanr([c.val_acc[T - 1] for c in test], truth).statistic
    assert rho_svr > rho_last + 0.05, (rho_svr, rho_last)
    assert rho_svr > 0.8
    assert est.score(test[0], T) == pytest.approx(pred[0])
    assert set(est.best_params_) == {"C", "nu", "gamma"}


def test_lcsvr_deterministic_and_errors() -> None:
    curves = _parametric_curves(30, 2, t_end=10)
    a = LcSVR(n_search=5, seed=3).fit(curves, epochs=3)
    b = LcSVR(n_search=5, seed=3).fit(curves, epochs=3)
    assert a.best_params_ == b.best_params_
    with pytest.raises(ConfigError, match="not fitted"):
        LcSVR().compute(curves[0], 3)
    with pytest.raises(ConfigError, match="fitted for epochs=3"):
        a.compute(curves[0], 4)
    with pytest.raises(ConfigError, match="at least 6 finite"):
        LcSVR(n_search=2).fit(curves[:4], epochs=3)
    with pytest.raises(ConfigError, match="needs 11 epochs"):
        LcSVR(n_search=2).fit(curves, epochs=11)
    # targets can be given explicitly; a NaN curve is dropped from fitting, predicted as NaN
    bad = LearningCurve(train_loss=np.ones(10), val_acc=np.full(10, np.nan))
    est = LcSVR(n_search=3).fit(curves + [bad], targets=[c.val_acc[-1] for c in curves] + [0.5], epochs=3)
    assert est.n_dropped_ == 1
    assert math.isnan(est.compute(bad, 3))
