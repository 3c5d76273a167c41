"""Hyperband over epoch budgets, its proxy-assisted variant G-HB, and BOHB."""

from __future__ import annotations

import math
from typing import Any

from .._validate import check_float, check_int
from ..exceptions import ConfigError
from ._assist import Assisted
from ._base import STRATEGIES, Arch, Query, Strategy, space_choices
from ._tpe import _derive_seed, _OptunaModel

__all__ = ["Hyperband", "AssistedHyperband", "BOHB"]


@STRATEGIES.register("hyperband")
class Hyperband(Strategy):
    """Hyperband (Li et al. 2018) over epoch budgets: successive halving in brackets s_max..0.

    Bracket ``s`` starts ``n = ceil((s_max+1)/(s+1) * eta^s)`` cells at ``max_fidelity *
    eta^-s`` epochs and keeps the best ``1/eta`` at each rung, up to ``max_fidelity``; brackets
    repeat until the budget is spent. A rung's promotions need all its results, so ``ask()``
    returns ``None`` while they are pending (asynchronous workers wait). The candidates of a
    bracket's new cell are random cells (proxy-assisted: G-HB, the scorer's best of
    ``pool_size`` of them).

    Args:
        space: A search space or its name.
        seed: Seed of the strategy's generator.
        min_fidelity: Smallest budget in epochs.
        max_fidelity: Largest budget in epochs (the evaluator's full training).
        eta: Halving rate (3).

    Example:
        >>> s = Hyperband("nb201", seed=0, min_fidelity=1, max_fidelity=9, eta=3)
        >>> q = s.ask(); (q.fidelity, len(s.bracket_["configs"]))
        (1, 9)
    """

    name = "hyperband"
    multi_fidelity = True

    def __init__(self, space: Any = "nb201", *, seed: int = 0, min_fidelity: int = 1, max_fidelity: int = 27,
                 eta: int = 3) -> None:
        super().__init__(space, seed=seed)
        self.min_fidelity = check_int("min_fidelity", min_fidelity, minimum=1)
        self.max_fidelity = check_int("max_fidelity", max_fidelity, minimum=1)
        self.eta = check_int("eta", eta, minimum=2)
        if self.max_fidelity < self.min_fidelity:
            raise ConfigError(f"`max_fidelity` ({max_fidelity}) must be >= `min_fidelity` ({min_fidelity})")
        self.s_max_ = int(math.floor(math.log(self.max_fidelity / self.min_fidelity) / math.log(self.eta) + 1e-9))
        self.next_s_ = self.s_max_
        self.bracket_: dict[str, Any] | None = None

    def _fidelity(self, s: int, rung: int) -> int:
        return max(self.min_fidelity, min(self.max_fidelity, int(round(self.max_fidelity * self.eta ** (rung - s)))))

    def _new_configs(self, n: int) -> list[Arch]:
        return [self._propose(self._random_arch) for _ in range(n)]

    def _start_bracket(self) -> dict[str, Any]:
        s = self.next_s_
        self.next_s_ = self.s_max_ if s == 0 else s - 1
        n = int(math.ceil((self.s_max_ + 1) / (s + 1) * self.eta ** s))
        self.bracket_ = {"s": s, "rung": 0, "configs": [list(a) for a in self._new_configs(n)], "next": 0,
                         "results": {}}
        return self.bracket_

    def _ask(self) -> tuple[Arch, int] | None:
        b = self.bracket_ if self.bracket_ is not None else self._start_bracket()
        if b["next"] < len(b["configs"]):
            i = b["next"]
            b["next"] += 1
            return tuple(b["configs"][i]), self._fidelity(b["s"], b["rung"])
        return None  # waiting for this rung's results

    def _tell(self, query: Query, score: float) -> None:
        b = self.bracket_
        if b is None:
            return
        b["results"][str(query.id)] = [list(query.arch), None if math.isnan(score) else score]
        if b["next"] < len(b["configs"]) or len(b["results"]) < len(b["configs"]):
            return
        # rung complete: promote the best 1/eta, or finish the bracket
        rows = [(tuple(a), -math.inf if s is None else s) for a, s in b["results"].values()]
        order = sorted(range(len(rows)), key=lambda i: -rows[i][1])  # stable: ties keep ask order
        if b["rung"] >= b["s"]:
            self.bracket_ = None
            return
        keep = max(1, int(len(rows) // self.eta))
        b["configs"] = [list(rows[i][0]) for i in order[:keep]]
        b["rung"] += 1
        b["next"] = 0
        b["results"] = {}

    def _state(self) -> dict[str, Any]:
        return {"next_s": self.next_s_, "bracket": self.bracket_}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.next_s_ = int(state["next_s"])
        self.bracket_ = state["bracket"]


#: G-HB (seed 003, Alg. 5): each new cell of a bracket is the proxy's best of ``pool_size`` random cells.
AssistedHyperband = STRATEGIES.register("g-hb")(Assisted("g-hb", Hyperband, (
    "G-HB (seed 003, Alg. 5): each bracket's new cells are the proxy's best of ``pool_size`` random "
    "cells each (scores cached by the scorer)."
)))


@STRATEGIES.register("bohb")
class BOHB(Hyperband):
    """BOHB (Falkner et al. 2018): Hyperband whose new cells come from a TPE model (Optuna's
    ``TPESampler`` over ``space.choices()``, draws mapped by ``space.project``) fitted on the
    results of the largest fidelity with at least ``min_points`` results; a ``random_fraction``
    of cells (and all while no fidelity has enough results) are random. Needs
    ``pip install optuna``.

    Args:
        space: A search space or its name.
        seed: Seed of the strategy's generator.
        min_fidelity, max_fidelity, eta: As in :class:`Hyperband`.
        min_points: Results a fidelity needs before its model is used (default: positions + 1).
        random_fraction: Share of random cells (1/3 as in BOHB).

    Example:
        >>> s = BOHB("nb201", seed=0, max_fidelity=3)
        >>> s.ask().fidelity, s.min_points
        (1, 7)
    """

    name = "bohb"

    def __init__(self, space: Any = "nb201", *, seed: int = 0, min_fidelity: int = 1, max_fidelity: int = 27,
                 eta: int = 3, min_points: int | None = None, random_fraction: float = 1 / 3) -> None:
        super().__init__(space, seed=seed, min_fidelity=min_fidelity, max_fidelity=max_fidelity, eta=eta)
        self.choices_ = space_choices(self.space, self.name)
        self.min_points = check_int("min_points", min_points if min_points is not None else len(self.choices_) + 1,
                                    minimum=1)
        self.random_fraction = check_float("random_fraction", random_fraction, minimum=0.0, maximum=1.0)

    def _new_configs(self, n: int) -> list[Arch]:
        by_fid: dict[int, list[tuple[Arch, float]]] = {}
        for q, s in self.history_:
            by_fid.setdefault(q.fidelity or 0, []).append((q.arch, s))
        fids = [f for f, rows in by_fid.items() if len(rows) >= self.min_points]
        if not fids:
            return [self._propose(self._random_arch) for _ in range(n)]
        model = _OptunaModel(self.choices_, n_startup_trials=0, tpe_kwargs={})
        for a, s in by_fid[max(fids)]:
            model.add(a, s)
        out = []
        for k in range(n):
            if self.rng_.random() < self.random_fraction:
                out.append(self._propose(self._random_arch))
            else:
                arch = model.ask(-1 - k, _derive_seed(self.seed, self.n_asked_ * 1000 + k))
                model.trials.clear()
                arch = self.space.project(arch, self.rng_)
                out.append(self._propose(lambda a=arch: self._mutate(a), default=arch))
        return out
