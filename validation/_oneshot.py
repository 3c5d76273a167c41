"""What the one-shot validations (``oneshot_nb201.py``, ``oneshot_darts.py``) share: train a
supernet and rank its subnets resumably, read the ranking caches, and summarise over seeds."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nasrank.data import DataSpec
from nasrank.oneshot import (
    FinetuneConfig,
    SubnetResult,
    SupernetTrainConfig,
    create_supernet_method,
    rank_subnets,
    ranking_table,
    train_supernet,
)


def logger(path: Path) -> Callable[[str], None]:
    """``log(msg)``: print, and append with a timestamp to ``path``."""

    def log(msg: str) -> None:
        print(msg, flush=True)
        with open(path, "a") as f:
            f.write(time.strftime("%Y-%m-%d %H:%M:%S ") + msg + "\n")

    return log


def train_and_rank(space: str, method: str, seed: int, supernet_config: dict, epochs: int, budgets: list[int],
                   spec: DataSpec, archs: list, checkpoint: Path, cache: Path, quiet: bool,
                   log: Callable[[str], None]) -> None:
    """Train (or resume) one supernet, then fine-tune and rank ``archs`` (resumable cache)."""
    train, val, _ = spec.load()
    m = create_supernet_method(method, space, seed=seed, supernet_config=supernet_config)
    t0 = time.perf_counter()
    res = train_supernet(m, train, SupernetTrainConfig(epochs=epochs, batch_size=64), checkpoint=checkpoint,
                         data_key=spec.key(), progress=not quiet)
    log(f"{method} seed {seed}: supernet {epochs} epochs, final loss {res.history[-1]['loss']:.4f}, "
        f"{time.perf_counter() - t0:.0f} s now ({sum(h['seconds'] for h in res.history):.0f} s in all)")
    t0 = time.perf_counter()
    results = rank_subnets(res.method, archs, train, val, FinetuneConfig(budgets=tuple(budgets)), seed=0,
                           cache=cache, progress=not quiet)
    log(f"{method} seed {seed}: {len(results)} subnets fine-tuned ({time.perf_counter() - t0:.0f} s now)")


def load_results(cache: Path) -> list[SubnetResult] | None:
    """The subnet results of a ranking cache (``None`` when there is none)."""
    if not cache.exists():
        return None
    rows: dict[tuple, SubnetResult] = {}
    for line in cache.read_text().splitlines():
        try:
            r = SubnetResult.from_dict(json.loads(line)["result"])
        except (ValueError, KeyError):  # a line cut short by an interruption
            continue
        rows[tuple(r.arch)] = r
    return list(rows.values())


def stats(per_seed: list[list], gt: dict, name: str, B: int) -> tuple[float, float, float, float, int]:
    """Mean and sd over seeds of Spearman rho and of the top-10 mean ground truth
    (``name@b`` = the estimator at budget b, e.g. ``val_acc@0`` = inherited weights)."""
    if "@" in name:
        name, b = name.split("@")
        B = int(b)
    rhos, tops = [], []
    for results in per_seed:
        rows = ranking_table(results, gt, [name], [B], top=10)
        if rows:
            rhos.append(rows[0]["spearman"])
            tops.append(rows[0]["top10_acc"])
    if not rhos:
        return (math.nan, math.nan, math.nan, math.nan, 0)
    return (float(np.mean(rhos)), float(np.std(rhos)), float(np.mean(tops)), float(np.std(tops)), len(rhos))


def fmt(m: float, s: float, n: int, digits: int = 2) -> str:
    """``m (s)`` over several seeds, ``m`` for one, ``-`` when undefined."""
    if not math.isfinite(m):
        return "-"
    return f"{m:.{digits}f} ({s:.{digits}f})" if n > 1 else f"{m:.{digits}f}"


def cell(per_seed: list[list], gt: dict, name: str, B: int, width: int) -> str:
    """One table cell: ``rho / top-10`` right-aligned to ``width``."""
    r, rs, t, ts, n = stats(per_seed, gt, name, B)
    return f"{fmt(r, rs, n) + ' / ' + fmt(t, ts, n):>{width}}"
