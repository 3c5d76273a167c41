"""Anytime performance of search runs: data (pure functions), CSV and plot (matplotlib, optional)."""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import ConfigError

__all__ = ["AnytimeCurve", "anytime_curves", "incumbent_at", "plot_anytime", "write_report", "load_runs"]


@dataclass
class AnytimeCurve:
    """Mean +- standard error over seeds of the incumbent's value vs cumulative cost.

    Attributes:
        group: ``"strategy / evaluator"`` label.
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
    """Every search run in a results store with its trajectory (``run["steps"]``)."""
    from ..store import ResultStore

    own = not isinstance(store, ResultStore)
    if own:
        p = Path(os.fspath(store))
        if not p.is_file():
            raise ConfigError(f"results store {str(p)!r} does not exist (write one with nasrank search --store)")
    st = store if not own else ResultStore(store)
    try:
        runs = st.search_runs()
        for r in runs:
            r["steps"] = st.search_steps(r["run_id"])
    finally:
        if own:
            st.close()
    return runs


def _group(run: dict[str, Any]) -> str:
    c = run["config"]
    return f"{c['strategy']} / {c.get('label', 'evaluator')}"


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
        groups.setdefault(_group(r), []).append(r)
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
    from ..evaluation.plots import _import_figure

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


def write_report(store: Any, out: str | os.PathLike, value: str | None = None, plot: bool = True) -> dict[str, Any]:
    """Write ``anytime.csv`` (mean +- s.e. per group and cost), ``runs.csv`` (every step of every
    run) and ``anytime.png`` (if matplotlib is installed and ``plot``) into ``out``.

    Returns:
        ``{"csv": path, "runs_csv": path, "png": path or None, "groups": [...], "png_error": msg or None}``.
    """
    runs = load_runs(store)
    curves = anytime_curves(runs, value)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "anytime.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["group", "value", "cost", "mean", "sem", "n_runs"])
        for c in curves:
            for x, m, s, n in zip(c.grid, c.mean, c.sem, c.n, strict=False):
                w.writerow([c.group, c.value, f"{x:.6g}", "" if math.isnan(m) else f"{m:.6g}",
                            "" if math.isnan(s) else f"{s:.6g}", int(n)])
    with open(out / "runs.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["run_id", "strategy", "evaluator", "seed", "step", "arch", "fidelity", "score", "cost", "spent",
                    "status", "reused", "test_acc", "best_arch", "best_score", "best_test_acc"])
        for r in runs:
            c = r["config"]
            for s in r["steps"]:
                w.writerow([r["run_id"], c["strategy"], c.get("label"), c.get("seed"), s["step"], s["arch"],
                            s.get("fidelity"), s.get("score"), s.get("cost"), s.get("spent"), s.get("status"),
                            s.get("reused"), (s.get("metrics") or {}).get("test_acc"), s.get("best_arch"),
                            s.get("best_score"), (s.get("best_metrics") or {}).get("test_acc")])
    png, err = None, None
    if plot:
        from ..exceptions import MissingDependencyError

        units = {r["config"].get("cost_unit", "s") for r in runs}
        try:
            plot_anytime(curves, out / "anytime.png", xlabel="queries" if units == {"query"} else "cost (s)")
            png = out / "anytime.png"
        except MissingDependencyError as exc:
            err = str(exc)
    return {"csv": out / "anytime.csv", "runs_csv": out / "runs.csv", "png": png, "groups": [c.group for c in curves],
            "png_error": err, "curves": curves}
