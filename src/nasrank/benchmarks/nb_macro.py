"""NAS-Bench-Macro: CIFAR-10 test accuracies, parameters and FLOPs of all 6,561 macro networks.

Reads the published file ``nas-bench-macro_cifar10.json`` (github xiusu/NAS-Bench-Macro,
``data/``; not shipped with nasrank). It maps each 8-digit architecture string (``"02012100"``,
the ``nb-macro`` space's format) to::

    {"test_acc": [a0, a1, a2],  # percent, three independent trainings
     "mean_acc": m, "std": s,   # their mean and (population) standard deviation, percent
     "params": int, "flops": int}

Only the 3,969 distinct networks were trained: the benchmark copied each result to every encoding
with the same canonical form (stride-1 identity layers moved to the end of their stage; see
:mod:`nasrank.spaces.nbmacro`), so encodings of one class share all values.

Metrics (dataset ``cifar10``; accuracies as fractions): ``test_acc`` (the published mean),
``test_acc_seed0`` .. ``test_acc_seed2``, ``test_acc_std``, ``params``, ``flops`` (the
benchmark's multiply-accumulate count, see ``NBMacroSpace.flops_convention``). There are no
learning curves and no validation accuracies.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..data import DATA_ENV_VAR
from ..exceptions import BenchmarkDataError, InvalidArchitectureError
from ..spaces.nbmacro import NBMacroSpace
from ._base import TabularBenchmark

__all__ = ["NBMacroBenchmark", "find_nb_macro_file", "NB_MACRO_FILE", "NB_MACRO_DIR"]

NB_MACRO_FILE = "nas-bench-macro_cifar10.json"
#: Folder of a data directory that holds :data:`NB_MACRO_FILE`.
NB_MACRO_DIR = "nasbench_macro"
_WHERE = (f"download {NB_MACRO_FILE} from github.com/xiusu/NAS-Bench-Macro (data/) into "
          f"<data dir>/{NB_MACRO_DIR}/")
_METRICS = ("test_acc", "test_acc_seed0", "test_acc_seed1", "test_acc_seed2", "test_acc_std", "params", "flops")


def find_nb_macro_file(root: str | os.PathLike | None = None) -> Path:
    """Locate ``nas-bench-macro_cifar10.json``.

    ``root`` may be the file itself, a ``nasbench_macro/`` folder or a data directory holding
    ``nasbench_macro/``; default ``$NASRANK_DATA``.

    Raises:
        BenchmarkDataError: if the file cannot be found (the message says where to put it).

    Example:
        >>> find_nb_macro_file("/nonexistent")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nasrank.exceptions.BenchmarkDataError: NAS-Bench-Macro file 'nas-bench-macro_cifar10.json' not found ...
    """
    if root is None:
        env = os.environ.get(DATA_ENV_VAR)
        if not env:
            raise BenchmarkDataError(
                f"NAS-Bench-Macro needs {NB_MACRO_FILE}: {_WHERE} and pass root=<data dir> (or --data-dir) "
                f"or set {DATA_ENV_VAR}"
            )
        root = env
    p = Path(root).expanduser()
    if p.is_file():
        return p
    for cand in (p / NB_MACRO_FILE, p / NB_MACRO_DIR / NB_MACRO_FILE):
        if cand.is_file():
            return cand
    raise BenchmarkDataError(
        f"NAS-Bench-Macro file {NB_MACRO_FILE!r} not found under {str(p)!r} (looked in it and in its "
        f"{NB_MACRO_DIR}/ folder); {_WHERE}"
    )


def _code(arch: Sequence[int]) -> int:
    c = 0
    for v in arch:
        c = 3 * c + int(v)
    return c


class NBMacroBenchmark(TabularBenchmark):
    """The published NAS-Bench-Macro table: all 6,561 architectures of the ``nb-macro`` space.

    Architectures are ``nb-macro`` tuples (or their 8-digit strings); :meth:`archs` lists them in
    lexicographic order (``NBMacroSpace().all_archs()``). See the module docstring for the file
    and the metrics. Registered as ``nb-macro``.

    Args:
        root: ``nas-bench-macro_cifar10.json``, its folder, or a data directory holding
            ``nasbench_macro/`` (default ``$NASRANK_DATA``).

    Example:
        >>> bench = NBMacroBenchmark("/tmp/nbmacro")  # doctest: +SKIP
        >>> round(bench.query("22222222", "test_acc"), 4), bench.query("02012100", "params")  # doctest: +SKIP
        (0.9295, 890666.0)
    """

    name = "nb-macro"
    datasets = ("cifar10",)

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = root
        self.path_ = find_nb_macro_file(root)
        self._space = NBMacroSpace()
        self._load()

    @property
    def space(self) -> NBMacroSpace:
        return self._space

    def _load(self) -> None:
        try:
            with open(self.path_) as f:
                data = json.load(f)
        except (OSError, ValueError) as exc:
            raise BenchmarkDataError(f"cannot read {self.path_} as NAS-Bench-Macro JSON: {exc}") from None
        n = self._space.size
        if not isinstance(data, dict) or len(data) != n:
            size = len(data) if isinstance(data, dict) else type(data).__name__
            raise BenchmarkDataError(f"{self.path_} is not the NAS-Bench-Macro table: expected a mapping of "
                                     f"{n:,} architectures, got {size}")
        values = {m: np.full(n, math.nan) for m in _METRICS}
        seen = np.zeros(n, dtype=bool)
        for key, entry in data.items():
            try:
                i = _code(self._space.from_str(key))
                accs = [float(v) for v in entry["test_acc"]]
                row = {"test_acc": float(entry["mean_acc"]) / 100.0, "test_acc_std": float(entry["std"]) / 100.0,
                       "params": float(entry["params"]), "flops": float(entry["flops"])}
            except (InvalidArchitectureError, KeyError, TypeError, ValueError) as exc:
                raise BenchmarkDataError(f"{self.path_}: malformed entry {key!r} ({exc}); expected "
                                         "test_acc (3 values), mean_acc, std, params, flops") from None
            for k, v in enumerate(accs[:3]):
                row[f"test_acc_seed{k}"] = v / 100.0
            for m, v in row.items():
                values[m][i] = v
            seen[i] = True
        if not seen.all():  # pragma: no cover - 6,561 distinct valid keys cover the space
            raise BenchmarkDataError(f"{self.path_} misses {int((~seen).sum())} architectures")
        self._values = values

    def archs(self) -> list[tuple[int, ...]]:
        """The 6,561 architectures in lexicographic order."""
        return list(self._space.all_archs())

    def metrics(self, dataset: str | None = None) -> list[str]:
        self._dataset(dataset)
        return list(_METRICS)

    def query(self, arch: Sequence[int] | str, metric: str = "test_acc", dataset: str | None = None) -> float:
        """Published ``metric`` of ``arch`` (accuracies as fractions).

        Example:
            >>> NBMacroBenchmark("/tmp/nbmacro").query("00000000", "flops")  # doctest: +SKIP
            7713280.0
        """
        ds = self._dataset(dataset)
        self._check_metric(metric, ds)
        return float(self._values[metric][_code(self._arch(arch))])

    def query_many(self, archs: Sequence[Sequence[int]], metric: str = "test_acc",
                   dataset: str | None = None) -> np.ndarray:
        """Vectorised :meth:`query` for a list of architecture tuples."""
        ds = self._dataset(dataset)
        self._check_metric(metric, ds)
        codes = [_code(self._arch(a)) for a in archs]
        return self._values[metric][np.asarray(codes, dtype=np.int64)]

    def table(self, metric: str = "test_acc", dataset: str | None = None) -> np.ndarray:
        ds = self._dataset(dataset)
        self._check_metric(metric, ds)
        return self._values[metric].copy()

    def summary(self, metric: str = "test_acc") -> dict[str, Any]:
        """Best, median and worst of ``metric`` over the 6,561 encodings (with the best's string).

        Example:
            >>> NBMacroBenchmark("/tmp/nbmacro").summary()["best_arch"]  # doctest: +SKIP
            '22212202'
        """
        values = self.table(metric)
        arch, best = self.best(metric)
        return {"metric": metric, "best": best, "best_arch": self._space.to_str(arch),
                "median": float(np.nanmedian(values)), "worst": float(np.nanmin(values))}
