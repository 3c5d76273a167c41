"""Rank metrics: against scipy on random data, hand-worked examples, NaN rule and edge cases."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr

from nasrank.evaluation import (
    bootstrap_ci,
    finite_pairs,
    get_metric,
    kendall_tau,
    precision_at_k,
    regret,
    sparse_kendall_tau,
    spearman,
    top_k_mean,
)
from nasrank.evaluation.metrics import _SpearmanResampler
from nasrank.exceptions import ConfigError, UnknownNameError


@pytest.mark.parametrize("seed", range(5))
def test_spearman_and_kendall_match_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 300))
    t = rng.normal(size=n)
    s = t * rng.uniform(-1, 1) + rng.normal(size=n)
    if seed % 2:  # with ties on both sides
        s, t = np.round(s), np.round(t * 2) / 2
    assert spearman(s, t) == pytest.approx(spearmanr(s, t).statistic, abs=1e-12)
    assert kendall_tau(s, t) == pytest.approx(kendalltau(s, t).statistic, abs=1e-12)
    assert kendall_tau(s, t, variant="c") == pytest.approx(kendalltau(s, t, variant="c").statistic, abs=1e-12)


def test_nan_pairs_are_dropped_like_scipy_omit() -> None:
    rng = np.random.default_rng(0)
    s, t = rng.normal(size=50), rng.normal(size=50)
    s[[3, 7]] = np.nan
    t[[7, 11]] = np.inf
    kept_s, kept_t, dropped = finite_pairs(s, t)
    assert dropped == 3 and len(kept_s) == 47
    ok = np.isfinite(s) & np.isfinite(t)
    assert spearman(s, t) == pytest.approx(spearmanr(s[ok], t[ok]).statistic)
    assert kendall_tau(s, t) == pytest.approx(kendalltau(s[ok], t[ok]).statistic)


def test_sparse_kendall_hand_worked() -> None:
    # Targets 0.9001 and 0.9004 fall in one 0.1% bin. Pairs: (0,1) discordant before, tie after;
    # (0,2), (1,2) concordant. tau-b = (C - D) / sqrt((n0 - n1)(n0 - n2)) = 2 / sqrt(3 * 2).
    s, t = [1, 2, 3], [0.9004, 0.9001, 0.95]
    assert kendall_tau(s, t) == pytest.approx(1 / 3)
    assert sparse_kendall_tau(s, t) == pytest.approx(2 / math.sqrt(6))
    # a finer precision keeps them apart
    assert sparse_kendall_tau(s, t, precision=1e-4) == pytest.approx(1 / 3)
    # percentages with precision 0.1 give the same as fractions with 0.001
    assert sparse_kendall_tau(s, [90.04, 90.01, 95.0], precision=0.1) == pytest.approx(2 / math.sqrt(6))


def test_sparse_kendall_hand_worked_four_items_and_floor() -> None:
    # targets (fractions) -> 0.1% bins (round): 0.7001->700, 0.7004->700, 0.7006->701, 0.7100->710
    s = [4.0, 3.0, 2.0, 1.0]  # ranks the items in reverse order of the targets
    t = [0.7001, 0.7004, 0.7006, 0.7100]
    # all 6 pairs discordant on raw values
    assert kendall_tau(s, t) == pytest.approx(-1.0)
    # binned: pair (0,1) tied in t -> 5 discordant, 0 concordant; n0 = 6, ties_t = 1, ties_s = 0
    assert sparse_kendall_tau(s, t) == pytest.approx(-5 / math.sqrt(6 * 5))
    # floor: 700, 700, 700, 710 -> 3 tied pairs in t, 3 discordant
    assert sparse_kendall_tau(s, t, method="floor") == pytest.approx(-3 / math.sqrt(6 * 3))
    # exact bin edges do not suffer from float error: 0.812 / 0.001 = 811.999... stays in bin 812,
    # so it ties with 0.8125 (a constant target: tau undefined) instead of ranking below it
    assert math.isnan(sparse_kendall_tau([1, 2], [0.812, 0.8125], method="floor"))
    assert sparse_kendall_tau([1, 2], [0.811, 0.8125], method="floor") == 1.0


def test_sparse_kendall_score_precision_and_matches_nb301_style() -> None:
    rng = np.random.default_rng(3)
    t = rng.uniform(85, 95, 200)  # percent
    s = t + rng.normal(0, 1, 200)
    # NAS-Bench-301's kendall_tau_1_dec rounds the *predictions* to one decimal (of a percent)
    ref = kendalltau(t, np.round(s, 1)).statistic
    assert sparse_kendall_tau(t, s, precision=0.1) == pytest.approx(ref, abs=1e-12)
    assert sparse_kendall_tau(s, t, precision=1e-9, score_precision=0.1) == pytest.approx(ref, abs=1e-12)


def test_top_k_precision_regret_hand_worked() -> None:
    s = [0.9, 0.1, 0.5, 0.7, 0.3]
    t = [0.80, 0.95, 0.85, 0.70, 0.90]
    # estimator order: 0 (0.80), 3 (0.70), 2 (0.85), 4 (0.90), 1 (0.95)
    assert top_k_mean(s, t, k=1) == pytest.approx(0.80)
    assert top_k_mean(s, t, k=2) == pytest.approx(0.75)
    assert top_k_mean(s, t, k=5) == pytest.approx(np.mean(t))
    # true top-2 = {1, 4}; estimator top-2 = {0, 3}
    assert precision_at_k(s, t, k=2) == 0.0
    assert precision_at_k(s, t, k=3) == pytest.approx(1 / 3)  # {0,3,2} vs {1,4,2}
    assert precision_at_k(s, t, k=5) == 1.0
    assert regret(s, t) == pytest.approx(0.15)
    assert regret(t, t) == 0.0


def test_top_k_nan_rule_and_ties() -> None:
    s = [np.nan, 0.5, 0.5, 0.1]
    t = [0.99, 0.6, 0.7, 0.8]
    # the NaN-scored architecture is dropped; tie between 1 and 2 goes to the earlier entry
    assert top_k_mean(s, t, k=1) == pytest.approx(0.6)
    assert regret(s, t) == pytest.approx(0.8 - 0.6)


def test_k_errors_are_clear() -> None:
    with pytest.raises(ConfigError, match="exceeds the number of architectures"):
        top_k_mean([1, 2, 3], [1, 2, 3], k=4)
    with pytest.raises(ConfigError, match="left after dropping 1"):
        precision_at_k([1, 2, np.nan], [1, 2, 3], k=3)
    with pytest.raises(ConfigError, match="int >= 1"):
        top_k_mean([1, 2], [1, 2], k=0)
    with pytest.raises(ConfigError, match="int >= 1"):
        precision_at_k([1, 2], [1, 2], k=1.5)


def test_degenerate_inputs() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no scipy ConstantInputWarning leaks
        assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))
        assert math.isnan(kendall_tau([1, 2, 3], [5, 5, 5]))
        assert math.isnan(spearman([np.nan] * 4, [1, 2, 3, 4]))
        assert math.isnan(spearman([1.0], [2.0]))
        assert math.isnan(sparse_kendall_tau([1, 2, 3], [0.90001, 0.90002, 0.90003]))
    assert bootstrap_ci("spearman", [np.nan] * 3, [1, 2, 3]) == (pytest.approx(np.nan, nan_ok=True),) * 2
    with pytest.raises(ConfigError, match="all 2 were NaN"):
        regret([np.nan, np.nan], [1, 2])
    with pytest.raises(ConfigError, match="same length"):
        spearman([1, 2, 3], [1, 2])
    with pytest.raises(ConfigError, match="1-D"):
        spearman([[1, 2]], [[1, 2]])
    with pytest.raises(UnknownNameError, match="Available"):
        get_metric("pearson")


def test_bootstrap_spearman_vectorised_equals_loop() -> None:
    rng = np.random.default_rng(1)
    for n, ties in ((120, False), (25, True), (4, True)):
        s = rng.normal(size=n)
        t = s + rng.normal(size=n)
        if ties:
            s, t = np.round(s), np.round(2 * t) / 2
        fast = _SpearmanResampler(t, 300, 7).replicates(s)
        idx = np.random.default_rng(7).integers(0, n, size=(300, n))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            slow = np.array([spearmanr(s[i], t[i]).statistic for i in idx])
        assert np.array_equal(np.isnan(fast), np.isnan(slow))
        ok = ~np.isnan(slow)
        assert np.allclose(fast[ok], slow[ok], atol=1e-12)
    # and bootstrap_ci's spearman fast path equals its generic loop (a wrapped callable)
    s, t = rng.normal(size=60), rng.normal(size=60)
    assert bootstrap_ci("spearman", s, t, n_boot=200, seed=3) == pytest.approx(
        bootstrap_ci(lambda a, b: spearman(a, b), s, t, n_boot=200, seed=3))


def test_bootstrap_ci_properties() -> None:
    rng = np.random.default_rng(0)
    t = rng.normal(size=150)
    s = t + rng.normal(size=150)
    lo, hi = bootstrap_ci("spearman", s, t, n_boot=400, seed=0)
    assert lo < spearman(s, t) < hi
    assert bootstrap_ci("spearman", s, t, n_boot=400, seed=0) == (lo, hi)  # seeded
    lo90, hi90 = bootstrap_ci("spearman", s, t, n_boot=400, seed=0, confidence=0.9)
    assert lo <= lo90 <= hi90 <= hi
    klo, khi = bootstrap_ci("kendall", s, t, n_boot=100, seed=0)
    assert klo < kendall_tau(s, t) < khi
    plo, phi = bootstrap_ci(precision_at_k, s, t, n_boot=100, seed=0, k=10)
    assert 0.0 <= plo <= phi <= 1.0
    with pytest.raises(ConfigError, match="n_boot"):
        bootstrap_ci("spearman", s, t, n_boot=0)
    with pytest.raises(ConfigError, match="confidence"):
        bootstrap_ci("spearman", s, t, confidence=1.5)
