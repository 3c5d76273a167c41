"""Evaluators: what a query costs and what it scores.

* :class:`TabularEvaluator` — a benchmark table, optionally with a learning-curve estimator at
  T epochs; cost = the benchmark's recorded training time for those epochs, else 1 per query;
* :class:`LiveEvaluator` — trains the cell for real (:func:`nasrank.benchmarks.run_train_job`)
  and scores its learning curve; cost = the evaluation's wall-clock seconds;
* :class:`ProxyEvaluator` — a zero-cost proxy at initialisation (cost = its seconds).

Every evaluator turns ``(arch, fidelity)`` into an :class:`~nasrank.store.EvalRecord` (the unit
the results store keeps) and reads the search score back out of a record with :meth:`score`, so
stored records are reused on resume.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._validate import check_int
from ..exceptions import ConfigError, NasrankError
from ..execution import check_device_name
from ..records import EvalRecord, fingerprint

__all__ = ["Evaluator", "TabularEvaluator", "LiveEvaluator", "ProxyEvaluator", "BenchmarkSpace", "estimator_label"]

Arch = tuple[int, ...]


def _estimator(spec: str | None) -> Any:
    if spec is None:
        return None
    from ..estimators import EstimatorSpec

    return EstimatorSpec.parse(spec)


def _check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"`{name}` must be True or False, got {value!r}")
    return value


def estimator_label(spec: str | None, epochs: int | None) -> str:
    """``"tse-ema@T=5"`` style label of an estimator at a budget (``"table"`` without one)."""
    if spec is None:
        return "table"
    return f"{spec}@T={epochs}" if epochs else spec


class Evaluator(ABC):
    """Turns architectures into :class:`~nasrank.store.EvalRecord` objects and scores them.

    Attributes:
        space: The search space strategies propose from (a :class:`BenchmarkSpace` for a
            benchmark that covers only part of its space).
        max_fidelity: Largest training budget in epochs (``None``: the evaluator has no
            fidelity; multi-fidelity strategies then cannot be used).
        charge_repeats: Whether a repeated query costs again (simulated benchmarks: yes, as in
            the published protocols; live training: no, the stored record is reused).
        cost_unit: ``"s"`` or ``"query"``.
    """

    max_fidelity: int | None = None
    charge_repeats: bool = True
    cost_unit: str = "s"
    #: Whether :meth:`call` may be shipped to worker processes.
    remote: bool = False

    @property
    @abstractmethod
    def space(self) -> Any:
        """The space strategies search."""

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """JSON description of the evaluator (its identity)."""

    @abstractmethod
    def evaluate(self, arch: Arch, fidelity: int | None = None) -> EvalRecord:
        """Evaluate in this process."""

    @abstractmethod
    def score(self, record: EvalRecord, fidelity: int | None = None) -> float:
        """The search score of a record (higher = better; NaN = failed)."""

    def check(self) -> None:  # noqa: B027  (an optional hook, not an abstract method)
        """Raise a :class:`~nasrank.exceptions.NasrankError` now if no evaluation can succeed
        (called by the CLI before a search starts; the default checks nothing)."""

    def fingerprint(self, fidelity: int | None = None) -> str:
        """Hash of the configuration that produced a record (keys the results store)."""
        return fingerprint({**self.config(), "fidelity": fidelity})

    def key(self, arch: Arch) -> str:
        """The store key of ``arch`` (the exact architecture unless training makes classes equal)."""
        return self.arch_str(arch)

    def arch_str(self, arch: Arch) -> str:
        """``space.to_str(arch)`` (evaluators may cache it)."""
        return self.space.to_str(arch)

    def call(self, arch: Arch, fidelity: int | None) -> tuple[Callable[..., EvalRecord], tuple[Any, ...]]:
        """``(fn, args)`` to submit to an executor (``fn`` picklable when :attr:`remote`)."""
        return self.evaluate, (arch, fidelity)

    def cost(self, record: EvalRecord) -> float:
        """Seconds (or query units) the record cost."""
        return float(record.cost)

    def metrics(self, record: EvalRecord) -> dict[str, Any]:
        """Metrics shown for an incumbent (true accuracies when a benchmark knows them)."""
        return {k: v for k, v in record.metrics.items() if k != "score"}

    def label(self) -> str:
        return "evaluator"


class BenchmarkSpace:
    """A view of a search space restricted to the architectures a benchmark contains.

    ``sample`` draws a member uniformly; ``mutate`` moves to a uniformly chosen member at the
    smallest Hamming distance (> 0) from the given cell (a one-edge mutation whenever the
    benchmark has one); ``project`` maps any cell to a nearest member (for model-based
    strategies that propose cells outside the table). Everything else is the full space's.

    Example:
        >>> import nasrank
        >>> sp = nasrank.create_space("nb201")
        >>> sub = BenchmarkSpace(sp, [(1, 1, 1, 1, 1, 1), (1, 1, 1, 1, 1, 2), (3, 3, 3, 3, 3, 3)])
        >>> sub.mutate((1, 1, 1, 1, 1, 1), 0), sub.size
        ((1, 1, 1, 1, 1, 2), 3)
    """

    def __init__(self, space: Any, archs: Sequence[Sequence[int]]) -> None:
        self.base = space
        self.members = np.asarray([tuple(int(x) for x in a) for a in archs], dtype=np.int64)
        if len(self.members) < 2:
            raise ConfigError("a benchmark space needs at least two architectures")
        self._set = {tuple(a) for a in self.members.tolist()}
        self.name = getattr(space, "name", "space")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)

    @property
    def size(self) -> int:
        return len(self.members)

    def all_archs(self) -> Any:
        return iter(tuple(a) for a in self.members.tolist())

    def sample(self, rng: Any = None) -> Arch:
        from .._rng import as_generator

        return tuple(int(x) for x in self.members[int(as_generator(rng).integers(len(self.members)))])

    def _nearest(self, arch: Sequence[int], rng: Any, exclude_self: bool) -> Arch:
        from .._rng import as_generator

        d = (self.members != np.asarray(arch)[None, :]).sum(axis=1)
        if exclude_self:
            d = np.where(d == 0, d.max() + 1, d)
        cands = np.flatnonzero(d == d.min())
        return tuple(int(x) for x in self.members[int(cands[as_generator(rng).integers(len(cands))])])

    def mutate(self, arch: Sequence[int], rng: Any = None) -> Arch:
        return self._nearest(arch, rng, exclude_self=True)

    def project(self, arch: Sequence[int], rng: Any = None) -> Arch:
        a = tuple(int(x) for x in arch)
        return a if a in self._set else self._nearest(a, rng, exclude_self=False)

    def neighbours(self, arch: Sequence[int]) -> list[Arch]:
        d = (self.members != np.asarray(arch)[None, :]).sum(axis=1)
        d = np.where(d == 0, d.max() + 1, d)
        return [tuple(int(x) for x in self.members[i]) for i in np.flatnonzero(d == d.min())]

    def __contains__(self, arch: object) -> bool:
        return isinstance(arch, tuple) and arch in self._set

    def __repr__(self) -> str:
        return f"BenchmarkSpace({self.base!r}, {self.size} archs)"


class TabularEvaluator(Evaluator):
    """Queries a :class:`~nasrank.benchmarks.TabularBenchmark` instead of training.

    Without an estimator the score is the table's ``metric`` (e.g. NAS-Bench-201's final
    ``val_acc`` on ``cifar10-valid``). With one (``"tse-ema"``, ``"vacc-es"``, any spec
    ``name[:key=value]``) the score is the estimator on the benchmark's recorded learning curve
    at ``epochs`` T (the query's fidelity overrides T). Cost: the recorded training seconds of
    those epochs when the benchmark has times, else 1 per query; with ``cost="model"``, T (or
    all the epochs) times the seconds per epoch that
    :func:`~nasrank.benchmarks.fit_epoch_cost` predicts for the architecture, a cost free of
    the load the build machine happened to be under.

    Args:
        benchmark: The benchmark.
        estimator: Estimator spec or ``None``.
        epochs: Budget T for the estimator (default: all the benchmark's epochs).
        metric: Table metric scored without an estimator.
        dataset: Benchmark dataset of the search signal.
        report: Metrics recorded for every query, ``{label: (metric, dataset)}``; default the
            test accuracy on ``dataset``.
        cost: ``"recorded"`` (default) or ``"model"`` (see above; needs recorded epoch times).
        seed: On a benchmark with several training runs per cell (e.g. ``nasrank bench build
            --seeds 0,1:200``), read the search signal -- the curve, or ``metric`` -- and its
            recorded cost from this seed's run only, as a search that trains each cell once
            would see it; the ``report`` metrics (the regret's ground truth) stay the mean over
            the cell's runs. Every cell must have a run of this seed. Default: the benchmark's
            own values (the first run's curve, the mean over runs of ``metric``).

    Example:
        >>> from nasrank.benchmarks import load_benchmark
        >>> ev = TabularEvaluator(load_benchmark("nb201-mini"), "tse-ema", epochs=5)
        >>> rec = ev.evaluate(ev.space.sample(0))
        >>> rec.cost > 0, ev.score(rec) < 0
        (True, True)
    """

    charge_repeats = True

    def __init__(self, benchmark: Any, estimator: str | None = None, epochs: int | None = None,
                 metric: str = "val_acc", dataset: str | None = None,
                 report: dict[str, tuple[str, str | None]] | None = None, cost: str = "recorded",
                 seed: int | None = None) -> None:
        from ..benchmarks import TabularBenchmark, fit_epoch_cost

        if not isinstance(benchmark, TabularBenchmark):
            raise ConfigError(f"`benchmark` must be a TabularBenchmark, got {type(benchmark).__name__}")
        self.benchmark = benchmark
        self.estimator = estimator
        self.spec_ = _estimator(estimator)
        self.est_ = None if self.spec_ is None else self.spec_.create()
        if self.est_ is not None and not benchmark.has_curves:
            raise ConfigError(
                f"benchmark {benchmark.name!r} has no learning curves, so estimator {estimator!r} cannot be used; "
                f"search on its table instead (no estimator, metric=val_acc)"
            )
        n_ep = getattr(benchmark, "epochs", None)
        if n_ep is None and benchmark.has_curves:
            n_ep = int(benchmark.curve(benchmark.archs()[0]).planned_epochs or benchmark.curve(benchmark.archs()[0]).epochs)
        if epochs is not None:
            check_int("epochs", epochs, minimum=1)
            if n_ep is not None and epochs > n_ep:
                raise ConfigError(f"`epochs` {epochs} exceeds the benchmark's {n_ep} recorded epochs")
        self.epochs = epochs if epochs is not None else n_ep if self.est_ is not None else None
        self.max_fidelity = n_ep if self.est_ is not None else None
        self._n_epochs = n_ep
        self.dataset = dataset
        self.metric = metric
        if self.est_ is None:
            benchmark._check_metric(metric, benchmark._dataset(dataset))
        self.report = dict(report) if report is not None else {"test_acc": ("test_acc", dataset)}
        self.cost_unit = "s" if benchmark.has_curves else "query"
        if cost not in ("recorded", "model"):
            raise ConfigError(f"`cost` must be 'recorded' or 'model', got {cost!r}")
        self.cost_kind = cost
        self.seed = None if seed is None else _check_run_seed(benchmark, seed, dataset)
        self._run = {} if seed is None else {"seed": self.seed}
        self.cost_model_ = fit_epoch_cost(benchmark) if cost == "model" else None
        self._epoch_cost: dict[Arch, float] = {}
        archs = benchmark.archs()
        full = getattr(benchmark.space, "size", None)
        self._space = benchmark.space if full is not None and len(archs) >= full else BenchmarkSpace(benchmark.space, archs)
        self._cache: dict[tuple[Arch, int | None], EvalRecord] = {}
        self._strs: dict[Arch, str] = {}
        self._fps: dict[int | None, str] = {}
        # fast path for a whole-space table without curves (NB201 ground truth): one dict look-up
        self._rows: dict[Arch, int] | None = None
        if not benchmark.has_curves and full is not None and len(archs) >= full:
            self._rows = {tuple(a): i for i, a in enumerate(archs)}
            self._tables = {lab: benchmark.table(m, ds) for lab, (m, ds) in self.report.items()}
            self._tables["score"] = benchmark.table(metric, dataset)

    @property
    def space(self) -> Any:
        return self._space

    def config(self) -> dict[str, Any]:
        return {"kind": "tabular", "benchmark": self.benchmark.name, "estimator": self.estimator,
                "epochs": self.epochs, "metric": None if self.est_ is not None else self.metric,
                "dataset": self.dataset, "report": {k: list(v) for k, v in self.report.items()},
                **({"cost": "model"} if self.cost_kind == "model" else {}),  # recorded: as before this option
                **({"seed": self.seed} if self.seed is not None else {})}

    def label(self) -> str:
        return estimator_label(self.estimator, self.epochs) if self.est_ is not None else f"{self.metric}"

    def arch_str(self, arch: Arch) -> str:
        s = self._strs.get(arch)
        if s is None:
            s = self._strs[arch] = self._space.to_str(arch)
        return s

    def fingerprint(self, fidelity: int | None = None) -> str:
        fp = self._fps.get(fidelity)
        if fp is None:
            fp = self._fps[fidelity] = super().fingerprint(fidelity)
        return fp

    def evaluate(self, arch: Arch, fidelity: int | None = None) -> EvalRecord:
        ck = (arch, fidelity)
        rec = self._cache.get(ck)
        if rec is not None:
            return rec
        if self._rows is not None:
            i = self._rows.get(tuple(arch))
            if i is None:
                raise ConfigError(f"architecture {arch!r} is not in benchmark {self.benchmark.name!r}")
            metrics = {lab: float(t[i]) for lab, t in self._tables.items()}
            k = self.arch_str(arch)
            rec = EvalRecord(self._space.name, k, k, self.fingerprint(fidelity),
                             "ok" if math.isfinite(metrics["score"]) else "diverged", metrics, cost=1.0,
                             info={"fidelity": None})
            self._cache[ck] = rec
            return rec
        b = self.benchmark
        T = fidelity if fidelity is not None else self.epochs
        metrics: dict[str, Any] = {}
        for label, (m, ds) in self.report.items():
            metrics[label] = b.query(arch, m, ds)
        if self.est_ is None:
            metrics["score"] = b.query(arch, self.metric, self.dataset, **self._run)
            if self.cost_model_ is not None:
                cost = self._modelled(arch) * self._epochs_done(arch, self._n_epochs)
            else:
                times = self._times(arch) if b.has_curves else None
                cost = float(np.nansum(times)) if times is not None else 1.0
        else:
            if T is None or (self.max_fidelity is not None and T > self.max_fidelity):
                raise ConfigError(f"fidelity {T} is outside 1..{self.max_fidelity} epochs")
            curve = b.curve(arch, **self._run)
            metrics["score"] = self.est_.score(curve, int(T))
            if self.cost_model_ is not None:
                cost = self._modelled(arch) * self._epochs_done(arch, int(T), curve)
            else:
                times = self._times(arch, curve)
                cost = float(np.nansum(times[: int(T)])) if times is not None else float(T)
        rec = EvalRecord(self._space.name, self.key(arch), self.key(arch), self.fingerprint(fidelity),
                         "ok" if math.isfinite(metrics["score"]) else "diverged", metrics, cost=cost,
                         info={"fidelity": T})
        self._cache[ck] = rec
        return rec

    def score(self, record: EvalRecord, fidelity: int | None = None) -> float:
        v = record.metrics.get("score")
        return math.nan if v is None else float(v)

    def _epochs_done(self, arch: Arch, T: int | None, curve: Any = None) -> float:
        """Epochs of the first T that the run trained (a diverged run stops early)."""
        times = self._times(arch, curve)
        done = int(np.isfinite(np.asarray(times, dtype=np.float64)).sum()) if times is not None else T
        return float(min(T, done) if T is not None else done)

    def _times(self, arch: Arch, curve: Any = None) -> np.ndarray | None:
        """Recorded seconds per epoch: of the ``seed`` run (``curve``, when already read), else
        the mean over the cell's runs."""
        if self.seed is None:
            return self.benchmark.epoch_times(arch)
        if curve is None:
            curve = self.benchmark.curve(arch, seed=self.seed)
        return np.asarray(curve.epoch_time, dtype=np.float64)

    def _modelled(self, arch: Arch) -> float:
        sec = self._epoch_cost.get(arch)
        if sec is None:
            sec = self._epoch_cost[arch] = float(self.cost_model_.predict([arch])[0])
        return sec


def _check_run_seed(benchmark: Any, seed: int, dataset: str | None) -> int:
    """``seed`` if every cell of ``benchmark`` has a training run of it, else one clear error."""
    seed = check_int("seed", seed, minimum=0)
    present = getattr(benchmark, "seeds", None)
    if present is None:
        raise ConfigError(f"benchmark {benchmark.name!r} does not record training runs by seed: leave `seed` unset")
    if seed not in present:
        raise ConfigError(f"benchmark {benchmark.name!r} has no runs of seed {seed} (seeds: {sorted(present)})")
    archs = benchmark.archs()
    lacking = 0
    for a in archs:
        try:
            benchmark.curve(a, dataset, seed=seed)
        except NasrankError:
            lacking += 1
    if lacking:
        raise ConfigError(f"seed {seed} was trained on {len(archs) - lacking} of the {len(archs)} cells of "
                          f"{benchmark.name!r}: search with a seed every cell has (e.g. {min(present)})")
    return seed


class LiveEvaluator(Evaluator):
    """Trains each cell for real and scores its learning curve with an estimator.

    The training run is a :class:`~nasrank.benchmarks.TrainJob` (picklable: it runs on any
    executor), its record holds the per-epoch curve, and the score is computed from the stored
    curve, so runs with different estimators share training records. The network's initial
    weights and data order come from ``seed``; isomorphic cells share a record.

    Args:
        data: A :class:`~nasrank.data.DataSpec` (the validation part feeds ``vacc-es``).
        estimator: Estimator spec (``"tse-ema"``, ``"vacc-es"``, ``"tse-ema:gamma=0.1"``, ...).
        epochs: Training epochs per query (the estimator's budget T).
        space: Search space name.
        space_config: ``space.build`` keyword arguments (default: the space's
            ``default_config("search")``).
        train: A :class:`~nasrank.training.TrainConfig` (its ``epochs`` is replaced by the
            query's fidelity; its ``precision`` selects mixed precision and is part of the
            fingerprint, since it changes the numbers).
        seed: Training seed.
        device: Where each cell trains: ``"cpu"`` (default), ``"auto"`` (the device the executor
            assigned to the worker, else the first GPU, else the CPU), ``"cuda"``, ``"cuda:N"``
            or ``"mps"``. Not part of the fingerprint: a search resumed on another device reuses
            its records; each record's ``info["device"]`` / ``info["device_name"]`` say where it
            was trained.
        compile: ``torch.compile`` each network (falls back to eager with a warning where no
            backend works; not part of the fingerprint).
        channels_last: Train in the channels-last memory layout (not part of the fingerprint).

    Example:
        >>> from nasrank.data import DataSpec
        >>> ev = LiveEvaluator(DataSpec("digits", train_size=200, val_size=100, test_size=100),
        ...                    "tse-ema", epochs=1, space_config={"C": 4, "N": 1})
        >>> rec = ev.evaluate((3, 3, 0, 1, 3, 4))
        >>> rec.status, ev.score(rec) < 0, ev.cost(rec) > 0, rec.info["device"]
        ('ok', True, True, 'cpu')
    """

    charge_repeats = False
    remote = True

    def __init__(self, data: Any = None, estimator: str = "tse-ema", epochs: int = 5, space: str = "nb201",
                 space_config: dict[str, Any] | None = None, train: Any = None, seed: int = 0,
                 device: Any = "cpu", compile: bool = False, channels_last: bool = False) -> None:
        from ..data import DataSpec
        from ..spaces import SPACES
        from ..training import TrainConfig

        self.data = data if data is not None else DataSpec("digits", val_size=300)
        if not isinstance(self.data, DataSpec):
            raise ConfigError(f"`data` must be a DataSpec, got {type(self.data).__name__}")
        self.estimator = estimator
        self.spec_ = _estimator(estimator)
        self.est_ = self.spec_.create()
        self.epochs = check_int("epochs", epochs, minimum=1)
        self.max_fidelity = self.epochs
        self.space_name = space
        self._space = SPACES.get(space)()
        self.space_config = dict(space_config if space_config is not None
                                 else self._space.default_config("search"))
        self.train = train if train is not None else TrainConfig(epochs=epochs, batch_size=128)
        if not isinstance(self.train, TrainConfig):
            raise ConfigError(f"`train` must be a TrainConfig, got {type(self.train).__name__}")
        if self.est_.field in ("val_loss", "val_acc") and not self.data.val_size:
            raise ConfigError(f"estimator {estimator!r} reads validation results: give the data a val_size > 0")
        self.seed = check_int("seed", seed, minimum=0)
        self.device = check_device_name(device)
        self.compile = _check_flag("compile", compile)
        self.channels_last = _check_flag("channels_last", channels_last)

    @property
    def space(self) -> Any:
        return self._space

    def check(self) -> None:
        """Fail fast on a configuration that cannot train any cell (a device this machine does
        not have, missing data, a split that does not fit the dataset, a network that cannot be
        built); see
        :func:`nasrank.benchmarks.preflight`. Evaluations themselves never raise: a cell that
        fails to train is an ``error`` record."""
        from ..benchmarks import preflight

        preflight(self.job(self._space.sample(0)))

    def job(self, arch: Arch, fidelity: int | None = None) -> Any:
        from dataclasses import replace

        from ..training import TrainJob

        ep = int(fidelity or self.epochs)
        tc = replace(self.train, epochs=ep)
        return TrainJob(self.space_name, self._space.to_str(arch), dict(self.space_config), self.data, tc,
                        self.seed, record_minibatch=self.est_.name == "tl-mini", device=self.device,
                        compile=self.compile, channels_last=self.channels_last)

    def config(self) -> dict[str, Any]:
        return {"kind": "live", "space": self.space_name, "space_config": self.space_config,
                "data": self.data.key(), "train": self.train.key(), "seed": self.seed}

    def fingerprint(self, fidelity: int | None = None) -> str:
        return self.job(self._space.sample(0), fidelity).fingerprint

    def key(self, arch: Arch) -> str:
        return str(self._space.canonical_key(arch))

    def label(self) -> str:
        return estimator_label(self.estimator, self.epochs)

    def call(self, arch: Arch, fidelity: int | None) -> tuple[Callable[..., EvalRecord], tuple[Any, ...]]:
        from ..training import run_train_job

        return run_train_job, (self.job(arch, fidelity),)

    def evaluate(self, arch: Arch, fidelity: int | None = None) -> EvalRecord:
        fn, args = self.call(arch, fidelity)
        return fn(*args)

    def cost(self, record: EvalRecord) -> float:
        return float(record.info.get("wall", record.cost))

    def score(self, record: EvalRecord, fidelity: int | None = None) -> float:
        if record.status == "error" or record.curve is None:
            return math.nan
        curve = record.learning_curve()
        return float(self.est_.score(curve, int(fidelity or self.epochs)))


def _proxy_job(space: str, arch_str: str, proxy: str, data: Any, batch_size: int,
               space_config: dict[str, Any], seed: int, fp: str, device: str = "cpu") -> EvalRecord:
    from ..execution import device_info, is_out_of_memory, release_memory, resolve_device
    from ..spaces import SPACES
    from ._scorers import ProxyScorer

    sp = SPACES.get(space)()
    arch = sp.from_str(arch_str)
    key = str(sp.canonical_key(arch))
    info: dict[str, Any] = {}
    dev: Any = None
    t0 = time.perf_counter()
    try:
        dev = resolve_device(device)  # "auto": the device the executor assigned to this worker
        info.update(device_info(dev))
        sc = ProxyScorer(sp, proxy, data, batch_size, space_config, seed, device=str(dev))
        v = float(sc([arch])[0])
    except Exception as exc:  # noqa: BLE001  (a failed evaluation is a recorded outcome)
        msg = " ".join(f"{type(exc).__name__}: {exc}".split())
        if is_out_of_memory(exc):
            msg = f"out of memory on {dev}: {msg}"
            info["oom"] = True
            release_memory(dev)
        return EvalRecord(space, arch_str, key, fp, "error", {}, cost=time.perf_counter() - t0,
                          error=msg[:500], info=info)
    return EvalRecord(space, arch_str, key, fp, "ok" if math.isfinite(v) else "diverged",
                      {"score": v}, cost=sc.cost_, info=info)


class ProxyEvaluator(Evaluator):
    """Scores each cell with a zero-cost proxy at initialisation (no training).

    Args:
        proxy: Proxy name (:func:`nasrank.list_proxies`).
        data: A :class:`~nasrank.data.DataSpec` (default: digits).
        batch_size: Minibatch size of the proxy.
        space: Search space name.
        space_config: ``space.build`` keyword arguments (default: the space's
            ``default_config("search")``).
        seed: Seed of the minibatch and the initial weights.
        device: Where the proxy is computed (``"cpu"``, ``"auto"``, ``"cuda"``, ``"cuda:N"``,
            ``"mps"``; ``"auto"`` uses the device the executor assigned to the worker). Not part
            of the fingerprint; each record's ``info["device"]`` says where it was computed.

    Example:
        >>> from nasrank.data import DataSpec
        >>> ev = ProxyEvaluator("synflow", DataSpec("digits", test_size=0), batch_size=16,
        ...                     space_config={"C": 4, "N": 1})
        >>> rec = ev.evaluate((3, 3, 0, 1, 3, 4))
        >>> rec.status, rec.info["device"]
        ('ok', 'cpu')
    """

    charge_repeats = False
    remote = True

    def __init__(self, proxy: str = "gradsign", data: Any = None, batch_size: int = 128, space: str = "nb201",
                 space_config: dict[str, Any] | None = None, seed: int = 0, device: Any = "cpu") -> None:
        from ..data import DataSpec
        from ..estimators import PROXIES
        from ..spaces import SPACES

        PROXIES.get(proxy)
        self.proxy = proxy
        self.data = data if data is not None else DataSpec("digits", test_size=0)
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.space_name = space
        self._space = SPACES.get(space)()
        self.space_config = dict(space_config if space_config is not None
                                 else self._space.default_config("search"))
        self.seed = check_int("seed", seed, minimum=0)
        self.device = check_device_name(device)

    @property
    def space(self) -> Any:
        return self._space

    def check(self) -> None:
        """Fail fast when :attr:`device` does not exist on this machine."""
        from ..execution import resolve_device

        resolve_device(self.device)

    def config(self) -> dict[str, Any]:
        return {"kind": "proxy", "proxy": self.proxy, "data": self.data.key(), "batch_size": self.batch_size,
                "space": self.space_name, "space_config": self.space_config, "seed": self.seed}

    def key(self, arch: Arch) -> str:
        return str(self._space.canonical_key(arch))

    def label(self) -> str:
        return f"proxy:{self.proxy}"

    def call(self, arch: Arch, fidelity: int | None) -> tuple[Callable[..., EvalRecord], tuple[Any, ...]]:
        return _proxy_job, (self.space_name, self._space.to_str(arch), self.proxy, self.data, self.batch_size,
                            self.space_config, self.seed, self.fingerprint(fidelity), self.device)

    def evaluate(self, arch: Arch, fidelity: int | None = None) -> EvalRecord:
        fn, args = self.call(arch, fidelity)
        return fn(*args)

    def score(self, record: EvalRecord, fidelity: int | None = None) -> float:
        v = record.metrics.get("score")
        return math.nan if v is None else float(v)
