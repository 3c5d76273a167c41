"""Random search and its proxy-assisted variant G-RS."""

from __future__ import annotations

from typing import Any

from ._assist import Assisted
from ._base import STRATEGIES, Arch
from ._seen import ExcludeSeen

__all__ = ["RandomSearch", "AssistedRandomSearch"]


@STRATEGIES.register("random")
class RandomSearch(ExcludeSeen):
    """Uniform random sampling of the space (Bergstra & Bengio 2012; NB201's ``RANDOM.py``).

    The candidates of a proposal are random cells (proxy-assisted: G-RS, the scorer's best of
    ``pool_size`` of them).

    Args:
        space: A search space or its name.
        seed: Seed of the strategy's generator.
        exclude_seen: Draw again a cell this run has already asked (up to
            :data:`~nasrank.search._seen.SEEN_TRIES` draws; default ``False``, as published).
            For deterministic tabular signals, where a repeat only spends budget.

    Example:
        >>> s = RandomSearch("nb201", seed=0)
        >>> q = s.ask(); s.tell(q, 0.5); len(s.history_)
        1
    """

    name = "random"

    def __init__(self, space: Any = "nb201", *, seed: int = 0, exclude_seen: bool = False) -> None:
        super().__init__(space, seed=seed)
        self._init_seen(exclude_seen)

    def _ask(self) -> Arch:
        return self._propose(self._random_arch)


#: G-RS (seed 003, Alg. 3): each query is the proxy's best of ``pool_size`` random cells.
AssistedRandomSearch = STRATEGIES.register("g-rs")(Assisted("g-rs", RandomSearch, (
    "G-RS (seed 003, Alg. 3): draw ``pool_size`` random cells, evaluate the proxy's best. With "
    "``exclude_seen`` every pool member is a cell this run has not asked yet."
)))
