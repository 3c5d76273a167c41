"""TPE through Optuna's ``TPESampler`` (ask/tell), and the Optuna adapter BOHB shares.

The model has one categorical parameter per position of the space's encoding, with the values
:meth:`SearchSpace.choices() <nasrank.spaces.SearchSpace.choices>` declares; a draw is mapped onto
the space with :meth:`SearchSpace.project() <nasrank.spaces.SearchSpace.project>` (the identity on
an unconstrained space such as NAS-Bench-201; a seeded repair where positions constrain each other,
e.g. DARTS' two distinct inputs per node; the nearest member on a benchmark subset).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from .._validate import check_int
from ..exceptions import MissingDependencyError
from ._base import STRATEGIES, Arch, Query, Strategy, space_choices

__all__ = ["TPE"]


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[Any]:
    try:
        import optuna
    except ImportError:
        raise MissingDependencyError("the TPE / BOHB strategies need Optuna: pip install optuna") from None
    old = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield optuna
    finally:
        optuna.logging.set_verbosity(old)


def _derive_seed(seed: int, k: int) -> int:
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0])


class _OptunaModel:
    """An in-memory Optuna study over the space's categorical positions, used through ask/tell.

    Before every ask the study gets a fresh ``TPESampler`` seeded from (strategy seed, ask
    number), so the proposals depend only on the seed and the trials in the study — which is
    what lets :meth:`Strategy.load_state_dict` rebuild it exactly (trials in the original order).
    """

    def __init__(self, choices: tuple[tuple[int, ...], ...], n_startup_trials: int,
                 tpe_kwargs: dict[str, Any]) -> None:
        self.choices = choices
        self.n_startup_trials = n_startup_trials
        self.tpe_kwargs = tpe_kwargs
        self.study: Any = None
        self.trials: dict[int, Any] = {}  # query id -> optuna trial (pending)
        self.log: list[list[Any]] = []    # [query id, arch, value or None, state] in study order
        self._distributions: dict[str, Any] | None = None

    def _dists(self) -> dict[str, Any]:
        if self._distributions is None:
            from optuna.distributions import CategoricalDistribution

            self._distributions = {f"e{i}": CategoricalDistribution(list(c)) for i, c in enumerate(self.choices)}
        return self._distributions

    @staticmethod
    def _arch(trial: Any) -> Arch:
        return tuple(int(trial.params[f"e{i}"]) for i in range(len(trial.params)))

    def _ensure(self, optuna: Any) -> Any:
        if self.study is None:
            self.study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
        return self.study

    def ask(self, qid: int, seed: int) -> Arch:
        with _quiet_optuna() as optuna:
            study = self._ensure(optuna)
            study.sampler = optuna.samplers.TPESampler(
                seed=seed, n_startup_trials=self.n_startup_trials, **self.tpe_kwargs)
            trial = study.ask(self._dists())
            arch = self._arch(trial)
        self.trials[qid] = trial
        self.log.append([qid, list(arch), None, "running"])
        return arch

    def tell(self, qid: int, arch: Arch, value: float) -> None:
        with _quiet_optuna() as optuna:
            trial = self.trials.pop(qid)
            # the strategy may have replaced the draw (projection, a proxy's pick among mutations)
            if self._arch(trial) != tuple(arch):
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                self.add(arch, value)
            elif math.isnan(value):
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                self.study.tell(trial, value)
        for row in self.log:
            if row[0] == qid:
                row[1], row[2], row[3] = list(arch), None if math.isnan(value) else value, "done"

    def add(self, arch: Arch, value: float) -> None:
        """Add a finished trial (NaN: failed) without asking for it."""
        with _quiet_optuna() as optuna:
            from optuna.trial import TrialState, create_trial

            study = self._ensure(optuna)
            params = {f"e{i}": int(a) for i, a in enumerate(arch)}
            if math.isnan(value):
                study.add_trial(create_trial(params=params, distributions=self._dists(), state=TrialState.FAIL))
            else:
                study.add_trial(create_trial(params=params, distributions=self._dists(), value=value))

    def state(self) -> list[list[Any]]:
        return [list(r) for r in self.log]

    def load(self, log: list[list[Any]]) -> None:
        self.study, self.trials, self.log = None, {}, [list(r) for r in log]
        with _quiet_optuna() as optuna:
            study = self._ensure(optuna)
            for qid, arch, value, state in self.log:
                if state == "done":
                    self.add(tuple(arch), math.nan if value is None else float(value))
                else:
                    study.enqueue_trial({f"e{i}": int(a) for i, a in enumerate(arch)})
                    self.trials[int(qid)] = study.ask(self._dists())


@STRATEGIES.register("tpe")
class TPE(Strategy):
    """Tree-structured Parzen Estimator through Optuna's ``TPESampler`` (ask/tell).

    Each position of the encoding is a categorical parameter over ``space.choices()``; a draw
    is mapped onto the space by ``space.project``. The first ``n_startup_trials`` proposals are
    random (seed 000: "start from 10 random initial data"). Proxy-assisted
    (:func:`~nasrank.search.assist`), a proposal is the scorer's best of ``pool_size``
    mutations of the model's draw. Needs ``pip install optuna``.

    Args:
        space: A search space (with per-position ``choices()``) or its name.
        seed: Seed of the strategy's generator and of the samplers.
        n_startup_trials: Random proposals before the model is used.
        **tpe_kwargs: Further ``optuna.samplers.TPESampler`` keyword arguments.

    Example:
        >>> s = TPE("nb201", seed=0, n_startup_trials=2)
        >>> s.params(), len(s.choices_)
        ({'seed': 0, 'n_startup_trials': 2, 'tpe_kwargs': {}}, 6)
    """

    name = "tpe"

    def __init__(self, space: Any = "nb201", *, seed: int = 0, n_startup_trials: int = 10,
                 **tpe_kwargs: Any) -> None:
        super().__init__(space, seed=seed)
        self.n_startup_trials = check_int("n_startup_trials", n_startup_trials, minimum=0)
        self.tpe_kwargs = dict(tpe_kwargs)
        self.choices_ = space_choices(self.space, self.name)
        self.model_ = _OptunaModel(self.choices_, self.n_startup_trials, self.tpe_kwargs)

    def _ask(self) -> Arch:
        arch = self.space.project(self.model_.ask(self.n_asked_, _derive_seed(self.seed, self.n_asked_)), self.rng_)
        return self._propose(lambda: self._mutate(arch), default=arch)

    def _tell(self, query: Query, score: float) -> None:
        self.model_.tell(query.id, query.arch, score)

    def _state(self) -> dict[str, Any]:
        return {"trials": self.model_.state()}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.model_.load(state["trials"])
