"""``nasrank search`` and ``nasrank report``: query-based NAS with a pluggable estimator."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer

from ..exceptions import NasrankError
from ._common import (
    C_option,
    N_option,
    channels_last_option,
    compile_option,
    config_option,
    device_option,
    gpus_per_task_option,
    precision_option,
    workers_per_device_option,
)


def search_cmd(
    space: str = typer.Option(None, help="Search space (default nb201; with --supernet: the checkpoint's)."),
    dataset: str = typer.Option("digits", help="Live: training dataset. With --benchmark: the benchmark's dataset."),
    strategy: str = typer.Option("evolution", help="random, evolution, tpe, reinforce, hyperband, bohb, g-rs, g-rea, g-reinforce, g-hb."),
    estimator: str = typer.Option("tse-ema", help="Estimator spec name[:key=value] (tse-ema, vacc-es, ...); 'none' with a table benchmark."),
    epochs: int = typer.Option(5, "--epochs", min=1, help="Training epochs per query = the estimator's budget T."),
    budget: str = typer.Option("5m", "--budget", help="Seconds of evaluation cost (300s, 5m, 2h) or queries (100q)."),
    seeds: str = typer.Option("0", "--seeds", help="Strategy seeds: 0 or 0,1,2 or 0:20 (one run each)."),
    benchmark: str = typer.Option(None, "--benchmark", help="Search a tabular benchmark (name or directory) instead of training."),
    supernet: Path = typer.Option(None, "--supernet", help="Search the subnets of a trained supernet checkpoint (`nasrank oneshot train`): each query fine-tunes its path for --B minibatches and reads a subnet estimator (tse, val_acc, sovl, ...)."),  # noqa: B008
    B: int = typer.Option(100, "--B", min=0, help="With --supernet: fine-tuning minibatches per subnet (0 = inherited weights, val_acc only)."),
    metric: str = typer.Option("val_acc", "--metric", help="With --benchmark and --estimator none: the table metric searched."),
    cost: str = typer.Option("recorded", "--cost", help="With --benchmark: 'recorded' seconds per epoch of the build, or 'model' (predicted from the architecture by median regression on them: free of the build machine's load)."),
    data_dir: str = typer.Option(None, "--data-dir", help="Data directory (default $NASRANK_DATA)."),
    proxy: str = typer.Option(None, "--proxy", help="Proxy of the g-* strategies: a proxy name, or 'naswot-table' (NB201 published scores)."),
    pool_size: int = typer.Option(10, "--pool-size", min=1, help="Candidates the proxy screens per query (g-* strategies)."),
    param: list[str] = typer.Option(None, "--param", help="Strategy parameter key=value (repeatable)."),  # noqa: B008
    config: list[str] = config_option(),  # noqa: B008
    C: int = C_option(),  # noqa: B008
    N: int = N_option(),  # noqa: B008
    batch_size: int = typer.Option(128, "--batch-size", min=1, help="Live: minibatch size."),
    lr: float = typer.Option(0.1, "--lr", help="Live: initial learning rate (cosine to 0 over --epochs)."),
    image_size: int = typer.Option(None, "--image-size", min=1, help="Live: downsample images to this side."),
    train_size: int = typer.Option(None, "--train-size", min=1, help="Live: training examples (default: all not used for validation)."),
    val_size: int = typer.Option(300, "--val-size", min=0, help="Live: validation examples (from the training part)."),
    test_size: int = typer.Option(None, "--test-size", min=0, help="Live: test examples (default: the whole test part)."),
    train_seed: int = typer.Option(0, "--train-seed", min=0, help="Live: seed of the initial weights and data order. With a --benchmark of several runs per cell: the run whose signal and cost the search reads."),
    store: Path = typer.Option(None, "--store", help="Results store: every evaluation and step is committed; re-running resumes."),  # noqa: B008
    executor: str = typer.Option("serial", "--executor", help="serial, processes or ray."),
    workers: int = typer.Option(1, "--workers", min=1, help="Parallel evaluations (asynchronous search when > 1)."),
    threads: int = typer.Option(1, "--threads", min=1, help="Torch threads per evaluation."),
    ray_address: str = typer.Option(None, "--ray-address", help="Ray cluster address (default: start a local one)."),
    device: str = device_option(),
    precision: str = precision_option(),
    compile_: bool = compile_option(),
    channels_last: bool = channels_last_option(),
    workers_per_device: int = workers_per_device_option(),
    gpus_per_task: float = gpus_per_task_option(),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Search a space with a strategy and an estimator; prints the best architecture found.

    Live (default): every query trains the cell on --dataset for --epochs and scores its learning
    curve with --estimator. With --benchmark: queries are looked up in the benchmark (cost = its
    recorded training time). Re-running the same command with the same --store resumes (also on
    another --device: the device is recorded in each evaluation, not in its identity).
    """
    from ..search import SearchConfig, assemble, parse_assignments

    if supernet is not None and space is not None:
        from ..oneshot import read_checkpoint_info

        held = (read_checkpoint_info(supernet).get("method") or {}).get("space")
        if held != space:
            raise NasrankError(f"--supernet {supernet} holds a {held} supernet, not {space}; drop --space or give "
                               f"a {space} checkpoint")
    cfg = SearchConfig(
        space=space or "nb201", dataset=dataset, strategy=strategy, estimator=estimator, epochs=epochs, budget=budget,
        seeds=seeds, benchmark=benchmark, supernet=None if supernet is None else str(supernet), B=B, metric=metric, cost=cost, data_dir=data_dir, proxy=proxy, pool_size=pool_size,
        params=parse_assignments(param, "--param", "population_size=20"),
        config=parse_assignments(config, "--config", "C=16", C=C, N=N),
        batch_size=batch_size, lr=lr, image_size=image_size, train_size=train_size, val_size=val_size,
        test_size=test_size, train_seed=train_seed, store=store, executor=executor, workers=workers,
        threads=threads, ray_address=ray_address, device=device, precision=precision, compile=compile_,
        channels_last=channels_last, workers_per_device=workers_per_device, gpus_per_task=gpus_per_task,
    )
    setup = assemble(cfg)  # every bad setting fails here, before any evaluation
    try:
        with setup:
            setup.run(progress=not quiet)
    except KeyboardInterrupt as exc:
        _interrupted(exc, store, len(setup.results), len(setup.strategies))
    _summary(setup.results, setup.evaluator, setup.benchmark, as_json, store)
    _check_failures(setup.results)


def _interrupted(exc: KeyboardInterrupt, store: Path | None, done: int, total: int) -> None:
    """Say what an interrupted search kept and how to continue it; exit 130 (143 on SIGTERM)."""
    from ._common import Terminated

    what = "terminated" if isinstance(exc, Terminated) else "interrupted"
    runs = f"{done} of {total} runs finished" if total > 1 else "the run did not finish"
    if store is not None:
        msg = (f"Search {what} ({runs}). Every finished evaluation is in {store}: run the same command "
               f"again to resume where it stopped.")
    else:
        msg = f"Search {what} ({runs}). Nothing was recorded: add --store FILE to make a search resumable."
    typer.echo(msg, err=True)
    raise typer.Exit(143 if isinstance(exc, Terminated) else 130)


def _succeeded(step: dict[str, Any]) -> bool:
    v = step.get("score")
    return isinstance(v, (int, float)) and math.isfinite(v)


def _check_failures(results: list[Any]) -> None:
    """A search in which no evaluation succeeded is an error, not a result."""
    failed = [r for r in results if not any(_succeeded(st) for st in r.steps)]
    if not failed:
        return
    errors = [st.get("error") for r in failed for st in r.steps if st.get("error")]
    n = sum(len(r.steps) for r in failed)
    first = f"; first error: {errors[0]}" if errors else ""
    which = "the search" if len(results) == 1 else f"{len(failed)} of {len(results)} runs"
    raise NasrankError(
        f"no evaluation of {which} succeeded ({n} failed{first}); fix the configuration and re-run"
    )


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) and math.isfinite(v) else str(v)


def _summary(results: list[Any], ev: Any, bench: Any, as_json: bool, store: Path | None) -> None:
    rows = []
    for r in results:
        b = r.best
        rows.append({
            "run_id": r.run_id, "strategy": r.strategy, "seed": r.seed, "evaluator": r.evaluator,
            "evaluations": len(r.steps), "evaluated_now": r.evaluated, "spent": r.spent, "cost_unit": r.cost_unit,
            "best_arch": None if b is None else b["arch"], "best_score": None if b is None else b["score"],
            "best_metrics": None if b is None else b["metrics"],
        })
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    for row in rows:
        unit = "queries" if row["cost_unit"] == "query" else "s of cost"
        typer.echo(f"{row['strategy']} (seed {row['seed']}), {row['evaluator']}: {row['evaluations']} evaluations "
                   f"({row['evaluated_now']} run now), {row['spent']:.1f} {unit}")
        if row["best_arch"] is None:
            ok = any(_succeeded(st) for r in results if r.run_id == row["run_id"] for st in r.steps)
            typer.echo("  no result at the full training budget yet (give a larger --budget)" if ok
                       else "  no successful evaluation")
            continue
        typer.echo(f"  best architecture: {row['best_arch']}")
        typer.echo(f"  estimator value ({row['evaluator']}): {_fmt(row['best_score'])}")
        m = row["best_metrics"] or {}
        if bench is not None and m.get("test_acc") is not None:
            typer.echo(f"  true test accuracy ({bench.name}): {_fmt(m['test_acc'])}")
        elif m.get("test_acc") is not None:
            typer.echo(f"  test accuracy after {getattr(ev, 'epochs', '?')} epochs: {_fmt(m['test_acc'])}"
                       f"   validation accuracy: {_fmt(m.get('val_acc'))}")
    if store is not None:
        typer.echo(f"trajectories stored in {store}; plot them with: nasrank report {store} --out DIR")


def report_cmd(
    paths: list[Path] = typer.Argument(..., help="A results store written by nasrank search --store, or one or more "  # noqa: B008
                                                 "search checkpoints written by nasrank darts (trajectories)."),
    out: Path = typer.Option(None, "--out", help="Directory for anytime.png, anytime.csv, runs.csv "  # noqa: B008
                                                 "(store) or trajectory.png, trajectory.csv, "
                                                 "trajectory_runs.csv (checkpoints). Default search-report, "
                                                 "or none when only --html is given."),
    html: Path = typer.Option(None, "--html", help="Store: write one self-contained HTML page (configuration, "  # noqa: B008
                                                   "anytime curves, best architectures, rank correlations, "
                                                   "environment; plots embedded) to this file; the CSV/PNG "
                                                   "directory too only if --out is given."),
    top: int = typer.Option(10, "--top", min=1, help="Store, with --html: best architectures listed per strategy."),
    value: str = typer.Option(None, "--value", help="Store: test_acc (default when recorded) or score."),
    benchmark: str = typer.Option(None, "--benchmark", help="Checkpoints: ground truth of the derived cells (default "
                                                            "nb201 for nb201 searches; nb201-mini is shipped)."),
    metric: str = typer.Option("test_acc", "--metric", help="Checkpoints: ground-truth metric of the benchmark."),
    gt_dataset: str = typer.Option("cifar10", "--gt-dataset", help="Checkpoints: ground-truth dataset."),
    data_dir: str = typer.Option(None, "--data-dir", help="Checkpoints: data directory of the benchmark "
                                                          "(default $NASRANK_DATA)."),
    no_plot: bool = typer.Option(False, "--no-plot", help="CSV only."),
) -> None:
    """Anytime performance (mean +- s.e. over seeds vs cost) per strategy and estimator: PNG + CSV.

    With --html PATH (a results store): one self-contained HTML page instead (plus the CSV/PNG
    directory when --out is given too).

    Given search checkpoints of `nasrank darts` instead of a store: the search trajectory, i.e.
    the benchmark accuracy of the derived cell and its parameter-free operations per epoch, per
    method, mean +- s.e. over seeds (seed 000 Fig. 5).
    """
    from ..evaluation.trajectories import is_checkpoint

    checkpoints = [p for p in paths if is_checkpoint(p)]
    if checkpoints:
        others = [p for p in paths if p not in checkpoints]
        if others:
            raise NasrankError(f"{others[0]} is not a search checkpoint; report either search checkpoints of "
                               "nasrank darts or one results store, not both")
        if value is not None:
            raise NasrankError("--value applies to a results store; a trajectory report writes every value")
        if html is not None:
            raise NasrankError("--html applies to a results store; a trajectory report writes CSV and PNG (--out)")
        _trajectory_report(checkpoints, Path("search-report") if out is None else out, benchmark, metric,
                           gt_dataset, data_dir, not no_plot)
        return
    if len(paths) > 1:
        raise NasrankError(f"report takes one results store (got {len(paths)} paths) or search checkpoints of "
                           "nasrank darts")
    for name, given in (("--benchmark", benchmark is not None), ("--data-dir", data_dir is not None)):
        if given:
            raise NasrankError(f"{name} applies to search checkpoints (nasrank darts), not to a results store")
    store = paths[0]
    curves = None
    if html is not None:
        from .._validate import output_dir
        from ..search import write_html_report

        if out is not None:
            output_dir(out, "report directory")  # fail before the page is written
        page = write_html_report(store, html, value=value, top=top, plot=not no_plot)
        curves = page["curves"]
        for c in curves:
            typer.echo(f"{c.group}: {len(c.seeds)} run(s), final incumbent {c.value} = {_fmt(float(c.mean[-1]))}")
        typer.echo(f"wrote {page['html']}")
        if page["image_note"]:
            typer.echo(f"no plots: {page['image_note']}", err=True)
        if out is None:
            return
    from ..search import write_report

    rep = write_report(store, Path("search-report") if out is None else out, value=value, plot=not no_plot)
    for c in rep["curves"] if curves is None else ():
        last = c.mean[-1]
        typer.echo(f"{c.group}: {len(c.seeds)} run(s), final incumbent {c.value} = {_fmt(float(last))}")
    typer.echo(f"wrote {rep['csv']} and {rep['runs_csv']}")
    if rep["png"] is not None:
        typer.echo(f"wrote {rep['png']}")
    elif rep["png_error"]:
        typer.echo(f"no plot: {rep['png_error']}", err=True)


def _trajectory_report(checkpoints: list[Path], out: Path, benchmark: str | None, metric: str, dataset: str,
                       data_dir: str | None, plot: bool) -> None:
    from ..evaluation.trajectories import write_trajectory_report

    rep = write_trajectory_report(checkpoints, out, benchmark=benchmark, data_dir=data_dir, metric=metric,
                                  dataset=dataset, plot=plot)
    for c in rep["curves"]:
        k = len(c.epochs) - 1
        acc = c.mean["acc"][k]
        gt = rep["benchmarks"].get(c.space)
        what = (f"{gt} accuracy of the final cell {acc:.2f} %"
                + (f" +- {c.sem['acc'][k]:.2f}" if math.isfinite(c.sem["acc"][k]) else "")
                if math.isfinite(acc) else (f"final cell not in {gt}" if gt else "no ground truth"))
        known = int(sum(c.count["acc"]))
        cover = f" ({known} of {int(sum(c.n))} derived cells known)" if gt and known < int(sum(c.n)) else ""
        typer.echo(f"{c.space} {c.group}: {len(c.seeds)} run(s), {int(c.epochs[-1])} epochs; {what}{cover}; "
                   f"parameter-free ops of the final cell {c.mean['param_free'][k]:.2f}")
    typer.echo(f"wrote {rep['csv']} and {rep['runs_csv']}")
    if rep["png"] is not None:
        typer.echo(f"wrote {rep['png']}")
    elif rep["png_error"]:
        typer.echo(f"no plot: {rep['png_error']}", err=True)
