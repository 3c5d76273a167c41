"""Few-label supervised proxy combination (nasrank.evaluation.ensembles.FewLabelCombiner)."""

from __future__ import annotations

import numpy as np
import pytest

from nasrank.evaluation import ensembles
from nasrank.evaluation.ensembles import FewLabelCombiner, few_label_study, signed_log
from nasrank.evaluation.metrics import spearman
from nasrank.exceptions import ConfigError

NAN = float("nan")


def _synthetic(n: int = 150, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """y depends on two proxies (one of synflow-like magnitude); a third proxy is pure noise."""
    rng = np.random.default_rng(seed)
    a, b, noise = rng.normal(size=(3, n))
    y = np.tanh(a) + 0.6 * b + 0.2 * rng.normal(size=n)
    return {"a": np.exp(3 * a) * 1e40, "b": b, "noise": noise}, y


def _subset(table: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    return {k: np.asarray(v)[rows] for k, v in table.items()}


@pytest.mark.parametrize("model", ["gbm", "ridge"])
def test_combiner_beats_label_free_baseline_on_held_out(model: str) -> None:
    table, y = _synthetic()
    out = few_label_study(table, y, ks=(30,), repeats=3, model=model, higher_is_better=True)
    row = out["by_k"][0]
    assert row["k"] == 30 and row["repeats"] == 3 and row["n_scored"] == 120
    assert row["spearman_mean"] > out["label_free"] + 0.05
    assert row["spearman_mean"] > 0.8 and row["kendall_mean"] > 0.6
    assert 0.0 <= row["spearman_std"] < 0.1


def test_direct_fit_predict_held_out() -> None:
    table, y = _synthetic(n=120, seed=3)
    tr, te = np.arange(40), np.arange(40, 120)
    for model in ("gbm", "ridge"):
        comb = FewLabelCombiner(model, seed=0).fit(_subset(table, tr), y[tr])
        pred = comb.predict(_subset(table, te))
        assert pred.shape == (80,) and np.isfinite(pred).all()
        assert spearman(pred, y[te]) > 0.75
        assert comb.names_ == ["a", "b", "noise"]


def test_signed_log_orders_and_tames() -> None:
    x = np.array([-1e49, -2.0, 0.0, 1e-3, 1e49, NAN])
    s = signed_log(x)
    assert np.all(np.diff(s[:5]) > 0) and np.isnan(s[5])
    assert abs(s[4]) < 120


def test_nan_becomes_below_training_min() -> None:
    table = {"p": [1.0, NAN, 3.0, 7.0], "q": [NAN, NAN, NAN, NAN]}
    y = [0.0, 1.0, 2.0, 3.0]
    comb = FewLabelCombiner("ridge").fit(table, y)
    assert comb.fill_low_[0] == pytest.approx(np.log1p(1.0) - 1.0)
    assert comb.fill_low_[1] == -1.0  # no number in the column
    # a NaN at predict time is mapped to the *training* fill, whatever else the new table holds
    f = comb.fill_low_[0]
    fill_raw = np.sign(f) * np.expm1(abs(f))  # the inverse of signed_log
    assert signed_log([fill_raw])[0] == pytest.approx(f)
    a = comb.predict({"p": [NAN, 100.0], "q": [NAN, 5.0]})
    b = comb.predict({"p": [fill_raw, 100.0], "q": [NAN, 5.0]})
    assert np.isfinite(a).all()
    assert a[0] == pytest.approx(b[0])
    # gbm accepts NaN / inf too
    g = FewLabelCombiner("gbm").fit({"p": [1.0, NAN, 3.0, float("inf"), 2.0, -float("inf")]},
                                    [1.0, 0.0, 3.0, 4.0, 2.0, 0.0])
    assert np.isfinite(g.predict({"p": [NAN, float("inf"), 2.5]})).all()


def test_encoding_is_used_and_checked() -> None:
    rng = np.random.default_rng(0)
    n = 80
    enc = rng.integers(0, 2, size=(n, 4)).astype(float)
    y = enc @ np.array([2.0, -1.0, 0.5, 0.0]) + 0.05 * rng.normal(size=n)
    table = {"noise": rng.normal(size=n)}
    comb = FewLabelCombiner("ridge").fit(_subset(table, np.arange(40)), y[:40], encoding=enc[:40])
    pred = comb.predict(_subset(table, np.arange(40, n)), encoding=enc[40:])
    assert spearman(pred, y[40:]) > 0.9
    assert comb.encoding_dim_ == 4
    with pytest.raises(ConfigError, match="exactly when"):
        comb.predict(_subset(table, np.arange(40, n)))
    with pytest.raises(ConfigError, match="4 columns"):
        comb.predict(_subset(table, np.arange(40, n)), encoding=enc[40:, :3])
    with pytest.raises(ConfigError, match="one row per architecture"):
        FewLabelCombiner("ridge").fit(table, y, encoding=enc[:10])
    bad = enc.copy()
    bad[0, 0] = NAN
    with pytest.raises(ConfigError, match="finite"):
        FewLabelCombiner("ridge").fit(table, y, encoding=bad)
    out = few_label_study(table, y, ks=(20,), repeats=2, model="ridge", encoding=enc,
                          higher_is_better=True)
    assert out["by_k"][0]["spearman_mean"] > 0.9


def test_predict_before_fit_and_bad_inputs() -> None:
    with pytest.raises(ConfigError, match="not fitted"):
        FewLabelCombiner().predict({"a": [1.0, 2.0]})
    with pytest.raises(ConfigError, match="model"):
        FewLabelCombiner("forest").fit({"a": [1.0, 2.0, 3.0]}, [1.0, 2.0, 3.0])
    with pytest.raises(ConfigError, match="seed"):
        FewLabelCombiner(seed=-1).fit({"a": [1.0, 2.0, 3.0]}, [1.0, 2.0, 3.0])
    with pytest.raises(ConfigError, match="one label per architecture"):
        FewLabelCombiner().fit({"a": [1.0, 2.0, 3.0]}, [1.0, 2.0])
    with pytest.raises(ConfigError, match="finite"):
        FewLabelCombiner().fit({"a": [1.0, 2.0, 3.0]}, [1.0, NAN, 2.0])
    with pytest.raises(ConfigError, match="at least 2"):
        FewLabelCombiner().fit({"a": [1.0]}, [1.0])
    with pytest.raises(ConfigError, match="same non-zero length"):
        FewLabelCombiner().fit({"a": [1.0, 2.0], "b": [1.0]}, [1.0, 2.0])
    comb = FewLabelCombiner("ridge").fit({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, 0.0]}, [1.0, 2.0, 3.0])
    with pytest.raises(ConfigError, match="lacks the proxy"):
        comb.predict({"a": [1.0]})
    # extra columns are ignored
    assert comb.predict({"a": [1.0], "b": [0.0], "c": [9.0]}).shape == (1,)


def test_study_never_scores_a_fitted_architecture(monkeypatch: pytest.MonkeyPatch) -> None:
    table, y = _synthetic(n=60)
    table = dict(table, id=np.arange(60, dtype=float))  # a column that identifies each row
    seen: list[tuple[set[int], set[int]]] = []

    class Spy(FewLabelCombiner):
        def fit(self, table, y, encoding=None):  # type: ignore[override]
            self._fitted_ids = {int(i) for i in table["id"]}
            return super().fit(table, y, encoding)

        def predict(self, table, encoding=None):  # type: ignore[override]
            seen.append((self._fitted_ids, {int(i) for i in table["id"]}))
            return super().predict(table, encoding)

    monkeypatch.setattr(ensembles, "FewLabelCombiner", Spy)
    out = ensembles.few_label_study(table, y, ks=(5, 20), repeats=2, model="ridge", higher_is_better=True)
    assert [r["n_scored"] for r in out["by_k"]] == [55, 40]
    assert len(seen) == 4
    for fitted, scored in seen:
        assert not fitted & scored
        assert fitted | scored == set(range(60))
    assert len({frozenset(f) for f, _ in seen}) == 4  # every repeat draws a different subset


def test_study_is_deterministic_under_seed() -> None:
    table, y = _synthetic(n=60)
    a = few_label_study(table, y, ks=(10, 20), repeats=2, higher_is_better=True, seed=4)
    b = few_label_study(table, y, ks=(10, 20), repeats=2, higher_is_better=True, seed=4)
    c = few_label_study(table, y, ks=(10, 20), repeats=2, higher_is_better=True, seed=5)
    assert a == b
    assert a["by_k"] != c["by_k"]
    assert a["label_free"] == c["label_free"]
    # a k's draws do not depend on the other ks asked for
    d = few_label_study(table, y, ks=(20,), repeats=2, higher_is_better=True, seed=4)
    assert d["by_k"][0] == a["by_k"][1]


@pytest.mark.parametrize("k", [58, 59, 60, 1, 0, True, 2.5])
def test_study_rejects_bad_k(k: object) -> None:
    table, y = _synthetic(n=60)
    with pytest.raises(ConfigError, match="k must be an int"):
        few_label_study(table, y, ks=(k,), repeats=1, higher_is_better=True)  # type: ignore[arg-type]


def test_study_rejects_bad_arguments() -> None:
    table, y = _synthetic(n=30)
    with pytest.raises(ConfigError, match="repeats"):
        few_label_study(table, y, ks=(5,), repeats=0, higher_is_better=True)
    with pytest.raises(ConfigError, match="ks"):
        few_label_study(table, y, ks=(), higher_is_better=True)
    with pytest.raises(ConfigError, match="model"):
        few_label_study(table, y, ks=(5,), model="svm", higher_is_better=True)
    with pytest.raises(ConfigError, match="one label per architecture"):
        few_label_study(table, y[:-1], ks=(5,), higher_is_better=True)
    with pytest.raises(ConfigError, match="no sign"):
        few_label_study(table, y, ks=(5,), repeats=1)  # unregistered names need a sign
