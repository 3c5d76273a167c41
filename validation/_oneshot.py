"""What the one-shot validations (``oneshot_nb201.py``, ``oneshot_darts.py``) share: train a
supernet and rank its subnets resumably, read the ranking caches, and summarise over seeds."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nasrank.data import DataSpec
from nasrank.evaluation.metrics import spearman, top_k_mean
from nasrank.oneshot import (
    FinetuneConfig,
    SubnetResult,
    SupernetTrainConfig,
    create_supernet_method,
    rank_subnets,
    train_supernet,
)

METHODS = ("spos", "fairnas", "multipath", "reptile", "metaprox")
LABEL = {"spos": "RandNAS/SPOS", "fairnas": "FairNAS", "multipath": "MultiPath", "reptile": "Reptile",
         "metaprox": "Metaprox", "multipath+metaprox": "MP+Metaprox"}
ESTIMATORS = ("tse", "tse-ema", "sovl", "val_acc", "tl-mini")
# with the inherited weights: whole-set val acc (B=0); the first minibatch's training loss and
# the first validation minibatch's accuracy, both computed before any fine-tuning step (B=1)
INHERITED = ("val_acc@0", "tl-mini@1", "val_acc_mini@1")
Values = dict[str, dict[str, float]]  # arch string -> {"tse@100": value, ...}


def names(budgets: list[int]) -> list[str]:
    """The value names of a run: every estimator at every budget, then the inherited ones."""
    return [f"{e}@{B}" for B in budgets for e in ESTIMATORS] + list(INHERITED)


def logger(path: Path) -> Callable[[str], None]:
    """``log(msg)``: print, and append with a timestamp to ``path``."""

    def log(msg: str) -> None:
        print(msg, flush=True)
        with open(path, "a") as f:
            f.write(time.strftime("%Y-%m-%d %H:%M:%S ") + msg + "\n")

    return log


def supernet_digest(method: object) -> str:
    """SHA-256 (16 hex digits) of a trained supernet's weights and buffers: which supernet a set of
    subnet values belongs to."""
    h = hashlib.sha256()
    for k, v in sorted(method.supernet.state_dict().items()):  # type: ignore[attr-defined]
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def read_partial(path: Path, digest: str) -> Values:
    """The values a committed partial file holds for the supernet ``digest`` (rows of another
    supernet, e.g. one retrained on other hardware, and a torn last line are skipped)."""
    out: Values = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("supernet") == digest:
                out[rec["arch"]] = {k: (math.nan if v is None else float(v)) for k, v in rec["values"].items()}
    return out


def train_and_rank(space: str, method: str, seed: int, supernet_config: dict, epochs: int, budgets: list[int],
                   spec: DataSpec, archs: list, checkpoint: Path, cache: Path, quiet: bool,
                   log: Callable[[str], None], partial: Path | None = None,
                   to_str: Callable[[tuple], str] | None = None, chunk: int = 25) -> Values | None:
    """Train (or resume) one supernet, then fine-tune and rank ``archs`` (resumable cache).

    With ``partial`` (a file kept in git), every ``chunk`` subnets the values so far are written
    there with the supernet's digest, so a unit longer than a session survives a fresh machine:
    there the supernet is retrained from its seed (bit-identical on the same CPU build, which the
    digest checks; other rows are ignored) and only the missing subnets are fine-tuned. Returns
    the values of every subnet when ``partial`` is given (the caller commits them and removes the
    file)."""
    train, val, _ = spec.load()
    m = create_supernet_method(method, space, seed=seed, supernet_config=supernet_config)
    t0 = time.perf_counter()
    res = train_supernet(m, train, SupernetTrainConfig(epochs=epochs, batch_size=64), checkpoint=checkpoint,
                         data_key=spec.key(), progress=not quiet)
    log(f"{method} seed {seed}: supernet {epochs} epochs, final loss {res.history[-1]['loss']:.4f}, "
        f"{time.perf_counter() - t0:.0f} s now ({sum(h['seconds'] for h in res.history):.0f} s in all)")
    t0 = time.perf_counter()
    config = FinetuneConfig(budgets=tuple(budgets))
    if partial is None:
        results = rank_subnets(res.method, archs, train, val, config, seed=0, cache=cache, progress=not quiet)
        log(f"{method} seed {seed}: {len(results)} subnets fine-tuned ({time.perf_counter() - t0:.0f} s now)")
        return None
    assert to_str is not None
    digest = supernet_digest(res.method)
    have = read_partial(partial, digest)
    if partial.exists() and not have:
        log(f"{method} seed {seed}: {partial.name} holds another supernet's values (not {digest}); starting over")
    log(f"{method} seed {seed}: supernet {digest}, {len(have)} of {len(archs)} subnets already in {partial.name}")
    todo = [a for a in archs if to_str(tuple(a)) not in have]
    wanted = names(budgets)
    for i in range(0, len(todo), chunk):
        results = rank_subnets(res.method, todo[i:i + chunk], train, val, config, seed=0, cache=cache,
                               progress=not quiet)
        have.update(values_of(results, wanted, to_str))
        tmp = partial.with_name(partial.name + f".tmp{os.getpid()}")
        tmp.write_text("".join(json.dumps({"supernet": digest, "arch": a, "values": {
            k: (v if math.isfinite(v) else None) for k, v in vals.items()}}) + "\n" for a, vals in have.items()))
        os.replace(tmp, partial)
    log(f"{method} seed {seed}: {len(todo)} subnets fine-tuned, {len(have)} in all "
        f"({time.perf_counter() - t0:.0f} s now)")
    return {to_str(tuple(a)): have[to_str(tuple(a))] for a in archs}


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


def values_of(results: list[SubnetResult], names: list[str], to_str: Callable[[tuple], str]) -> Values:
    """``{arch string: {name: value}}`` of subnet results; ``name`` is ``estimator@B`` (NaN where
    the estimator is not defined at B)."""
    out: Values = {}
    for r in results:
        row = {}
        for n in names:
            est, b = n.split("@")
            try:
                row[n] = float(r.value(est, int(b)))
            except Exception:  # noqa: BLE001  (not recorded at this budget)
                row[n] = math.nan
        out[to_str(tuple(r.arch))] = row
    return out


def read_values(path: Path) -> dict[tuple[str, int], Values]:
    """The committed per-subnet values, ``{(method, seed): values}`` (empty without the file)."""
    if not path.exists():
        return {}
    out: dict[tuple[str, int], Values] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = (row.pop("method"), int(row.pop("seed")))
            arch = row.pop("arch")
            out.setdefault(key, {})[arch] = {k: float(v) if v else math.nan for k, v in row.items()
                                             if not k.startswith("gt_")}
    return out


def write_values(path: Path, table: dict[tuple[str, int], Values], names: list[str],
                 gts: dict[str, dict[str, float]]) -> None:
    """Write every finished (method, seed)'s per-subnet values and ground truths as CSV (kept in
    git: a run that spans sessions keeps its results on a fresh machine). Rows already in the file
    for (method, seed) pairs this run does not have are kept (runs of other methods or seeds may
    write the same file), and the file is replaced atomically."""
    merged = {k: v for k, v in read_values(path).items() if k not in table}
    merged.update(table)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "seed", "arch", *names, *(f"gt_{g}" for g in gts)])
        for (method, seed), vals in sorted(merged.items()):
            for arch, row in vals.items():
                w.writerow([method, seed, arch, *(_num(row.get(n, math.nan)) for n in names),
                            *(_num(gt[arch]) for gt in gts.values())])
    os.replace(tmp, path)


def _num(v: float) -> str:
    return "" if not math.isfinite(v) else f"{v:.6g}"


def stats(per_seed: list[Values], gt: dict[str, float], name: str) -> tuple[float, float, float, float, int]:
    """Mean and sd over seeds of Spearman rho with ``gt`` and of the mean ``gt`` of the top 10 by
    ``name`` (``estimator@B``)."""
    rhos, tops = [], []
    for vals in per_seed:
        archs = list(vals)
        s = np.array([vals[a].get(name, math.nan) for a in archs])
        t = np.array([gt[a] for a in archs])
        if np.isfinite(s).sum() < 10:
            continue
        rhos.append(spearman(s, t))
        tops.append(top_k_mean(s, t, 10))
    if not rhos:
        return (math.nan, math.nan, math.nan, math.nan, 0)
    return (float(np.mean(rhos)), float(np.std(rhos)), float(np.mean(tops)), float(np.std(tops)), len(rhos))


def fmt(m: float, s: float, n: int, digits: int = 2) -> str:
    """``m (s)`` over several seeds, ``m`` for one, ``-`` when undefined."""
    if not math.isfinite(m):
        return "-"
    return f"{m:.{digits}f} ({s:.{digits}f})" if n > 1 else f"{m:.{digits}f}"


def cell(per_seed: list[Values], gt: dict[str, float], name: str, width: int) -> str:
    """One table cell: ``rho / top-10`` right-aligned to ``width``."""
    r, rs, t, ts, n = stats(per_seed, gt, name)
    return f"{fmt(r, rs, n) + ' / ' + fmt(t, ts, n):>{width}}"


def collect(methods: list[str], seeds: list[int], sources: list[tuple[Callable[[str, int], Path], Path]],
            n_subnets: int, names: list[str], to_str: Callable[[tuple], str]) -> dict[tuple[str, int], Values]:
    """Every finished (method, seed), from the first of ``sources`` that has it whole: each source
    is ``(cache_of, committed)``, a ranking cache per (method, seed) (used when complete) and a
    committed values file (only rows with every wanted name). A run fine-tuned to a larger B
    records the smaller budgets on the same trajectory (identical values), so its sources can
    follow the run's own."""
    olds = [read_values(committed) for _, committed in sources]
    table: dict[tuple[str, int], Values] = {}
    for m in methods:
        for sd in seeds:
            for (cache_of, _), old in zip(sources, olds, strict=True):
                results = load_results(cache_of(m, sd))
                if results is not None and len(results) == n_subnets:
                    table[m, sd] = values_of(results, names, to_str)
                    break
                rows = old.get((m, sd), {})
                if len(rows) == n_subnets and all(n in next(iter(rows.values())) for n in names):
                    table[m, sd] = rows
                    break
    return table
