"""Regularised (aging) evolution and its proxy-assisted variant G-REA."""

from __future__ import annotations

import math
from typing import Any

from .._validate import check_int
from ._assist import Assisted
from ._base import STRATEGIES, Arch, Query, _key
from ._seen import ExcludeSeen

__all__ = ["RegularizedEvolution", "AssistedEvolution"]


@STRATEGIES.register("evolution")
class RegularizedEvolution(ExcludeSeen):
    """Regularised (aging) evolution (Real et al. 2019) as in NB201's ``R_EA.py``.

    The first ``population_size`` queries are random cells; afterwards each query mutates the
    best of ``sample_size`` members drawn with replacement from the population, and every told
    result joins the population while the oldest member leaves. With asynchronous workers a
    child is bred from whatever population has been told so far (random while it is smaller
    than ``population_size``). The candidates of a child are mutations of its parent
    (proxy-assisted: G-REA, the scorer's best of ``pool_size`` of them).

    Args:
        space: A search space or its name.
        seed: Seed of the strategy's generator.
        population_size: Population (10 in NB201 / seed 000: "10 random initial data").
        sample_size: Tournament size (3 in NB201's scripts).
        exclude_seen: A child (and an initial random cell) that this run has already asked is
            drawn again, up to :data:`~nasrank.search._seen.SEEN_TRIES` mutations of the same
            parent, then accepted (default ``False``, as published). With a deterministic
            tabular signal a converged population otherwise re-asks known cells, which only
            spends budget.

    Example:
        >>> s = RegularizedEvolution("nb201", seed=0, population_size=2, sample_size=2)
        >>> for v in (0.1, 0.9, 0.5):
        ...     q = s.ask(); s.tell(q, v)
        >>> len(s.population_)
        2
    """

    name = "evolution"

    def __init__(self, space: Any = "nb201", *, seed: int = 0, population_size: int = 10, sample_size: int = 3,
                 exclude_seen: bool = False) -> None:
        super().__init__(space, seed=seed)
        self.population_size = check_int("population_size", population_size, minimum=1)
        self.sample_size = check_int("sample_size", sample_size, minimum=1)
        self._init_seen(exclude_seen)
        self.population_: list[tuple[Arch, float]] = []
        self.n_told_ = 0

    def _parent(self) -> Arch:
        idx = self.rng_.integers(len(self.population_), size=self.sample_size)
        best = max(idx.tolist(), key=lambda i: (_key(self.population_[i][1]), -i))
        return self.population_[best][0]

    def _ask(self) -> Arch:
        if self.n_asked_ < self.population_size or len(self.population_) < self.population_size:
            return self._random_arch()
        parent = self._parent()
        return self._propose(lambda: self._mutate(parent))

    def _tell(self, query: Query, score: float) -> None:
        self.population_.append((query.arch, score))
        self.n_told_ += 1
        if len(self.population_) > self.population_size:
            self.population_.pop(0)

    def _state(self) -> dict[str, Any]:
        return {"population": [[list(a), None if math.isnan(s) else s] for a, s in self.population_],
                "n_told": self.n_told_}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.population_ = [(tuple(a), math.nan if s is None else float(s)) for a, s in state["population"]]
        self.n_told_ = int(state["n_told"])


#: G-REA (seed 003, Alg. 2): each child is the proxy's best of ``pool_size`` mutations of the parent.
AssistedEvolution = STRATEGIES.register("g-rea")(Assisted("g-rea", RegularizedEvolution, (
    "G-REA (seed 003, Alg. 2): the child is the proxy's best of ``pool_size`` mutations of the "
    "tournament parent (the initial population is random). With ``exclude_seen`` every pool member "
    "is a mutation this run has not asked yet: with a deterministic tabular signal the proxy's best "
    "mutation of a parent is often a cell already asked (on NAS-Bench-201 about half of 100 "
    "queries repeat one), which only spends budget."
)))
