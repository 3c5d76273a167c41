"""Query-based search over the subnets of a trained supernet (one-shot NAS with SoTL).

:class:`SupernetEvaluator` scores an architecture by fine-tuning its path of a trained weight-sharing
supernet for ``B`` minibatches (:func:`nasrank.oneshot.finetune_subnet`: inherited weights, fresh
SGD at a constant learning rate, every loss recorded before its own step) and reading one subnet
estimator (``tse``, ``val_acc``, ``sovl``, ...) from the result. Every strategy searches with it
through the usual driver, store and executors: RandNAS's search phase is ``random`` with it, and
``evolution`` is SPOS's evolutionary search with SoTL instead of validation accuracy.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .._validate import check_int
from ..exceptions import ConfigError
from ..records import EvalRecord
from ._evaluators import Evaluator

__all__ = ["SupernetEvaluator", "checkpoint_data"]

Arch = tuple[int, ...]

_LOADED: dict[tuple[str, str, str], Any] = {}


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _supernet(path: str, digest: str, device: Any = "cpu") -> Any:
    """The checkpoint's supernet on ``device`` (a :class:`torch.device`), loaded once per process."""
    key = (path, digest, str(device))
    if key not in _LOADED:
        from ..oneshot import load_checkpoint

        _LOADED.clear()
        _LOADED[key] = load_checkpoint(path, device=device).method.supernet
    return _LOADED[key]


def checkpoint_data(train: dict | None, data_dir: str | None, where: Any) -> Any:
    """The :class:`~nasrank.data.DataSpec` a supernet checkpoint was trained on (its ``train``
    record), read from ``data_dir``; a one-line error when it records none.

    Example:
        >>> checkpoint_data({"data": {"dataset": "digits", "val_size": 300}}, None, "x").val_size
        300
    """
    from dataclasses import fields

    from ..data import DataSpec

    key = (train or {}).get("data")
    names = {f.name for f in fields(DataSpec)} - {"root"}
    if not isinstance(key, dict) or not key or set(key) - names:
        raise ConfigError(f"checkpoint {where} does not record its training data as a dataset split (it was trained "
                          "from Python without data_key=DataSpec(...)); pass the data explicitly (data=DataSpec(...)) "
                          "or train with `nasrank oneshot train`")
    return DataSpec(**{**key, "root": data_dir})


def _supernet_job(path: str, digest: str, arch_str: str, data: Any, finetune: Any, estimators: tuple[str, ...],
                  seed: int, fp: str, device: str = "cpu") -> EvalRecord:
    from ..execution import device_info, is_out_of_memory, release_memory, resolve_device
    from ..oneshot import finetune_subnet

    t0 = time.perf_counter()
    dev = resolve_device(device)  # in the worker: "auto" is the device the executor assigned to it
    where = device_info(dev)
    supernet = _supernet(path, digest, dev)
    space = supernet.space
    arch = space.from_str(arch_str)
    key = arch_str  # isomorphic cells hold different supernet weights: the exact architecture is the key
    try:
        train, val, _ = data.load()
        res = finetune_subnet(supernet, arch, train, val, finetune, seed=seed)
    except Exception as exc:  # noqa: BLE001  (a failed evaluation is a recorded outcome)
        info: dict[str, Any] = dict(where)
        error = " ".join(f"{type(exc).__name__}: {exc}".split())
        if is_out_of_memory(exc):
            release_memory(dev)
            info["oom"] = True
            error = " ".join(f"out of memory on {where['device']}: {exc}".split())
        return EvalRecord(space.name, arch_str, key, fp, "error", {}, cost=time.perf_counter() - t0,
                          error=error[:500], info=info)
    B = max(finetune.budgets)
    metrics: dict[str, Any] = {}
    for name in estimators:
        v = float(res.value(name, B))
        metrics[name] = v if math.isfinite(v) else None
    inherited = float(res.value("val_acc", 0))
    metrics["val_acc_inherited"] = inherited if math.isfinite(inherited) else None
    status = "diverged" if res.diverged else "ok"
    wall = time.perf_counter() - t0
    return EvalRecord(space.name, arch_str, key, fp, status, metrics, cost=wall,
                      info={"wall": wall, "B": B, **where})


class SupernetEvaluator(Evaluator):
    """Scores subnets of a trained supernet checkpoint by a subnet estimator after ``B``
    fine-tuning minibatches.

    Args:
        checkpoint: A checkpoint written by :func:`nasrank.oneshot.train_supernet` /
            ``nasrank oneshot train``.
        estimator: The subnet estimator searched (see :data:`nasrank.oneshot.SUBNET_ESTIMATORS`;
            higher is better, e.g. ``tse`` = minus the sum of the training losses).
        B: Fine-tuning minibatches per subnet (``0``: the inherited weights, no training; only
            ``val_acc`` / ``val_loss`` are then defined).
        data: A :class:`~nasrank.data.DataSpec` (default: the one the supernet was trained on,
            recorded in the checkpoint, read from ``data_dir``).
        data_dir: Data directory for the recorded data (default ``$NASRANK_DATA``).
        lr: Fine-tuning learning rate (constant).
        batch_size: Fine-tuning minibatch size.
        seed: Seed of the fine-tuning minibatch order (the same for every subnet).
        device: Where the subnets are fine-tuned: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or
            ``"auto"`` (in executor workers: the device the executor assigned to the worker, else
            the first GPU, else the CPU). Recorded in every record's ``info`` (``device``,
            ``device_name``); not part of the fingerprint, so a search resumed on another device
            reuses its records.

    Example:
        >>> ev = SupernetEvaluator("supernet.safetensors", "tse", B=100)  # doctest: +SKIP
        >>> rec = ev.evaluate(ev.space.sample(0)); ev.score(rec)         # doctest: +SKIP
        -187.4
    """

    charge_repeats = False
    remote = True
    cost_unit = "s"
    max_fidelity = None

    def __init__(self, checkpoint: str | os.PathLike, estimator: str = "tse", B: int = 100, data: Any = None,
                 data_dir: str | None = None, lr: float = 0.001, batch_size: int = 64, seed: int = 0,
                 device: str = "cpu") -> None:
        from ..data import DataSpec
        from ..execution import resolve_device
        from ..oneshot import (
            FinetuneConfig,
            load_checkpoint,
            parse_subnet_estimator,
            read_checkpoint_info,
        )

        resolve_device(device)  # `cuda` on a machine without one: one line, before anything is read
        self.device = str(device)
        self.path = Path(checkpoint)
        info = read_checkpoint_info(self.path)  # a missing / foreign / corrupted file fails here
        self.info = info
        self.estimator, _ = parse_subnet_estimator(estimator)  # one-line error for an unknown name
        self.B = check_int("B", B, 0)
        if self.B == 0 and self.estimator not in ("val_acc", "val_loss"):
            raise ConfigError(f"estimator {self.estimator!r} needs fine-tuning: give B >= 1 (B=0 allows only "
                              f"val_acc and val_loss, with the inherited weights)")
        if data is None:
            data = checkpoint_data(info.get("train"), data_dir, self.path)
        if not isinstance(data, DataSpec):
            raise ConfigError(f"`data` must be a DataSpec, got {type(data).__name__}")
        if not data.val_size and self.estimator in ("val_acc", "val_loss", "sovl", "val_acc_mini"):
            raise ConfigError(f"estimator {self.estimator!r} needs validation data: the data has val_size 0")
        self.data = data
        self.finetune = FinetuneConfig(budgets=(self.B,), lr=lr, batch_size=batch_size)
        self.seed = check_int("seed", seed, 0)
        self.digest = _digest(self.path)
        self._method = load_checkpoint(self.path).method
        self._space = self._method.space
        self.space_name = self._space.name
        self.space_config = dict(self._method.supernet_config)

    @property
    def space(self) -> Any:
        return self._space

    def check(self) -> None:
        """Fail fast when the data cannot be loaded or does not fit the supernet's input."""
        from ..exceptions import BenchmarkDataError

        try:
            train, val, _ = self.data.load()
        except (OSError, BenchmarkDataError) as exc:
            raise ConfigError(f"cannot load the supernet's data ({self.data.dataset}): {exc}") from None
        if train.images.shape[1] != self._method.in_channels:
            raise ConfigError(f"the supernet takes {self._method.in_channels}-channel images, {self.data.dataset} has "
                              f"{train.images.shape[1]}")
        if self.finetune.batch_size > len(train):
            raise ConfigError(f"batch size {self.finetune.batch_size} exceeds the {len(train)} training images")

    def config(self) -> dict[str, Any]:
        return {"kind": "supernet", "checkpoint": self.digest, "method": self._method.config(),
                "data": self.data.key(), "finetune": asdict(self.finetune), "seed": self.seed}

    def fingerprint(self, fidelity: int | None = None) -> str:
        from ..records import fingerprint

        return fingerprint(self.config())

    def label(self) -> str:
        return f"{self.estimator}@B={self.B}"

    def call(self, arch: Arch, fidelity: int | None) -> tuple[Callable[..., EvalRecord], tuple[Any, ...]]:
        from ..oneshot import SUBNET_ESTIMATORS

        ests = tuple(e for e in SUBNET_ESTIMATORS if self.B > 0 or e in ("val_acc", "val_loss"))
        if not self.data.val_size:
            ests = tuple(e for e in ests if e not in ("val_acc", "val_loss", "sovl", "val_acc_mini"))
        return _supernet_job, (str(self.path), self.digest, self._space.to_str(arch), self.data, self.finetune,
                               ests, self.seed, self.fingerprint(), self.device)

    def evaluate(self, arch: Arch, fidelity: int | None = None) -> EvalRecord:
        fn, args = self.call(arch, fidelity)
        return fn(*args)

    def cost(self, record: EvalRecord) -> float:
        return float(record.info.get("wall", record.cost))

    def score(self, record: EvalRecord, fidelity: int | None = None) -> float:
        if record.status == "error":
            return math.nan
        v = record.metrics.get(self.estimator)
        return math.nan if v is None else float(v)
