"""Proxy assistance as composition: any strategy + any scorer (seed 003, Appendix A).

A strategy generates candidate cells for each proposal and hands the generator to
:meth:`Strategy._propose <nasrank.search.Strategy._propose>`: random cells for random search and
Hyperband, mutations of the tournament parent for regularised evolution, mutations of the
policy's (or TPE's) sample for REINFORCE (and TPE, BOHB). Plain, a proposal is one candidate; with
a :class:`ProxyAssist` attached by :func:`assist` it is the scorer's best of ``pool_size``
candidates. The published proxy-assisted strategies are registry entries
(:class:`Assisted`) that build the plain strategy and attach the assistance: ``g-rs``, ``g-rea``,
``g-reinforce``, ``g-hb``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from .._validate import check_int
from ..exceptions import ConfigError
from ._base import Arch, Strategy
from ._scorers import pick_best

__all__ = ["ProxyAssist", "assist", "Assisted"]


class ProxyAssist:
    """Pre-screening of candidate cells: a proposal is the scorer's best of ``pool_size``.

    Args:
        scorer: Callable ``archs -> scores`` (higher = better; NaN ranks last), e.g. a
            :class:`~nasrank.search.TableScorer` or :class:`~nasrank.search.ProxyScorer`.
        pool_size: Candidates screened per proposal (10 in the GradSign code).
        strategy: Name of the strategy it assists (for the error message only).

    Example:
        >>> pa = ProxyAssist(lambda archs: [float(sum(a)) for a in archs], pool_size=3)
        >>> draws = iter([(1, 0), (2, 2), (0, 1)])
        >>> pa.pick(lambda: next(draws))
        (2, 2)
    """

    def __init__(self, scorer: Any, pool_size: int = 10, strategy: str = "") -> None:
        if scorer is None or not callable(scorer):
            what = f"strategy {strategy!r}" if strategy else "a proxy-assisted strategy"
            raise ConfigError(
                f"{what} pre-screens candidates with a proxy: pass scorer= (a callable archs -> scores, "
                f"e.g. nasrank.search.TableScorer or ProxyScorer; CLI: --proxy NAME)"
            )
        self.scorer = scorer
        self.pool_size = check_int("pool_size", pool_size, minimum=1)

    def pick(self, draw: Callable[[], Arch]) -> Arch:
        """The scorer's best of ``pool_size`` calls of ``draw()`` (ties: the earliest)."""
        pool = [draw() for _ in range(self.pool_size)]
        return pick_best(pool, np.asarray(self.scorer(pool), dtype=np.float64))

    def __repr__(self) -> str:
        return f"ProxyAssist({self.scorer!r}, pool_size={self.pool_size})"


def assist(strategy: Strategy, scorer: Any, *, pool_size: int = 10, name: str | None = None) -> Strategy:
    """Make ``strategy`` proxy-assisted: each proposal becomes the scorer's best of ``pool_size``
    candidates the strategy generates (see :class:`ProxyAssist`). Returns the same object.

    Args:
        strategy: A freshly constructed strategy (nothing asked yet).
        scorer: Callable ``archs -> scores`` (higher = better).
        pool_size: Candidates per proposal.
        name: The assisted strategy's name (its run identity and saved state); default
            ``"g-" + strategy.name``.

    Example:
        >>> from nasrank.search import RegularizedEvolution, TableScorer
        >>> sp = __import__("nasrank").create_space("nb201")
        >>> sc = TableScorer(list(sp.all_archs()), [sum(a) for a in sp.all_archs()])
        >>> s = assist(RegularizedEvolution("nb201", seed=0, population_size=1, sample_size=1), sc)
        >>> q = s.ask(); s.tell(q, 1.0)
        >>> s.name, sum(s.ask().arch) > sum(q.arch)  # the best of 10 mutations of the parent
        ('g-evolution', True)
    """
    if not isinstance(strategy, Strategy):
        raise ConfigError(f"assist() needs a nasrank.search.Strategy, got {type(strategy).__name__}")
    if strategy.n_asked_ or strategy.assistance is not None:
        raise ConfigError(f"strategy {strategy.name!r} must be fresh to be assisted (asked nothing, not assisted yet)")
    label = name if name is not None else f"g-{strategy.name}"
    strategy.assistance = ProxyAssist(scorer, pool_size, strategy=label)
    strategy.name = label
    return strategy


class Assisted:
    """A registry entry that builds a strategy class proxy-assisted under its own name.

    ``Assisted("g-rs", RandomSearch)(space, seed=0, scorer=sc, pool_size=10, **params)`` is
    ``assist(RandomSearch(space, seed=0, **params), sc, pool_size=10, name="g-rs")``. Its
    signature is the base class's plus ``scorer`` and ``pool_size``, so
    :func:`~nasrank.search.create_strategy` validates parameters against it.

    Args:
        name: Registry name of the assisted strategy.
        base: The plain strategy class.
        doc: What the assisted strategy does (its help text).

    Example:
        >>> from nasrank.search import STRATEGIES, TableScorer
        >>> sp = __import__("nasrank").create_space("nb201")
        >>> sc = TableScorer(list(sp.all_archs()), [sum(a) for a in sp.all_archs()])
        >>> g_rs = STRATEGIES.get("g-rs")
        >>> g_rs("nb201", seed=0, scorer=sc, pool_size=50).ask().arch  # the pool's largest index sum
        (4, 4, 1, 3, 4, 3)
        >>> list(inspect.signature(g_rs).parameters)
        ['space', 'seed', 'scorer', 'pool_size', 'exclude_seen']
    """

    needs_scorer = True

    def __init__(self, name: str, base: type[Strategy], doc: str = "") -> None:
        self.name = name
        self.base = base
        self.multi_fidelity = base.multi_fidelity
        self.__doc__ = doc or f"{base.__name__}, proxy-assisted (see nasrank.search.assist)."
        P = inspect.Parameter
        params = list(inspect.signature(base.__init__).parameters.values())[1:]  # without self
        head = [p for p in params if p.name in ("space", "seed")]
        rest = [p for p in params if p.name not in ("space", "seed")]
        extra = [P("scorer", P.KEYWORD_ONLY, default=None), P("pool_size", P.KEYWORD_ONLY, default=10)]
        self.__signature__ = inspect.Signature(head + extra + rest, return_annotation=base.__name__)

    def __call__(self, space: Any = "nb201", *, seed: int = 0, scorer: Any = None, pool_size: int = 10,
                 **params: Any) -> Strategy:
        return assist(self.base(space, seed=seed, **params), scorer, pool_size=pool_size, name=self.name)

    def __repr__(self) -> str:
        return f"Assisted({self.name!r}, {self.base.__name__})"
