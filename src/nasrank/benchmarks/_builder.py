"""Build learning-curve benchmarks: train many cells, record every curve, resume after interruption."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import check_int, output_dir
from ..data import DataSpec
from ..exceptions import BenchmarkDataError, ConfigError
from ..execution import check_device_name
from ..records import EvalRecord, fingerprint
from ..store import ResultStore
from ..training import PROTOCOL_VERSION, TrainConfig, TrainJob, run_train_job
from ._format import MINIBATCH_DTYPES, write_benchmark

__all__ = ["BuildConfig", "select_archs", "build_benchmark"]

#: Spaces of at most this many architectures are enumerated by :func:`select_archs`.
ENUMERATE_MAX = 100_000

def select_archs(
    space: Any, n: int, seed: int = 0, valid_only: bool = True, distinct: bool = True
) -> list[tuple[int, ...]]:
    """``n`` architectures drawn without replacement, reproducibly.

    With ``distinct`` (default) no two share a canonical class, and each is its class's canonical
    representative. The draw is a seeded permutation, so a larger ``n`` with the same seed extends
    a smaller selection (a benchmark can be grown later). A space of at most
    :data:`ENUMERATE_MAX` architectures is enumerated (a permutation of its classes); a larger
    one (e.g. NAS-Bench-101's 423,624 cells, whose enumeration takes minutes) is sampled with
    :meth:`~nasrank.spaces.SearchSpace.sample`, whose distribution the space documents.

    Example:
        >>> from nasrank import create_space
        >>> sp = create_space("nb201")
        >>> a, b = select_archs(sp, 5, seed=0), select_archs(sp, 8, seed=0)
        >>> b[:5] == a and len({sp.canonical_key(x) for x in b}) == 8
        True
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"`archs` must be an int >= 1, got {n!r}")
    rng = np.random.default_rng(seed)
    size = getattr(space, "size", None)
    if size is not None and size <= ENUMERATE_MAX:
        pool: dict[Any, tuple[int, ...]] = {}
        for a in space.all_archs():
            if valid_only and not space.is_valid(a):
                continue
            k = space.canonical_key(a) if distinct else a
            if k not in pool:
                pool[k] = space.canonical(a) if distinct else a
        cands = [pool[k] for k in sorted(pool, key=str)]
        if n > len(cands):
            raise ConfigError(
                f"{space.name} has only {len(cands)} {'distinct ' if distinct else ''}"
                f"{'valid ' if valid_only else ''}architectures, asked for {n}"
            )
        return [cands[i] for i in rng.permutation(len(cands))[:n]]
    out: list[tuple[int, ...]] = []
    seen: set[Any] = set()
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 1000 * n:
            raise ConfigError(f"could not draw {n} distinct architectures from {space.name}")
        a = space.sample(rng)
        if valid_only and not space.is_valid(a):
            continue
        k = space.canonical_key(a) if distinct else a
        if k in seen:
            continue
        seen.add(k)
        out.append(space.canonical(a) if distinct else a)
    return out


@dataclass
class BuildConfig:
    """What a benchmark build trains (maps 1:1 onto ``nasrank bench build`` options).

    Attributes:
        space: Search-space name.
        space_config: ``space.build`` keyword arguments (e.g. ``{"C": 8, "N": 1}``); ``None``
            (default) means the space's ``default_config("search")``, which is what the jobs,
            the fingerprints and the metadata then record (see :meth:`build_kwargs`).
        data: Which examples (dataset, sizes, image size, seed).
        train: Training protocol.
        archs: Number of distinct canonical architectures (with ``arch_list``: its length).
        arch_seed: Seed of the architecture draw.
        arch_list: Explicit architectures (the space's string format) to train instead of a
            random draw, in this order (e.g. a designed experiment: each generator setting of
            RandWiredNN x several graph seeds); no two may share a canonical class.
        seeds: Training seeds (one run per architecture and seed).
        seed_archs: Train some seeds on a prefix of the architectures only: ``{seed: k}`` runs
            ``seed`` on the first ``k`` architectures of the draw (or of ``arch_list``), e.g.
            ``{1: 200}`` for a second seed on 200 cells, which measures the seed-to-seed noise
            ceiling without doubling the build. Seeds left out run on every architecture. Not
            given (the default) leaves the metadata as before; a build later extended with a
            second seed reuses every run it has.
        valid_only: Skip architectures without an input-output path.
        record_minibatch: Keep every minibatch loss (for TSE at sub-epoch budgets).
        minibatch_dtype: How the exported ``curves.npz`` stores the minibatch losses:
            ``"float32"`` (default) or ``"float16"`` (half the size, about three significant
            digits; see :func:`~nasrank.benchmarks.write_benchmark`). The store keeps full
            precision, so this is not part of the runs' identity: re-exporting with the other
            choice retrains nothing.
        name: Benchmark name written to the metadata.
        device: Where the runs train: ``"cpu"`` (default), ``"auto"`` (the device the executor
            assigned to the worker, else the first GPU, else the CPU), ``"cuda"``, ``"cuda:N"``
            or ``"mps"``. Not part of the benchmark's identity (:meth:`metadata`, the runs'
            fingerprints): a build resumed on another device reuses the runs already trained;
            the exported ``benchmark.json`` lists the devices that trained them (``devices``).
        compile: ``torch.compile`` the networks (falls back to eager with a warning where no
            backend works; not part of the identity either).
        channels_last: Train in the channels-last memory layout (not part of the identity).
            Mixed precision is a training setting: ``TrainConfig(precision="bf16")`` (part of
            the identity, since it changes the numbers).

    Example:
        >>> BuildConfig("nb201").build_kwargs()  # the space's "search" configuration
        {'C': 8, 'N': 1}
        >>> BuildConfig("nb201", space_config={"C": 4, "N": 1}).metadata()["space_config"]
        {'C': 4, 'N': 1}
        >>> cells = ["|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
        ...          "|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"]
        >>> BuildConfig("nb201", arch_list=cells).archs
        2
    """

    space: str = "nb201"
    space_config: dict[str, Any] | None = None
    data: DataSpec = field(default_factory=DataSpec)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=20, batch_size=128))
    archs: int = 200
    arch_seed: int = 0
    seeds: tuple[int, ...] = (0,)
    seed_archs: Mapping[int, int] | None = None
    valid_only: bool = True
    record_minibatch: bool = True
    minibatch_dtype: str = "float32"
    name: str | None = None
    arch_list: tuple[str, ...] | None = None
    device: str = "cpu"
    compile: bool = False
    channels_last: bool = False

    def __post_init__(self) -> None:
        from ..spaces import SPACES

        self.device = check_device_name(self.device)
        if self.minibatch_dtype not in MINIBATCH_DTYPES:
            raise ConfigError(f"`minibatch_dtype` must be one of {', '.join(MINIBATCH_DTYPES)}, "
                              f"got {self.minibatch_dtype!r}")
        for flag in ("compile", "channels_last"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(f"`{flag}` must be True or False, got {getattr(self, flag)!r}")

        space_cls = SPACES.get(self.space)
        if self.arch_list is not None:
            if isinstance(self.arch_list, str) or not all(isinstance(a, str) for a in self.arch_list):
                raise ConfigError("`arch_list` must be a list of architecture strings (the space's format)")
            self.arch_list = tuple(a.strip() for a in self.arch_list if a.strip())
            if not self.arch_list:
                raise ConfigError("`arch_list` is empty: give at least one architecture string")
            space = space_cls()
            seen: dict[Any, str] = {}
            for text in self.arch_list:
                key = space.canonical_key(space.from_str(text))  # malformed: InvalidArchitectureError
                if key in seen:
                    raise ConfigError(f"`arch_list` holds two architectures of one canonical class: {seen[key]!r} "
                                      f"and {text!r}; keep one of them")
                seen[key] = text
            self.archs = len(self.arch_list)
        if self.space_config is not None and not isinstance(self.space_config, Mapping):
            raise ConfigError(
                f"`space_config` must be a dict of build keyword arguments or None, got {type(self.space_config).__name__}"
            )
        if not isinstance(self.data, DataSpec):
            raise ConfigError(f"`data` must be a DataSpec, got {type(self.data).__name__}")
        if not isinstance(self.train, TrainConfig):
            raise ConfigError(f"`train` must be a TrainConfig, got {type(self.train).__name__}")
        self.seeds = tuple(int(s) for s in self.seeds)
        if not self.seeds or any(s < 0 for s in self.seeds) or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"`seeds` must be distinct non-negative ints, got {self.seeds!r}")
        if self.seed_archs is not None:
            if not isinstance(self.seed_archs, Mapping):
                raise ConfigError(f"`seed_archs` must be a dict {{seed: number of architectures}}, got "
                                  f"{type(self.seed_archs).__name__}")
            limits = {}
            for s, k in self.seed_archs.items():
                s = check_int("seed_archs key", s, 0)
                if s not in self.seeds:
                    raise ConfigError(f"`seed_archs` limits seed {s}, which is not one of the seeds {list(self.seeds)}")
                k = check_int(f"seed_archs[{s}]", k, 1)
                if k > self.archs:
                    raise ConfigError(f"seed {s} is to run on the first {k} architectures, but the build has "
                                      f"only {self.archs}: lower it or raise the architectures")
                limits[s] = k
            self.seed_archs = dict(sorted(limits.items())) or None

    def build_kwargs(self) -> dict[str, Any]:
        """The ``space.build`` keyword arguments the jobs use (a fresh dict).

        :attr:`space_config` when given, else the space's ``default_config("search")``.

        Example:
            >>> BuildConfig("nb201", space_config={"C": 4, "N": 1}).build_kwargs()
            {'C': 4, 'N': 1}
        """
        if self.space_config is not None:
            return dict(self.space_config)
        from ..spaces import SPACES

        return dict(SPACES.get(self.space)().default_config("search"))

    def jobs(self) -> list[TrainJob]:
        """One :class:`~nasrank.training.TrainJob` per (architecture, seed), architecture-major.

        Example:
            >>> jobs = BuildConfig("nb201", archs=2, seeds=(0, 1)).jobs()
            >>> [j.seed for j in jobs]
            [0, 1, 0, 1]
            >>> [j.seed for j in BuildConfig("nb201", archs=3, seeds=(0, 1), seed_archs={1: 1}).jobs()]
            [0, 1, 0, 0]
        """
        from ..spaces import SPACES

        space = SPACES.get(self.space)()
        if self.arch_list is not None:
            archs = [space.from_str(a) for a in self.arch_list]
        else:
            archs = select_archs(space, self.archs, self.arch_seed, self.valid_only)
        kw = self.build_kwargs()
        return [
            TrainJob(self.space, space.to_str(a), dict(kw), self.data, self.train, s, self.record_minibatch,
                     device=self.device, compile=self.compile, channels_last=self.channels_last)
            for i, a in enumerate(archs) for s in self.seeds if i < self._limit(s)
        ]

    def _limit(self, seed: int) -> int | float:
        return (self.seed_archs or {}).get(seed, math.inf)

    def metadata(self) -> dict[str, Any]:
        """What ``benchmark.json`` records about the build (``space_config`` resolved): the
        build's identity, which leaves out where and how fast it ran (``device``, ``compile``,
        ``channels_last``); the exported file adds the devices that trained the runs.

        Example:
            >>> BuildConfig("nb201").metadata()["space_config"]
            {'C': 8, 'N': 1}
            >>> BuildConfig("nb201", device="auto").metadata() == BuildConfig("nb201").metadata()
            True
        """
        return {
            "name": self.name, "space": self.space, "space_config": self.build_kwargs(),
            "data": self.data.key(), "train_config": self.train.key(), "seeds": list(self.seeds),
            "arch_seed": self.arch_seed, "valid_only": self.valid_only, "protocol": PROTOCOL_VERSION,
            "nasrank_version": _nasrank_version(),
            **({"seed_archs": {str(s): k for s, k in self.seed_archs.items()}} if self.seed_archs else {}),
            **({"arch_list": list(self.arch_list)} if self.arch_list is not None else {}),
        }


def _devices_used(records: list[EvalRecord]) -> list[dict[str, Any]]:
    """The devices that produced ``records``: ``{"device", "device_name", "runs"}`` per device,
    most runs first (records written before devices were recorded count as ``"unknown"``).

    Example:
        >>> r = EvalRecord("nb201", "a", "a", "fp", "ok", info={"device": "cuda:0", "device_name": "GPU"})
        >>> _devices_used([r, r, EvalRecord("nb201", "b", "b", "fp", "ok")])
        [{'device': 'cuda:0', 'device_name': 'GPU', 'runs': 2}, {'device': 'unknown', 'device_name': 'unknown', 'runs': 1}]
    """
    counts: dict[tuple[str, str], int] = {}
    for r in records:
        k = (str(r.info.get("device", "unknown")), str(r.info.get("device_name", "unknown")))
        counts[k] = counts.get(k, 0) + 1
    return [{"device": d, "device_name": n, "runs": c}
            for (d, n), c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _nasrank_version() -> str:
    """The installed distribution's version (the package root is the facade: not imported here)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nasrank")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def build_benchmark(
    config: BuildConfig,
    out: str | os.PathLike,
    store: str | os.PathLike | ResultStore | None = None,
    executor: Any = None,
    progress: bool = True,
    build_command: str | None = None,
    on_record: Callable[[EvalRecord], None] | None = None,
) -> Path:
    """Train every (architecture, seed) of ``config`` not yet in the store, then export.

    Each record is committed to the store as it arrives, so an interrupted build resumes where
    it stopped when run again with the same configuration; records already stored are reused.
    While it runs, the build holds a lock in the store on its training setup (the set of
    training-record fingerprints), so the same build started meanwhile by another process stops
    at once with :class:`~nasrank.exceptions.AlreadyRunningError` instead of training the same
    cells again.

    Args:
        config: What to train.
        out: Benchmark directory to write (``benchmark.json`` + ``curves.npz``); its parent
            directory must exist.
        store: Results store (path or open store; default ``<out>/records.sqlite``, for which
            ``out`` is created).
        executor: A :class:`~nasrank.execution.Executor` (default: serial, one thread).
        progress: Show a progress bar with ETA on stderr.
        build_command: Recorded in the metadata (how to rebuild).
        on_record: Called with every new record (after it is stored).

    Returns:
        The benchmark directory.

    Raises:
        BenchmarkDataError: Every training run failed: nothing is exported (the failed runs
            stay in the store and are retried by the next build).

    Example:
        >>> import tempfile
        >>> from nasrank.benchmarks import CurveBenchmark
        >>> cfg = BuildConfig(space_config={"C": 4, "N": 1}, data=DataSpec("digits", val_size=100, test_size=100),
        ...                   train=TrainConfig(epochs=1, batch_size=256), archs=2)
        >>> out = build_benchmark(cfg, tempfile.mkdtemp() + "/bench", progress=False)
        >>> bench = CurveBenchmark(out)
        >>> len(bench), bench.epochs
        (2, 1)
    """
    from ..execution import SerialExecutor, stream
    from ..spaces import SPACES

    out = output_dir(out, "benchmark directory")
    if store is not None and not isinstance(store, (str, os.PathLike, ResultStore)):
        raise ConfigError(f"`store` must be a path or a ResultStore, got {type(store).__name__}")
    jobs = config.jobs()
    space = SPACES.get(config.space)()
    space_keys = {j.arch: str(space.canonical_key(space.from_str(j.arch))) for j in jobs}
    own_store = not isinstance(store, ResultStore)
    made_out = False
    if isinstance(store, ResultStore):
        st = store
    else:
        if store is None:
            made_out = not out.exists()
            out.mkdir(exist_ok=True)
        try:
            st = ResultStore(store if store is not None else out / "records.sqlite")
        except BaseException:
            if made_out and not any(out.iterdir()):
                out.rmdir()  # do not leave an empty directory behind
            raise
    protocol = fingerprint({"build": sorted({j.fingerprint for j in jobs})})
    own_exec = executor is None
    ex = None
    lock = None
    try:
        lock = st.lock(f"build:{protocol}", what="a benchmark build with this training setup",
                       hint="wait for it to finish (its records are then reused), or use another --store").acquire()
        ex = executor or SerialExecutor(threads=1)
        done = st.keys(include_errors=False)
        todo = [j for j in jobs if (j.space, space_keys[j.arch], j.fingerprint) not in done]
        st.set_meta(f"build:{out.resolve()}", config.metadata())
        n_ok = n_err = 0
        with _progress(progress, len(jobs), len(jobs) - len(todo)) as advance:
            for job, fut in stream(ex, run_train_job, todo):
                exc = fut.exception()
                if exc is not None:  # the worker itself failed (e.g. killed): record it, go on
                    rec = EvalRecord(job.space, job.arch, space_keys[job.arch], job.fingerprint, "error",
                                     cost=0.0, error=" ".join(f"{type(exc).__name__}: {exc}".split())[:500])
                else:
                    rec = fut.result()
                st.add(rec)
                n_ok += rec.status != "error"
                n_err += rec.status == "error"
                if n_err >= 3 and n_ok == 0:
                    raise ConfigError(
                        f"the first {n_err} training runs all failed ({rec.error}); fix the configuration "
                        f"and re-run (failed runs are retried)"
                    )
                if on_record is not None:
                    on_record(rec)
                advance(rec)
        recs = []
        for j in jobs:
            rec = st.get(j.space, space_keys[j.arch], j.fingerprint)
            assert rec is not None
            recs.append(rec)
        if all(r.status == "error" for r in recs):
            first = next((r.error for r in recs if r.error), "no error message")
            raise BenchmarkDataError(
                f"all {len(recs)} training runs failed (first error: {first}); nothing was exported to "
                f"{str(out)!r}; fix the configuration and re-run (the failed runs stay in the store "
                f"{st.path!r} and are retried)"
            )
        runs = [{"arch": j.arch, "seed": j.seed, "status": r.status, "curve": r.curve,
                 "params": r.info.get("params", -1)} for j, r in zip(jobs, recs, strict=True)]
        meta = config.metadata()
        meta["build_command"] = build_command
        meta["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        meta["total_train_seconds"] = float(sum(r.cost for r in recs))
        meta["devices"] = _devices_used(recs)
        return write_benchmark(out, meta, runs, config.train.epochs, minibatch_dtype=config.minibatch_dtype)
    finally:
        if lock is not None:
            lock.release()
        if own_exec and ex is not None:
            ex.shutdown()
        if own_store:
            st.close()


class _progress:
    """A rich progress bar (or nothing) counting finished runs, with ETA."""

    def __init__(self, enabled: bool, total: int, completed: int) -> None:
        self.enabled = enabled
        self.total = total
        self.completed = completed

    def __enter__(self) -> Callable[[EvalRecord], None]:
        if not self.enabled:
            return lambda rec: None
        if not sys.stderr.isatty():  # logs: one plain line per finished run
            t0 = time.perf_counter()
            start = self.completed

            def log(rec: EvalRecord) -> None:
                self.completed += 1
                el = time.perf_counter() - t0
                eta = el / max(self.completed - start, 1) * (self.total - self.completed)
                acc = rec.metrics.get("test_acc")
                acc_s = f" test_acc={acc:.4f}" if isinstance(acc, float) else ""
                print(f"[{self.completed}/{self.total}] {rec.status}{acc_s} cost={rec.cost:.1f}s "
                      f"elapsed={el:.0f}s eta={eta:.0f}s {rec.arch}", file=sys.stderr, flush=True)

            self._log = True
            return log
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._p = Progress(
            TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.fields[last]}"),
            console=Console(file=sys.stderr), transient=False,
        )
        self._p.start()
        self._task = self._p.add_task("train", total=self.total, completed=self.completed, last="")

        def advance(rec: EvalRecord) -> None:
            acc = rec.metrics.get("test_acc")
            last = f"{rec.status} test_acc={acc:.3f}" if isinstance(acc, float) else rec.status
            self._p.update(self._task, advance=1, last=last)

        return advance

    def __exit__(self, *exc: object) -> None:
        if self.enabled and hasattr(self, "_p"):
            self._p.stop()
