"""Label-free ensembles of scorers against a fixed reference (nasrank.search EnsembleScorer)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from nasrank.exceptions import ConfigError
from nasrank.search import EnsembleScorer, ProxyScorer, Scorer, ensemble_scorer, reference_quantiles

NAN = float("nan")


class Lookup(Scorer):
    """A toy member: fixed dict lookup, 1 second of cost per architecture scored, calls logged."""

    def __init__(self, values: dict[tuple[int, ...], float], name: str = "lookup") -> None:
        self.values = values
        self.name = name
        self.cost_ = 0.0
        self.calls: list[list[tuple[int, ...]]] = []

    def __call__(self, archs: Sequence[tuple[int, ...]]) -> np.ndarray:
        self.calls.append([tuple(a) for a in archs])
        self.cost_ += float(len(archs))
        return np.array([self.values[tuple(a)] for a in archs], dtype=float)

    def config(self) -> dict[str, object]:
        return {"kind": "lookup", "name": self.name}


REF = [(0,), (1,), (2,), (3,)]
# reference values: member a = 1, 2, 3, NaN; member b = 10, 20, 20, 40
A = {(0,): 1.0, (1,): 2.0, (2,): 3.0, (3,): NAN, (10,): 0.0, (11,): 2.0, (12,): 5.0, (13,): NAN}
B = {(0,): 10.0, (1,): 20.0, (2,): 20.0, (3,): 40.0, (10,): 20.0, (11,): 5.0, (12,): 40.0, (13,): 50.0}


def test_reference_quantile_math() -> None:
    q = reference_quantiles([0.0, 2.0, 5.0, NAN, 1.0], [1.0, 2.0, 3.0, NAN])
    # NaN reference counts below every number; ties count half
    assert q.tolist() == [0.25, 0.625, 1.0, 0.0, 0.375]
    assert reference_quantiles([20.0, -math.inf, math.inf], [10.0, 20.0, 20.0, 40.0]).tolist() == [
        0.5, 0.0, 1.0]


def test_mean_mode_by_hand() -> None:
    a, b = Lookup(A, "a"), Lookup(B, "b")
    ens = EnsembleScorer([a, b], REF, mode="mean")
    q = ens.quantiles([(10,), (11,), (12,), (13,)])
    assert q[:, 0].tolist() == [0.25, 0.625, 1.0, 0.0]
    assert q[:, 1].tolist() == [0.5, 0.0, 0.875, 1.0]
    got = ens([(10,), (11,), (12,), (13,)])
    assert got.tolist() == pytest.approx([0.375, 0.3125, 0.9375, 0.5])


def test_log_mode_clips_and_nan_is_worst() -> None:
    ens = EnsembleScorer([Lookup(A, "a"), Lookup(B, "b")], REF, mode="log")
    floor = 1.0 / 8  # 1 / (2 n_ref)
    got = ens([(10,), (11,), (13,)])
    assert got[0] == pytest.approx(math.log(0.25) + math.log(0.5))
    assert got[1] == pytest.approx(math.log(0.625) + math.log(floor))  # quantile 0 clipped
    assert got[2] == pytest.approx(math.log(floor) + math.log(1.0))  # NaN -> quantile 0 -> floor
    assert (got <= 0).all()
    # a NaN on a member has quantile 0 (worst), whatever the reference holds
    assert ens.quantiles([(13,)])[0, 0] == 0.0


def test_scores_do_not_depend_on_the_call() -> None:
    archs = [(10,), (11,), (12,), (13,), (0,), (3,)]
    for mode in ("mean", "log"):
        together = EnsembleScorer([Lookup(A), Lookup(B)], REF, mode=mode)(archs)
        ens = EnsembleScorer([Lookup(A), Lookup(B)], REF, mode=mode)
        alone = np.array([ens([a])[0] for a in archs])
        reversed_ = ens(archs[::-1])[::-1]
        np.testing.assert_array_equal(together, alone)
        np.testing.assert_array_equal(together, reversed_)
    assert EnsembleScorer([Lookup(A)], REF)([]).shape == (0,)


def test_reference_scored_once_lazily_and_cost_summed() -> None:
    a, b = Lookup(A, "a"), Lookup(B, "b")
    ens = EnsembleScorer([a, b], REF)
    assert a.calls == [] and ens.cost_ == 0.0  # nothing scored at construction
    ens([(10,), (11,)])
    assert a.calls[0] == REF and b.calls[0] == REF
    assert ens.cost_ == a.cost_ + b.cost_ == 2 * (4 + 2)
    ens([(12,)])
    assert [len(c) for c in a.calls] == [4, 2, 1]  # the reference is not scored again
    assert ens.cost_ == 2 * (4 + 2 + 1)
    assert len(ens.reference_values_) == 2


def test_config_and_constructor_errors() -> None:
    ens = EnsembleScorer([Lookup(A, "a"), Lookup(B, "b")], REF, mode="log")
    assert ens.config() == {"kind": "ensemble", "mode": "log",
                            "members": [{"kind": "lookup", "name": "a"}, {"kind": "lookup", "name": "b"}],
                            "reference": 4}
    with pytest.raises(ConfigError, match="mode"):
        EnsembleScorer([Lookup(A)], REF, mode="median")
    with pytest.raises(ConfigError, match="members"):
        EnsembleScorer([], REF)
    with pytest.raises(ConfigError, match="members"):
        EnsembleScorer([lambda archs: archs], REF)  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="reference"):
        EnsembleScorer([Lookup(A)], [])

    class Short(Lookup):
        def __call__(self, archs):  # type: ignore[override]
            return super().__call__(archs)[:1]

    with pytest.raises(ConfigError, match="returned 1 scores for 4"):
        EnsembleScorer([Short(A)], REF)([(10,)])


class TinySpace:
    """Architectures (i,) for i < size; (i,) and (i + size,) share a canonical key."""

    def __init__(self, size: int) -> None:
        self.size = size

    def sample(self, rng: np.random.Generator) -> tuple[int]:
        return (int(rng.integers(2 * self.size)),)

    def canonical_key(self, arch: Sequence[int]) -> int:
        return int(arch[0]) % self.size


def test_factory_parses_spec_and_draws_distinct_reference() -> None:
    made: list[str] = []

    def make(name: str) -> Scorer:
        made.append(name)
        return Lookup({(i,): float(i) for i in range(100)}, name)

    space = TinySpace(50)
    ens = ensemble_scorer("ensemble: nwot , synflow,gradsign", make, space, seed=3, reference_size=20)
    assert made == ["nwot", "synflow", "gradsign"]
    assert ens.mode == "mean" and len(ens.reference) == 20
    assert len({space.canonical_key(a) for a in ens.reference}) == 20
    again = ensemble_scorer("ensemble-log:nwot,synflow", make, space, seed=3, reference_size=20)
    assert again.mode == "log"
    assert again.reference == ens.reference  # same seed, same reference
    other = ensemble_scorer("ensemble:nwot,synflow", make, space, seed=4, reference_size=20)
    assert other.reference != ens.reference


@pytest.mark.parametrize("spec, match", [
    ("nwot,synflow", "ensemble spec"),
    ("mean:nwot,synflow", "ensemble spec"),
    ("ensemble:nwot", "at least 2"),
    ("ensemble:", "empty member"),
    ("ensemble:nwot,,synflow", "empty member"),
    ("ensemble:nwot,synflow,NWOT", "repeat"),
])
def test_factory_spec_errors(spec: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ensemble_scorer(spec, lambda n: Lookup({}, n), TinySpace(50), reference_size=5)


def test_factory_other_errors() -> None:
    with pytest.raises(ConfigError, match="reference_size"):
        ensemble_scorer("ensemble:a,b", lambda n: Lookup({}, n), TinySpace(50), reference_size=0)
    with pytest.raises(ConfigError, match="must return a Scorer"):
        ensemble_scorer("ensemble:a,b", lambda n: None, TinySpace(50), reference_size=5)  # type: ignore[arg-type, return-value]
    # a space with fewer classes than asked gives a smaller reference: all its classes
    small = ensemble_scorer("ensemble:a,b", lambda n: Lookup({}, n), TinySpace(3), reference_size=5)
    assert small.config()["reference"] == 3
    with pytest.raises(ConfigError, match="2 distinct reference architectures"):
        ensemble_scorer("ensemble:a,b", lambda n: Lookup({}, n), TinySpace(1), reference_size=5)


def test_real_proxy_members() -> None:
    import torch

    torch.set_num_threads(1)
    from nasrank.spaces import SPACES

    space = SPACES.get("nb201")()

    def make(name: str) -> Scorer:
        return ProxyScorer("nb201", name, batch_size=1, space_config={"C": 2, "N": 1})

    ens = ensemble_scorer("ensemble:synflow,params", make, space, seed=0, reference_size=10)
    archs = [space.sample(np.random.default_rng(s)) for s in (100, 101, 102)]
    together = ens(archs)
    assert together.shape == (3,) and ((together >= 0) & (together <= 1)).all()
    assert ens.cost_ > 0 and ens.cost_ == pytest.approx(sum(m.cost_ for m in ens.members))
    np.testing.assert_allclose(ens(archs[:1]), together[:1])
    # a reference architecture scored by the ensemble sits inside the reference distribution
    q = ens.quantiles(ens.reference[:1])
    assert ((q > 0) & (q <= 1)).all()
    assert ens.config()["members"][0]["proxy"] == "synflow"
    assert ens.config()["reference"] == 10


def test_combiner_scorer_learns_from_few_labels_and_steers_a_search() -> None:
    from nasrank.search import CombinerScorer, TableScorer, create_strategy
    from nasrank.spaces import SPACES

    space = SPACES.get("nb201")()
    archs = list(space.all_archs())
    rng = np.random.default_rng(0)
    truth = np.array([sum(a) + 0.3 * rng.normal() for a in archs])   # the "accuracy"
    good = TableScorer(archs, truth + rng.normal(size=len(archs)), name="good")   # noisy, informative
    bad = TableScorer(archs, rng.normal(size=len(archs)), name="noise")          # pure noise
    idx = rng.choice(len(archs), size=60, replace=False)
    s = CombinerScorer.fit({"good": good, "noise": bad}, [archs[i] for i in idx], truth[idx], model="ridge")
    rest = np.setdiff1d(np.arange(len(archs)), idx)[:2000]
    pred = s([archs[i] for i in rest])
    from scipy.stats import spearmanr

    rho = spearmanr(pred, truth[rest]).correlation
    assert rho > spearmanr(bad([archs[i] for i in rest]), truth[rest]).correlation + 0.5
    assert s.config()["kind"] == "combiner" and s.config()["labels"] == 60
    assert s.cost_ == 0.0
    strat = create_strategy("g-rs", space, seed=0, scorer=s, pool_size=5)
    q = strat.ask()
    assert len(q.arch) == 6
    with pytest.raises(ConfigError, match="not fitted"):
        CombinerScorer({"good": good}, object())
