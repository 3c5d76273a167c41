"""The official NATS-Bench topology benchmark (= NAS-Bench-201) through the ``nats_bench`` package.

For users who have the official files (e.g. ``NATS-tss-v1_0-3ffb9-simple/``): final metrics and
per-epoch learning curves of all 15,625 cells. The files are pickles, and unpickling runs code
from the file, so :class:`NATSBenchmark` only opens them when called with ``trust_pickle=True``;
the ``nats_bench`` package is an optional dependency (``pip install 'nasrank[nats]'``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import BenchmarkDataError, ConfigError, MissingDependencyError
from ..records import LearningCurve
from ..spaces.nb201 import NB201Space
from ._base import TabularBenchmark

__all__ = ["NATSBenchmark"]

# our dataset name -> NATS-Bench's
_NATS_DATASETS = {
    "cifar10-valid": "cifar10-valid",
    "cifar10": "cifar10",
    "cifar100": "cifar100",
    "imagenet16-120": "ImageNet16-120",
}
# our metric -> (get_more_info key, divide by 100?)
_FINAL = {
    "train_loss": ("train-loss", False),
    "train_acc": ("train-accuracy", True),
    "test_loss": ("test-loss", False),
    "test_acc": ("test-accuracy", True),
    "train_time": ("train-all-time", False),
}


def _import_nats() -> Any:
    try:
        import nats_bench
    except ImportError:
        raise MissingDependencyError(
            "the NATS-Bench adapter needs the nats_bench package: pip install 'nasrank[nats]'"
        ) from None
    return nats_bench


def _num(x: Any, pct: bool = False) -> float:
    if x is None:
        return math.nan
    v = float(x)
    return v / 100.0 if pct else v


class NATSBenchmark(TabularBenchmark):
    """NATS-Bench topology search space (NAS-Bench-201 cells) from the official benchmark files.

    Metrics (accuracies as fractions): ``train_loss``, ``train_acc``, ``test_loss``,
    ``test_acc``, ``train_time`` (total training seconds) after the last epoch, and ``val_loss``
    / ``val_acc`` where the dataset has a validation split (not for ``cifar10``, which trains on
    train+valid). Validation is NATS-Bench's ``x-valid`` split (``valid-*`` keys) by default;
    ``validation="valtest"`` uses the ``ori-test`` set (``valtest-*`` keys) for cifar100 and
    ImageNet16-120, as the TSE authors' code did (reference §4.2). ``test_acc`` is
    ``ori-test`` for cifar10 / cifar10-valid and ``x-test`` otherwise (NATS-Bench's convention).

    :meth:`curve` returns the per-epoch :class:`~nasrank.training.LearningCurve` of ``hp``
    epochs (train loss/acc, validation loss/acc, epoch time from the cumulative
    ``train-all-time``); per-minibatch losses are not in the benchmark. Curves are cached.

    Args:
        path: Benchmark file or directory, passed to ``nats_bench.create(path, "tss")``.
        trust_pickle: Must be ``True``: the files are pickles, and loading a pickle runs code
            from it. Only pass ``True`` for files from a source you trust.
        hp: Training schedule, ``"200"`` (default) or ``"12"`` epochs.
        seed: Trial seed (e.g. 777, 888, 999); ``None`` averages the available trials.
        validation: ``"valid"`` (default) or ``"valtest"`` (see above).
        fast_mode: ``nats_bench``'s lazy loading of per-architecture files.

    Raises:
        ConfigError: without ``trust_pickle=True`` or for a bad option.
        MissingDependencyError: if ``nats_bench`` is not installed.
        BenchmarkDataError: if ``path`` does not exist.

    Example:
        >>> NATSBenchmark("NATS-tss-v1_0-3ffb9-simple")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: NATS-Bench files are pickles ... trust_pickle=True ...
    """

    name = "nats-tss"
    datasets = ("cifar10-valid", "cifar10", "cifar100", "imagenet16-120")

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        trust_pickle: bool = False,
        hp: str = "200",
        seed: int | None = None,
        validation: str = "valid",
        fast_mode: bool = True,
    ) -> None:
        if trust_pickle is not True:
            raise ConfigError(
                "NATS-Bench files are pickles and loading a pickle can run arbitrary code; "
                "pass trust_pickle=True only for files from a source you trust "
                "(or use the pickle-free NB201Benchmark / a nasrank benchmark directory)"
            )
        self._check_options(hp, seed, validation)
        nats_bench = _import_nats()
        p = Path(path).expanduser()
        if not p.exists():
            raise BenchmarkDataError(f"NATS-Bench file or directory {str(p)!r} does not exist")
        api = nats_bench.create(str(p), "tss", fast_mode=bool(fast_mode), verbose=False)
        self._setup(api, hp, seed, validation)
        self.path = p

    @classmethod
    def from_api(
        cls, api: Any, *, hp: str = "200", seed: int | None = None, validation: str = "valid"
    ) -> NATSBenchmark:
        """Wrap an already created ``nats_bench`` topology API object (no file is opened here).

        Example:
            >>> import nats_bench  # doctest: +SKIP
            >>> api = nats_bench.create("NATS-tss-v1_0-3ffb9-simple", "tss", fast_mode=True)  # doctest: +SKIP
            >>> bench = NATSBenchmark.from_api(api)  # doctest: +SKIP
        """
        cls._check_options(hp, seed, validation)
        self = cls.__new__(cls)
        self._setup(api, hp, seed, validation)
        self.path = None
        return self

    @staticmethod
    def _check_options(hp: Any, seed: Any, validation: Any) -> None:
        if str(hp) not in ("12", "200"):
            raise ConfigError(f"`hp` must be '12' or '200' (training epochs), got {hp!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ConfigError(f"`seed` must be a trial seed (int) or None (mean over trials), got {seed!r}")
        if validation not in ("valid", "valtest"):
            raise ConfigError(f"`validation` must be 'valid' or 'valtest', got {validation!r}")

    def _setup(self, api: Any, hp: Any, seed: int | None, validation: str) -> None:
        self._api = api
        self.hp = str(hp)
        self.seed = None if seed is None else int(seed)
        self.validation = validation
        self._space = NB201Space()
        try:
            strings = [api[i] for i in range(len(api))]
        except Exception as exc:  # noqa: BLE001 - any failure of a foreign API object
            raise BenchmarkDataError(f"cannot list the architectures of the NATS-Bench API object: {exc}") from None
        self._archs = [self._space.from_str(s if isinstance(s, str) else s.tostr()) for s in strings]
        self._index = {a: i for i, a in enumerate(self._archs)}
        if len(self._index) != len(self._archs):
            raise BenchmarkDataError("the NATS-Bench API lists some architecture twice")
        self._curves: dict[tuple[int, str], LearningCurve] = {}

    @property
    def space(self) -> NB201Space:
        return self._space

    @property
    def has_curves(self) -> bool:
        return True

    @property
    def epochs(self) -> int:
        """Epochs of the training schedule ``hp``."""
        return int(self.hp)

    def archs(self) -> list[tuple[int, ...]]:
        """All cells in NATS-Bench index order."""
        return list(self._archs)

    def index(self, arch: Sequence[int] | str) -> int:
        """NATS-Bench index of ``arch``."""
        a = self._arch(arch)
        try:
            return self._index[a]
        except KeyError:
            raise BenchmarkDataError(f"cell {self._space.to_str(a)} is not in this NATS-Bench API") from None

    def metrics(self, dataset: str | None = None) -> list[str]:
        ds = self._dataset(dataset)
        out = ["train_loss", "train_acc"]
        if ds != "cifar10":
            out += ["val_loss", "val_acc"]
        return out + ["test_loss", "test_acc", "train_time"]

    def _val_keys(self, ds: str) -> tuple[str, str]:
        if self.validation == "valtest" and ds in ("cifar100", "imagenet16-120"):
            return "valtest-loss", "valtest-accuracy"
        return "valid-loss", "valid-accuracy"

    def _info(self, idx: int, ds: str, iepoch: int | None) -> dict:
        is_random: bool | int = False if self.seed is None else self.seed
        try:
            info = self._api.get_more_info(idx, _NATS_DATASETS[ds], iepoch=iepoch, hp=self.hp, is_random=is_random)
        except (ValueError, KeyError) as exc:
            raise BenchmarkDataError(
                f"NATS-Bench has no record for index {idx} on {ds} (hp={self.hp}, seed={self.seed}, "
                f"epoch={iepoch}): {exc}"
            ) from None
        if not isinstance(info, dict):
            raise BenchmarkDataError(f"NATS-Bench get_more_info returned {type(info).__name__}, expected a dict")
        return info

    def query(self, arch: Sequence[int] | str, metric: str = "test_acc", dataset: str | None = None) -> float:
        ds = self._dataset(dataset)
        self._check_metric(metric, ds)
        info = self._info(self.index(arch), ds, None)
        if metric in ("val_loss", "val_acc"):
            key = self._val_keys(ds)[0 if metric == "val_loss" else 1]
            return _num(info.get(key), pct=metric == "val_acc")
        key, pct = _FINAL[metric]
        return _num(info.get(key), pct)

    def curve(self, arch: Sequence[int] | str, dataset: str | None = None) -> LearningCurve:
        """Per-epoch learning curve of ``arch`` (``hp`` epochs; one API query per epoch, cached)."""
        ds = self._dataset(dataset)
        idx = self.index(arch)
        if (idx, ds) in self._curves:
            return self._curves[(idx, ds)]
        E = self.epochs
        has_val = ds != "cifar10"
        vl_key, va_key = self._val_keys(ds)
        cols: dict[str, list[float]] = {k: [] for k in ("train_loss", "train_acc", "val_loss", "val_acc", "cum")}
        for e in range(E):
            info = self._info(idx, ds, e)
            cols["train_loss"].append(_num(info.get("train-loss")))
            cols["train_acc"].append(_num(info.get("train-accuracy"), pct=True))
            cols["cum"].append(_num(info.get("train-all-time")))
            if has_val:
                cols["val_loss"].append(_num(info.get(vl_key)))
                cols["val_acc"].append(_num(info.get(va_key), pct=True))
        final = self._info(idx, ds, None)
        cum = np.asarray(cols["cum"], dtype=np.float64)
        curve = LearningCurve(
            train_loss=cols["train_loss"],
            train_acc=cols["train_acc"],
            val_loss=cols["val_loss"] if has_val else None,
            val_acc=cols["val_acc"] if has_val else None,
            epoch_time=np.diff(cum, prepend=0.0),  # train-all-time is cumulative through epoch e
            test_loss=_num(final.get("test-loss")),
            test_acc=_num(final.get("test-accuracy"), pct=True),
            planned_epochs=E,
            meta={"source": "nats-bench", "index": idx, "dataset": ds, "hp": self.hp, "seed": self.seed,
                  "validation": self.validation if has_val else None},
        )
        self._curves[(idx, ds)] = curve
        return curve

    def epoch_times(self, arch: Sequence[int] | str, dataset: str | None = None) -> np.ndarray:
        return self.curve(arch, dataset).epoch_time.copy()
