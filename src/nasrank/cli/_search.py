"""``nasrank search`` and ``nasrank report``: query-based NAS with a pluggable estimator."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer

from ..exceptions import ConfigError, NasrankError


def _seeds(text: str) -> list[int]:
    try:
        if ":" in text:
            a, b = text.split(":")
            return list(range(int(a), int(b)))
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds must be ints such as 0 or 0,1,2 or 0:20; got {text!r}") from None


def _params(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for it in items or []:
        if "=" not in it:
            raise ConfigError(f"--param must be key=value (e.g. population_size=20), got {it!r}")
        k, v = it.split("=", 1)
        try:
            out[k.strip()] = json.loads(v)
        except json.JSONDecodeError:
            out[k.strip()] = v
    return out


def search_cmd(
    space: str = typer.Option("nb201", help="Search space."),
    dataset: str = typer.Option("digits", help="Live: training dataset. With --benchmark: the benchmark's dataset."),
    strategy: str = typer.Option("evolution", help="random, evolution, tpe, reinforce, hyperband, bohb, g-rs, g-rea, g-reinforce, g-hb."),
    estimator: str = typer.Option("tse-ema", help="Estimator spec name[:key=value] (tse-ema, vacc-es, ...); 'none' with a table benchmark."),
    epochs: int = typer.Option(5, "--epochs", min=1, help="Training epochs per query = the estimator's budget T."),
    budget: str = typer.Option("5m", "--budget", help="Seconds of evaluation cost (300s, 5m, 2h) or queries (100q)."),
    seeds: str = typer.Option("0", "--seeds", help="Strategy seeds: 0 or 0,1,2 or 0:20 (one run each)."),
    benchmark: str = typer.Option(None, "--benchmark", help="Search a tabular benchmark (name or directory) instead of training."),
    metric: str = typer.Option("val_acc", "--metric", help="With --benchmark and --estimator none: the table metric searched."),
    data_dir: str = typer.Option(None, "--data-dir", help="Data directory (default $NASRANK_DATA)."),
    proxy: str = typer.Option(None, "--proxy", help="Proxy of the g-* strategies: a proxy name, or 'naswot-table' (NB201 published scores)."),
    pool_size: int = typer.Option(10, "--pool-size", min=1, help="Candidates the proxy screens per query (g-* strategies)."),
    param: list[str] = typer.Option(None, "--param", help="Strategy parameter key=value (repeatable)."),  # noqa: B008
    C: int = typer.Option(8, "--C", min=1, help="Live: channels of the first stage."),
    N: int = typer.Option(1, "--N", min=1, help="Live: cells per stage."),
    batch_size: int = typer.Option(128, "--batch-size", min=1, help="Live: minibatch size."),
    lr: float = typer.Option(0.1, "--lr", help="Live: initial learning rate (cosine to 0 over --epochs)."),
    image_size: int = typer.Option(None, "--image-size", min=1, help="Live: downsample images to this side."),
    train_size: int = typer.Option(None, "--train-size", min=1, help="Live: training examples (default: all not used for validation)."),
    val_size: int = typer.Option(300, "--val-size", min=0, help="Live: validation examples (from the training part)."),
    test_size: int = typer.Option(None, "--test-size", min=0, help="Live: test examples (default: the whole test part)."),
    train_seed: int = typer.Option(0, "--train-seed", min=0, help="Live: seed of the initial weights and data order."),
    store: Path = typer.Option(None, "--store", help="Results store: every evaluation and step is committed; re-running resumes."),  # noqa: B008
    executor: str = typer.Option("serial", "--executor", help="serial, processes or ray."),
    workers: int = typer.Option(1, "--workers", min=1, help="Parallel evaluations (asynchronous search when > 1)."),
    threads: int = typer.Option(1, "--threads", min=1, help="Torch threads per evaluation."),
    ray_address: str = typer.Option(None, "--ray-address", help="Ray cluster address (default: start a local one)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Search a space with a strategy and an estimator; prints the best architecture found.

    Live (default): every query trains the cell on --dataset for --epochs and scores its learning
    curve with --estimator. With --benchmark: queries are looked up in the benchmark (cost = its
    recorded training time). Re-running the same command with the same --store resumes.
    """
    import time

    from .._validate import check_float, output_file
    from ..search import (
        STRATEGIES,
        LiveEvaluator,
        TabularEvaluator,
        create_strategy,
        parse_budget,
        run_search,
    )

    t_start = time.monotonic()
    bud = parse_budget(budget)
    check_float("--lr", lr, minimum=0.0, exclusive_min=True)
    if store is not None:
        output_file(store, "results store")  # the store itself checks that an existing file is ours
    seed_list = _seeds(seeds)
    if not seed_list:
        raise ConfigError("--seeds selects no seed")
    cls = STRATEGIES.get(strategy)
    est = None if estimator.lower() in ("none", "table", "") else estimator
    bench = None
    if benchmark is not None:
        from ..benchmarks import load_benchmark

        bench = load_benchmark(benchmark, root=data_dir)
        ds = dataset if dataset in bench.datasets else None
        if est is None:
            report = {"test_acc": ("test_acc", "cifar10" if "cifar10" in bench.datasets else ds)}
            ev: Any = TabularEvaluator(bench, None, metric=metric, dataset=ds, report=report)
        else:
            ev = TabularEvaluator(bench, est, epochs=epochs, dataset=ds)
    else:
        if est is None:
            raise ConfigError("a live search needs an --estimator (e.g. tse-ema or vacc-es)")
        from ..data import DataSpec
        from ..training import TrainConfig

        data = DataSpec(dataset, root=data_dir, image_size=image_size, train_size=train_size, val_size=val_size,
                        test_size=test_size, seed=0)
        ev = LiveEvaluator(data, est, epochs=epochs, space=space,
                           space_config={"C": C, "N": N}, train=TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr),
                           seed=train_seed)
        ev.check()  # missing data, a split that does not fit, an unbuildable network: fail now
    params = _params(param)
    if cls.multi_fidelity:
        if ev.max_fidelity is None:
            raise ConfigError(f"strategy {strategy!r} needs epochs: use a live search or a curve benchmark with an estimator")
        params.setdefault("max_fidelity", int(ev.max_fidelity))
    if cls.needs_scorer:
        params["scorer"] = _scorer(proxy, ev, bench, data_dir)
        params.setdefault("pool_size", pool_size)
    ex = None
    if executor != "serial" or workers != 1:
        from ..execution import create_executor

        if executor == "serial":
            raise ConfigError("--executor serial runs one evaluation at a time: use --workers 1 or --executor processes")
        kw = {"address": ray_address} if executor == "ray" else {}
        ex = create_executor(executor, workers=workers, threads=threads, **kw)
    elif bench is None:
        from ..execution import create_executor

        ex = create_executor("serial", threads=threads)
    strategies = [create_strategy(strategy, ev.space, seed=s, **params) for s in seed_list]  # bad params: now
    results = []
    done_runs = 0
    try:
        for s, strat in zip(seed_list, strategies, strict=True):
            # a live search with a time budget also stops on the wall clock (start-up included)
            # (minus a few seconds for the summary and exit)
            deadline = (t_start + bud.amount - min(5.0, 0.02 * bud.amount)
                        if bench is None and bud.unit == "s" and len(seed_list) == 1 else None)
            results.append(run_search(strat, ev, bud, executor=ex, store=str(store) if store else None,
                                      progress=not quiet, label=f"{strategy} seed {s}", deadline=deadline))
            done_runs += 1
    except KeyboardInterrupt as exc:
        _interrupted(exc, store, done_runs, len(seed_list))
    finally:
        if ex is not None:
            ex.shutdown()
    _summary(results, ev, bench, as_json, store)
    _check_failures(results)


def _interrupted(exc: KeyboardInterrupt, store: Path | None, done: int, total: int) -> None:
    """Say what an interrupted search kept and how to continue it; exit 130 (143 on SIGTERM)."""
    from . import Terminated

    what = "terminated" if isinstance(exc, Terminated) else "interrupted"
    runs = f"{done} of {total} runs finished" if total > 1 else "the run did not finish"
    if store is not None:
        msg = (f"Search {what} ({runs}). Every finished evaluation is in {store}: run the same command "
               f"again to resume where it stopped.")
    else:
        msg = f"Search {what} ({runs}). Nothing was recorded: add --store FILE to make a search resumable."
    typer.echo(msg, err=True)
    raise typer.Exit(143 if isinstance(exc, Terminated) else 130)


def _check_failures(results: list[Any]) -> None:
    """A search in which no evaluation succeeded is an error, not a result."""
    failed = [r for r in results if r.best is None]
    if not failed:
        return
    errors = [st.get("error") for r in failed for st in r.steps if st.get("error")]
    n = sum(len(r.steps) for r in failed)
    first = f"; first error: {errors[0]}" if errors else ""
    which = "the search" if len(results) == 1 else f"{len(failed)} of {len(results)} runs"
    raise NasrankError(
        f"no evaluation of {which} succeeded ({n} failed{first}); fix the configuration and re-run"
    )


def _scorer(proxy: str | None, ev: Any, bench: Any, data_dir: str | None) -> Any:
    from ..search import ProxyScorer, TableScorer

    if proxy is None:
        proxy = "naswot-table" if bench is not None and hasattr(bench, "scores") else "gradsign"
    if proxy == "naswot-table":
        from ..benchmarks import NB201Benchmark

        nb = bench if isinstance(bench, NB201Benchmark) else NB201Benchmark(data_dir)
        return TableScorer(nb.archs(), nb.scores("naswot"), name="nb201-naswot")
    data = getattr(ev, "data", None)
    cfg = getattr(ev, "space_config", {"C": 8, "N": 1})
    if data is None:
        from ..data import DataSpec

        data = DataSpec("digits", test_size=0)
    return ProxyScorer(ev.space_name if hasattr(ev, "space_name") else "nb201", proxy, data, 128, cfg)


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
            typer.echo("  no successful evaluation")
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
    store: Path = typer.Argument(..., help="Results store written by nasrank search --store."),  # noqa: B008
    out: Path = typer.Option(Path("search-report"), "--out", help="Directory for anytime.png, anytime.csv, runs.csv."),  # noqa: B008
    value: str = typer.Option(None, "--value", help="test_acc (default when recorded) or score."),
    no_plot: bool = typer.Option(False, "--no-plot", help="CSV only."),
) -> None:
    """Anytime performance (mean +- s.e. over seeds vs cost) per strategy and estimator: PNG + CSV."""
    from ..search import write_report

    rep = write_report(store, out, value=value, plot=not no_plot)
    for c in rep["curves"]:
        last = c.mean[-1]
        typer.echo(f"{c.group}: {len(c.seeds)} run(s), final incumbent {c.value} = {_fmt(float(last))}")
    typer.echo(f"wrote {rep['csv']} and {rep['runs_csv']}")
    if rep["png"] is not None:
        typer.echo(f"wrote {rep['png']}")
    elif rep["png_error"]:
        typer.echo(f"no plot: {rep['png_error']}", err=True)
