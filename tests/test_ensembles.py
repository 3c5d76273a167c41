"""Label-free rank aggregation of proxy score tables (nasrank.evaluation.ensembles)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import rankdata

from nasrank.evaluation.ensembles import (
    AZ_NAS_COMPONENTS,
    aggregate,
    az_nas_aggregate,
    log_rank_sum,
    mean_rank,
    rank_table,
)
from nasrank.exceptions import ConfigError

NAN = float("nan")


def test_ranks_respect_sign_and_ties() -> None:
    r = rank_table({"a": [3.0, 1.0, 1.0, 2.0], "b": [3.0, 1.0, 1.0, 2.0]},
                   higher_is_better={"a": True, "b": False})
    assert r["a"].tolist() == [4.0, 1.5, 1.5, 3.0]
    assert r["b"].tolist() == [1.0, 3.5, 3.5, 2.0]


def test_registered_proxies_bring_their_sign() -> None:
    # every registered proxy declares higher_is_better; snip: higher is better
    assert rank_table({"snip": [0.1, 0.3, 0.2]})["snip"].tolist() == [1.0, 3.0, 2.0]
    with pytest.raises(ConfigError, match="no sign for 'accuracy'"):
        rank_table({"accuracy": [1.0, 2.0]})


def test_mean_rank_and_log_rank_sum_match_direct_formulas() -> None:
    rng = np.random.default_rng(0)
    table = {f"p{j}": rng.normal(size=12).round(1) for j in range(4)}  # rounding makes ties
    signs = {"p0": True, "p1": False, "p2": True, "p3": True}
    ranks = np.stack([rankdata(v if signs[k] else -v) for k, v in table.items()], axis=1)
    np.testing.assert_allclose(mean_rank(table, signs), ranks.mean(axis=1))
    np.testing.assert_allclose(log_rank_sum(table, signs), np.log(ranks / 12).sum(axis=1))
    np.testing.assert_allclose(aggregate(table, "log_rank", signs), log_rank_sum(table, signs))
    np.testing.assert_allclose(aggregate(table, "Mean-Rank", signs), mean_rank(table, signs))


def test_az_nas_aggregate_is_the_reference_notebook_formula() -> None:
    rng = np.random.default_rng(1)
    table = {c: rng.normal(size=20) for c in AZ_NAS_COMPONENTS}
    table["snip"] = rng.normal(size=20)  # extra columns are ignored
    ref = sum(np.log(rankdata(table[c]) / 20) for c in AZ_NAS_COMPONENTS)
    np.testing.assert_allclose(az_nas_aggregate(table), ref)
    assert int(np.argmax(az_nas_aggregate(table))) == int(np.argmax(ref))
    with pytest.raises(ConfigError, match="flops"):
        az_nas_aggregate({c: [1.0] for c in AZ_NAS_COMPONENTS[:3]})


def test_nan_worst_is_the_reference_minus_inf() -> None:
    x = np.array([0.3, NAN, 0.1, NAN, 0.2])
    r = rank_table({"a": x}, higher_is_better=True)["a"]
    assert r.tolist() == [5.0, 1.5, 3.0, 1.5, 4.0]
    assert r.tolist() == rankdata(np.where(np.isnan(x), -np.inf, x)).tolist()
    # NaN ranks even below -inf
    assert rank_table({"a": [-math.inf, NAN]}, True)["a"].tolist() == [2.0, 1.0]


def test_nan_omit_and_propagate() -> None:
    table = {"a": [1.0, 2.0, NAN, 3.0], "b": [4.0, 3.0, 2.0, NAN]}
    # omit: a ranks [1, 2, -, 3] of 3, b ranks [3, 2, 1, -] of 3
    np.testing.assert_allclose(mean_rank(table, True, "omit"), [2.0, 2.0, 1.0, 3.0])
    lr = log_rank_sum(table, True, "omit")
    expect = [math.log(1 / 3) + math.log(3 / 3), math.log(2 / 3) * 2, 2 * math.log(1 / 3), 2 * math.log(3 / 3)]
    np.testing.assert_allclose(lr, expect)
    prop = mean_rank(table, True, "propagate")
    assert np.isnan(prop[2]) and np.isnan(prop[3]) and prop[:2].tolist() == [2.0, 2.0]
    assert np.isnan(rank_table(table, True, "propagate")["a"][2])
    all_nan = mean_rank({"a": [NAN, 1.0], "b": [NAN, 2.0]}, True, "omit")
    assert np.isnan(all_nan[0]) and all_nan[1] == 1.0


def test_single_architecture_and_bad_input() -> None:
    assert log_rank_sum({"a": [5.0]}, True).tolist() == [0.0]
    with pytest.raises(ConfigError, match="same non-zero length"):
        mean_rank({"a": [1.0, 2.0], "b": [1.0]}, True)
    with pytest.raises(ConfigError, match="non-empty mapping"):
        mean_rank({}, True)
    with pytest.raises(ConfigError, match="nan_policy"):
        mean_rank({"a": [1.0]}, True, "drop")
    with pytest.raises(ConfigError, match="method"):
        aggregate({"a": [1.0]}, "median", True)
    with pytest.raises(ConfigError, match="1-D"):
        mean_rank({"a": [[1.0]]}, True)
