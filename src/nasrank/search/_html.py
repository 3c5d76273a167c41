"""A self-contained HTML report of the search runs in a results store.

:func:`html_report_data` gathers everything (pure data, from the same functions as
:func:`~nasrank.search.write_report`: :func:`~nasrank.search.load_runs`,
:func:`~nasrank.search.anytime_curves`); :func:`render_html` turns it into one HTML page;
:func:`write_html_report` does both and writes the file. The page needs nothing but a browser:
styles are inline, plots are PNG images embedded as ``data:`` URIs (when matplotlib is installed;
otherwise the page says so), and it refers to no external URL.

Sections (each an HTML ``<section>`` with this ``id``): ``summary``, ``configuration`` (every run:
strategy, parameters, evaluator, budget, status), ``anytime`` (incumbent vs cost, mean +- s.e.
over seeds), ``best`` (the best architectures of each strategy / evaluator with their recorded
benchmark or ground-truth metrics), ``correlations`` (rank correlation of the search score with
each recorded metric, when the steps record one) and ``environment`` (versions and devices of the
machine that wrote the report).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

import numpy as np

from .._validate import atomic_write, check_int, output_file
from ..evaluation.metrics import kendall_tau, spearman
from ..exceptions import ConfigError, MissingDependencyError
from ._report import anytime_curves, group_label, load_runs, plot_anytime, report_values

__all__ = ["html_report_data", "render_html", "write_html_report", "SECTIONS"]

#: The ``id`` of every section of the report, in page order.
SECTIONS = ("summary", "configuration", "anytime", "best", "correlations", "environment")

_PACKAGES = ("nasrank", "torch", "numpy", "scipy", "matplotlib", "optuna", "ray", "transformers", "lightning")


def _finite(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f if math.isfinite(f) else math.nan


def _full_steps(steps: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The successful steps at the run's highest fidelity (all of them for single-fidelity runs)."""
    ok = [s for s in steps if s.get("status") != "error" and math.isfinite(_finite(s.get("score")))]
    fids = [s.get("fidelity") for s in ok if s.get("fidelity") is not None]
    if not fids:
        return ok
    top = max(fids)
    return [s for s in ok if s.get("fidelity") is None or s.get("fidelity") == top]


def _metric_names(steps: Sequence[Mapping[str, Any]]) -> list[str]:
    names = {k for s in steps for k, v in (s.get("metrics") or {}).items()
             if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return sorted(names)


def _architectures(runs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per group: every architecture evaluated at full fidelity, its mean score and metrics."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in runs:
        archs = out.setdefault(group_label(r["config"]), {})
        for s in _full_steps(r["steps"]):
            a = archs.setdefault(s["arch"], {"arch": s["arch"], "scores": [], "metrics": {}, "runs": set(),
                                             "first_step": s.get("step")})
            a["scores"].append(_finite(s.get("score")))
            a["runs"].add(r["run_id"])
            for k, v in (s.get("metrics") or {}).items():
                a["metrics"].setdefault(k, []).append(_finite(v))
    return out


def _mean(vals: Sequence[float]) -> float:
    v = [x for x in vals if math.isfinite(x)]
    return float(np.mean(v)) if v else math.nan


def _environment() -> dict[str, Any]:
    versions = {}
    for pkg in _PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    devices = ["cpu"]
    try:
        import torch

        if torch.cuda.is_available():
            devices += [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            devices.append("mps")
    except Exception:  # noqa: BLE001  (the report is still useful without device details)
        pass
    return {"python": sys.version.split()[0], "platform": platform.platform(), "machine": platform.machine(),
            "cpu_count": os.cpu_count(), "devices": devices, "packages": versions,
            "generated": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def html_report_data(store: Any, value: str | None = None, top: int = 10) -> dict[str, Any]:
    """Everything the HTML report shows, as plain data (no rendering, nothing written).

    Args:
        store: A results-store path (opened read-only) or an open
            :class:`~nasrank.store.ResultStore`.
        value: What the anytime curves track: ``"score"`` or a recorded metric (default
            ``test_acc`` when recorded, else ``score``).
        top: Best architectures listed per strategy / evaluator.

    Returns:
        A dict with ``store``, ``runs``, ``curves``, ``value``, ``best`` (per group: rows with
        ``arch``, ``score``, ``metrics``, ``n_runs``), ``metrics`` (per group: metric names),
        ``correlations`` (rows with ``group``, ``metric``, ``n``, ``kendall_tau``, ``spearman``)
        and ``environment``.

    Raises:
        ConfigError: if the store has no search runs with steps, or ``value`` is not recorded.

    Example:
        >>> from nasrank.benchmarks import load_benchmark
        >>> from nasrank.search import TabularEvaluator, create_strategy, run_search
        >>> from nasrank.store import ResultStore
        >>> st = ResultStore(":memory:")
        >>> ev = TabularEvaluator(load_benchmark("nb201-mini"), "tse-ema", epochs=5)
        >>> _ = run_search(create_strategy("random", ev.space, seed=0), ev, "8q", store=st)
        >>> data = html_report_data(st, top=3)
        >>> len(data["best"]["random / tse-ema@T=5"]), data["correlations"][0]["metric"]
        (3, 'test_acc')
    """
    top = check_int("top", top, 1)
    name = str(getattr(store, "path", None) or os.fspath(store))
    runs = load_runs(store)
    if not runs:
        raise ConfigError(f"store {name!r} has no search runs; write some with nasrank search --store {name}")
    if value is not None and value not in report_values(runs):
        raise ConfigError(f"report value {value!r} is not recorded in the runs of {name!r}; "
                          f"use one of: {', '.join(report_values(runs))}")
    curves = anytime_curves(runs, value)
    best: dict[str, list[dict[str, Any]]] = {}
    metric_names: dict[str, list[str]] = {}
    correlations: list[dict[str, Any]] = []
    for group, archs in _architectures(runs).items():
        rows = [{"arch": a["arch"], "score": _mean(a["scores"]),
                 "metrics": {k: _mean(v) for k, v in a["metrics"].items()}, "n_runs": len(a["runs"]),
                 "evaluations": len(a["scores"])} for a in archs.values()]
        rows.sort(key=lambda r: -r["score"] if math.isfinite(r["score"]) else math.inf)
        best[group] = rows[:top]
        names = _metric_names([{"metrics": r["metrics"]} for r in rows])
        metric_names[group] = names
        for m in names:
            s = np.array([r["score"] for r in rows])
            t = np.array([r["metrics"].get(m, math.nan) for r in rows])
            n = int(np.sum(np.isfinite(s) & np.isfinite(t)))
            if n >= 3:
                correlations.append({"group": group, "metric": m, "n": n, "kendall_tau": kendall_tau(s, t),
                                     "spearman": spearman(s, t), "scores": s.tolist(), "targets": t.tolist()})
    return {"store": name, "runs": runs, "curves": curves, "value": curves[0].value if curves else value,
            "best": best, "metrics": metric_names, "correlations": correlations, "environment": _environment(),
            "records": _count_records(store)}


def _count_records(store: Any) -> int | None:
    from ..store import ResultStore

    try:
        if isinstance(store, ResultStore):
            return len(store)
        with ResultStore(store, read_only=True) as st:
            return len(st)
    except Exception:  # noqa: BLE001  (a count is decoration; the runs were read already)
        return None


# --- rendering -----------------------------------------------------------------------------------
_CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:2em auto;max-width:72em;color:#222;
padding:0 1em;line-height:1.4}
h1{font-size:1.6em;border-bottom:2px solid #345;padding-bottom:.2em}h2{font-size:1.25em;color:#345;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{border:1px solid #ccd;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#eef1f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font-family:Menlo,Consolas,monospace;font-size:.85em}pre{background:#f6f8fa;padding:.6em;overflow-x:auto}
.note{color:#666;font-style:italic}img{max-width:100%;border:1px solid #dde}
"""


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _num(v: Any, digits: int = 4) -> str:
    f = _finite(v)
    return "&ndash;" if math.isnan(f) else f"{f:.{digits}g}"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[bool] | None = None) -> str:
    numeric = numeric or [False] * len(header)
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{c}</td>' if isnum else f"<td>{c}</td>"
                         for c, isnum in zip(row, numeric, strict=False)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(png: bytes | None, alt: str, note: str | None) -> str:
    if png is None:
        return f'<p class="note">{_e(note or "no plot")}</p>'
    return f'<p><img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}"></p>'


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def _plots(data: Mapping[str, Any]) -> tuple[dict[str, bytes | None], str | None]:
    """The report's PNG images, or a note saying why there are none."""
    from ..evaluation.plots import import_figure

    try:
        Figure = import_figure()
    except MissingDependencyError as exc:
        return {}, str(exc)
    units = {r["config"].get("cost_unit", "s") for r in data["runs"]}
    images: dict[str, bytes | None] = {
        "anytime": _png(plot_anytime(data["curves"], None, xlabel="queries" if units == {"query"} else "cost (s)"))
    }
    corr = data["correlations"]
    if corr:
        cols = min(3, len(corr))
        rows = math.ceil(len(corr) / cols)
        fig = Figure(figsize=(4.0 * cols, 3.4 * rows))
        for i, c in enumerate(corr):
            ax = fig.add_subplot(rows, cols, i + 1)
            ax.scatter(c["scores"], c["targets"], s=12, alpha=0.7)
            ax.set_xlabel("search score (higher = predicted better)", fontsize=8)
            ax.set_ylabel(c["metric"], fontsize=8)
            ax.set_title(f"{c['group']}\ntau={_num(c['kendall_tau'], 3)}, rho={_num(c['spearman'], 3)}", fontsize=8)
            ax.grid(alpha=0.3)
        fig.tight_layout()
        images["correlations"] = _png(fig)
    return images, None


def render_html(data: Mapping[str, Any], images: Mapping[str, bytes | None] | None = None,
                image_note: str | None = None) -> str:
    """The report page for ``data`` (from :func:`html_report_data`) with the given PNG images.

    Args:
        data: From :func:`html_report_data`.
        images: ``{"anytime": png, "correlations": png}``; missing images are replaced by
            ``image_note``.
        image_note: Why there are no images (e.g. matplotlib is not installed).
    """
    images = dict(images or {})
    note = image_note or "plots not drawn (--no-plot)"
    runs = data["runs"]
    env = data["environment"]
    groups = sorted({group_label(r["config"]) for r in runs})
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>nasrank report: "
             f"{_e(os.path.basename(data['store']))}</title><style>{_CSS}</style></head><body>",
             "<h1>nasrank search report</h1>"]

    # summary
    n_rec = data.get("records")
    parts.append('<section id="summary"><h2>Summary</h2>' + _table(["", ""], [
        ["store", f"<code>{_e(data['store'])}</code>"],
        ["search runs", _e(len(runs))],
        ["evaluations (trajectory steps)", _e(sum(len(r["steps"]) for r in runs))],
        ["records in the store", _e("?" if n_rec is None else n_rec)],
        ["strategy / evaluator groups", "<br>".join(_e(g) for g in groups)],
        ["generated", _e(env["generated"])],
    ]) + "</section>")

    # configuration
    rows = []
    for r in runs:
        c = r["config"]
        budget = c.get("budget") or ["?", "?"]
        rows.append([f"<code>{_e(r['run_id'])}</code>", _e(c.get("strategy")), _e(c.get("seed")),
                     _e(c.get("label")), _e(f"{budget[0]:g} {budget[1]}" if isinstance(budget[0], (int, float))
                                           else budget), _e(r.get("status")), _e(len(r["steps"])),
                     _num(r.get("spent"), 5) + " " + _e(c.get("cost_unit", "s"))])
    configs = []
    seen: set[str] = set()
    for r in runs:
        c = r["config"]
        text = json.dumps({"strategy": c.get("strategy"), "params": c.get("params"), "evaluator": c.get("evaluator")},
                          indent=2, sort_keys=True, default=str)
        if text not in seen:
            seen.add(text)
            configs.append(f"<p>{_e(group_label(c))}</p><pre>{_e(text)}</pre>")
    parts.append('<section id="configuration"><h2>Run configuration</h2>'
                 + _table(["run", "strategy", "seed", "evaluator", "budget", "status", "steps", "spent"], rows,
                          [False, False, True, False, False, False, True, True])
                 + "<h3>Strategy and evaluator settings</h3>" + "".join(configs) + "</section>")

    # anytime
    value = data["value"]
    rows = []
    for c in data["curves"]:
        rows.append([_e(c.group), _e(len(c.seeds)), _num(c.grid[-1], 5), _num(c.mean[-1]),
                     _num(c.sem[-1], 3)])
    parts.append('<section id="anytime"><h2>Anytime performance</h2>'
                 f"<p>Incumbent {_e(value)} (the best-scoring architecture so far) against cumulative cost, "
                 "mean &plusmn; standard error over seeds.</p>"
                 + _img(images.get("anytime"), f"anytime incumbent {value}", note)
                 + _table(["strategy / evaluator", "runs", "final cost", f"final incumbent {value}", "s.e."], rows,
                          [False, True, True, True, True]) + "</section>")

    # best architectures
    body = []
    for g in groups:
        best = data["best"].get(g) or []
        names = data["metrics"].get(g) or []
        rows = [[_e(i + 1), f"<code>{_e(b['arch'])}</code>", _num(b["score"]),
                 *[_num(b["metrics"].get(m)) for m in names], _e(b["n_runs"])] for i, b in enumerate(best)]
        body.append(f"<h3>{_e(g)}</h3>" + (_table(["#", "architecture", "score", *names, "runs"], rows,
                                                   [True, False, True, *[True] * len(names), True])
                                            if rows else '<p class="note">no successful evaluation</p>'))
    parts.append('<section id="best"><h2>Best architectures</h2><p>Architectures evaluated at the full budget, '
                 "ranked by the search score (mean over repeated evaluations); the other columns are the metrics "
                 "recorded with them (benchmark ground truth for tabular searches, measured after training for "
                 "live ones).</p>" + "".join(body) + "</section>")

    # correlations
    corr = data["correlations"]
    if corr:
        rows = [[_e(c["group"]), _e(c["metric"]), _e(c["n"]), _num(c["kendall_tau"], 3), _num(c["spearman"], 3)]
                for c in corr]
        inner = ("<p>Rank correlation between the search score and each recorded metric over the distinct "
                 "architectures each strategy / evaluator evaluated at the full budget.</p>"
                 + _table(["strategy / evaluator", "metric", "architectures", "Kendall tau", "Spearman rho"], rows,
                          [False, False, True, True, True])
                 + _img(images.get("correlations"), "search score vs recorded metrics", note))
    else:
        inner = ('<p class="note">Not available: no strategy / evaluator recorded a metric (such as a benchmark\'s '
                 "test accuracy) for at least three architectures.</p>")
    parts.append(f'<section id="correlations"><h2>Rank correlations</h2>{inner}</section>')

    # environment
    pk = env["packages"]
    parts.append('<section id="environment"><h2>Environment</h2><p>The machine that wrote this report (the store does '
                 "not record where each evaluation ran; see the evaluator settings above).</p>" + _table(["", ""], [
                     ["python", _e(env["python"])], ["platform", _e(env["platform"])],
                     ["machine", _e(env["machine"])], ["CPU cores", _e(env["cpu_count"])],
                     ["devices", _e(", ".join(env["devices"]))],
                     *[[_e(p), _e(v if v is not None else "not installed")] for p, v in pk.items()],
                 ]) + "</section>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_html_report(store: Any, path: str | os.PathLike, value: str | None = None, top: int = 10,
                      plot: bool = True) -> dict[str, Any]:
    """Write the self-contained HTML report of the search runs in ``store`` to ``path``.

    Everything is checked before anything is written (``path`` must be writable, the store must
    hold search runs, ``value`` must be recorded); the file is written atomically.

    Args:
        store: A results-store path (opened read-only) or an open :class:`~nasrank.store.ResultStore`.
        path: The HTML file to write.
        value: See :func:`html_report_data`.
        top: Best architectures listed per strategy / evaluator.
        plot: Embed plots (needs matplotlib; without it the page says so).

    Returns:
        ``{"html": path, "sections": SECTIONS, "images": [names], "image_note": msg or None,
        "groups": [...], "curves": [...]}``.

    Example:
        >>> import os, tempfile
        >>> from nasrank.benchmarks import load_benchmark
        >>> from nasrank.search import TabularEvaluator, create_strategy, run_search
        >>> d = tempfile.mkdtemp()
        >>> ev = TabularEvaluator(load_benchmark("nb201-mini"), "tse-ema", epochs=5)
        >>> _ = run_search(create_strategy("random", ev.space, seed=0), ev, "5q", store=os.path.join(d, "runs.db"))
        >>> rep = write_html_report(os.path.join(d, "runs.db"), os.path.join(d, "report.html"), plot=False)
        >>> open(rep["html"]).read().count("<section")
        6
    """
    out = output_file(path, "HTML report")
    data = html_report_data(store, value=value, top=top)
    images, note = _plots(data) if plot else ({}, None)
    page = render_html(data, images, note).encode("utf-8")
    atomic_write(out, lambda f: f.write(page))
    return {"html": out, "sections": SECTIONS, "images": sorted(k for k, v in images.items() if v),
            "image_note": note, "groups": [c.group for c in data["curves"]], "curves": data["curves"]}
