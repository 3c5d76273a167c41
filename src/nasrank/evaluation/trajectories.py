"""Search trajectories of differentiable NAS: what the derived cell is worth after every epoch.

A differentiable search (``nasrank darts``, :func:`~nasrank.oneshot.train_supernet` with a
DARTS-family method) records in its checkpoint's history, after every epoch, the architecture it
would derive (``"arch"``), how many of its operations are parameter-free (``"param_free"``:
none / skip / pooling, the measure of a skip-connection collapse), ``"skip"``, the architecture
weights and optionally the dominant Hessian eigenvalue (``"hessian"``). This module reads those
histories from one or many checkpoints, looks the derived cells up in a benchmark (their
ground-truth accuracy, in percent), averages runs of the same method over seeds (mean +- standard
error per epoch) and draws / writes them (seed 000 Fig. 5 layout: test accuracy of the derived cell
vs search epoch, one line per method; below it, the parameter-free operations per epoch).

* :func:`is_checkpoint` — whether a file is a supernet checkpoint (cheap header test);
* :func:`read_trajectory` — one checkpoint's :class:`SearchTrajectory`;
* :func:`benchmark_accuracy` — ground-truth accuracy (%) of a cell, ``None`` when unknown;
* :func:`trajectory_rows` / :func:`trajectory_curves` — per-run rows and per-method curves;
* :func:`plot_trajectories`, :func:`write_trajectory_report` — PNG and CSV files.

Example:
    >>> rows = [{"group": "darts", "space": "nb201", "seed": s, "epoch": e, "acc": a, "param_free": p}
    ...         for s, (e, a, p) in enumerate([(1, 60.0, 2), (1, 70.0, 4)])]
    >>> c, = trajectory_curves(rows)
    >>> c.group, c.epochs.tolist(), c.mean["acc"].tolist(), c.sem["acc"].tolist(), c.n.tolist()
    ('darts', [1], [65.0], [5.0], [2])
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._validate import atomic_write, output_dir
from ..exceptions import BenchmarkDataError, ConfigError

__all__ = ["SearchTrajectory", "TrajectoryCurve", "VALUES", "is_checkpoint", "read_trajectory",
           "benchmark_accuracy", "trajectory_rows", "trajectory_curves", "plot_trajectories",
           "write_trajectory_report"]

#: Per-epoch values of a trajectory (``acc``: ground-truth accuracy of the derived cell, %).
VALUES = ("acc", "param_free", "skip", "hessian", "loss", "val_loss")
_LABEL = {"acc": "test accuracy of the derived cell (%)", "param_free": "parameter-free ops chosen",
          "skip": "skip connections chosen", "hessian": "dominant Hessian eigenvalue",
          "loss": "training loss", "val_loss": "validation loss"}


@dataclass
class SearchTrajectory:
    """One differentiable search as its checkpoint records it.

    Attributes:
        path: The checkpoint.
        method: Method name (``darts``, ``sotl-darts``, ...).
        space: Space name.
        seed: The method's seed.
        config: The method's whole configuration (``read_checkpoint_info(path)["method"]``).
        history: The trainer's per-epoch entries (0-based ``epoch``; entries of a diverged epoch
            carry no architecture).
    """

    path: Path
    method: str
    space: str
    seed: int
    config: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class TrajectoryCurve:
    """Mean +- standard error over the runs (seeds) of one method, per search epoch.

    Attributes:
        group: Label of the method (its name, plus the settings that tell apart runs of the same
            method with different configurations).
        space: Space name.
        epochs: Search epochs done (1-based).
        mean: ``{value: array over epochs}`` for each of :data:`VALUES` (NaN where no run has it).
        sem: Standard errors (NaN with fewer than 2 runs).
        n: Runs that reached each epoch.
        count: ``{value: runs with a finite value per epoch}``.
        seeds: The runs' seeds.
    """

    group: str
    space: str
    epochs: np.ndarray
    mean: dict[str, np.ndarray]
    sem: dict[str, np.ndarray]
    n: np.ndarray
    count: dict[str, np.ndarray]
    seeds: list[int]


def is_checkpoint(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file that starts like a safetensors file (8-byte header length,
    then a JSON header). Cheap: reads 9 bytes; :func:`read_trajectory` checks the rest.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "notes.txt")
        >>> _ = open(p, "w").write("text")
        >>> is_checkpoint(p), is_checkpoint(os.path.dirname(p))
        (False, False)
    """
    p = Path(os.fspath(path))
    if not p.is_file():
        return False
    try:
        with open(p, "rb") as f:
            head = f.read(9)
    except OSError:
        return False
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 0 < n <= p.stat().st_size - 8 and head[8:9] == b"{"


def read_trajectory(path: str | os.PathLike) -> SearchTrajectory:
    """The trajectory a differentiable-search checkpoint records (header only, no tensor read).

    Raises:
        ConfigError: the file is not a readable checkpoint (:class:`~nasrank.oneshot.CheckpointError`)
            or its method records no derived architecture per epoch (a path-training method).
    """
    from ..oneshot import read_checkpoint_info

    info = read_checkpoint_info(path)
    m = info["method"]
    hist = [dict(h) for h in (info.get("train") or {}).get("history", []) if isinstance(h, Mapping)]
    if not hist:
        raise ConfigError(f"checkpoint {str(path)!r} has no finished search epoch; train it first "
                          "(nasrank darts ... --out CHECKPOINT)")
    if not any("arch" in h for h in hist):
        raise ConfigError(f"checkpoint {str(path)!r} was trained with {m['name']!r}, which records no derived "
                          "architecture per epoch; report search trajectories of differentiable searches "
                          "(nasrank darts), or a search store of nasrank search")
    return SearchTrajectory(Path(info["path"]), str(m["name"]), str(m["space"]), int(m.get("seed", 0)),
                            dict(m), hist)


def benchmark_accuracy(bench: Any, arch: Sequence[int] | str, metric: str = "test_acc",
                       dataset: str | None = None) -> float | None:
    """``metric`` of ``arch`` in ``bench`` in percent (fractions are scaled by 100), ``None`` when
    the benchmark does not know the architecture or records no finite value.

    Example:
        >>> from nasrank.benchmarks import load_benchmark
        >>> mini = load_benchmark("nb201-mini")
        >>> 0 < benchmark_accuracy(mini, mini.archs()[0]) < 100
        True
        >>> benchmark_accuracy(mini, "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|") is None
        True
    """
    if bench is None:
        return None
    try:
        a = bench.space.from_str(arch) if isinstance(arch, str) else tuple(arch)
        v = float(bench.query(a, metric, dataset))
    except (BenchmarkDataError, KeyError):
        return None
    if not math.isfinite(v):
        return None
    return 100.0 * v if metric.endswith("acc") and v <= 1.0 else v


def _labels(trajs: Sequence[SearchTrajectory]) -> list[str]:
    """Method names, with the settings that differ between configurations of the same method."""
    def key(t: SearchTrajectory) -> dict[str, Any]:
        return {k: v for k, v in t.config.items() if k not in ("seed",)}

    out = []
    for t in trajs:
        same = [u for u in trajs if u.method == t.method and u.space == t.space]
        kt = key(t)
        diff = sorted({k for u in same for k in set(kt) | set(key(u))
                       if json.dumps(kt.get(k), sort_keys=True) != json.dumps(key(u).get(k), sort_keys=True)})
        label = t.method
        if diff:
            label += " [" + ", ".join(f"{k}={json.dumps(kt.get(k), sort_keys=True)}" for k in diff) + "]"
        out.append(label)
    return out


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(float(v)) else None


def trajectory_rows(trajs: Sequence[SearchTrajectory], benchmarks: Mapping[str, Any] | None = None,
                    metric: str = "test_acc", dataset: str | None = "cifar10") -> list[dict[str, Any]]:
    """One row per (run, epoch with a derived architecture): ``checkpoint, group, method, space,
    seed, epoch`` (1-based), ``loss, val_loss, arch, param_free, skip, hessian, acc`` (``acc``:
    ``metric`` of the derived cell in ``benchmarks[space]``, %; ``None`` when unknown).

    Example:
        >>> t = SearchTrajectory(Path("a"), "darts", "nb201", 0, {"name": "darts"},
        ...                      [{"epoch": 0, "loss": 2.0, "arch": "x", "param_free": 1, "skip": 1}])
        >>> r, = trajectory_rows([t])
        >>> r["epoch"], r["group"], r["acc"], r["hessian"]
        (1, 'darts', None, None)
    """
    benchmarks = dict(benchmarks or {})
    labels = _labels(trajs)
    rows = []
    for t, label in zip(trajs, labels, strict=True):
        bench = benchmarks.get(t.space)
        ds = dataset if bench is not None and dataset in getattr(bench, "datasets", ()) else None
        for h in t.history:
            if "arch" not in h:
                continue
            rows.append({
                "checkpoint": str(t.path), "group": label, "method": t.method, "space": t.space,
                "seed": t.seed, "epoch": int(h.get("epoch", 0)) + 1, "loss": _num(h.get("loss")),
                "val_loss": _num(h.get("val_loss")), "arch": h["arch"],
                "param_free": _num(h.get("param_free")), "skip": _num(h.get("skip")),
                "hessian": _num(h.get("hessian")),
                "acc": benchmark_accuracy(bench, h["arch"], metric, ds) if bench is not None else None,
            })
    return rows


def trajectory_curves(rows: Sequence[Mapping[str, Any]]) -> list[TrajectoryCurve]:
    """Average :func:`trajectory_rows` over the runs (seeds) of each (space, group), per epoch."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["space"], r["group"]), []).append(r)
    out = []
    for (space, group), rs in groups.items():
        epochs = np.array(sorted({int(r["epoch"]) for r in rs}))
        runs = sorted({(r.get("checkpoint", ""), r["seed"]) for r in rs})
        mean, sem, count = {}, {}, {}
        n = np.array([len({(r.get("checkpoint", ""), r["seed"]) for r in rs if r["epoch"] == e}) for e in epochs])
        for v in VALUES:
            m, s, c = [], [], []
            for e in epochs:
                x = np.array([r[v] for r in rs if r["epoch"] == e and r.get(v) is not None], dtype=float)
                x = x[np.isfinite(x)]
                c.append(len(x))
                m.append(float(x.mean()) if len(x) else math.nan)
                s.append(float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else math.nan)
            mean[v], sem[v], count[v] = np.array(m), np.array(s), np.array(c)
        out.append(TrajectoryCurve(group, space, epochs, mean, sem, n, count, [sd for _, sd in runs]))
    return out


def _training_speed(group: str) -> bool:
    """Whether a method label names a TSE / SoTL variant (drawn in reds)."""
    name = group.split(" ")[0].lower()
    return "tse" in name or "sotl" in name


def _style(group: str, i_red: int, i_other: int) -> tuple[str, str]:
    reds = ("tab:red", "darkred", "tab:orange", "salmon", "tab:pink")
    others = ("tab:green", "darkgreen", "tab:blue", "tab:olive", "tab:cyan", "tab:purple")
    name = group.split(" ")[0].lower()
    marker = "s" if "drnas" in name else "^" if ("pdarts" in name or "p-darts" in name) else "o"
    if _training_speed(group):
        return reds[i_red % len(reds)], marker
    return others[i_other % len(others)], marker


def plot_trajectories(curves: Sequence[TrajectoryCurve], path: str | os.PathLike | None = None, *,
                      title: str | None = None, benchmarks: Mapping[str, str] | None = None,
                      dpi: int = 150) -> Any:
    """Search trajectories, one column per space: the ground-truth accuracy of the derived cell
    per epoch (top, when recorded), the parameter-free operations chosen (below) and, when
    recorded, the dominant Hessian eigenvalue; mean +- s.e. bands over seeds. TSE / SoTL variants
    are drawn in reds, the validation-loss methods in greens and blues (seed 000 Fig. 5).
    No global matplotlib state is touched.

    Args:
        curves: From :func:`trajectory_curves`.
        path: Where to save the figure (format from the extension); ``None`` only returns it.
        title: Added to every column's title.
        benchmarks: ``{space: benchmark name}`` of the ground truth used (says so in an empty
            accuracy panel).
        dpi: Resolution of raster output.

    Returns:
        The :class:`matplotlib.figure.Figure`.

    Raises:
        MissingDependencyError: if matplotlib is not installed.
        ConfigError: if there is nothing to plot.
    """
    from .plots import import_figure

    curves = list(curves)
    if not curves:
        raise ConfigError("nothing to plot: no search trajectory")
    Figure = import_figure()
    spaces = list(dict.fromkeys(c.space for c in curves))
    values = [v for v in ("acc", "param_free", "hessian")
              if v != "hessian" or any(np.isfinite(c.mean["hessian"]).any() for c in curves)]
    fig = Figure(figsize=(5.2 * len(spaces), 2.9 * len(values) + 0.4))
    styles: dict[str, tuple[str, str]] = {}
    reds = others = 0
    for c in curves:
        if c.group not in styles:
            styles[c.group] = _style(c.group, reds, others)
            if _training_speed(c.group):
                reds += 1
            else:
                others += 1
    benchmarks = dict(benchmarks or {})
    for j, space in enumerate(spaces):
        legend = False
        for i, v in enumerate(values):
            ax = fig.add_subplot(len(values), len(spaces), i * len(spaces) + j + 1)
            drawn = False
            for c in (c for c in curves if c.space == space):
                y, s = c.mean[v], c.sem[v]
                if not np.isfinite(y).any():
                    continue
                color, marker = styles[c.group]
                ax.plot(c.epochs, y, "-", color=color, marker=marker, markersize=3, linewidth=1.5,
                        label=f"{c.group} (n={len(c.seeds)})")
                ok = np.isfinite(s)
                if ok.any():
                    ax.fill_between(c.epochs, np.where(ok, y - s, y), np.where(ok, y + s, y), color=color,
                                    alpha=0.15, linewidth=0)
                drawn = True
            if not drawn:
                what = "not recorded"
                if v == "acc":
                    what = (f"no derived cell is in {benchmarks[space]}" if space in benchmarks
                            else "no ground truth: pass --benchmark")
                ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes, fontsize=8)
            if i == 0:
                ax.set_title(f"{space}" + (f" — {title}" if title else ""), fontsize=10)
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if i == len(values) - 1:
                ax.set_xlabel("search epoch")
            ax.set_ylabel(_LABEL[v], fontsize=8)
            ax.grid(True, alpha=0.3)
            if drawn and not legend:
                ax.legend(fontsize=7)
                legend = True
    fig.tight_layout()
    if path is not None:
        fig.savefig(os.fspath(path), dpi=dpi)
    return fig


def _csv_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode()


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if not math.isfinite(v) else f"{v:.6g}"
    return str(v)


def write_trajectory_report(checkpoints: Sequence[str | os.PathLike], out: str | os.PathLike, *,
                            benchmark: str | None = None, data_dir: str | os.PathLike | None = None,
                            metric: str = "test_acc", dataset: str | None = "cifar10",
                            plot: bool = True) -> dict[str, Any]:
    """Write ``trajectory.csv`` (mean +- s.e. per method and epoch), ``trajectory_runs.csv``
    (every epoch of every checkpoint) and ``trajectory.png`` into ``out``.

    The ground truth of the derived cells comes from ``benchmark`` (a name or directory; it must
    cover the space of some checkpoints); without it, NB201 checkpoints use the ``nb201`` table
    (``data_dir`` / ``$NASRANK_DATA``: a one-line :class:`~nasrank.exceptions.BenchmarkDataError`
    when it is absent, naming ``--benchmark nb201-mini``) and other spaces get none. Everything is
    checked before anything is written; each file is written atomically.

    Returns:
        ``{"csv", "runs_csv", "png" (None without a plot), "png_error", "curves", "rows",
        "benchmarks": {space: name}}``.
    """
    from ..benchmarks import load_benchmark

    out = output_dir(out, "report directory")
    seen: dict[str, None] = {}
    for c in checkpoints:
        seen.setdefault(str(Path(os.fspath(c)).resolve()), None)
    trajs = [read_trajectory(p) for p in seen]
    spaces = list(dict.fromkeys(t.space for t in trajs))
    benches: dict[str, Any] = {}
    names: dict[str, str] = {}
    if benchmark is not None:
        bench = load_benchmark(benchmark, root=data_dir)
        if bench.space.name not in spaces:
            raise ConfigError(f"benchmark {benchmark!r} covers the {bench.space.name} space; the checkpoints are "
                              f"{', '.join(spaces)} searches: give a benchmark of their space")
        benches[bench.space.name] = bench
        names[bench.space.name] = str(benchmark)
    if "nb201" in spaces and "nb201" not in benches:
        try:
            benches["nb201"] = load_benchmark("nb201", root=data_dir)
        except BenchmarkDataError as exc:
            raise BenchmarkDataError(
                f"the NAS-Bench-201 table (the default ground truth of nb201 searches) is not available: "
                f"{str(exc).rstrip('.')}; or pass --benchmark nb201-mini (shipped, 200 cells)") from None
        names["nb201"] = "nb201"
    for space, bench in benches.items():
        ds = dataset if dataset in getattr(bench, "datasets", ()) else None
        if metric not in bench.metrics(ds):
            raise ConfigError(f"benchmark {names[space]!r} has no metric {metric!r}; use one of "
                              f"{', '.join(bench.metrics(ds))}")
    rows = trajectory_rows(trajs, benches, metric, dataset)
    curves = trajectory_curves(rows)
    head = ["group", "space", "epoch", "n_runs"]
    for v in VALUES:
        head += [f"{v}_mean", f"{v}_sem", f"{v}_n"]
    curve_rows = []
    for c in curves:
        for k, e in enumerate(c.epochs):
            row: list[Any] = [c.group, c.space, int(e), int(c.n[k])]
            for v in VALUES:
                row += [_cell(float(c.mean[v][k])), _cell(float(c.sem[v][k])), int(c.count[v][k])]
            curve_rows.append(row)
    run_head = ["checkpoint", "group", "method", "space", "seed", "epoch", "loss", "val_loss", "param_free",
                "skip", "hessian", "acc", "arch"]
    run_rows = [[_cell(r[k]) for k in run_head] for r in rows]
    curves_csv = _csv_bytes(head, curve_rows)
    runs_csv = _csv_bytes(run_head, run_rows)
    fig, err = None, None
    if plot:
        from ..exceptions import MissingDependencyError

        try:
            fig = plot_trajectories(curves, None, benchmarks=names)
        except MissingDependencyError as exc:
            err = str(exc)
    out.mkdir(exist_ok=True)
    atomic_write(out / "trajectory.csv", lambda f: f.write(curves_csv))
    atomic_write(out / "trajectory_runs.csv", lambda f: f.write(runs_csv))
    png = None
    if fig is not None:
        atomic_write(out / "trajectory.png", lambda f: fig.savefig(f, format="png", dpi=150))
        png = out / "trajectory.png"
    return {"csv": out / "trajectory.csv", "runs_csv": out / "trajectory_runs.csv", "png": png, "png_error": err,
            "curves": curves, "rows": rows, "benchmarks": names}
