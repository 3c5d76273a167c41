"""``nasrank correlate``: rank correlation of learning-curve estimators with the final performance.

The curves come from a tabular benchmark (``--benchmark``, default nb201-mini) or from a curves
file (``--curves FILE``, see :mod:`nasrank.evaluation.curves_file`). numpy, PyTorch and
:mod:`nasrank.evaluation` are imported inside the command, so that ``nasrank --help`` stays fast.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from ._common import print_table

if TYPE_CHECKING:
    from ..evaluation.correlate import CorrelationRow

DEFAULT_BENCHMARK = "nb201-mini"
#: ``nasrank.evaluation.DEFAULT_ESTIMATORS`` as text (a test keeps the two equal).
DEFAULT_ESTIMATORS_TEXT = "tse,tse-e,tse-ema,tse-ema:gamma=0.1,sovl,vacc-es,lcsvr"
NO_MATPLOTLIB_NOTE = "no plot: matplotlib is not installed (pip install 'nasrank[plot]')"


def _load_benchmark(name_or_dir: str) -> Any:
    from ..benchmarks import load_benchmark

    return load_benchmark(name_or_dir)


def _clean(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def _fmt(x: float, digits: int = 3) -> str:
    return "nan" if not math.isfinite(x) else f"{x:.{digits}f}"


def correlate_cmd(
    benchmark: str = typer.Option(
        None, "--benchmark", "-b",
        help=f"Registered benchmark name or benchmark directory (default: the shipped {DEFAULT_BENCHMARK}).",
    ),
    curves: str = typer.Option(
        None, "--curves", "-c",
        help="Score learning curves from a file instead of a benchmark: .csv (long form: arch,epoch,"
             "train_loss,...,test_acc), .json (list of objects) or .jsonl/.ndjson.",
    ),
    estimators: str = typer.Option(
        None, "--estimators", "-e",
        help=f"Comma-separated estimator specs name[:key=value...], e.g. tse,tse-ema:gamma=0.1,lcsvr:n_search=200 "
             f"(default: {DEFAULT_ESTIMATORS_TEXT}; with --curves those the file has the records for).",
    ),
    epochs: str = typer.Option(
        "1:end", "--epochs", "-T",
        help="Budgets T: numbers, ranges a:b[:step], 'end', percentages of the last epoch (50%).",
    ),
    target: str = typer.Option(
        "test_acc", "--target", "-t", help="Benchmark metric, or curves-file column, to correlate with.",
    ),
    dataset: str = typer.Option(None, "--dataset", "-d", help="Benchmark dataset (default: its first)."),
    metric: str = typer.Option("spearman", "--metric", help="spearman, kendall or sparse_kendall."),
    n_boot: int = typer.Option(1000, "--n-boot", min=1, help="Bootstrap resamples per cell."),
    confidence: float = typer.Option(0.95, "--confidence", min=0.0, max=1.0, help="Coverage of the CIs."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the bootstrap and of the LcSVR fit split."),
    fit_size: int = typer.Option(
        None, "--fit-size", min=1,
        help="Fully trained curves LcSVR is fitted on (default min(100, n/2)); it is scored on the rest.",
    ),
    lcsvr_n_search: int = typer.Option(
        20, "--lcsvr-n-search", min=1, help="LcSVR hyper-parameter draws per budget (reference: 1000).",
    ),
    holdout_only: bool = typer.Option(
        False, "--holdout-only", help="Score every estimator on LcSVR's held-out architectures only.",
    ),
    proxy_table: str = typer.Option(
        "auto", "--proxy-table",
        help="Also correlate the zero-cost proxies of this table (a shipped name such as nb201-cifar10, or a "
             "directory from `nasrank proxies table`) with the target: horizontal lines in the plot, rows of "
             "the references table. 'auto': the shipped table of the benchmark's space and dataset, if there "
             "is one that scores its cells; 'none': no proxies. Not with --curves.",
    ),
    proxies: str = typer.Option(
        None, "--proxies", help="Comma-separated proxies of --proxy-table to show (default: all of them).",
    ),
    target_seed: int = typer.Option(
        None, "--target-seed", min=0,
        help="Correlate with the final target of this training seed's runs, the estimators reading another "
             "seed's curves (the lowest other seed), over the cells trained with both: a prediction of an "
             "independent run, for which the noise ceiling of the same two seeds is the reference. Default: "
             "the first seed's curves against the mean over each cell's runs (all cells).",
    ),
    ceiling: bool = typer.Option(
        True, "--ceiling/--no-ceiling",
        help="Show the noise ceiling (seed-to-seed rho of the target on the cells trained with two seeds) when "
             "the benchmark has a second seed: what a second full training run scores. Against the default "
             "target an estimator can exceed it by sharing the target run's noise; --target-seed removes that.",
    ),
    plot: str = typer.Option(
        "auto", "--plot",
        help="Write the rho-vs-T plot here (needs matplotlib); 'auto' = <benchmark or curves file "
             "name>_correlation.png in the current directory when matplotlib is installed; 'none' = no plot.",
    ),
    csv_path: str = typer.Option(None, "--csv", help="Write the table as CSV here."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Rank correlation (with bootstrap CIs) of each estimator at each budget T with the final target.

    With --proxy-table, zero-cost proxies are drawn as horizontal lines (seed 000, Fig. 1), and on a
    benchmark with a second training seed the noise ceiling too: how well one run's final value
    ranks the cells by another run's.
    """
    from .._validate import output_file
    from ..exceptions import ConfigError

    if curves is not None and benchmark is not None:
        raise ConfigError("give either --curves FILE or --benchmark NAME|DIR, not both")
    if curves is not None and proxy_table not in ("auto", "none"):
        raise ConfigError("--proxy-table looks architectures up in a benchmark's space: use it with --benchmark, "
                          "not --curves")
    if proxies is not None and (proxy_table == "none" or curves is not None):
        raise ConfigError("--proxies picks columns of a proxy table: give --benchmark and --proxy-table NAME|DIR")
    if curves is not None and dataset is not None:
        raise ConfigError("--dataset selects a benchmark dataset; a curves file has one set of curves: drop --dataset")
    if curves is not None and target_seed is not None:
        raise ConfigError("--target-seed picks a training run of a benchmark; a curves file has one run per "
                          "architecture: drop --target-seed")
    # every output path is checked before any work, so that a bad path fails in a second
    if csv_path is not None:
        output_file(csv_path, "CSV file")
    if plot not in ("auto", "none"):
        output_file(plot, "plot file")
        from ..evaluation.plots import import_figure

        import_figure()  # fail before the work if matplotlib is missing

    notes: list[str] = []  # printed to stderr once the table is made (an error stays one line)
    seeds = None  # (curve seed, target seed) with --target-seed
    common = dict(epochs=epochs, metric=metric, n_boot=n_boot, confidence=confidence, seed=seed,
                  fit_size=fit_size, lcsvr_n_search=lcsvr_n_search, holdout_only=holdout_only)
    if curves is not None:
        from ..evaluation.correlate import DEFAULT_ESTIMATORS, parse_estimators
        from ..evaluation.curves_file import correlate_curves, load_curves, missing_record

        data = load_curves(curves, target=target)
        name, shown = Path(curves).stem, Path(curves).name
        source = {"benchmark": None, "curves": curves}
        if estimators is None:  # the defaults the file has the records for (correlate_curves)
            skipped = [f"{s.label} (reads {m})" for s in parse_estimators(DEFAULT_ESTIMATORS)
                       if (m := missing_record(data, s)) is not None]
            if skipped:
                notes.append(f"note: skipping {', '.join(skipped)}: not in {curves}")
    else:
        bench = _load_benchmark(benchmark or DEFAULT_BENCHMARK)
        name = shown = str(getattr(bench, "name", "") or benchmark or DEFAULT_BENCHMARK)
        source = {"benchmark": name, "curves": None}
        if target_seed is not None:
            from ..evaluation.correlate import cross_seeds

            seeds = cross_seeds(bench, target_seed)  # (curve seed, target seed); a bad seed fails here
            source["seeds"] = {"curves": seeds[0], "target": seeds[1]}
            shown = f"{name}, seed {seeds[0]}'s curves vs seed {seeds[1]}'s target"
    table = proxy_names = None
    if curves is None and proxy_table == "auto":
        proxy_table = _shipped_table_for(bench, dataset)
        if proxy_table is None and proxies is not None:
            raise ConfigError(f"nasrank ships no proxy table for {name}'s cells: give --proxy-table DIR "
                              "(nasrank proxies table --arch-file ... writes one)")
        if proxy_table is not None:
            notes.append(f"note: zero-cost proxies from the shipped table {proxy_table} (its own networks and "
                         "protocol: nasrank proxies table --help); --proxy-table none leaves them out")
    elif proxy_table in ("auto", "none"):
        proxy_table = None
    if proxy_table is not None:  # read and checked before the work
        from ..benchmarks import load_proxy_table

        table = load_proxy_table(proxy_table)
        if table.protocol["space"] != bench.space.name:
            raise ConfigError(f"the proxy table {table.name} scores {table.protocol['space']} cells, the benchmark "
                              f"{name} is {bench.space.name}: give a table of the benchmark's space")
        proxy_names = None if proxies is None else [p for p in proxies.replace(" ", ",").split(",") if p]
        for p in proxy_names or []:
            table.higher_is_better(p)  # a proxy the table lacks: one line naming the ones it has
        if not table.holds(bench.archs()).any():
            raise ConfigError(f"the proxy table {table.name} scores none of the {len(bench)} cells of {name}; "
                              "build one for them: nasrank proxies table --arch-file FILE ...")
    if plot == "none":
        plot = None
    elif plot == "auto":
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            notes.append(NO_MATPLOTLIB_NOTE)
            plot = None
        else:
            plot = f"{name}_correlation.png" if seeds is None else f"{name}_seed{seeds[0]}-vs-{seeds[1]}_correlation.png"
            output_file(plot, "plot file")

    if curves is not None:
        rows = correlate_curves(data, estimators=estimators, **common)
    else:
        from ..evaluation.correlate import correlate_benchmark

        if estimators is None:  # seed 000's Fig. 1 set; TLmini where the minibatch losses were recorded
            estimators = DEFAULT_ESTIMATORS_TEXT
            if _has_minibatch_losses(bench, dataset):
                estimators = estimators.replace(",lcsvr", ",tl-mini,lcsvr")
        rows = correlate_benchmark(bench, target=target, dataset=dataset, estimators=estimators,
                                   target_seed=target_seed, **common)
    references = []
    if curves is None:
        from ..evaluation.references import noise_ceiling, proxy_references

        ref_kw = dict(metric=metric, n_boot=n_boot, confidence=confidence, seed=seed)
        if table is not None:
            if seeds is None:
                archs, targets = bench.archs(), list(bench.table(target, dataset))
            else:
                from ..evaluation.correlate import cross_seed_targets

                archs, targets = cross_seed_targets(bench, target, dataset, seeds)
            references += proxy_references(table, archs, targets, proxy_names, **ref_kw)
        if ceiling:
            row = noise_ceiling(bench, target, dataset, seeds=seeds, **ref_kw)
            if row is not None:
                references.append(row)
    if csv_path is not None:
        _write_csv(rows, csv_path, references)
    for note in notes:
        typer.echo(note, err=True)
    if plot is not None:
        from ..evaluation.plots import plot_correlations

        title = f"{name}: {target}" if seeds is None else f"{name}: seed {seeds[0]}'s curves vs seed {seeds[1]}'s {target}"
        title += f" ({dataset})" if dataset else ""
        plot_correlations(rows, plot, title=title,
                          references=references)
    if as_json:
        info = {**source, "target": target, "dataset": dataset, "metric": rows[0].metric,
                "confidence": confidence, "n_boot": n_boot, "seed": seed,
                "rows": [{k: _clean(v) for k, v in r.to_dict().items()} for r in rows],
                "references": [{k: _clean(v) for k, v in r.to_dict().items()} for r in references]}
        typer.echo(json.dumps(info, indent=2))
        return
    _print_table(rows, title=f"{rows[0].metric} with {target} on {shown}"
                 + (f" ({dataset})" if dataset else "")
                 + f", {confidence:.0%} bootstrap CI")
    if references:
        _print_references(references, title=f"budget-free references: {rows[0].metric} with {target}")
    for path, what in ((csv_path, "CSV"), (plot, "plot")):
        if path is not None:
            typer.echo(f"{what} written to {path}")


def _shipped_table_for(bench: Any, dataset: str | None) -> str | None:
    """The shipped proxy table of the benchmark's space and dataset that scores some of its cells."""
    from ..benchmarks import list_proxy_tables, load_proxy_table

    datasets = [dataset] if dataset else list(getattr(bench, "datasets", ()) or ())[:1]
    for ds in datasets:
        name = f"{bench.space.name}-{ds}"
        if name in list_proxy_tables() and load_proxy_table(name).holds(bench.archs()).any():
            return name
    return None


def _has_minibatch_losses(bench: Any, dataset: str | None) -> bool:
    archs = bench.archs()
    if not archs:
        return False
    mb = getattr(bench.curve(archs[0], dataset), "minibatch_loss", None)
    return mb is not None and len(mb) > 0


def _write_csv(rows: list[CorrelationRow], path: str, references: list[Any] = ()) -> None:
    """The rows as CSV, written atomically (a failure leaves no partial file).

    Reference lines follow the rows: ``estimator`` is ``proxy:NAME`` or ``noise-ceiling``, ``epochs``
    is empty (they have no budget), ``n_dropped`` counts what was left out.
    """
    from dataclasses import fields

    from .._validate import atomic_write
    from ..evaluation import correlate

    names = [f.name for f in fields(correlate.CorrelationRow)]
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(names)
    for r in rows:
        w.writerow([getattr(r, k) for k in names])
    for ref in references:
        label = f"proxy:{ref.label}" if ref.kind == "proxy" else "noise-ceiling"
        values = {"estimator": label, "epochs": "", "metric": ref.metric, "value": ref.value, "ci_low": ref.ci_low,
                  "ci_high": ref.ci_high, "n": ref.n, "n_dropped": ref.n_dropped, "n_fit": 0}
        w.writerow([values[k] for k in names])
    atomic_write(path, lambda f: f.write(buf.getvalue().encode("utf-8")))


def _span(values: list[int]) -> str:
    lo, hi = min(values), max(values)
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _print_table(rows: list[CorrelationRow], title: str) -> None:
    from rich.table import Table

    ests = list(dict.fromkeys(r.estimator for r in rows))
    budgets = sorted({r.epochs for r in rows})
    cell = {(r.estimator, r.epochs): r for r in rows}
    table = Table(title=title)
    table.add_column("T", justify="right")
    for e in ests:  # "tse-ema:gamma=0.1" -> two header lines
        table.add_column(e.replace(":", "\n"), justify="center", no_wrap=True)
    for T in budgets:
        out = [str(T)]
        for e in ests:
            r = cell.get((e, T))
            out.append("" if r is None else f"{_fmt(r.value)}\n{_fmt(r.ci_low, 2)}..{_fmt(r.ci_high, 2)}")
        table.add_row(*out)
    table.add_section()
    by_est = {e: [r for r in rows if r.estimator == e] for e in ests}
    table.add_row("n", *[_span([r.n for r in by_est[e]]) for e in ests])
    table.add_row("dropped", *[_span([r.n_dropped for r in by_est[e]]) for e in ests])
    if any(r.n_fit for r in rows):
        table.add_row("fitted on", *[_span([r.n_fit for r in by_est[e]]) if by_est[e][0].n_fit else "-"
                                     for e in ests])
    print_table(table)


def _print_references(refs: list[Any], title: str) -> None:
    from rich.table import Table

    table = Table(title=title)
    for col, justify in (("reference", "left"), ("value", "right"), ("CI", "center"), ("n", "right"),
                         ("dropped", "right"), ("source", "left")):
        table.add_column(col, justify=justify, no_wrap=col == "reference")
    for r in sorted(refs, key=lambda r: (r.kind != "ceiling", -r.value if math.isfinite(r.value) else math.inf)):
        table.add_row(r.label if r.kind == "ceiling" else f"{r.label} (zero-cost)", _fmt(r.value),
                      f"{_fmt(r.ci_low, 2)}..{_fmt(r.ci_high, 2)}", str(r.n), str(r.n_dropped), r.source)
    print_table(table)
