"""Anytime performance of search runs: data (pure functions), CSV and plot (matplotlib, optional)."""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validate import atomic_write, output_dir
from ..exceptions import ConfigError

__all__ = ["AnytimeCurve", "anytime_curves", "incumbent_at", "plot_anytime", "write_report", "load_runs",
           "report_values"]


@dataclass
class AnytimeCurve:
    """Mean +- standard error over seeds of the incumbent's value vs cumulative cost.

    Attributes:
        group: ``"strategy / evaluator"`` label (``/ scorer`` for proxy-assisted runs; :func:`group_label`).
        value: Which value is tracked (``"test_acc"`` of the incumbent, or ``"score"``).
        grid: Cost values (x axis).
        mean: Mean over the runs that have an incumbent at that cost (NaN before any).
        sem: Standard error of the mean.
        n: Runs contributing at each cost.
        seeds: The runs' seeds.
    """

    group: str
    value: str
    grid: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    n: np.ndarray
    seeds: list[int]


def incumbent_at(steps: Sequence[dict[str, Any]], grid: np.ndarray, value: str = "test_acc") -> np.ndarray:
    """The incumbent's ``value`` after each cost in ``grid`` (NaN before the first incumbent).

    Example:
        >>> steps = [{"spent": 1.0, "best_score": 0.2, "best_metrics": {"test_acc": 0.5}},
        ...          {"spent": 3.0, "best_score": 0.4, "best_metrics": {"test_acc": 0.7}}]
        >>> incumbent_at(steps, np.array([0.5, 1.0, 2.0, 3.0])).tolist()
        [nan, 0.5, 0.5, 0.7]
    """
    spent = np.array([s["spent"] for s in steps], dtype=np.float64)
    vals = np.array([_value(s, value) for s in steps], dtype=np.float64)
    idx = np.searchsorted(spent, grid, side="right") - 1
    out = np.where(idx >= 0, vals[np.clip(idx, 0, None)] if len(vals) else np.nan, np.nan)
    return out.astype(np.float64)


def _value(step: dict[str, Any], value: str) -> float:
    if value == "score":
        v = step.get("best_score")
    else:
        v = (step.get("best_metrics") or {}).get(value)
    return math.nan if v is None else float(v)


def load_runs(store: Any) -> list[dict[str, Any]]:
    """Every search run in a results store with its trajectory (``run["steps"]``).

    A path is opened read-only: nothing is created, stamped or written, and a file that is not
    a results store is refused unchanged.
    """
    from ..store import ResultStore

    own = not isinstance(store, ResultStore)
    st = store if not own else ResultStore(store, read_only=True)
    try:
        runs = st.search_runs()
        for r in runs:
            r["steps"] = st.search_steps(r["run_id"])
    finally:
        if own:
            st.close()
    return runs


def scorer_label(config: Mapping[str, Any] | None) -> str | None:
    """Short name of a proxy-assisted strategy's scorer from its stored ``config()``, or ``None``.

    Example:
        >>> scorer_label({"kind": "ensemble", "mode": "log",
        ...               "members": [{"kind": "proxy", "proxy": "nwot"}, {"kind": "table", "name": "t"}]})
        'ensemble-log:nwot,t'
        >>> scorer_label(None) is None
        True
    """
    if not config:
        return None
    kind = config.get("kind")
    if kind == "proxy":
        return str(config.get("proxy"))
    if kind == "table":
        return str(config.get("name"))
    if kind == "ensemble":
        members = ",".join(scorer_label(m) or "?" for m in config.get("members", []))
        return f"ensemble{'-log' if config.get('mode') == 'log' else ''}:{members}"
    if kind == "combiner":
        members = ",".join(scorer_label(m) or "?" for m in dict(config.get("members", {})).values())
        return f"{config.get('model')}:{members}"
    return str(kind)


def group_label(config: Mapping[str, Any]) -> str:
    """``strategy / evaluator`` (``/ scorer`` for proxy-assisted runs): the curve a run joins.

    Example:
        >>> group_label({"strategy": "g-rea", "label": "nb201 val_acc", "scorer": {"kind": "proxy", "proxy": "nwot"}})
        'g-rea / nb201 val_acc / nwot'
    """
    scorer = scorer_label(config.get("scorer"))
    return f"{config.get('strategy')} / {config.get('label', 'evaluator')}" + (f" / {scorer}" if scorer else "")


def anytime_curves(runs: Sequence[dict[str, Any]], value: str | None = None, points: int = 200) -> list[AnytimeCurve]:
    """Group runs by (strategy, evaluator) and average the incumbent over seeds on a cost grid.

    Args:
        runs: From :func:`load_runs` (dicts with ``config`` and ``steps``), or
            :class:`~nasrank.search.SearchResult` objects.
        value: ``"test_acc"`` (default when the incumbents record it) or ``"score"``.
        points: Grid size (log-spaced from the first to the last cost seen).
    """
    rows = []
    for r in runs:
        if hasattr(r, "steps") and not isinstance(r, dict):
            r = {"config": {"strategy": r.strategy, "label": r.evaluator, "seed": r.seed}, "steps": r.steps}
        if r["steps"]:
            rows.append(r)
    if not rows:
        raise ConfigError("no search trajectories to report (run nasrank search with --store first)")
    if value is None:
        value = "test_acc" if any(
            (s.get("best_metrics") or {}).get("test_acc") is not None for r in rows for s in r["steps"]
        ) else "score"
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(group_label(r["config"]), []).append(r)
    out = []
    for g, rs in groups.items():
        lo = min(s["spent"] for r in rs for s in r["steps"] if s["spent"] > 0) if any(
            s["spent"] > 0 for r in rs for s in r["steps"]) else 1.0
        hi = max(r["steps"][-1]["spent"] for r in rs)
        grid = np.unique(np.geomspace(lo, max(hi, lo * 1.0001), points)) if hi > lo else np.array([lo])
        vals = np.stack([incumbent_at(r["steps"], grid, value) for r in rs])
        n = np.sum(np.isfinite(vals), axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, np.nansum(vals, axis=0) / np.maximum(n, 1), np.nan)
            sd = np.sqrt(np.where(n > 1, np.nansum((vals - mean) ** 2, axis=0) / np.maximum(n - 1, 1), np.nan))
            sem = np.where(n > 1, sd / np.sqrt(np.maximum(n, 1)), np.nan)
        out.append(AnytimeCurve(g, value, grid, mean, sem, n, [int(r["config"].get("seed", 0)) for r in rs]))
    return out


def plot_anytime(curves: Sequence[AnytimeCurve], path: str | os.PathLike | None = None, *,
                 title: str | None = None, xlabel: str = "cost (s)", log_x: bool = True, dpi: int = 150) -> Any:
    """Anytime curves (mean +- s.e. band) per group; no global matplotlib state is touched."""
    from ..evaluation.plots import import_figure as _import_figure

    Figure = _import_figure()
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    for c in curves:
        line = ax.step(c.grid, c.mean, where="post", label=f"{c.group} (n={len(c.seeds)})")[0]
        ok = np.isfinite(c.sem)
        if ok.any():
            ax.fill_between(c.grid, c.mean - np.where(ok, c.sem, 0), c.mean + np.where(ok, c.sem, 0), step="post",
                            alpha=0.2, color=line.get_color())
    if log_x:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    value = curves[0].value if curves else "score"
    ax.set_ylabel("incumbent test accuracy" if value == "test_acc" else f"incumbent {value}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(os.fspath(path), dpi=dpi)
    return fig


def report_values(runs: Sequence[dict[str, Any]]) -> list[str]:
    """The values a report can track for ``runs``: ``"score"`` and every metric recorded for an incumbent.

    Example:
        >>> report_values([{"steps": [{"best_metrics": {"test_acc": 0.9, "val_acc": None}}, {"best_metrics": None}]}])
        ['score', 'test_acc']
    """
    names = {k for r in runs for s in r["steps"] for k, v in (s.get("best_metrics") or {}).items() if v is not None}
    return ["score", *sorted(names)]


def _csv_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    """A CSV file's content (``\\r\\n`` line ends, as :mod:`csv` writes them)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode()


def write_report(store: Any, out: str | os.PathLike, value: str | None = None, plot: bool = True) -> dict[str, Any]:
    """Write ``anytime.csv`` (mean +- s.e. per group and cost), ``runs.csv`` (every step of every
    run) and ``anytime.png`` (if matplotlib is installed and ``plot``) into ``out``.

    Everything is checked before anything is written: ``out`` must be a directory or creatable
    (its parent exists), the store (opened read-only) must hold search runs with steps, and
    ``value`` must be ``"score"`` or a metric recorded in them (see :func:`report_values`). Each
    file is written atomically (a reader never sees half of it).

    Returns:
        ``{"csv": path, "runs_csv": path, "png": path or None, "groups": [...], "png_error": msg or None,
        "curves": [...]}``.
    """
    out = output_dir(out, "report directory")
    runs = load_runs(store)
    name = store.path if hasattr(store, "path") else os.fspath(store)
    if not runs:
        raise ConfigError(f"store {str(name)!r} has no search runs; write some with nasrank search --store {name}")
    if value is not None:
        valid = report_values(runs)
        if value not in valid:
            raise ConfigError(f"report value {value!r} is not recorded in the runs of {str(name)!r}; "
                              f"use one of: {', '.join(valid)}")
    curves = anytime_curves(runs, value)
    curve_rows = [
        [c.group, c.value, f"{x:.6g}", "" if math.isnan(m) else f"{m:.6g}", "" if math.isnan(se) else f"{se:.6g}",
         int(n)]
        for c in curves for x, m, se, n in zip(c.grid, c.mean, c.sem, c.n, strict=False)
    ]
    step_rows = [
        [r["run_id"], r["config"]["strategy"], r["config"].get("label"), scorer_label(r["config"].get("scorer")),
         r["config"].get("seed"), s["step"],
         s["arch"], s.get("fidelity"), s.get("score"), s.get("cost"), s.get("spent"), s.get("status"),
         s.get("reused"), (s.get("metrics") or {}).get("test_acc"), s.get("best_arch"), s.get("best_score"),
         (s.get("best_metrics") or {}).get("test_acc")]
        for r in runs for s in r["steps"]
    ]
    anytime_csv = _csv_bytes(["group", "value", "cost", "mean", "sem", "n_runs"], curve_rows)
    runs_csv = _csv_bytes(["run_id", "strategy", "evaluator", "scorer", "seed", "step", "arch", "fidelity", "score", "cost",
                           "spent", "status", "reused", "test_acc", "best_arch", "best_score", "best_test_acc"],
                          step_rows)
    out.mkdir(exist_ok=True)
    atomic_write(out / "anytime.csv", lambda f: f.write(anytime_csv))
    atomic_write(out / "runs.csv", lambda f: f.write(runs_csv))
    png, err = None, None
    if plot:
        from ..exceptions import MissingDependencyError

        units = {r["config"].get("cost_unit", "s") for r in runs}
        try:
            fig = plot_anytime(curves, None, xlabel="queries" if units == {"query"} else "cost (s)")
            atomic_write(out / "anytime.png", lambda f: fig.savefig(f, format="png", dpi=150))
            png = out / "anytime.png"
        except MissingDependencyError as exc:
            err = str(exc)
    return {"csv": out / "anytime.csv", "runs_csv": out / "runs.csv", "png": png, "groups": [c.group for c in curves],
            "png_error": err, "curves": curves}
