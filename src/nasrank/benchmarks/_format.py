"""nasrank's own learning-curve benchmark format: ``benchmark.json`` + ``curves.npz``.

A benchmark directory holds

* ``benchmark.json`` — metadata: ``format``, ``format_version``, ``name``, ``space`` and
  ``space_config`` (the ``build`` keyword arguments), ``data`` (a :class:`~nasrank.data.DataSpec`
  key), ``train_config`` (a :class:`~nasrank.training.TrainConfig`), ``seeds``,
  ``nasrank_version``, ``build_command``, ``created`` and the array ``shapes``;
* ``curves.npz`` — one row per training run (architecture x seed), no pickled objects:

  ============================  ==========  =====================================================
  array                         shape       meaning
  ============================  ==========  =====================================================
  ``arch``                      (R,)        the architecture's string (``space.to_str``)
  ``seed``                      (R,)        training seed
  ``status``                    (R,)        ``ok`` / ``diverged`` / ``error``
  ``epochs_done``               (R,)        completed epochs (< E only if diverged)
  ``train_loss`` ``train_acc``  (R, E)      per-epoch training loss / accuracy (NaN-padded)
  ``val_loss`` ``val_acc``      (R, E)      per-epoch validation loss / accuracy
  ``epoch_time``                (R, E)      seconds of training per epoch
  ``lr``                        (R, E)      learning rate of each epoch
  ``minibatch_loss``            (R, E*S)    every minibatch loss (float32, or float16 when written
                                            with ``minibatch_dtype="float16"``), if recorded
  ``minibatch_size``            (S,)        examples per minibatch within an epoch
  ``test_loss`` ``test_acc``    (R,)        after the last epoch
  ``params``                    (R,)        trainable parameters of the network
  ============================  ==========  =====================================================

Accuracies are fractions in [0, 1]. Files are written to temporary names and moved into place, the
JSON last, so a reader never sees a half-written benchmark.
"""

from __future__ import annotations

import json
import math
import os
import warnings
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import atomic_write
from ..exceptions import BenchmarkDataError, ConfigError
from ..records import LearningCurve
from ._base import TabularBenchmark

__all__ = ["CurveBenchmark", "write_benchmark", "FORMAT", "FORMAT_VERSION"]

FORMAT = "nasrank-benchmark"
FORMAT_VERSION = 1
META_FILE = "benchmark.json"
ARRAYS_FILE = "curves.npz"
MINIBATCH_DTYPES = ("float32", "float16")
_PER_EPOCH = ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time", "lr")


def write_benchmark(
    out: str | os.PathLike,
    meta: dict[str, Any],
    runs: Sequence[dict[str, Any]],
    epochs: int,
    minibatch_dtype: str = "float32",
) -> Path:
    """Write a benchmark directory from training runs.

    Args:
        out: Target directory (created if missing; existing benchmark files are replaced).
        meta: Metadata for ``benchmark.json`` (``space`` required).
        runs: One dict per run with ``arch`` (str), ``seed``, ``status``, ``curve``
            (``LearningCurve.to_dict()`` or ``None``) and ``params``.
        epochs: Epochs E of the protocol (columns of the per-epoch arrays).
        minibatch_dtype: Precision of the stored minibatch losses: ``"float32"`` (default) or
            ``"float16"``, which halves the largest array of a benchmark that keeps every
            minibatch loss, at about three significant digits (steps of 0.001 near a loss of 1;
            losses beyond float16's range, 65,504, read back as infinity). Readers return
            float64 either way; the choice is recorded as ``minibatch_dtype`` in the metadata.

    Returns:
        The directory.

    Example:
        >>> import tempfile
        >>> arch = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
        >>> run = {"arch": arch, "seed": 0, "status": "ok", "curve": {"train_loss": [2.0, 1.5]}, "params": 10}
        >>> out = write_benchmark(tempfile.mkdtemp(), {"space": "nb201"}, [run], epochs=2)
        >>> CurveBenchmark(out).curve(arch).train_loss.tolist()
        [2.0, 1.5]
    """
    if "space" not in meta:
        raise ConfigError("benchmark metadata needs a 'space'")
    if not runs:
        raise ConfigError("a benchmark needs at least one run")
    if minibatch_dtype not in MINIBATCH_DTYPES:
        raise ConfigError(f"`minibatch_dtype` must be one of {', '.join(MINIBATCH_DTYPES)}, got {minibatch_dtype!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    R = len(runs)
    steps = None
    sizes = None
    for r in runs:
        c = r.get("curve") or {}
        if c.get("steps_per_epoch"):
            steps = int(c["steps_per_epoch"])
            sizes = np.asarray(c["minibatch_size"][:steps], dtype=np.float64)
            break
    arrays: dict[str, np.ndarray] = {
        "arch": np.array([str(r["arch"]) for r in runs]),
        "seed": np.array([int(r["seed"]) for r in runs], dtype=np.int64),
        "status": np.array([str(r["status"]) for r in runs]),
        "epochs_done": np.zeros(R, dtype=np.int64),
        "test_loss": np.full(R, np.nan),
        "test_acc": np.full(R, np.nan),
        "params": np.array([int(r.get("params", -1)) for r in runs], dtype=np.int64),
    }
    for k in _PER_EPOCH:
        arrays[k] = np.full((R, epochs), np.nan)
    if steps:
        arrays["minibatch_loss"] = np.full((R, epochs * steps), np.nan, dtype=np.float32)  # cast on writing
        arrays["minibatch_size"] = sizes
    for i, r in enumerate(runs):
        c = r.get("curve")
        if not c:
            continue
        n = len(c["train_loss"])
        if n > epochs:
            raise ConfigError(f"run {r['arch']} has {n} epochs, more than the protocol's {epochs}")
        arrays["epochs_done"][i] = n
        for k in _PER_EPOCH:
            v = c.get(k)
            if v is not None:
                arrays[k][i, :n] = [math.nan if x is None else x for x in v]
        for k in ("test_loss", "test_acc"):
            if c.get(k) is not None:
                arrays[k][i] = c[k]
        mb = c.get("minibatch_loss")
        if steps and mb is not None and c.get("steps_per_epoch") == steps:
            arrays["minibatch_loss"][i, : len(mb)] = [math.nan if x is None else x for x in mb]
    if steps:
        with np.errstate(over="ignore"):  # a diverged run's huge losses become inf in float16
            arrays["minibatch_loss"] = arrays["minibatch_loss"].astype(minibatch_dtype)
    meta = dict(meta)
    if steps:
        meta["minibatch_dtype"] = minibatch_dtype
    meta.update(
        format=FORMAT, format_version=FORMAT_VERSION, runs=R, epochs=int(epochs),
        steps_per_epoch=steps, archs=len(set(arrays["arch"].tolist())),
        shapes={k: list(v.shape) for k, v in arrays.items()},
    )
    atomic_write(out / ARRAYS_FILE, lambda f: np.savez_compressed(f, **arrays))
    atomic_write(out / META_FILE, lambda f: f.write(json.dumps(meta, indent=2, sort_keys=True).encode() + b"\n"))
    return out


class CurveBenchmark(TabularBenchmark):
    """A learning-curve benchmark in nasrank's own format (see the module docstring).

    Args:
        path: The benchmark directory.

    Metrics (:meth:`query`, mean over seeds): ``test_acc``, ``test_loss``, ``val_acc`` /
    ``val_loss`` / ``train_loss`` / ``train_acc`` after the last epoch, ``train_time`` (seconds of
    training, all epochs) and ``params``.

    Example:
        >>> from nasrank.benchmarks import load_benchmark
        >>> bench = load_benchmark("nb201-mini")
        >>> curve = bench.curve(bench.archs()[0])
        >>> curve.epochs == bench.metadata["epochs"]
        True
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        meta_path, arr_path = self.path / META_FILE, self.path / ARRAYS_FILE
        if not meta_path.is_file() or not arr_path.is_file():
            raise BenchmarkDataError(
                f"{str(self.path)!r} is not a nasrank benchmark directory (needs {META_FILE} and {ARRAYS_FILE})"
            )
        try:
            self.metadata: dict[str, Any] = json.loads(meta_path.read_text())
            with np.load(arr_path, allow_pickle=False) as z:
                self._a = {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
            # a truncated or corrupted file: say which, and how to get a good one
            raise BenchmarkDataError(
                f"cannot read benchmark {str(self.path)!r}: {type(exc).__name__}: {' '.join(str(exc).split())}; "
                f"the files may be truncated or corrupted: rebuild it (nasrank bench build) or copy it again"
            ) from None
        if self.metadata.get("format") != FORMAT or int(self.metadata.get("format_version", -1)) > FORMAT_VERSION:
            raise BenchmarkDataError(
                f"{str(self.path)!r} is not a {FORMAT} v{FORMAT_VERSION} directory "
                f"(format={self.metadata.get('format')!r}, version={self.metadata.get('format_version')!r})"
            )
        from ..spaces import SPACES

        self._space = SPACES.get(self.metadata["space"])()
        self.name = str(self.metadata.get("name") or self.path.name)
        self.datasets = (str(self.metadata.get("data", {}).get("dataset", "default")),)
        self._strings = self._a["arch"].tolist()
        self._archs: list[tuple[int, ...]] = []
        self._rows: dict[tuple[int, ...], list[int]] = {}
        for i, s in enumerate(self._strings):
            a = self._space.from_str(s)
            if a not in self._rows:
                self._archs.append(a)
                self._rows[a] = []
            self._rows[a].append(i)

    @property
    def space(self) -> Any:
        return self._space

    @property
    def has_curves(self) -> bool:
        return True

    @property
    def epochs(self) -> int:
        """Epochs of the training protocol."""
        return int(self.metadata["epochs"])

    @property
    def seeds(self) -> list[int]:
        """Training seeds present."""
        return sorted(set(self._a["seed"].tolist()))

    def archs(self) -> list[tuple[int, ...]]:
        return list(self._archs)

    def metrics(self, dataset: str | None = None) -> list[str]:
        self._dataset(dataset)
        return ["test_acc", "test_loss", "val_acc", "val_loss", "train_loss", "train_acc", "train_time", "params"]

    def _row_ids(self, arch: Sequence[int] | str, seed: int | None) -> list[int]:
        a = self._arch(arch)
        rows = self._rows.get(a)
        if rows is None:
            raise BenchmarkDataError(f"architecture {self._space.to_str(a)} is not in benchmark {self.name!r}")
        if seed is not None:
            rows = [i for i in rows if int(self._a["seed"][i]) == int(seed)]
            if not rows:
                raise BenchmarkDataError(f"benchmark {self.name!r} has no run of seed {seed} for {self._space.to_str(a)}")
        return rows

    def _value(self, i: int, metric: str) -> float:
        a = self._a
        if metric in ("test_acc", "test_loss"):
            return float(a[metric][i])
        if metric == "params":
            return float(a["params"][i])
        if metric == "train_time":
            return float(np.nansum(a["epoch_time"][i])) if a["status"][i] != "error" else math.nan
        n = int(a["epochs_done"][i])
        if n < self.epochs:  # diverged / failed: no final value
            return math.nan
        return float(a[metric][i, n - 1])

    def query(
        self, arch: Sequence[int] | str, metric: str = "test_acc", dataset: str | None = None, seed: int | None = None
    ) -> float:
        self._check_metric(metric, self._dataset(dataset))
        vals = [self._value(i, metric) for i in self._row_ids(arch, seed)]
        return float(np.mean(vals))

    def table(self, metric: str = "test_acc", dataset: str | None = None) -> np.ndarray:
        self._check_metric(metric, self._dataset(dataset))
        return np.array([np.mean([self._value(i, metric) for i in self._rows[a]]) for a in self._archs])

    def curve(self, arch: Sequence[int] | str, dataset: str | None = None, seed: int | None = None) -> LearningCurve:
        """The :class:`~nasrank.records.LearningCurve` of ``arch`` (first seed unless ``seed``)."""
        self._dataset(dataset)
        i = self._row_ids(arch, seed)[0]
        a = self._a
        n = int(a["epochs_done"][i])
        kw: dict[str, Any] = {k: a[k][i, :n] for k in _PER_EPOCH}
        steps = self.metadata.get("steps_per_epoch")
        if "minibatch_loss" in a and steps:
            kw["minibatch_loss"] = a["minibatch_loss"][i, : n * steps].astype(np.float64)
            kw["minibatch_size"] = np.tile(a["minibatch_size"], n)
            kw["steps_per_epoch"] = int(steps)
        for k in ("val_loss", "val_acc"):
            if n and np.all(np.isnan(kw[k])):
                kw[k] = None
        return LearningCurve(
            test_loss=float(a["test_loss"][i]), test_acc=float(a["test_acc"][i]),
            diverged=str(a["status"][i]) == "diverged", planned_epochs=self.epochs,
            meta={"seed": int(a["seed"][i]), "benchmark": self.name}, **kw,
        )

    def epoch_times(self, arch: Sequence[int] | str, dataset: str | None = None) -> np.ndarray:
        """Mean over seeds of the per-epoch training seconds."""
        self._dataset(dataset)
        rows = self._a["epoch_time"][self._row_ids(arch, None)]
        with warnings.catch_warnings():  # epochs after a divergence are NaN in every run: NaN, no warning
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(rows, axis=0)

    def train_job(self, arch: Sequence[int] | str, seed: int = 0, data_root: str | os.PathLike | None = None) -> Any:
        """The :class:`~nasrank.training.TrainJob` that re-trains ``arch`` with the recorded protocol.

        Args:
            arch: Architecture (tuple or string).
            seed: Training seed.
            data_root: Where the dataset files are (the build's data directory is not recorded).

        Example:
            >>> from nasrank.benchmarks import load_benchmark
            >>> bench = load_benchmark("nb201-mini")
            >>> job = bench.train_job(bench.archs()[0])
            >>> job.train.epochs == bench.epochs, job.space_config
            (True, {'C': 8, 'N': 1})
        """
        from ..data import DataSpec
        from ..training import TrainConfig, TrainJob

        m = self.metadata
        for k in ("space_config", "data", "train_config"):
            if k not in m:
                raise BenchmarkDataError(f"benchmark {self.name!r} does not record its {k}; cannot re-train")
        data = DataSpec(root=None if data_root is None else os.fspath(data_root), **m["data"])
        return TrainJob(m["space"], self._space.to_str(self._arch(arch)), dict(m["space_config"]), data,
                        TrainConfig(**m["train_config"]), int(seed),
                        record_minibatch=bool(self.metadata.get("steps_per_epoch")))

    def curves(self, field: str = "val_acc") -> np.ndarray:
        """The ``(runs, epochs)`` array of a per-epoch record (all rows, file order)."""
        if field not in _PER_EPOCH:
            raise ConfigError(f"`field` must be one of {', '.join(_PER_EPOCH)}, got {field!r}")
        return self._a[field].copy()
