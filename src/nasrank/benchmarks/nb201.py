"""NAS-Bench-201 final accuracies for all 15,625 cells (from a CSV, no pickle, no download)."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np

from ..data import DATA_ENV_VAR
from ..exceptions import BenchmarkDataError
from ..spaces.nb201 import EDGES, OPS, NB201Space
from ._base import TabularBenchmark

__all__ = ["NB201Benchmark", "find_nb201_file"]

ACCURACY_FILE = "nb201_accuracy_200ep.csv"
PER_SEED_FILE = "nb201_cifar10_test_per_seed.csv"
NASWOT_FILE = "naswot_v1_scores.csv"

# dataset -> metric -> CSV column (accuracies in percent in the file)
_COLUMNS: dict[str, dict[str, str]] = {
    "cifar10": {"test_acc": "cifar10_test"},
    "cifar10-valid": {"val_acc": "cifar10valid_valid", "test_acc": "cifar10valid_test"},
    "cifar100": {"test_acc": "cifar100_test"},
    "imagenet16-120": {"test_acc": "imagenet16_test"},
}


def find_nb201_file(root: str | os.PathLike | None = None, name: str = ACCURACY_FILE) -> Path:
    """Locate a NAS-Bench-201 table.

    ``root`` may be the CSV itself, a ``nasbench201/`` directory or a data directory holding
    ``nasbench201/``; default ``$NASRANK_DATA``.

    Raises:
        BenchmarkDataError: if the file cannot be found (the message says where it looked).

    Example:
        >>> find_nb201_file("/nonexistent")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nasrank.exceptions.BenchmarkDataError: NAS-Bench-201 file 'nb201_accuracy_200ep.csv' not found under ...
    """
    if root is None:
        env = os.environ.get(DATA_ENV_VAR)
        if not env:
            raise BenchmarkDataError(
                f"NAS-Bench-201 ground truth needs {ACCURACY_FILE}: pass root=<data dir> "
                f"(or --data-dir) or set {DATA_ENV_VAR}"
            )
        root = env
    p = Path(root).expanduser()
    if p.is_file():
        if name == ACCURACY_FILE:
            return p
        p = p.parent
    for cand in (p / name, p / "nasbench201" / name):
        if cand.is_file():
            return cand
    raise BenchmarkDataError(
        f"NAS-Bench-201 file {name!r} not found under {str(p)!r} (looked in it and in its "
        f"nasbench201/ folder); pass the data directory with root= / --data-dir or set {DATA_ENV_VAR}"
    )


def _code(arch: Sequence[int]) -> int:
    c = 0
    for a in arch:
        c = c * len(OPS) + int(a)
    return c


class NB201Benchmark(TabularBenchmark):
    """Final (200-epoch) accuracies of all 15,625 NAS-Bench-201 cells.

    Reads ``nb201_accuracy_200ep.csv`` (one row per official benchmark index) and, when present
    beside it, the per-seed CIFAR-10 test accuracies and the NASWOT paper's published scores.

    Datasets and metrics (accuracies as fractions):

    * ``cifar10``: ``test_acc`` (trained on the 50k train set, mean over seeds), and when the
      per-seed file is present ``test_acc_seed0..2`` (NaN where a seed is missing);
    * ``cifar10-valid``: ``val_acc`` / ``test_acc`` (trained on 25k, evaluated on the held-out 25k /
      on the test set; the split the zero-cost papers correlate against);
    * ``cifar100``, ``imagenet16-120``: ``test_acc``.

    ``scores("naswot")`` returns the published NASWOT score per cell (NaN for the 341 cells
    without an input-output path). The official per-epoch curves are not in these files, so
    :attr:`has_curves` is ``False``.

    Args:
        root: Data directory / ``nasbench201`` folder / CSV path (default ``$NASRANK_DATA``).

    Example:
        >>> bench = NB201Benchmark("/nonexistent")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nasrank.exceptions.BenchmarkDataError: ...
    """

    name = "nb201"
    datasets = ("cifar10", "cifar10-valid", "cifar100", "imagenet16-120")

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = root
        self.path_ = find_nb201_file(root)
        self._load()

    @property
    def space(self) -> NB201Space:
        return self._space

    def _load(self) -> None:
        self._space = NB201Space()
        with open(self.path_, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            rows = list(reader)
        needed = ["arch"] + [c for m in _COLUMNS.values() for c in m.values()]
        if header is None or any(c not in header for c in needed):
            raise BenchmarkDataError(
                f"{self.path_} is not a NAS-Bench-201 accuracy table: expected columns {needed}, got {header}"
            )
        if len(rows) != len(OPS) ** len(EDGES):
            raise BenchmarkDataError(f"{self.path_} has {len(rows)} rows, expected 15,625 (one per cell)")
        col = {c: i for i, c in enumerate(header)}
        archs = []
        for r in rows:
            archs.append(self._space.from_str(r[col["arch"]]))
        self._archs = archs
        codes = np.array([_code(a) for a in archs])
        if len(set(codes.tolist())) != len(codes):
            raise BenchmarkDataError(f"{self.path_} lists some cell twice")
        self._row = np.empty(len(codes), dtype=np.int64)
        self._row[codes] = np.arange(len(codes))
        self._values: dict[tuple[str, str], np.ndarray] = {}
        for ds, metrics in _COLUMNS.items():
            for m, c in metrics.items():
                self._values[(ds, m)] = np.array(
                    [float(r[col[c]]) / 100.0 if r[col[c]] not in ("", "nan", "NaN") else math.nan for r in rows]
                )
        try:
            seed_path = find_nb201_file(self.path_, PER_SEED_FILE)
        except BenchmarkDataError:
            seed_path = None
        if seed_path is not None:
            per_seed = self._read_aligned(seed_path, ["seed_a", "seed_b", "seed_c"])
            for k in range(3):
                self._values[("cifar10", f"test_acc_seed{k}")] = per_seed[:, k] / 100.0

    def _read_aligned(self, path: Path, columns: list[str]) -> np.ndarray:
        """Columns of a per-cell CSV (with an ``arch`` column) aligned with :meth:`archs`."""
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None or "arch" not in header or any(c not in header for c in columns):
                raise BenchmarkDataError(f"{path} lacks the columns arch, {', '.join(columns)}")
            idx = [header.index(c) for c in columns]
            ai = header.index("arch")
            out = np.full((len(self._archs), len(columns)), math.nan)
            for r in reader:
                row = self._row[_code(self._space.from_str(r[ai]))]
                out[row] = [float(r[i]) if r[i] not in ("", "nan", "NaN") else math.nan for i in idx]
        return out

    def archs(self) -> list[tuple[int, ...]]:
        """The 15,625 cells in official benchmark-index order."""
        return list(self._archs)

    def index(self, arch: Sequence[int] | str) -> int:
        """Official NAS-Bench-201 index of ``arch``."""
        return int(self._row[_code(self._arch(arch))])

    def metrics(self, dataset: str | None = None) -> list[str]:
        ds = self._dataset(dataset)
        return [m for (d, m) in self._values if d == ds]

    def query(self, arch: Sequence[int] | str, metric: str = "test_acc", dataset: str | None = None) -> float:
        ds = self._dataset(dataset)
        self._check_metric(metric, ds)
        return float(self._values[(ds, metric)][self._row[_code(self._arch(arch))]])

    def query_many(
        self, archs: Sequence[Sequence[int]], metric: str = "test_acc", dataset: str | None = None
    ) -> np.ndarray:
        """Vectorised :meth:`query` for a list of architecture tuples."""
        ds = self._dataset(dataset)
        self._check_metric(metric, ds)
        a = np.asarray(archs, dtype=np.int64).reshape(-1, len(EDGES))
        if a.size and (a.min() < 0 or a.max() >= len(OPS)):
            raise BenchmarkDataError("architecture op indices must be in 0..4")
        codes = a @ (len(OPS) ** np.arange(len(EDGES) - 1, -1, -1))
        return self._values[(ds, metric)][self._row[codes]]

    def table(self, metric: str = "test_acc", dataset: str | None = None) -> np.ndarray:
        ds = self._dataset(dataset)
        self._check_metric(metric, ds)
        return self._values[(ds, metric)].copy()

    @cached_property
    def _naswot(self) -> np.ndarray:
        path = find_nb201_file(self.path_, NASWOT_FILE)
        return self._read_aligned(path, ["naswot_v1_score_bs128"])[:, 0]

    def scores(self, name: str = "naswot") -> np.ndarray:
        """Published per-cell proxy scores aligned with :meth:`archs` (only ``"naswot"``).

        Raises:
            BenchmarkDataError: if ``naswot_v1_scores.csv`` is not beside the accuracy table.
        """
        if name != "naswot":
            raise BenchmarkDataError(f"no published {name!r} scores for NAS-Bench-201; available: naswot")
        return self._naswot.copy()
