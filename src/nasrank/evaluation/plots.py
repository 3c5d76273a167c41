"""Plots of correlation tables (matplotlib, an optional dependency: ``pip install 'nasrank[plot]'``)."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

from ..exceptions import ConfigError, MissingDependencyError
from .correlate import CorrelationRow
from .references import ReferenceRow

__all__ = ["plot_correlations", "import_figure"]

_TSE_FAMILY = ("tse", "tse-e", "tse-ema")
_METRIC_LABEL = {"spearman": "Spearman rank correlation", "kendall": "Kendall tau",
                 "sparse_kendall": "sparse Kendall tau"}


def import_figure() -> Any:
    """matplotlib's ``Figure`` class, or a one-line :class:`MissingDependencyError` with the fix.

    Plots are drawn on a ``Figure`` (no pyplot, no global state). Call it before long work so
    that a missing matplotlib fails first.

    Example:
        >>> try:
        ...     Figure = import_figure()
        ... except MissingDependencyError as exc:
        ...     Figure = None
        ...     print(str(exc).split(":")[0])
        ... else:
        ...     print("plotting needs matplotlib")
        plotting needs matplotlib
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependencyError(
            "plotting needs matplotlib: pip install 'nasrank[plot]' (or pip install matplotlib)"
        ) from None
    return Figure


def _pretty(label: str) -> str:
    name, *params = label.split(":")
    text = name.upper().replace("VACC-ES", "VAccES").replace("SOVL", "SoVL").replace("LCSVR", "LcSVR").replace("TL-MINI", "TLmini")
    if params:
        text += " (" + ", ".join(p.replace("gamma=", "\N{GREEK SMALL LETTER GAMMA}=") for p in params) + ")"
    return text


def plot_correlations(
    table: Sequence[CorrelationRow],
    path: str | os.PathLike | None = None,
    *,
    title: str | None = None,
    ci: bool = True,
    dpi: int = 150,
    references: Sequence[ReferenceRow] = (),
) -> Any:
    """Rank correlation vs training budget T, one line per estimator (seed 000, Fig. 1 style).

    The TSE family (TSE, TSE-E, TSE-EMA) is drawn with solid lines, the baselines dashed; the
    bootstrap confidence interval of each estimator is a shaded band. ``references`` (from
    :func:`~nasrank.evaluation.proxy_references` / :func:`~nasrank.evaluation.noise_ceiling`)
    are horizontal lines across every T: zero-cost proxies dotted, the noise ceiling a thick
    grey line with its interval shaded. No global matplotlib state is touched (no pyplot, no
    backend switch).

    Args:
        table: Rows from :func:`~nasrank.evaluation.correlation_table`.
        path: Where to save the figure (format from the extension, e.g. ``.png``, ``.pdf``);
            ``None`` only returns it.
        title: Figure title.
        ci: Draw the confidence bands.
        dpi: Resolution of raster output.
        references: Budget-free lines (rows whose value is NaN are left out).

    Returns:
        The :class:`matplotlib.figure.Figure`.

    Raises:
        MissingDependencyError: if matplotlib is not installed.
        ConfigError: if the table is empty.

    Example:
        >>> rows = [CorrelationRow("tse", t, "spearman", 0.5 + t / 20, 0.4, 0.9, 50, 0) for t in (1, 2, 5)]
        >>> fig = plot_correlations(rows)  # doctest: +SKIP
    """
    rows = list(table)
    if not rows:
        raise ConfigError("nothing to plot: the correlation table is empty")
    Figure = import_figure()
    by_est: dict[str, list[CorrelationRow]] = {}
    for r in rows:
        by_est.setdefault(r.estimator, []).append(r)
    references = [r for r in references if math.isfinite(r.value)]
    fig = Figure(figsize=(8.8, 4.8) if references else (6.4, 4.4))
    ax = fig.add_subplot(1, 1, 1)
    markers = "osD^vP*Xh<>"
    for i, (label, rs) in enumerate(by_est.items()):
        rs = sorted(rs, key=lambda r: r.epochs)
        x = [r.epochs for r in rs]
        yv = [r.value for r in rs]
        style = "-" if label.split(":")[0] in _TSE_FAMILY else "--"
        (line,) = ax.plot(x, yv, style, marker=markers[i % len(markers)], markersize=4,
                          linewidth=1.6, label=_pretty(label))
        if ci:
            lo = [r.ci_low for r in rs]
            hi = [r.ci_high for r in rs]
            if any(math.isfinite(v) for v in lo + hi):
                ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.1, linewidth=0)
    from matplotlib import colormaps

    palette = colormaps["Dark2"]  # proxies: colours apart from the estimators' default cycle
    n_proxies = 0
    for ref in references:
        if ref.kind == "ceiling":
            ax.axhline(ref.value, color="0.35", linewidth=2.4, alpha=0.8,
                       label=f"noise ceiling ({ref.source})" if ref.source else "noise ceiling")
            if ci and math.isfinite(ref.ci_low) and math.isfinite(ref.ci_high):
                ax.axhspan(ref.ci_low, ref.ci_high, color="0.35", alpha=0.12, linewidth=0)
        else:
            ax.axhline(ref.value, linestyle=":", linewidth=1.5, color=palette(n_proxies % 8),
                       label=f"{ref.label} (zero-cost)")
            n_proxies += 1
    metrics = {r.metric for r in rows} | {r.metric for r in references}
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("training epochs T")
    ax.set_ylabel(_METRIC_LABEL.get(metrics.pop(), "rank correlation") if len(metrics) == 1 else "rank correlation")
    ax.grid(True, alpha=0.3)
    if references:  # many lines: the legend goes beside the axes
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    else:
        ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(os.fspath(path), dpi=dpi, bbox_inches="tight" if references else None)
    return fig
