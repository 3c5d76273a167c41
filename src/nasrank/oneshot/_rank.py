"""Ranking subnets of a trained supernet by the subnet estimators (seed 000 Tab. 2 / Tab. 4).

:func:`rank_subnets` runs :func:`~nasrank.oneshot.finetune_subnet` for many architectures, in
the calling process or on a :mod:`nasrank.execution` executor, and can keep its results in a
JSONL cache so that an interrupted run resumes where it stopped. :func:`ranking_table` compares
the estimators with a ground truth: Spearman's rho, Kendall's tau and the mean ground-truth value
of each estimator's top 10, per estimator and budget B (the layout of seed 000 Tab. 2).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._validate import check_int
from ..data import ImageDataset
from ..evaluation.metrics import finite_pairs, kendall_tau, spearman, top_k_mean
from ..exceptions import ConfigError
from ..execution import Executor, resolve_device, stream
from ..records import fingerprint
from ._subnet import (
    FinetuneConfig,
    SubnetResult,
    _arch,
    _dataset,
    _label,
    _on_device,
    _supernet,
    finetune_subnet,
    parse_subnet_estimator,
)

__all__ = ["rank_subnets", "ranking_table"]

Arch = tuple[int, ...]


@dataclass
class _Task:
    """Everything a worker needs to fine-tune subnets (picklable: the supernet travels as a
    CPU module, the datasets as uint8 tensors)."""

    supernet: torch.nn.Module
    train_set: ImageDataset
    val_set: ImageDataset | None
    config: FinetuneConfig
    seed: int
    device: str | None = None


def _run(task: _Task, arch: Arch) -> dict[str, Any]:
    # the device is resolved in the worker: "auto" is the device the executor assigned to it
    return finetune_subnet(task.supernet, arch, task.train_set, task.val_set, task.config,
                           seed=task.seed, device=task.device).to_dict()


def _digest_tensors(tensors: Iterable[tuple[str, torch.Tensor]]) -> str:
    h = hashlib.sha256()
    for name, t in tensors:
        t = t.detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def _context(net: torch.nn.Module, train_set: ImageDataset, val_set: ImageDataset | None,
             config: FinetuneConfig, seed: int) -> str:
    """Fingerprint of everything a cached result depends on besides the architecture."""
    return fingerprint({
        "config": config.to_dict(), "seed": seed,
        "supernet": [type(net).__name__, _digest_tensors(net.state_dict().items())],
        "train": _digest_tensors([("x", train_set.images), ("y", train_set.labels)]),
        "val": None if val_set is None else _digest_tensors([("x", val_set.images), ("y", val_set.labels)]),
        "norm": [list(train_set.mean), list(train_set.std), train_set.crop_padding]
        + ([] if val_set is None else [list(val_set.mean), list(val_set.std)]),
    })


def _read_cache(path: Path, context: str) -> dict[Arch, SubnetResult]:
    """Results of ``context`` in the JSONL cache (lines of other contexts and a torn last line
    are skipped)."""
    found: dict[Arch, SubnetResult] = {}
    if not path.exists():
        return found
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                rec = json.loads(line)
                if rec.get("context") != context:
                    continue
                r = SubnetResult.from_dict(rec["result"])
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            found[r.arch] = r
    return found


def _append(path: Path, context: str, result: SubnetResult) -> None:
    line = json.dumps({"context": context, "result": result.to_dict()}, allow_nan=False)
    with open(path, "a+b") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() > 0:  # start on a fresh line if an interrupted write left a torn one
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.write(b"\n")
        f.write(line.encode() + b"\n")
        f.flush()
        os.fsync(f.fileno())


class _Progress:
    """A rich progress bar on a terminal, else one line per subnet on stderr."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total, self.done, self._p = enabled, total, 0, None

    def __enter__(self) -> _Progress:
        if self.enabled and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._p = Progress(TextColumn("[bold]subnets"), BarColumn(),
                               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                               TimeRemainingColumn(), console=Console(file=sys.stderr))
            self._p.start()
            self._task = self._p.add_task("subnets", total=self.total)
        return self

    def cached(self, n: int) -> None:
        self.done += n
        if not self.enabled or not n:
            return
        if self._p is not None:
            self._p.update(self._task, completed=self.done)
            return
        print(f"[rank] {n}/{self.total} subnets from the cache", file=sys.stderr, flush=True)

    def update(self, result: SubnetResult) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self._p is not None:
            self._p.update(self._task, completed=self.done)
            return
        how = f"{result.seconds:.1f}s"
        tse = -float(np.nansum(result.train_loss)) if len(result.train_loss) else math.nan
        print(f"[rank] {self.done}/{self.total} arch={list(result.arch)} inherited_acc="
              f"{result.inherited.get('val_acc', math.nan):.4f} tse={tse:.4g} {how}"
              f"{' diverged' if result.diverged else ''}", file=sys.stderr, flush=True)

    def __exit__(self, *exc: object) -> None:
        if self._p is not None:
            self._p.stop()


def rank_subnets(source: Any, archs: Sequence[Any], train_set: ImageDataset, val_set: ImageDataset | None,
                 config: FinetuneConfig | None = None, *, seed: int = 0, executor: Executor | None = None,
                 progress: bool = False, cache: str | os.PathLike | None = None,
                 device: str | torch.device | None = None) -> list[SubnetResult]:
    """Fine-tune every architecture of ``archs`` from the supernet and record its estimators.

    Every subnet gets the same minibatches (``seed``) and leaves the supernet as it was, so the
    results do not depend on the order, the executor or the cache.

    Args:
        source: A trained :class:`~nasrank.oneshot.SupernetMethod` or a supernet.
        archs: Architectures of the supernet's space (tuples or the space's strings); all are
            validated before any work starts. Duplicates are fine-tuned once.
        train_set: Fine-tuning data.
        val_set: Validation data, or ``None`` (no validation records; see
            :func:`~nasrank.oneshot.finetune_subnet`).
        config: Fine-tuning settings (default :class:`~nasrank.oneshot.FinetuneConfig`).
        seed: Seed of the minibatch order, augmentation and validation minibatches.
        executor: Where to run (default: in this process). A process or Ray executor gets the
            supernet as a CPU module and the datasets with every task.
        progress: Show a progress bar (terminal) or one line per subnet on stderr.
        cache: JSONL file: each finished subnet is appended at once, and results already there
            for the same supernet weights, data, config and seed are reused (an interrupted run
            resumes; other contexts' lines in the same file are kept and ignored). The device is
            not part of the cache key: results computed on a GPU are reused on the CPU.
        device: Where to fine-tune (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``, ``"auto"``;
            :func:`nasrank.execution.resolve_device`). ``None``: in this process on the
            supernet's device, in executor workers on the CPU. With an executor, ``"auto"`` is
            the device the executor assigned to each worker.

    Returns:
        One :class:`~nasrank.oneshot.SubnetResult` per entry of ``archs``, in that order.

    Example:
        >>> import nasrank, torch
        >>> from nasrank.data import load_dataset
        >>> tr, va = load_dataset("digits").split(0.5, seed=0)
        >>> _ = torch.manual_seed(0)
        >>> net = nasrank.create_space("nb201").supernet(C=4, N=1, in_channels=1)
        >>> rs = rank_subnets(net, [(3, 3, 0, 1, 0, 3), (1, 0, 0, 4, 0, 0)], tr, va,
        ...                   FinetuneConfig(budgets=(3,)))
        >>> [len(r.train_loss) for r in rs], rs[0].arch
        ([3, 3], (3, 3, 0, 1, 0, 3))
        >>> again = rank_subnets(net, [(3, 3, 0, 1, 0, 3)], tr, va, FinetuneConfig(budgets=(3,)), device="cpu")
        >>> bool((again[0].train_loss == rs[0].train_loss).all())
        True
    """
    net = _supernet(source)
    config = FinetuneConfig() if config is None else config
    if not isinstance(config, FinetuneConfig):
        raise ConfigError(f"`config` must be a FinetuneConfig, got {type(config).__name__}")
    seed = check_int("seed", seed, 0)
    if isinstance(archs, (str, bytes)) or not isinstance(archs, Iterable):
        raise ConfigError("`archs` must be a sequence of architectures")
    archs = list(archs)
    if archs and isinstance(archs[0], (int, np.integer)):
        raise ConfigError("`archs` must be a list of architectures, got one architecture; wrap it in a list")
    wanted = [_arch(net, a) for a in archs]
    _dataset(train_set, "train_set", config.batch_size if config.steps else 1)
    if val_set is not None:
        _dataset(val_set, "val_set", config.batch_size if config.steps and config.val_minibatch else 1)
    if executor is not None and not isinstance(executor, Executor):
        raise ConfigError(f"`executor` must be a nasrank.execution Executor, got {type(executor).__name__}")
    if device is not None:
        resolve_device(device)  # an unavailable device fails before any work

    done: dict[Arch, SubnetResult] = {}
    path: Path | None = None
    context = ""
    if cache is not None:
        path = Path(cache)
        if path.is_dir():
            raise ConfigError(f"cache {str(path)!r} is a directory; give a .jsonl file path")
        path.parent.mkdir(parents=True, exist_ok=True)
        context = _context(net, train_set, val_set, config, seed)
        want = set(wanted)
        done = {a: r for a, r in _read_cache(path, context).items() if a in want}
    todo = list(dict.fromkeys(a for a in wanted if a not in done))

    def record(result: SubnetResult) -> None:
        done[result.arch] = result
        if path is not None:
            _append(path, context, result)
        bar.update(result)

    with _Progress(progress, len(set(wanted))) as bar:
        bar.cached(len(done))
        if executor is None:
            local = _on_device(net, device)  # one copy for every subnet when it must move
            for a in todo:
                record(finetune_subnet(local, a, train_set, val_set, config, seed=seed))
        else:
            cpu = net if next(net.parameters()).device.type == "cpu" else _cpu_copy(net)
            task = _Task(cpu, train_set.to("cpu"), None if val_set is None else val_set.to("cpu"), config, seed,
                         None if device is None else str(device))
            fn: Callable[[Arch], dict[str, Any]] = functools.partial(_run, task)
            for _a, fut in stream(executor, fn, todo):
                record(SubnetResult.from_dict(fut.result()))
    return [done[a] for a in wanted]


def _cpu_copy(net: torch.nn.Module) -> torch.nn.Module:
    return copy.deepcopy(net).cpu()


def _as_arch(a: Any) -> Arch:
    try:
        return tuple(int(x) for x in a)
    except (TypeError, ValueError):
        raise ConfigError(f"ground-truth keys must be architectures (sequences of ints), got {a!r}") from None


def ranking_table(results: Sequence[SubnetResult], ground_truth: Mapping[Any, float],
                  estimators: str | Sequence[str], budgets: int | Sequence[int],
                  top: int = 10) -> list[dict[str, Any]]:
    """Rank agreement of each estimator with the ground truth, per budget (seed 000 Tab. 2).

    For every estimator and every B: Spearman's rho and Kendall's tau-b between the estimator's
    values (higher = predicted better) and the ground truth of the results' architectures, and
    the mean ground truth of the ``top`` architectures the estimator ranks highest. Subnets whose
    value or ground truth is NaN (a diverged run) are left out of that row (``n`` counts the
    pairs used; the top-k mean uses ``min(top, n)``). Estimators that need fine-tuning
    minibatches have no row at B=0.

    Args:
        results: :func:`rank_subnets` results.
        ground_truth: ``{arch: true value}`` (e.g. test accuracy), keys as architecture tuples.
        estimators: Subnet estimator names or specs (a list or a comma-separated string).
        budgets: The B values (each must be recorded for the estimators asked for).
        top: Size of the top-k set.

    Returns:
        Rows ``{"estimator", "B", "spearman", "kendall", f"top{top}_acc", "n"}``, estimator-major.

    Example:
        >>> rs = [SubnetResult((i,), {"val_acc": a, "val_loss": 1.0}, [loss],
        ...                    full_val={1: {"val_acc": 1 - a, "val_loss": 1.0}})
        ...       for i, (a, loss) in enumerate([(0.5, 2.0), (0.4, 1.0), (0.6, 3.0)])]
        >>> gt = {(0,): 0.8, (1,): 0.9, (2,): 0.7}
        >>> rows = ranking_table(rs, gt, "tse,val_acc", [0, 1], top=1)
        >>> [(r["estimator"], r["B"], r["spearman"], r["top1_acc"], r["n"]) for r in rows]
        [('tse', 1, 1.0, 0.9, 3), ('val_acc', 0, -1.0, 0.7, 3), ('val_acc', 1, 1.0, 0.9, 3)]
    """
    top = check_int("top", top, 1)
    specs = [s for s in (estimators.split(",") if isinstance(estimators, str) else estimators)
             if not (isinstance(s, str) and not s.strip())]
    if not specs:
        raise ConfigError("no estimators given; e.g. tse,val_acc,sovl,tl-mini")
    parsed = [parse_subnet_estimator(s) for s in specs]
    bs = (list(budgets) if isinstance(budgets, Iterable) and not isinstance(budgets, (str, bytes))
          else [budgets])
    if not bs:
        raise ConfigError("no budgets given; e.g. 100,200,300")
    bs = [check_int("B", b, 0) for b in bs]
    results = list(results)
    if not all(isinstance(r, SubnetResult) for r in results):
        raise ConfigError("`results` must be SubnetResult objects (from rank_subnets)")
    gt = {_as_arch(k): float(v) for k, v in ground_truth.items()}
    missing = [r.arch for r in results if r.arch not in gt]
    if missing:
        raise ConfigError(f"{len(missing)} of the {len(results)} results have no ground-truth value "
                          f"(e.g. {missing[0]}); give one for every ranked architecture")
    targets = np.array([gt[r.arch] for r in results], dtype=np.float64)
    rows = []
    for name, params in parsed:
        label = _label(name, params)
        for B in bs:
            if B == 0 and name not in ("val_acc", "val_loss"):
                continue
            scores = np.array([r.value(label, B) for r in results], dtype=np.float64)
            s, _t, _ = finite_pairs(scores, targets)
            n = len(s)
            rows.append({
                "estimator": label, "B": B, "spearman": spearman(scores, targets),
                "kendall": kendall_tau(scores, targets),
                f"top{top}_acc": top_k_mean(scores, targets, min(top, n)) if n else math.nan,
                "n": n,
            })
    return rows
