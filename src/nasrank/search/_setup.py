"""A whole search from one configuration: evaluator, scorer, strategies, executor, budget.

:class:`SearchConfig` holds exactly what ``nasrank search`` takes (one field per option), and
:func:`assemble` turns it into a :class:`SearchSetup` — validating everything first, so that a
bad configuration fails before any evaluation: a live search's data, split and network are
checked by :meth:`LiveEvaluator.check() <nasrank.search.LiveEvaluator.check>`, unknown strategy
parameters are refused, and the executor is started last. :meth:`SearchSetup.run` then runs one
search per seed (:func:`~nasrank.search.run_search`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .._validate import check_float, check_int, output_file
from ..exceptions import ConfigError
from ._base import STRATEGIES, Strategy, create_strategy
from ._driver import Budget, SearchResult, parse_budget, run_search
from ._evaluators import Evaluator, LiveEvaluator, TabularEvaluator
from ._scorers import ProxyScorer, Scorer, TableScorer

__all__ = ["SearchConfig", "SearchSetup", "assemble", "build_evaluator", "build_scorer", "parse_seeds",
           "parse_assignments", "proxy_table_scorer"]


def parse_seeds(seeds: str | int | Sequence[int]) -> list[int]:
    """Seeds from ``"0"``, ``"0,1,2"``, ``"0:20"`` (a range) or a sequence of ints.

    Example:
        >>> parse_seeds("0:3"), parse_seeds("4,2"), parse_seeds((7,))
        ([0, 1, 2], [4, 2], [7])
    """
    if isinstance(seeds, str):
        try:
            if ":" in seeds:
                a, b = seeds.split(":")
                return list(range(int(a), int(b)))
            return [int(s) for s in seeds.split(",") if s.strip()]
        except ValueError:
            raise ConfigError(f"--seeds must be ints such as 0 or 0,1,2 or 0:20; got {seeds!r}") from None
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        return [seeds]
    return [check_int("seeds", s, minimum=0) for s in seeds]


def parse_assignments(items: Sequence[str] | None, option: str = "--config", example: str = "C=16",
                      **shortcuts: Any) -> dict[str, Any]:
    """``key=value`` strings as a dict (a value is read as JSON when it parses, else kept as text),
    with ``shortcuts`` (options given by their own flags, e.g. ``C=4`` for ``--C 4``; ``None`` =
    not given) merged in; a shortcut that contradicts an item is an error.

    Example:
        >>> parse_assignments(["layers=5", "auxiliary=false", "name=x"], C=4, N=None)
        {'layers': 5, 'auxiliary': False, 'name': 'x', 'C': 4}
        >>> parse_assignments(["C=8"], C=4)
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: --C 4 and --config C=8 disagree; give one of them
    """
    import json

    out: dict[str, Any] = {}
    for it in items or []:
        if "=" not in it:
            raise ConfigError(f"{option} must be key=value (e.g. {example}), got {it!r}")
        k, v = it.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            out[k.strip()] = v
    for key, value in shortcuts.items():
        if value is not None:
            if key in out and out[key] != value:
                raise ConfigError(f"--{key} {value} and {option} {key}={out[key]} disagree; give one of them")
            out[key] = value
    return out


@dataclass
class SearchConfig:
    """A search, field for field the options of ``nasrank search`` (``--pool-size`` is
    ``pool_size``, ``--param k=v`` entries are ``params``, ``--config k=v`` / ``--C`` / ``--N``
    are ``config``).

    Attributes:
        space: Search space of a live search.
        dataset: Live: training dataset. With ``benchmark``: the benchmark's dataset.
        strategy: Registered strategy name.
        estimator: Estimator spec ``name[:key=value]``; ``None`` (or ``"none"``) searches a
            benchmark's table.
        epochs: Training epochs per query = the estimator's budget T.
        budget: Seconds of evaluation cost (``"5m"``) or queries (``"100q"``).
        seeds: Strategy seeds (one run each): ints, or ``"0,1,2"`` / ``"0:20"``.
        benchmark: Search a tabular benchmark (name or directory) instead of training.
        supernet: Search the subnets of a trained supernet checkpoint instead (one-shot NAS:
            each query fine-tunes the subnet for ``B`` minibatches; see
            :class:`~nasrank.search.SupernetEvaluator`).
        B: With ``supernet``: fine-tuning minibatches per subnet.
        metric: With ``benchmark`` and no estimator: the table metric searched.
        cost: With ``benchmark``: ``"recorded"`` (the build's measured seconds per epoch) or
            ``"model"`` (seconds per epoch predicted from the architecture by
            :func:`~nasrank.benchmarks.fit_epoch_cost`, free of the build machine's load).
        data_dir: Data directory (default ``$NASRANK_DATA``).
        proxy: Proxy of the proxy-assisted (``g-*``) strategies: a proxy name, or
            ``"naswot-table"`` (NAS-Bench-201's published scores); default: the table when the
            benchmark has one, else ``gradsign``.
        pool_size: Candidates the proxy screens per query.
        params: Further strategy parameters.
        config: Build options of the space's networks, over the space's
            ``default_config("search")`` (live training and proxy networks).
        batch_size: Live: minibatch size.
        lr: Live: initial learning rate (cosine to 0 over ``epochs``).
        image_size: Live: downsample images to this side.
        train_size: Live: training examples (default: all not used for validation).
        val_size: Live: validation examples (from the training part).
        test_size: Live: test examples (default: the whole test part).
        train_seed: Live: seed of the initial weights and data order. With a ``benchmark`` that
            holds several training runs per cell: the run whose curve / metric and cost the search
            reads (the regret's test accuracy stays the mean over the runs); a benchmark with one
            run per cell ignores it.
        store: Results store; re-running the same search resumes it.
        executor: ``serial``, ``processes`` or ``ray``.
        workers: Parallel evaluations (asynchronous search when > 1).
        threads: Torch threads per evaluation.
        ray_address: Ray cluster address (default: start a local one).
        device: Where evaluations compute: ``"cpu"`` (default), ``"auto"`` (the first GPU if
            any, else the CPU; with ``executor="processes"`` the workers are spread round-robin
            over every visible GPU), ``"cuda"``, ``"cuda:N"`` or ``"mps"``. Used by live
            training, the proxies of ``g-*`` strategies and supernet fine-tuning. Not part of any
            fingerprint: a search resumed on another device reuses its records, which say in
            ``info["device"]`` where they were computed.
        precision: Live: ``"32"``, ``"bf16"`` or ``"16"`` (mixed-precision autocast; ``16`` adds
            loss scaling). Part of the training fingerprint (it changes the numbers). A
            ``supernet`` search fine-tunes in float32 and refuses any other precision.
        compile: Live: ``torch.compile`` the networks (falls back to eager with a warning where
            no backend works).
        channels_last: Live: train in the channels-last memory layout.
        workers_per_device: With ``executor="processes"`` and a GPU device: this many workers
            per GPU (``workers`` is then this times the number of GPUs used); ``None``: just
            ``workers``, spread round-robin.
        gpus_per_task: With ``executor="ray"``: GPUs each evaluation requests (a fraction, e.g.
            ``0.25``, shares one GPU among four tasks); ``0``: CPU tasks.

    Example:
        >>> cfg = SearchConfig(benchmark="nb201-mini", strategy="random", budget="5q")
        >>> cfg.space, cfg.estimator, cfg.seeds
        ('nb201', 'tse-ema', (0,))
    """

    space: str = "nb201"
    dataset: str = "digits"
    strategy: str = "evolution"
    estimator: str | None = "tse-ema"
    epochs: int = 5
    budget: str | float | Budget = "5m"
    seeds: str | Sequence[int] = (0,)
    benchmark: str | None = None
    supernet: str | os.PathLike | None = None
    B: int = 100
    metric: str = "val_acc"
    cost: str = "recorded"
    data_dir: str | None = None
    proxy: str | None = None
    pool_size: int = 10
    params: Mapping[str, Any] = field(default_factory=dict)
    config: Mapping[str, Any] = field(default_factory=dict)
    batch_size: int = 128
    lr: float = 0.1
    image_size: int | None = None
    train_size: int | None = None
    val_size: int = 300
    test_size: int | None = None
    train_seed: int = 0
    store: str | os.PathLike | None = None
    executor: str = "serial"
    workers: int = 1
    threads: int = 1
    ray_address: str | None = None
    device: str = "cpu"
    precision: str = "32"
    compile: bool = False
    channels_last: bool = False
    workers_per_device: int | None = None
    gpus_per_task: float = 0.0

    @property
    def estimator_spec(self) -> str | None:
        """:attr:`estimator`, with ``"none"`` / ``"table"`` / ``""`` read as ``None``."""
        est = self.estimator
        return None if est is None or est.strip().lower() in ("none", "table", "") else est

    def build_config(self, space: Any) -> dict[str, Any]:
        """``space.default_config("search")`` updated with :attr:`config`.

        Example:
            >>> import nasrank
            >>> SearchConfig(config={"C": 4}).build_config(nasrank.create_space("darts"))
            {'C': 4, 'layers': 5}
        """
        if not isinstance(self.config, Mapping):
            raise ConfigError(f"`config` must be a dict of build options, got {type(self.config).__name__}")
        return {**space.default_config("search"), **self.config}


def build_evaluator(config: SearchConfig) -> Evaluator:
    """The evaluator of a search: a :class:`TabularEvaluator` on ``config.benchmark``, else a
    :class:`LiveEvaluator` that trains ``config.space``'s networks (checked with
    :meth:`LiveEvaluator.check`: missing data, a split that does not fit, an unbuildable network
    fail here).

    Example:
        >>> ev = build_evaluator(SearchConfig(benchmark="nb201-mini", estimator="none"))
        >>> ev.label(), ev.cost_unit
        ('val_acc', 's')
    """
    est = config.estimator_spec
    if config.cost != "recorded" and config.benchmark is None:
        raise ConfigError(f"--cost {config.cost} charges a benchmark's cells: give --benchmark, or drop --cost "
                          "(a live or supernet search's cost is the time it computes)")
    if config.supernet is not None:
        if config.benchmark is not None:
            raise ConfigError("give either --supernet (search a trained supernet's subnets) or --benchmark, not both")
        from ..execution import resolve_precision
        from ._supernet_eval import SupernetEvaluator

        if resolve_precision(config.precision) != "32":
            raise ConfigError("--precision applies to live training; a --supernet search fine-tunes its subnets "
                              "in float32: drop --precision")
        sev = SupernetEvaluator(config.supernet, est or "tse", B=config.B, data_dir=config.data_dir,
                                seed=config.train_seed, device=config.device)
        sev.check()
        return sev
    if config.benchmark is not None:
        from ..benchmarks import load_benchmark

        bench = load_benchmark(config.benchmark, root=config.data_dir)
        ds = config.dataset if config.dataset in bench.datasets else None
        run = {"seed": config.train_seed} if len(getattr(bench, "seeds", None) or ()) > 1 else {}
        if est is None:
            report = {"test_acc": ("test_acc", "cifar10" if "cifar10" in bench.datasets else ds)}
            return TabularEvaluator(bench, None, metric=config.metric, dataset=ds, report=report, cost=config.cost,
                                    **run)
        return TabularEvaluator(bench, est, epochs=config.epochs, dataset=ds, cost=config.cost, **run)
    if est is None:
        raise ConfigError("a live search needs an --estimator (e.g. tse-ema or vacc-es)")
    from ..data import DataSpec
    from ..spaces import SPACES
    from ..training import TrainConfig

    data = DataSpec(config.dataset, root=config.data_dir, image_size=config.image_size, train_size=config.train_size,
                    val_size=config.val_size, test_size=config.test_size, seed=0)
    space = SPACES.get(config.space)()
    ev = LiveEvaluator(data, est, epochs=config.epochs, space=config.space, space_config=config.build_config(space),
                       train=TrainConfig(epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                                         precision=config.precision),
                       seed=config.train_seed, device=config.device, compile=config.compile,
                       channels_last=config.channels_last)
    ev.check()
    return ev


def build_scorer(config: SearchConfig, evaluator: Evaluator) -> Scorer:
    """The scorer of a proxy-assisted search, from ``config.proxy``:

    * a proxy name (e.g. ``gradsign``): computed on the fly on the evaluator's data (digits for a
      benchmark) and networks (:class:`ProxyScorer`), on ``config.device``;
    * ``<proxy>-table`` (e.g. ``gradsign-table``): looked up in the proxy table shipped for the
      space (:func:`~nasrank.benchmarks.list_proxy_tables`), ``<dir>:<proxy>``: in the table at
      ``<dir>`` (:func:`~nasrank.benchmarks.build_proxy_table`); the seconds the table recorded
      are charged on first lookup;
    * ``naswot-table``: NAS-Bench-201's published NASWOT scores;
    * ``ensemble:a,b,...`` / ``ensemble-log:a,b,...``: a label-free ensemble of those scorers
      (each member any of the above): the mean (or log-sum) of each member's quantile against
      100 reference cells drawn with seed 0 (:class:`EnsembleScorer`).

    Example:
        >>> ev = build_evaluator(SearchConfig(benchmark="nb201-mini"))
        >>> build_scorer(SearchConfig(proxy="nwot"), ev).config()["space_config"]
        {'C': 8, 'N': 1}
        >>> build_scorer(SearchConfig(proxy="ensemble:nwot,synflow"), ev).config()["kind"]
        'ensemble'
    """
    bench = getattr(evaluator, "benchmark", None)
    proxy = config.proxy
    if proxy is None:
        proxy = "naswot-table" if bench is not None and hasattr(bench, "scores") else "gradsign"
    space = evaluator.space
    space_name = getattr(evaluator, "space_name", None) or space.name
    if proxy == "naswot-table":
        from ..benchmarks import NB201Benchmark

        nb = bench if isinstance(bench, NB201Benchmark) else NB201Benchmark(config.data_dir)
        return TableScorer(nb.archs(), nb.scores("naswot"), name="nb201-naswot")
    if proxy.split(":", 1)[0].strip().lower() in ("ensemble", "ensemble-log"):
        from ._ensemble import ensemble_scorer

        return ensemble_scorer(proxy, lambda name: build_scorer(replace(config, proxy=name), evaluator),
                               space, seed=0)
    if proxy.endswith("-table") or ":" in proxy:
        return proxy_table_scorer(proxy, space_name)
    data = getattr(evaluator, "data", None)
    if data is None:
        from ..data import DataSpec

        data = DataSpec("digits", test_size=0)
    build = getattr(evaluator, "space_config", None)
    if build is None:
        build = config.build_config(space)
    return ProxyScorer(space_name, proxy, data, 128, build, device=config.device)


def proxy_table_scorer(spec: str, space_name: str = "nb201") -> TableScorer:
    """A :class:`TableScorer` over a proxy table: ``<proxy>-table`` (the table shipped for
    ``space_name`` that has the proxy) or ``<dir>:<proxy>`` (the table at ``<dir>``). Scores are
    oriented (higher = better), looked up by canonical key, and the seconds the table recorded
    are charged on first lookup.

    Example:
        >>> import tempfile
        >>> from nasrank.benchmarks import ProxyProtocol, build_proxy_table
        >>> out = tempfile.mkdtemp() + "/t"
        >>> p = ProxyProtocol("nb201", ("params",), dataset="digits", space_config={"C": 2, "N": 1})
        >>> _ = build_proxy_table(p, out, archs=[(3, 3, 3, 3, 3, 3), (1, 1, 1, 1, 1, 1)], progress=False)
        >>> s = proxy_table_scorer(f"{out}:params")
        >>> bool(s([(3, 3, 3, 3, 3, 3)])[0] > s([(1, 1, 1, 1, 1, 1)])[0])
        True
    """
    from ..benchmarks import ProxyTable, list_proxy_tables, load_proxy_table

    if spec.endswith("-table"):
        name = spec[: -len("-table")]
        found = [t for t in (load_proxy_table(n) for n in list_proxy_tables())
                 if t.protocol["space"] == space_name and name in t.proxies]
        if not found:
            raise ConfigError(f"no shipped proxy table of space {space_name!r} has {name!r}; build one with "
                              f"`nasrank proxies table --space {space_name} --proxies {name} --out DIR` and "
                              f"pass --proxy DIR:{name}")
        table: ProxyTable = found[0]
    else:
        where, name = spec.rsplit(":", 1)
        table = load_proxy_table(where)
        if table.protocol["space"] != space_name:
            raise ConfigError(f"the proxy table at {where} scores space {table.protocol['space']!r}, "
                              f"not the search's {space_name!r}")
    sign = 1.0 if table.higher_is_better(name) else -1.0
    return TableScorer(table.archs, sign * table.scores_of(table.archs, name), name=f"{table.name}:{name}",
                       seconds=table.seconds_of(table.archs, name), key=table.space.canonical_key)


@dataclass
class SearchSetup:
    """An assembled search: what :func:`assemble` returns and :meth:`run` runs.

    Use it as a context manager (or call :meth:`close`) to shut the executor down.

    Attributes:
        config: The configuration it was assembled from.
        evaluator: Scores the queries.
        strategies: One fresh strategy per seed.
        budget: Each run's budget.
        executor: Where evaluations run (``None``: in this process).
        started: ``time.monotonic()`` when assembly began (a live search with a time budget
            stops on the wall clock counted from here).
        results: The finished runs, in seed order (also after an interruption).

    Example:
        >>> setup = assemble(SearchConfig(benchmark="nb201-mini", strategy="random", budget="4q", seeds="0,1"))
        >>> with setup:
        ...     [len(r.steps) for r in setup.run()]
        [4, 4]
    """

    config: SearchConfig
    evaluator: Evaluator
    strategies: list[Strategy]
    budget: Budget
    executor: Any = None
    started: float = field(default_factory=time.monotonic)
    results: list[SearchResult] = field(default_factory=list)

    @property
    def benchmark(self) -> Any:
        """The tabular benchmark searched (``None`` for a live search)."""
        return getattr(self.evaluator, "benchmark", None)

    @property
    def deadline(self) -> float | None:
        """Wall-clock end (``time.monotonic()``) of a single live run with a time budget.

        ``--budget 5m`` then ends within five minutes including start-up, minus a few seconds
        for the summary and exit; ``None`` otherwise (runs stay reproducible step for step).
        """
        if self.benchmark is None and self.budget.unit == "s" and len(self.strategies) == 1:
            return self.started + self.budget.amount - min(5.0, 0.02 * self.budget.amount)
        return None

    def run(self, *, progress: bool = False) -> list[SearchResult]:
        """Run every strategy that has not run yet, in seed order; returns :attr:`results`."""
        store = None if self.config.store is None else os.fspath(self.config.store)
        for strategy in self.strategies[len(self.results):]:
            self.results.append(run_search(
                strategy, self.evaluator, self.budget, executor=self.executor, store=store, progress=progress,
                label=f"{self.config.strategy} seed {strategy.seed}", deadline=self.deadline,
            ))
        return self.results

    def close(self) -> None:
        """Shut the executor down (idempotent)."""
        ex, self.executor = self.executor, None
        if ex is not None:
            ex.shutdown()

    def __enter__(self) -> SearchSetup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _executor(config: SearchConfig, live: bool) -> Any:
    from ..execution import create_executor, placement

    workers = check_int("workers", config.workers, minimum=1)
    threads = check_int("threads", config.threads, minimum=1)
    kw = placement(config.executor, config.device, config.workers_per_device, config.gpus_per_task)
    if config.executor != "serial" or workers != 1:
        if config.executor == "serial":
            raise ConfigError("--executor serial runs one evaluation at a time: use --workers 1 or --executor processes")
        if config.executor == "ray":
            kw["address"] = config.ray_address
        return create_executor(config.executor, workers=workers, threads=threads, **kw)
    return create_executor("serial", threads=threads) if live else None


def assemble(config: SearchConfig) -> SearchSetup:
    """Validate ``config`` and build everything its search needs; nothing is evaluated yet.

    Checks run cheapest first: budget, learning rate, device (it must exist here: ``"cuda"``
    without CUDA fails at once), precision, store path, seeds and strategy name; then the
    evaluator (a live one is preflight-checked), the strategy parameters (each seed's strategy is
    constructed, so unknown or invalid parameters fail here) and last the executor.

    Raises:
        NasrankError: A one-line, actionable error for any bad setting.

    Example:
        >>> setup = assemble(SearchConfig(benchmark="nb201-mini", strategy="hyperband", budget="3q"))
        >>> setup.strategies[0].max_fidelity == setup.evaluator.max_fidelity, setup.executor
        (True, None)
    """
    if not isinstance(config, SearchConfig):
        raise ConfigError(f"assemble() needs a SearchConfig, got {type(config).__name__}")
    started = time.monotonic()
    budget = parse_budget(config.budget)
    check_float("--lr", config.lr, minimum=0.0, exclusive_min=True)
    from ..execution import check_device_name, resolve_device, resolve_precision

    resolve_device(check_device_name(config.device))
    config = replace(config, device=check_device_name(config.device), precision=resolve_precision(config.precision))
    for name in ("compile", "channels_last"):
        if not isinstance(getattr(config, name), bool):
            raise ConfigError(f"`{name}` must be True or False, got {getattr(config, name)!r}")
    if config.store is not None:
        output_file(config.store, "results store")  # the store itself checks that an existing file is ours
    seeds = parse_seeds(config.seeds)
    if not seeds:
        raise ConfigError("--seeds selects no seed")
    entry = STRATEGIES.get(config.strategy)
    evaluator = build_evaluator(config)
    params = dict(config.params)
    if entry.multi_fidelity:
        if evaluator.max_fidelity is None:
            raise ConfigError(
                f"strategy {config.strategy!r} needs epochs: use a live search or a curve benchmark with an estimator"
            )
        params.setdefault("max_fidelity", int(evaluator.max_fidelity))
    if entry.needs_scorer:
        params["scorer"] = build_scorer(config, evaluator)
        params.setdefault("pool_size", config.pool_size)
    strategies = [create_strategy(config.strategy, evaluator.space, seed=s, **params) for s in seeds]
    executor = _executor(config, live=config.benchmark is None)
    return SearchSetup(config, evaluator, strategies, budget, executor, started)
