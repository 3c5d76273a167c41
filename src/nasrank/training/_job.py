"""Training jobs: one picklable description of a training run, and the worker that runs it."""

from __future__ import annotations

import math
import os
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import DataSpec
from ..records import EvalRecord, fingerprint
from ._trainer import TrainConfig

__all__ = ["TrainJob", "run_train_job", "PROTOCOL_VERSION"]

#: Bump when the meaning of a training record changes (old records are then not reused).
PROTOCOL_VERSION = 1


@dataclass(frozen=True)
class TrainJob:
    """One training run: everything a worker needs, picklable and JSON-describable.

    Attributes:
        space: Search-space name.
        arch: The architecture as the space's string.
        space_config: ``space.build`` keyword arguments (e.g. ``{"C": 8, "N": 1}``).
        data: Which examples to train and evaluate on.
        train: Training protocol.
        seed: Seed of the initial weights, the data order and the augmentation.
        record_minibatch: Keep every minibatch loss in the record's curve.
        device: Where to train (``"auto"``: the device the executor assigned to the worker, else
            the first GPU, else the CPU). Not part of the fingerprint: a run resumed on another
            device reuses the records; each record's ``info`` says which device produced it.
        compile: ``torch.compile`` the network (not part of the fingerprint either).
        channels_last: Channels-last memory layout (not part of the fingerprint).

    Example:
        >>> job = TrainJob("nb201", "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
        ...                {"C": 4, "N": 1}, DataSpec("digits", val_size=300, test_size=100),
        ...                TrainConfig(epochs=1, batch_size=128), seed=0)
        >>> rec = run_train_job(job)
        >>> rec.status, len(rec.curve["train_loss"])
        ('ok', 1)
    """

    space: str
    arch: str
    space_config: dict[str, Any]
    data: DataSpec
    train: TrainConfig
    seed: int = 0
    record_minibatch: bool = True
    device: str = "cpu"
    compile: bool = False
    channels_last: bool = False

    def config(self) -> dict[str, Any]:
        """The evaluator configuration whose :func:`~nasrank.records.fingerprint` keys the record.

        Example:
            >>> job = TrainJob("nb201", "arch", {"C": 4, "N": 1}, DataSpec("digits"), TrainConfig(epochs=1))
            >>> job.config()["kind"], job.config()["protocol"] == PROTOCOL_VERSION
            ('train', True)
        """
        return {
            "kind": "train", "protocol": PROTOCOL_VERSION, "space": self.space,
            "space_config": dict(self.space_config), "data": self.data.key(),
            "train": self.train.key(), "seed": int(self.seed),
            "record_minibatch": bool(self.record_minibatch),
        }

    @property
    def fingerprint(self) -> str:
        """:func:`~nasrank.records.fingerprint` of :meth:`config`."""
        return fingerprint(self.config())


def run_train_job(job: TrainJob) -> EvalRecord:
    """Train ``job.arch`` and return its record; failures become ``status="error"`` records.

    The network's initial weights are drawn from ``torch.manual_seed(job.seed)``, the data order
    and augmentation from ``job.seed`` as well, so the record is reproducible on the same machine
    and thread count.

    Example:
        >>> job = TrainJob("nb201", "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
        ...                {"C": 0, "N": 1}, DataSpec("digits", val_size=300, test_size=100),
        ...                TrainConfig(epochs=1, batch_size=128))
        >>> rec = run_train_job(job)  # C=0 cannot be built: an error record, no exception
        >>> rec.status, rec.error.startswith("ConfigError")
        ('error', True)
    """
    import torch

    from ..execution import device_info, is_out_of_memory, release_memory, resolve_device
    from ..spaces import SPACES
    from . import train  # read from the package at call time: nasrank.training.train can be patched

    space = SPACES.get(job.space)()
    arch = space.from_str(job.arch)
    key = str(space.canonical_key(arch))
    fp = job.fingerprint
    t0 = time.perf_counter()
    info: dict[str, Any] = {"seed": int(job.seed), "threads": torch.get_num_threads(), "pid": os.getpid()}
    oom = False
    device: Any = None
    try:
        device = resolve_device(job.device)
        info.update(device_info(device))
        tr, va, te = job.data.load()
        torch.manual_seed(int(job.seed))
        build_kw = dict(job.space_config)
        build_kw.setdefault("in_channels", tr.image_shape[0])
        model = space.build(arch, num_classes=tr.num_classes, **build_kw)
        params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        curve = train(model, tr, va, job.train, seed=int(job.seed), test_set=te, device=device,
                      compile=job.compile, channels_last=job.channels_last)
    except Exception as exc:  # noqa: BLE001  (a failed evaluation is a recorded outcome)
        oom = is_out_of_memory(exc)
        msg = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
        if oom:
            msg = f"out of memory on {device}: {msg}"[:500]
            info["oom"] = True
        info["traceback"] = traceback.format_exc(limit=5)[-2000:]
        rec = EvalRecord(job.space, job.arch, key, fp, "error", {}, None,
                         cost=time.perf_counter() - t0, error=msg, info=info)
    else:
        rec = None
    if rec is not None:
        model = None  # drop the failed run's tensors before freeing the allocator's cache
        if oom:
            release_memory(device)
        return rec
    info["compiled"] = bool(curve.meta.get("compiled", False))
    d = curve.to_dict()
    if not job.record_minibatch:
        d["minibatch_loss"] = d["minibatch_size"] = None
        d["steps_per_epoch"] = None
    d["meta"] = {}
    info["params"] = int(params)
    info["wall"] = time.perf_counter() - t0
    last = curve.epochs - 1
    metrics = {
        "test_acc": curve.test_acc, "test_loss": curve.test_loss,
        "train_loss": float(curve.train_loss[last]) if curve.epochs else math.nan,
        "val_acc": float(curve.val_acc[last]) if curve.val_acc is not None and curve.epochs else math.nan,
        "params": float(params),
    }
    cost = float(np.nansum(curve.epoch_time)) if curve.epoch_time is not None else info["wall"]
    return EvalRecord(job.space, job.arch, key, fp, "diverged" if curve.diverged else "ok", metrics, d,
                      cost=cost, info=info)
