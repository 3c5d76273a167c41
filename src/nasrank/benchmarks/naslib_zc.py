"""NASLib's published zero-cost proxy scores (NAS-Bench-Suite-Zero JSON); the NAS-Bench-201 adapter.

:class:`NASLibZCTable` reads any of NASLib's ``zc_nasbench*.json`` files; the space-specific
adapters say how a file key becomes an architecture: :class:`NASLibZCBenchmark` (NB201, here),
:class:`~nasrank.benchmarks.naslib_zc_101.NASLibNB101Benchmark` and
:class:`~nasrank.benchmarks.naslib_zc_301.NASLibNB301Benchmark`.

The file ``zc_nasbench201.json`` (from NASLib's ``naslib/data/``) maps
``dataset -> arch_key -> {proxy: {"score", "time"}, "val_accuracy", "idx", "arch"}`` (some
versions wrap it in a top-level ``"nasbench201"`` key; both are read). Keys are NASLib op-index
tuples, which differ from NAS-Bench-201's string order in two ways:

* **edge order**: NASLib lists the 6 edges as ``(1<-0, 2<-0, 3<-0, 2<-1, 3<-1, 3<-2)``;
  NAS-Bench-201 (and :class:`~nasrank.spaces.NB201Space`) as ``(1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2)``;
* **op indices**: NASLib ``0 skip_connect, 1 none, 2 nor_conv_3x3, 3 nor_conv_1x1, 4 avg_pool_3x3``;
  NAS-Bench-201 ``0 none, 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3, 4 avg_pool_3x3``.

:func:`naslib_to_nb201` converts (checked in the tests against the NB201 ground truth: with this
mapping NASLib's CIFAR-10 ``val_accuracy`` agrees with NB201's cifar10-valid accuracies to 0.2
points on average, every other edge permutation is at least 4x further off, and the published
``params`` equal :meth:`NB201Space.num_params` exactly).
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
from ..exceptions import BenchmarkDataError, UnknownNameError
from ..spaces.nb201 import NB201Space
from ._base import TabularBenchmark

__all__ = ["NASLibZCTable", "NASLibZCBenchmark", "naslib_to_nb201", "nb201_to_naslib", "find_naslib_zc_file"]

ZC_FILE = "zc_nasbench201.json"

#: NAS-Bench-201 position of NASLib's edge i (NASLib order 1<-0, 2<-0, 3<-0, 2<-1, 3<-1, 3<-2).
NASLIB_EDGE_TO_NB201 = (0, 1, 3, 2, 4, 5)
#: NAS-Bench-201 op index of NASLib's op j (NASLib: skip, none, conv3x3, conv1x1, avgpool).
NASLIB_OP_TO_NB201 = (1, 0, 3, 2, 4)

# file dataset name -> ours (NB201Benchmark's spelling)
_DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet16-120"}
# NASLib proxy name -> nasrank proxy name, where they differ
_PROXY_NAMES = {"jacov": "jacob_cov"}


def naslib_to_nb201(ops: Sequence[int] | str) -> tuple[int, ...]:
    """NAS-Bench-201 op tuple of a NASLib op-index tuple (or its string key ``"(0, 2, 3, 2, 3, 1)"``).

    Raises:
        BenchmarkDataError: if the input is not 6 indices in 0..4.

    Example:
        >>> naslib_to_nb201((0, 2, 3, 2, 3, 1))  # skip, conv3, conv1 | conv3, conv1, none
        (1, 3, 3, 2, 2, 0)
        >>> NB201Space().to_str(naslib_to_nb201("(1, 1, 1, 1, 1, 0)"))
        '|none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|'
    """
    if isinstance(ops, str):
        try:
            ops = [int(x) for x in ops.strip().strip("()[]").split(",")]
        except ValueError:
            raise BenchmarkDataError(f"malformed NASLib architecture key {ops!r}") from None
    ops = list(ops)
    if len(ops) != 6 or any(isinstance(o, bool) or not isinstance(o, (int, np.integer)) or not 0 <= o <= 4
                            for o in ops):
        raise BenchmarkDataError(f"a NASLib NB201 architecture is 6 op indices in 0..4, got {ops!r}")
    out = [0] * 6
    for i, o in enumerate(ops):
        out[NASLIB_EDGE_TO_NB201[i]] = NASLIB_OP_TO_NB201[int(o)]
    return tuple(out)


def nb201_to_naslib(arch: Sequence[int]) -> tuple[int, ...]:
    """Inverse of :func:`naslib_to_nb201`.

    Example:
        >>> nb201_to_naslib(naslib_to_nb201((4, 0, 3, 2, 1, 0)))
        (4, 0, 3, 2, 1, 0)
    """
    inv_op = {v: k for k, v in enumerate(NASLIB_OP_TO_NB201)}
    a = NB201Space().validate(arch)
    return tuple(inv_op[a[NASLIB_EDGE_TO_NB201[i]]] for i in range(6))


def find_naslib_zc_file(root: str | os.PathLike | None = None, name: str = ZC_FILE) -> Path:
    """Locate a NASLib zero-cost file (``zc_nasbench201.json`` unless ``name`` says otherwise).

    ``root`` may be the file itself, a ``naslib_zc/`` folder or a data directory holding
    ``naslib_zc/``; default ``$NASRANK_DATA``.

    Raises:
        BenchmarkDataError: if it cannot be found (the message says where it looked).

    Example:
        >>> find_naslib_zc_file("/nonexistent")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nasrank.exceptions.BenchmarkDataError: NASLib zero-cost file 'zc_nasbench201.json' not found under ...
    """
    if root is None:
        env = os.environ.get(DATA_ENV_VAR)
        if not env:
            raise BenchmarkDataError(
                f"NASLib zero-cost scores need {name}: pass root=<data dir> or set {DATA_ENV_VAR}"
            )
        root = env
    p = Path(root).expanduser()
    if p.is_file():
        return p
    for cand in (p / name, p / "naslib_zc" / name):
        if cand.is_file():
            return cand
    raise BenchmarkDataError(
        f"NASLib zero-cost file {name!r} not found under {str(p)!r} (looked in it and in its "
        f"naslib_zc/ folder); pass the data directory or set {DATA_ENV_VAR}"
    )


def _number(value: Any) -> float:
    """A published value as float (``None`` -> NaN)."""
    return math.nan if value is None else float(value)


class NASLibZCTable(TabularBenchmark):
    """Shared reader of NASLib's zero-cost files (NAS-Bench-Suite-Zero format), any search space.

    A file maps ``dataset -> arch_key -> record``, optionally inside one top-level wrapper key
    (``"nasbench201"``, ``"nasbench101"``, ...). A record holds ``val_accuracy`` (percent) and
    one entry per proxy, either ``{"score": s, "time": t}`` or a bare number (the NB101 file);
    other fields (``idx``, ``arch``: strings) are ignored. Subclasses say which file, which
    wrapper, which datasets and how a key becomes an architecture of their space
    (:meth:`_make_space`, :meth:`_parse_key`).

    The one final metric is ``val_acc`` (``val_accuracy`` / 100; NaN for a cell a dataset lacks).
    :meth:`archs` lists every cell found in any dataset, in file order; :meth:`scores` returns a
    proxy's published scores aligned with it, :meth:`score_times` NASLib's seconds per cell (NaN
    where the file records none), :meth:`file_keys` the file's own keys. Proxy names are
    nasrank's (``jacob_cov`` for NASLib's ``jacov``; NASLib's names are accepted too).

    Subclasses with ``_match_isomorphic = True`` also find a queried cell by its space's
    ``canonical_key`` (an isomorphic encoding of a cell in the file finds that cell).
    """

    #: File name looked for by :func:`find_naslib_zc_file`.
    zc_file: str = ZC_FILE
    #: Optional top-level key wrapping the datasets.
    wrapper: str = ""
    #: Short label of the space in error messages.
    label: str = ""
    #: File dataset name -> nasrank's name (the order of :attr:`datasets`).
    file_datasets: dict[str, str] = {}
    _match_isomorphic: bool = False

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        self.root = root
        self.path_ = find_naslib_zc_file(root, self.zc_file)
        self._load()

    # --- subclass hooks -------------------------------------------------------------------------
    def _make_space(self) -> Any:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def _parse_key(self, key: str) -> tuple[int, ...]:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    # --- reading ----------------------------------------------------------------------------------
    @property
    def space(self) -> Any:
        return self._space

    def _load(self) -> None:
        self._space = self._make_space()
        try:
            with open(self.path_) as f:
                data = json.load(f)
        except (OSError, ValueError) as exc:
            raise BenchmarkDataError(f"cannot read {self.path_} as JSON: {exc}") from None
        if isinstance(data, dict) and self.wrapper and self.wrapper in data:
            data = data[self.wrapper]
        if not isinstance(data, dict) or not any(k in data for k in self.file_datasets):
            found = sorted(data)[:5] if isinstance(data, dict) else type(data).__name__
            raise BenchmarkDataError(
                f"{self.path_} is not a NASLib {self.label} zero-cost file: expected top-level keys among "
                f"{sorted(self.file_datasets)} (or {self.wrapper!r}), got {found}"
            )
        index: dict[tuple[int, ...], int] = {}
        keys: list[str] = []
        per_ds: dict[str, dict[tuple[int, ...], dict]] = {}
        for file_ds, ds in self.file_datasets.items():
            entries = data.get(file_ds, {})
            if not isinstance(entries, dict):
                raise BenchmarkDataError(f"{self.path_}: dataset {file_ds!r} is not a mapping of cells")
            rows: dict[tuple[int, ...], dict] = {}
            for key, rec in entries.items():
                arch = self._parse_key(key)
                if arch in rows:
                    raise BenchmarkDataError(f"{self.path_} lists cell {key} twice for {file_ds}")
                if not isinstance(rec, dict):
                    raise BenchmarkDataError(f"{self.path_}: the record of cell {key} is not a mapping")
                rows[arch] = rec
                if arch not in index:
                    index[arch] = len(index)
                    keys.append(key)
            per_ds[ds] = rows
        self._archs = list(index)
        self._index = index
        self._keys = keys
        self._canon: dict[Any, int] = {}
        if self._match_isomorphic:
            for arch, i in index.items():
                self._canon.setdefault(self._space.canonical_key(arch), i)
        n = len(self._archs)
        self._val: dict[str, np.ndarray] = {}
        self._scores: dict[tuple[str, str], np.ndarray] = {}
        self._times: dict[tuple[str, str], np.ndarray] = {}
        self._proxies: dict[str, list[str]] = {}
        for ds, rows in per_ds.items():
            val = np.full(n, math.nan)
            names: list[str] = []
            for arch, rec in rows.items():
                i = index[arch]
                val[i] = _number(rec.get("val_accuracy")) / 100.0
                for pname, item in rec.items():
                    if pname == "val_accuracy":
                        continue
                    if isinstance(item, dict) and "score" in item:
                        score, seconds = item.get("score"), item.get("time")
                    elif isinstance(item, (int, float)) and not isinstance(item, bool):
                        score, seconds = item, None
                    else:  # idx, arch, anything else that is not a score
                        continue
                    name = _PROXY_NAMES.get(pname, pname)
                    if (ds, name) not in self._scores:
                        self._scores[(ds, name)] = np.full(n, math.nan)
                        self._times[(ds, name)] = np.full(n, math.nan)
                        names.append(name)
                    self._scores[(ds, name)][i] = _number(score)
                    self._times[(ds, name)][i] = _number(seconds)
            self._val[ds] = val
            self._proxies[ds] = sorted(names)

    # --- the TabularBenchmark interface -----------------------------------------------------------
    def archs(self) -> list[tuple[int, ...]]:
        """Every cell in the file (any dataset), as architectures of :attr:`space`, in file order."""
        return list(self._archs)

    def file_keys(self) -> list[str]:
        """The file's own key of each cell, aligned with :meth:`archs`."""
        return list(self._keys)

    def metrics(self, dataset: str | None = None) -> list[str]:
        self._dataset(dataset)
        return ["val_acc"]

    def query(self, arch: Sequence[int] | str, metric: str = "val_acc", dataset: str | None = None) -> float:
        """``val_acc`` of ``arch`` (NaN if the dataset has no record of it).

        Raises:
            UnknownNameError: for another metric or an unknown dataset.
            BenchmarkDataError: if the cell is not in the file.
        """
        ds = self._dataset(dataset)
        self._check_metric(metric, ds)
        return float(self._val[ds][self._row(arch)])

    def table(self, metric: str = "val_acc", dataset: str | None = None) -> np.ndarray:
        ds = self._dataset(dataset)
        self._check_metric(metric, ds)
        return self._val[ds].copy()

    def _row(self, arch: Sequence[int] | str) -> int:
        a = self._arch(arch)
        i = self._index.get(a)
        if i is None and self._match_isomorphic:
            i = self._canon.get(self._space.canonical_key(a))
        if i is None:
            raise BenchmarkDataError(
                f"cell {self._space.to_str(a)} is not among the {len(self._archs)} cells of {self.path_.name}"
            )
        return i

    def proxies(self, dataset: str | None = None) -> list[str]:
        """Names of the proxies with published scores for ``dataset``."""
        return list(self._proxies[self._dataset(dataset)])

    def _proxy(self, name: str, dataset: str | None) -> tuple[str, str]:
        ds = self._dataset(dataset)
        key = _PROXY_NAMES.get(name, name)
        if (ds, key) not in self._scores:
            raise UnknownNameError(
                f"no published {name!r} scores for {ds!r} in {self.path_.name}; available: {', '.join(self._proxies[ds])}"
            )
        return ds, key

    def scores(self, name: str, dataset: str | None = None) -> np.ndarray:
        """Published scores of proxy ``name`` aligned with :meth:`archs` (NaN where missing).

        The values are NASLib's raw published scores (no sign flip); see
        ``nasrank.estimators.zero_cost.proxy_info(name)`` for whether higher is better.
        """
        return self._scores[self._proxy(name, dataset)].copy()

    def score_times(self, name: str, dataset: str | None = None) -> np.ndarray:
        """Seconds NASLib spent computing proxy ``name`` for each cell (NaN where not recorded)."""
        return self._times[self._proxy(name, dataset)].copy()


class NASLibZCBenchmark(NASLibZCTable):
    """NASLib's published zero-cost scores and validation accuracies of NB201 cells.

    Datasets ``cifar10``, ``cifar100``, ``imagenet16-120`` (the file's ``ImageNet16-120``). The
    one final metric is ``val_acc`` (NASLib's ``val_accuracy`` / 100; NaN for a cell a dataset
    lacks). :meth:`archs` lists every cell found in any dataset, in the file's order, as
    NAS-Bench-201 op tuples. :meth:`scores` returns a proxy's published scores aligned with
    :meth:`archs`, :meth:`score_times` the seconds NASLib spent computing them. Proxy names are
    nasrank's (``jacob_cov`` for NASLib's ``jacov``; NASLib's names are accepted too); NASLib's
    ``epe_nas`` has no nasrank counterpart and keeps its name. Registered as ``naslib-zc-nb201``.

    Args:
        root: ``zc_nasbench201.json``, its folder, or a data dir holding ``naslib_zc/``
            (default ``$NASRANK_DATA``).

    Example:
        >>> bench = NASLibZCBenchmark("../shared/data")  # doctest: +SKIP
        >>> bench.scores("synflow", "cifar10")[:3]  # doctest: +SKIP
    """

    name = "naslib-zc-nb201"
    datasets = ("cifar10", "cifar100", "imagenet16-120")
    zc_file = ZC_FILE
    wrapper = "nasbench201"
    label = "NB201"
    file_datasets = _DATASETS

    @property
    def space(self) -> NB201Space:
        return self._space

    def _make_space(self) -> NB201Space:
        return NB201Space()

    def _parse_key(self, key: str) -> tuple[int, ...]:
        return naslib_to_nb201(key)
