"""Tabular benchmarks: ground-truth tables and learning-curve benchmarks.

* :class:`TabularBenchmark` — the small interface every adapter implements;
* :class:`NB201Benchmark` — NAS-Bench-201 final accuracies for all 15,625 cells (CSV);
* :class:`CurveBenchmark` — nasrank's own learning-curve format (``benchmark.json`` +
  ``curves.npz``), produced by :func:`build_benchmark` / ``nasrank bench build``;
* :class:`NASLibZCBenchmark`, :class:`NASLibNB101Benchmark`, :class:`NASLibNB301Benchmark` —
  NASLib's published per-cell zero-cost scores (NB201 / NB101 / NB301 subsets; ``naslib-zc-*``);
* :class:`NBMacroBenchmark` — NAS-Bench-Macro's published CIFAR-10 accuracies, parameters and
  FLOPs of all 6,561 macro networks (its JSON file; not shipped);
* :class:`NATSBenchmark` — the official NATS-Bench topology files via ``nats_bench`` (optional);
* ``nb201-mini`` — a real learning-curve benchmark shipped inside the package (offline default);
* :func:`fit_epoch_cost` — seconds per epoch from the architecture (median regression on the
  recorded times), a search cost free of the build machine's load.

:func:`load_benchmark` opens any of them by name or directory.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

from .._registry import Registry
from ..exceptions import BenchmarkDataError
from ..training import TrainJob, run_train_job  # defined in nasrank.training; re-exported here
from ._base import TabularBenchmark
from ._builder import BuildConfig, build_benchmark, select_archs
from ._cost import EpochCostModel, fit_epoch_cost
from ._format import CurveBenchmark, write_benchmark
from ._preflight import preflight
from ._proxy_table import (
    ProxyProtocol,
    ProxyTable,
    build_proxy_table,
    list_proxy_tables,
    load_proxy_table,
    score_protocol_cells,
)
from .naslib_zc import NASLibZCBenchmark
from .naslib_zc_101 import NASLibNB101Benchmark
from .naslib_zc_301 import NASLibNB301Benchmark
from .nats import NATSBenchmark
from .nb201 import NB201Benchmark, find_nb201_file
from .nb_macro import NBMacroBenchmark, find_nb_macro_file

__all__ = [
    "TabularBenchmark", "NB201Benchmark", "CurveBenchmark", "NASLibZCBenchmark", "NASLibNB101Benchmark",
    "NASLibNB301Benchmark", "NATSBenchmark", "find_nb201_file", "load_benchmark",
    "list_benchmarks", "BENCHMARKS", "BuildConfig", "TrainJob", "build_benchmark", "run_train_job",
    "select_archs", "write_benchmark", "shipped_benchmark_path", "preflight",
    "NBMacroBenchmark", "find_nb_macro_file",
    "ProxyProtocol", "ProxyTable", "build_proxy_table", "list_proxy_tables", "load_proxy_table",
    "score_protocol_cells", "EpochCostModel", "fit_epoch_cost",
]

#: Benchmarks loadable by name: ``loader(root) -> TabularBenchmark``.
BENCHMARKS: Registry = Registry("benchmark")

_SHIPPED = ("nb201-mini",)


def shipped_benchmark_path(name: str) -> Path:
    """Directory of a benchmark shipped inside the package.

    Example:
        >>> (shipped_benchmark_path("nb201-mini") / "benchmark.json").is_file()
        True
    """
    if name not in _SHIPPED:
        raise BenchmarkDataError(f"no shipped benchmark {name!r}; shipped: {', '.join(_SHIPPED)}")
    return Path(str(resources.files(__package__) / "data" / name))


def _shipped_loader(name: str) -> Any:
    def load(root: str | os.PathLike | None = None) -> CurveBenchmark:
        return CurveBenchmark(shipped_benchmark_path(name))

    load.__doc__ = f"The shipped {name!r} learning-curve benchmark."
    return load


for _n in _SHIPPED:
    BENCHMARKS.register(_n)(_shipped_loader(_n))
BENCHMARKS.register("nb201")(NB201Benchmark)
for _cls in (NASLibZCBenchmark, NASLibNB101Benchmark, NASLibNB301Benchmark):  # NASLib zero-cost files
    BENCHMARKS.register(_cls.name)(_cls)
BENCHMARKS.register(NBMacroBenchmark.name)(NBMacroBenchmark)  # NAS-Bench-Macro (published JSON)


def load_benchmark(name_or_dir: str | os.PathLike, root: str | os.PathLike | None = None) -> TabularBenchmark:
    """Open a benchmark by registered name or by directory.

    Args:
        name_or_dir: A name from :func:`list_benchmarks` (``nb201-mini``, ``nb201``, ...) or a
            benchmark directory written by ``nasrank bench build``.
        root: Data directory for benchmarks read from data files (``nb201``; default
            ``$NASRANK_DATA``).

    Example:
        >>> bench = load_benchmark("nb201-mini")
        >>> bench.has_curves, len(bench) >= 200
        (True, True)
    """
    text = os.fspath(name_or_dir)
    if text in BENCHMARKS:
        return BENCHMARKS.get(text)(root)
    p = Path(text).expanduser()
    if p.is_dir():
        return CurveBenchmark(p)
    if p.exists():
        hint = " (a benchmark is the directory that holds benchmark.json and curves.npz)"
        if p.name in ("benchmark.json", "curves.npz"):
            hint = f"; pass its directory {str(p.parent)!r}"
        raise BenchmarkDataError(f"benchmark {text!r} is a file, not a benchmark directory{hint}")
    if os.sep in text or text.startswith("."):
        raise BenchmarkDataError(
            f"benchmark directory {text!r} does not exist; pass a directory written by nasrank bench build "
            f"or one of the names {', '.join(BENCHMARKS.list())}"
        )
    return BENCHMARKS.get(text)(root)  # unknown name: did-you-mean error


def list_benchmarks() -> list[str]:
    """Names accepted by :func:`load_benchmark`.

    Example:
        >>> "nb201-mini" in list_benchmarks()
        True
    """
    return BENCHMARKS.list()
