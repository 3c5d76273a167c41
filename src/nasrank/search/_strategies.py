"""Search strategies: random search, regularised evolution, TPE (Optuna), REINFORCE, Hyperband,
BOHB and their proxy-assisted variants (seed 003, Appendix A).

Defaults follow the reference scripts the seeds build on (NAS-Bench-201's ``R_EA.py`` /
``RANDOM.py`` / ``reinforce.py`` as modified by GradSign): population 10, tournament size 3,
mutation = one edge changed to a different op, proxy pool of 10 candidates.

Random search, regularised evolution and their proxy-assisted variants take ``exclude_seen``
(default ``False`` = the published protocol): every proposed cell that this run has already
asked is drawn again, up to :data:`SEEN_TRIES` times. It is meant for a deterministic tabular
signal (e.g. NAS-Bench-201's final validation accuracy), where a repeated query returns the same
number and so only spends budget; the published scripts query a noisy 12-epoch accuracy of a
random training seed, for which a repeat is a fresh measurement.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..exceptions import ConfigError, MissingDependencyError
from ._base import STRATEGIES, Arch, Query, Strategy, _check_pos_int, _key, pick_best

__all__ = [
    "RandomSearch", "RegularizedEvolution", "TPE", "Reinforce", "Hyperband", "BOHB",
    "AssistedRandomSearch", "AssistedEvolution", "AssistedReinforce", "AssistedHyperband",
]


def _check_scorer(scorer: Any, name: str) -> Any:
    if scorer is None or not callable(scorer):
        raise ConfigError(
            f"strategy {name!r} pre-screens candidates with a proxy: pass scorer= (a callable archs -> scores, "
            f"e.g. nasrank.search.TableScorer or ProxyScorer; CLI: --proxy NAME)"
        )
    return scorer


def _pool_best(strategy: Strategy, candidates: list[Arch]) -> Arch:
    scores = np.asarray(strategy.scorer(candidates), dtype=np.float64)  # type: ignore[attr-defined]
    return pick_best(candidates, scores)


#: Draws of a proposal ``exclude_seen`` makes before it accepts an already asked cell.
SEEN_TRIES = 100


def _check_bool(name: str, v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise ConfigError(f"`{name}` must be a bool (True or False), got {v!r}")
    return bool(v)


class _ExcludeSeen(Strategy):
    """``exclude_seen`` for strategies whose proposals come from ``_random_arch`` / ``_mutate``.

    The cells asked so far (``seen_``) are every query in ``history_`` and ``pending_``: the set
    is kept up to date by :meth:`ask` and rebuilt from them by :meth:`load_state_dict`, so the
    saved state needs nothing new and a restored run continues identically.
    """

    def _init_seen(self, exclude_seen: Any) -> None:
        self.exclude_seen = _check_bool("exclude_seen", exclude_seen)
        self.seen_: set[Arch] = set()

    def ask(self) -> Query | None:
        q = super().ask()
        if q is not None:
            self.seen_.add(q.arch)
        return q

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.seen_ = {q.arch for q, _ in self.history_} | {q.arch for q in self.pending_.values()}

    def params(self) -> dict[str, Any]:
        p = super().params()
        if not p.get("exclude_seen"):  # the default: run ids of earlier stores stay valid
            p.pop("exclude_seen", None)
        return p

    def _unseen(self, draw: Any) -> Arch:
        """``draw()``, drawn again while it gives an asked cell (at most :data:`SEEN_TRIES` draws)."""
        arch = draw()
        if not self.exclude_seen:
            return arch
        size = getattr(self.space, "size", None)
        if size is not None and len(self.seen_) >= size:
            return arch  # the whole space was asked
        for _ in range(SEEN_TRIES - 1):
            if tuple(arch) not in self.seen_:
                break
            arch = draw()
        return arch

    def _random_arch(self) -> Arch:
        return self._unseen(super()._random_arch)

    def _mutate(self, arch: Arch) -> Arch:
        return self._unseen(lambda: Strategy._mutate(self, arch))


# --- random search ---------------------------------------------------------------------------
@STRATEGIES.register("random")
class RandomSearch(_ExcludeSeen):
    """Uniform random sampling of the space (Bergstra & Bengio 2012; NB201's ``RANDOM.py``).

    Args:
        exclude_seen: Draw again a cell this run has already asked (up to :data:`SEEN_TRIES`
            draws; default ``False``, as published). For deterministic tabular signals, where
            a repeat only spends budget.

    Example:
        >>> s = RandomSearch("nb201", seed=0)
        >>> q = s.ask(); s.tell(q, 0.5); len(s.history_)
        1
    """

    name = "random"

    def __init__(self, space: Any = "nb201", seed: int = 0, exclude_seen: bool = False) -> None:
        super().__init__(space, seed)
        self._init_seen(exclude_seen)

    def _ask(self) -> Arch:
        return self._random_arch()


@STRATEGIES.register("g-rs")
class AssistedRandomSearch(_ExcludeSeen):
    """G-RS (seed 003, Alg. 3): draw ``pool_size`` random cells, evaluate the proxy's best.

    Args:
        scorer: Callable ``archs -> scores`` (higher = better), e.g. GradSign / NASWOT.
        pool_size: Candidates per query (10 in the GradSign code).
        exclude_seen: Every pool member is a cell this run has not asked yet (drawn again up
            to :data:`SEEN_TRIES` times; default ``False``, as published). For deterministic
            tabular signals, where a repeat only spends budget.

    Example:
        >>> from nasrank.search import TableScorer
        >>> sp = __import__("nasrank").create_space("nb201")
        >>> sc = TableScorer(list(sp.all_archs()), [sum(a) for a in sp.all_archs()])
        >>> AssistedRandomSearch("nb201", seed=0, scorer=sc, pool_size=50).ask().arch  # the pool member with the largest index sum
        (4, 4, 1, 3, 4, 3)
    """

    name = "g-rs"
    needs_scorer = True

    def __init__(self, space: Any = "nb201", seed: int = 0, scorer: Any = None, pool_size: int = 10,
                 exclude_seen: bool = False) -> None:
        super().__init__(space, seed)
        self.scorer = _check_scorer(scorer, self.name)
        self.pool_size = _check_pos_int("pool_size", pool_size)
        self._init_seen(exclude_seen)

    def _ask(self) -> Arch:
        return _pool_best(self, [self._random_arch() for _ in range(self.pool_size)])


# --- regularised evolution -------------------------------------------------------------------
@STRATEGIES.register("evolution")
class RegularizedEvolution(_ExcludeSeen):
    """Regularised (aging) evolution (Real et al. 2019) as in NB201's ``R_EA.py``.

    The first ``population_size`` queries are random cells; afterwards each query mutates the
    best of ``sample_size`` members drawn with replacement from the population, and every told
    result joins the population while the oldest member leaves. With asynchronous workers a
    child is bred from whatever population has been told so far (random while it is smaller
    than ``population_size``).

    Args:
        population_size: Population (10 in NB201 / seed 000: "10 random initial data").
        sample_size: Tournament size (3 in NB201's scripts).
        exclude_seen: A child (and an initial random cell) that this run has already asked is
            drawn again, up to :data:`SEEN_TRIES` mutations of the same parent, then accepted
            (default ``False``, as published). With a deterministic tabular signal a converged
            population otherwise re-asks known cells, which only spends budget.

    Example:
        >>> s = RegularizedEvolution("nb201", seed=0, population_size=2, sample_size=2)
        >>> for v in (0.1, 0.9, 0.5):
        ...     q = s.ask(); s.tell(q, v)
        >>> len(s.population_)
        2
    """

    name = "evolution"

    def __init__(self, space: Any = "nb201", seed: int = 0, population_size: int = 10, sample_size: int = 3,
                 exclude_seen: bool = False) -> None:
        super().__init__(space, seed)
        self.population_size = _check_pos_int("population_size", population_size)
        self.sample_size = _check_pos_int("sample_size", sample_size)
        self._init_seen(exclude_seen)
        self.population_: list[tuple[Arch, float]] = []
        self.n_told_ = 0

    def _parent(self) -> Arch:
        idx = self.rng_.integers(len(self.population_), size=self.sample_size)
        best = max(idx.tolist(), key=lambda i: (_key(self.population_[i][1]), -i))
        return self.population_[best][0]

    def _child(self) -> Arch:
        return self._mutate(self._parent())

    def _ask(self) -> Arch:
        if self.n_asked_ < self.population_size or len(self.population_) < self.population_size:
            return self._random_arch()
        return self._child()

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


@STRATEGIES.register("g-rea")
class AssistedEvolution(RegularizedEvolution):
    """G-REA (seed 003, Alg. 2): the child is the proxy's best of ``pool_size`` mutations of the parent.

    Args:
        scorer: Callable ``archs -> scores`` (higher = better), e.g. GradSign / NASWOT.
        pool_size: Mutations screened per query (10 in the GradSign code).
        population_size, sample_size: As in :class:`RegularizedEvolution`.
        exclude_seen: Every pool member is a mutation this run has not asked yet (drawn again
            up to :data:`SEEN_TRIES` times; default ``False``, as published). With a
            deterministic tabular signal the proxy's best mutation of a parent is often a cell
            already asked (on NAS-Bench-201 about half of 100 queries repeat one), which only
            spends budget.

    Example:
        >>> from nasrank.search import TableScorer
        >>> sp = __import__("nasrank").create_space("nb201")
        >>> sc = TableScorer(list(sp.all_archs()), [sum(a) for a in sp.all_archs()])
        >>> s = AssistedEvolution("nb201", seed=0, scorer=sc, population_size=1, sample_size=1)
        >>> q = s.ask(); s.tell(q, 1.0)
        >>> sum(s.ask().arch) > sum(q.arch)
        True
    """

    name = "g-rea"
    needs_scorer = True

    def __init__(self, space: Any = "nb201", seed: int = 0, scorer: Any = None, pool_size: int = 10,
                 population_size: int = 10, sample_size: int = 3, exclude_seen: bool = False) -> None:
        super().__init__(space, seed, population_size, sample_size, exclude_seen)
        self.scorer = _check_scorer(scorer, self.name)
        self.pool_size = _check_pos_int("pool_size", pool_size)

    def _child(self) -> Arch:
        parent = self._parent()
        return _pool_best(self, [self._mutate(parent) for _ in range(self.pool_size)])


# --- TPE through Optuna ----------------------------------------------------------------------
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


class _OptunaModel:
    """An in-memory Optuna study over the space's categorical decisions, used through ask/tell.

    Before every ask the study gets a fresh ``TPESampler`` seeded from (strategy seed, ask
    number), so the proposals depend only on the seed and the trials in the study — which is
    what lets :meth:`Strategy.load_state_dict` rebuild it exactly (trials in the original order).
    """

    def __init__(self, space: Any, n_startup_trials: int, tpe_kwargs: dict[str, Any]) -> None:
        self.space = space
        self.n_startup_trials = n_startup_trials
        self.tpe_kwargs = tpe_kwargs
        self.study: Any = None
        self.trials: dict[int, Any] = {}  # query id -> optuna trial (pending)
        self.log: list[list[Any]] = []    # [query id, arch, value or None, state] in study order

    def _dists(self, optuna: Any) -> dict[str, Any]:
        from optuna.distributions import CategoricalDistribution

        n_ops = getattr(self.space, "num_ops", None) or 5
        n_edges = len(self.space.sample(0))
        return {f"e{i}": CategoricalDistribution(list(range(n_ops))) for i in range(n_edges)}

    def _ensure(self, optuna: Any) -> Any:
        if self.study is None:
            self.study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
        return self.study

    def ask(self, qid: int, seed: int) -> Arch:
        with _quiet_optuna() as optuna:
            study = self._ensure(optuna)
            study.sampler = optuna.samplers.TPESampler(
                seed=seed, n_startup_trials=self.n_startup_trials, **self.tpe_kwargs)
            trial = study.ask(self._dists(optuna))
            arch = tuple(int(trial.params[f"e{i}"]) for i in range(len(trial.params)))
        self.trials[qid] = trial
        self.log.append([qid, list(arch), None, "running"])
        return arch

    def tell(self, qid: int, arch: Arch, value: float) -> None:
        with _quiet_optuna() as optuna:
            trial = self.trials.pop(qid)
            # the strategy may have replaced the proposal (projection onto a benchmark subset)
            if tuple(int(trial.params[f"e{i}"]) for i in range(len(trial.params))) != tuple(arch):
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                self._add(optuna, arch, value)
            elif math.isnan(value):
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                self.study.tell(trial, value)
        for row in self.log:
            if row[0] == qid:
                row[1], row[2], row[3] = list(arch), None if math.isnan(value) else value, "done"

    def _add(self, optuna: Any, arch: Arch, value: float) -> None:
        from optuna.trial import TrialState, create_trial

        params = {f"e{i}": int(a) for i, a in enumerate(arch)}
        if math.isnan(value):
            self.study.add_trial(create_trial(params=params, distributions=self._dists(optuna), state=TrialState.FAIL))
        else:
            self.study.add_trial(create_trial(params=params, distributions=self._dists(optuna), value=value))

    def state(self) -> list[list[Any]]:
        return [list(r) for r in self.log]

    def load(self, log: list[list[Any]]) -> None:
        self.study, self.trials, self.log = None, {}, [list(r) for r in log]
        with _quiet_optuna() as optuna:
            study = self._ensure(optuna)
            for qid, arch, value, state in self.log:
                params = {f"e{i}": int(a) for i, a in enumerate(arch)}
                if state == "done":
                    self._add(optuna, tuple(arch), math.nan if value is None else float(value))
                else:
                    study.enqueue_trial(params)
                    self.trials[int(qid)] = study.ask(self._dists(optuna))


def _derive_seed(seed: int, k: int) -> int:
    return int(np.random.SeedSequence([seed, k]).generate_state(1)[0])


@STRATEGIES.register("tpe")
class TPE(Strategy):
    """Tree-structured Parzen Estimator through Optuna's ``TPESampler`` (ask/tell).

    Each edge is a categorical parameter; the first ``n_startup_trials`` proposals are random
    (seed 000: "start from 10 random initial data"). Needs ``pip install optuna``.

    Args:
        n_startup_trials: Random proposals before the model is used.
        **tpe_kwargs: Further ``optuna.samplers.TPESampler`` keyword arguments.

    Example:
        >>> s = TPE("nb201", seed=0, n_startup_trials=2)
        >>> for v in (0.1, 0.9, 0.5):
        ...     q = s.ask(); s.tell(q, v)
        >>> len(s.history_)
        3
    """

    name = "tpe"

    def __init__(self, space: Any = "nb201", seed: int = 0, n_startup_trials: int = 10, **tpe_kwargs: Any) -> None:
        super().__init__(space, seed)
        self.n_startup_trials = _check_pos_int("n_startup_trials", n_startup_trials, 0)
        self.tpe_kwargs = dict(tpe_kwargs)
        self.model_ = _OptunaModel(self.space, self.n_startup_trials, self.tpe_kwargs)

    def _ask(self) -> Arch:
        arch = self.model_.ask(self.n_asked_, _derive_seed(self.seed, self.n_asked_))
        project = getattr(self.space, "project", None)
        return project(arch, self.rng_) if project is not None else arch

    def _tell(self, query: Query, score: float) -> None:
        self.model_.tell(query.id, query.arch, score)

    def _state(self) -> dict[str, Any]:
        return {"trials": self.model_.state()}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.model_.load(state["trials"])


# --- REINFORCE -------------------------------------------------------------------------------
@STRATEGIES.register("reinforce")
class Reinforce(Strategy):
    """REINFORCE with a moving-average baseline, as in NAS-Bench-201's ``reinforce.py``.

    The policy holds one softmax over ops per edge (logits start at 0); every told result
    updates it with Adam along ``(reward - baseline) * grad log pi(arch)``, where the baseline
    is an exponential moving average of the rewards (``momentum``). Failed (NaN) results are
    skipped.

    Args:
        lr: Adam learning rate (NB201's default 0.01 [UNCERTAIN: scripts also used 0.001]).
        momentum: Baseline EMA momentum (0.9).

    Example:
        >>> s = Reinforce("nb201", seed=0)
        >>> q = s.ask(); s.tell(q, 0.9); s.logits_.shape
        (6, 5)
    """

    name = "reinforce"

    def __init__(self, space: Any = "nb201", seed: int = 0, lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(space, seed)
        if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not lr > 0:
            raise ConfigError(f"`lr` must be a number > 0, got {lr!r}")
        if not isinstance(momentum, (int, float)) or isinstance(momentum, bool) or not 0 <= momentum < 1:
            raise ConfigError(f"`momentum` must be in [0, 1), got {momentum!r}")
        self.lr = float(lr)
        self.momentum = float(momentum)
        n_edges = len(self.space.sample(0))
        n_ops = getattr(self.space, "num_ops", None) or 5
        self.logits_ = np.zeros((n_edges, n_ops))
        self.m_ = np.zeros_like(self.logits_)
        self.v_ = np.zeros_like(self.logits_)
        self.t_ = 0
        self.baseline_: float | None = None

    def _probs(self) -> np.ndarray:
        z = self.logits_ - self.logits_.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def _policy_arch(self) -> Arch:
        p = self._probs()
        u = self.rng_.random(len(p))
        arch = tuple(int(min(np.searchsorted(np.cumsum(row), x, side="right"), len(row) - 1)) for row, x in zip(p, u, strict=False))
        project = getattr(self.space, "project", None)
        return project(arch, self.rng_) if project is not None else arch

    def _ask(self) -> Arch:
        return self._policy_arch()

    def _tell(self, query: Query, score: float) -> None:
        if math.isnan(score):
            return
        if self.baseline_ is None:
            self.baseline_ = score
        else:
            self.baseline_ = self.momentum * self.baseline_ + (1 - self.momentum) * score
        adv = score - self.baseline_
        grad = -self._probs()
        grad[np.arange(len(grad)), list(query.arch)] += 1.0  # d log pi / d logits
        g = -adv * grad  # gradient of the loss -(r - b) log pi
        self.t_ += 1
        b1, b2, eps = 0.9, 0.999, 1e-8
        self.m_ = b1 * self.m_ + (1 - b1) * g
        self.v_ = b2 * self.v_ + (1 - b2) * g * g
        mh = self.m_ / (1 - b1 ** self.t_)
        vh = self.v_ / (1 - b2 ** self.t_)
        self.logits_ = self.logits_ - self.lr * mh / (np.sqrt(vh) + eps)

    def _state(self) -> dict[str, Any]:
        return {"logits": self.logits_.tolist(), "m": self.m_.tolist(), "v": self.v_.tolist(), "t": self.t_,
                "baseline": self.baseline_}

    def _load_state(self, state: dict[str, Any]) -> None:
        self.logits_ = np.array(state["logits"], dtype=np.float64)
        self.m_ = np.array(state["m"], dtype=np.float64)
        self.v_ = np.array(state["v"], dtype=np.float64)
        self.t_ = int(state["t"])
        self.baseline_ = None if state["baseline"] is None else float(state["baseline"])


@STRATEGIES.register("g-reinforce")
class AssistedReinforce(Reinforce):
    """G-REINFORCE (seed 003, Alg. 4): the policy's cell is replaced by the proxy's best of
    ``pool_size`` mutations of it; the evaluated cell's log-probability is reinforced.

    Example:
        >>> from nasrank.search import TableScorer
        >>> sp = __import__("nasrank").create_space("nb201")
        >>> sc = TableScorer(list(sp.all_archs()), [sum(a) for a in sp.all_archs()])
        >>> q = AssistedReinforce("nb201", seed=0, scorer=sc).ask(); len(q.arch)
        6
    """

    name = "g-reinforce"
    needs_scorer = True

    def __init__(self, space: Any = "nb201", seed: int = 0, scorer: Any = None, pool_size: int = 10,
                 lr: float = 0.01, momentum: float = 0.9) -> None:
        super().__init__(space, seed, lr, momentum)
        self.scorer = _check_scorer(scorer, self.name)
        self.pool_size = _check_pos_int("pool_size", pool_size)

    def _ask(self) -> Arch:
        arch = self._policy_arch()
        return _pool_best(self, [self._mutate(arch) for _ in range(self.pool_size)])


# --- Hyperband / BOHB ------------------------------------------------------------------------
@STRATEGIES.register("hyperband")
class Hyperband(Strategy):
    """Hyperband (Li et al. 2018) over epoch budgets: successive halving in brackets s_max..0.

    Bracket ``s`` starts ``n = ceil((s_max+1)/(s+1) * eta^s)`` cells at ``max_fidelity *
    eta^-s`` epochs and keeps the best ``1/eta`` at each rung, up to ``max_fidelity``; brackets
    repeat until the budget is spent. A rung's promotions need all its results, so ``ask()``
    returns ``None`` while they are pending (asynchronous workers wait).

    Args:
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

    def __init__(self, space: Any = "nb201", seed: int = 0, min_fidelity: int = 1, max_fidelity: int = 27,
                 eta: int = 3) -> None:
        super().__init__(space, seed)
        self.min_fidelity = _check_pos_int("min_fidelity", min_fidelity)
        self.max_fidelity = _check_pos_int("max_fidelity", max_fidelity)
        self.eta = _check_pos_int("eta", eta, 2)
        if self.max_fidelity < self.min_fidelity:
            raise ConfigError(f"`max_fidelity` ({max_fidelity}) must be >= `min_fidelity` ({min_fidelity})")
        self.s_max_ = int(math.floor(math.log(self.max_fidelity / self.min_fidelity) / math.log(self.eta) + 1e-9))
        self.next_s_ = self.s_max_
        self.bracket_: dict[str, Any] | None = None

    def _fidelity(self, s: int, rung: int) -> int:
        return max(self.min_fidelity, min(self.max_fidelity, int(round(self.max_fidelity * self.eta ** (rung - s)))))

    def _new_configs(self, n: int) -> list[Arch]:
        return [self._random_arch() for _ in range(n)]

    def _start_bracket(self) -> None:
        s = self.next_s_
        self.next_s_ = self.s_max_ if s == 0 else s - 1
        n = int(math.ceil((self.s_max_ + 1) / (s + 1) * self.eta ** s))
        self.bracket_ = {"s": s, "rung": 0, "configs": [list(a) for a in self._new_configs(n)], "next": 0,
                         "results": {}}

    def _ask(self) -> tuple[Arch, int] | None:
        if self.bracket_ is None:
            self._start_bracket()
        b = self.bracket_
        assert b is not None
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


@STRATEGIES.register("g-hb")
class AssistedHyperband(Hyperband):
    """G-HB (seed 003, Alg. 5): each bracket's cells are the proxy's best of ``pool_size`` random
    cells each (scores cached by the scorer).

    Example:
        >>> from nasrank.search import TableScorer
        >>> sp = __import__("nasrank").create_space("nb201")
        >>> sc = TableScorer(list(sp.all_archs()), [sum(a) for a in sp.all_archs()])
        >>> AssistedHyperband("nb201", seed=0, scorer=sc, max_fidelity=3).ask().fidelity
        1
    """

    name = "g-hb"
    needs_scorer = True

    def __init__(self, space: Any = "nb201", seed: int = 0, scorer: Any = None, pool_size: int = 10,
                 min_fidelity: int = 1, max_fidelity: int = 27, eta: int = 3) -> None:
        super().__init__(space, seed, min_fidelity, max_fidelity, eta)
        self.scorer = _check_scorer(scorer, self.name)
        self.pool_size = _check_pos_int("pool_size", pool_size)

    def _new_configs(self, n: int) -> list[Arch]:
        return [_pool_best(self, [self._random_arch() for _ in range(self.pool_size)]) for _ in range(n)]


@STRATEGIES.register("bohb")
class BOHB(Hyperband):
    """BOHB (Falkner et al. 2018): Hyperband whose new cells come from a TPE model (Optuna's
    ``TPESampler``) fitted on the results of the largest fidelity with at least
    ``min_points`` results; a ``random_fraction`` of cells (and all while no fidelity has enough
    results) are random. Needs ``pip install optuna``.

    Args:
        min_points: Results a fidelity needs before its model is used (default: edges + 1).
        random_fraction: Share of random cells (1/3 as in BOHB).

    Example:
        >>> s = BOHB("nb201", seed=0, max_fidelity=3)
        >>> s.ask().fidelity
        1
    """

    name = "bohb"

    def __init__(self, space: Any = "nb201", seed: int = 0, min_fidelity: int = 1, max_fidelity: int = 27,
                 eta: int = 3, min_points: int | None = None, random_fraction: float = 1 / 3) -> None:
        super().__init__(space, seed, min_fidelity, max_fidelity, eta)
        self.min_points = _check_pos_int("min_points", min_points if min_points is not None else len(self.space.sample(0)) + 1)
        if not isinstance(random_fraction, (int, float)) or not 0 <= random_fraction <= 1:
            raise ConfigError(f"`random_fraction` must be in [0, 1], got {random_fraction!r}")
        self.random_fraction = float(random_fraction)

    def _new_configs(self, n: int) -> list[Arch]:
        by_fid: dict[int, list[tuple[Arch, float]]] = {}
        for q, s in self.history_:
            by_fid.setdefault(q.fidelity or 0, []).append((q.arch, s))
        fids = [f for f, rows in by_fid.items() if len(rows) >= self.min_points]
        if not fids:
            return [self._random_arch() for _ in range(n)]
        rows = by_fid[max(fids)]
        model = _OptunaModel(self.space, n_startup_trials=0, tpe_kwargs={})
        with _quiet_optuna() as optuna:
            model._ensure(optuna)
            for a, s in rows:
                model._add(optuna, a, s)
        out = []
        for k in range(n):
            if self.rng_.random() < self.random_fraction:
                out.append(self._random_arch())
            else:
                arch = model.ask(-1 - k, _derive_seed(self.seed, self.n_asked_ * 1000 + k))
                model.trials.clear()
                project = getattr(self.space, "project", None)
                out.append(project(arch, self.rng_) if project is not None else arch)
        return out
