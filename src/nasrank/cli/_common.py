"""State, types and options shared by the CLI commands (kept apart from ``cli/__init__`` to avoid a
cycle)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer

__all__ = ["Terminated", "invocation", "config_option", "C_option", "N_option", "device_option",
           "precision_option", "compile_option", "channels_last_option", "workers_per_device_option",
           "gpus_per_task_option", "fnum", "set_threads", "load_ground_truth", "training_interrupted",
           "print_table"]

#: Arguments of the running command (recorded by commands that write provenance).
invocation: list[str] = []


def print_table(table: Any) -> None:
    """Print a rich table on stdout. Piped or captured output (not a terminal) is laid out 250
    columns wide instead of 80, so rows stay whole lines that scripts can grep."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=250)
    console.print(table)


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered as an interrupt so that commands clean up exactly as on Ctrl-C."""


def config_option() -> Any:
    """``--config key=value`` (repeatable): build options of the space's networks."""
    return typer.Option(
        None, "--config",
        help="Build option of the space's networks, key=value (repeatable, e.g. --config layers=5); "
             "options not given come from the space's search configuration.",
    )


def C_option() -> Any:  # noqa: N802  (named after the option it makes)
    """``--C``: shortcut for ``--config C=VALUE``."""
    return typer.Option(None, "--C", min=1, help="Shortcut for --config C=VALUE (channels of the first stage).")


def N_option() -> Any:  # noqa: N802
    """``--N``: shortcut for ``--config N=VALUE``."""
    return typer.Option(None, "--N", min=1, help="Shortcut for --config N=VALUE (NB201: cells per stage).")


def device_option() -> Any:
    """``--device``: where to compute (default ``auto``)."""
    return typer.Option(
        "auto", "--device",
        help="Where to compute: auto, cpu, cuda, cuda:N or mps (auto: the first GPU if any, else the CPU).",
    )


def precision_option(extra: str = "") -> Any:
    """``--precision``: 32, bf16 or 16 (``extra`` is appended to the help)."""
    return typer.Option("32", "--precision", help="32, bf16 or 16 (mixed-precision autocast; 16 adds loss scaling)" + extra)


def compile_option() -> Any:
    """``--compile``: torch.compile the stand-alone networks."""
    return typer.Option(False, "--compile",
                        help="torch.compile the stand-alone networks; falls back to eager with a warning where no "
                             "backend works")


def channels_last_option() -> Any:
    """``--channels-last``: channels-last memory layout of the stand-alone networks."""
    return typer.Option(False, "--channels-last",
                        help="Train in the channels-last memory layout (often faster on GPUs with --precision bf16 "
                             "or 16).")


def workers_per_device_option(what: str = "evaluations") -> Any:
    """``--workers-per-device``: process workers per GPU."""
    return typer.Option(
        None, "--workers-per-device", min=1,
        help=f"With --executor processes and --device auto (or cuda): {what} per GPU, spread round-robin over "
             "every visible GPU (replaces --workers).",
    )


def gpus_per_task_option(what: str = "evaluation") -> Any:
    """``--gpus-per-task``: the GPU share of each Ray task."""
    return typer.Option(0.0, "--gpus-per-task", min=0.0,
                        help=f"With --executor ray: GPUs each {what} requests (0.25: four share a GPU; 0: CPU tasks).")


def fnum(v: Any, digits: int = 4) -> str:
    """A float with ``digits`` decimals, ``-`` for anything else (None, NaN, inf).

    Example:
        >>> fnum(0.123456), fnum(None), fnum(float("nan"), 2)
        ('0.1235', '-', '-')
    """
    return f"{v:.{digits}f}" if isinstance(v, float) and math.isfinite(v) else "-"


def set_threads(threads: int) -> None:
    """Torch CPU threads of this process."""
    import torch

    torch.set_num_threads(threads)


def load_ground_truth(bench_name: str | None, space: Any, data_dir: str | None, metric: str,
                      dataset: str | None) -> tuple[Any, dict | None]:
    """``(benchmark, {"metric", "dataset"})`` for ``--benchmark`` (``(None, None)`` without one).

    A benchmark of another space than ``space`` is a one-line
    :class:`~nasrank.exceptions.ConfigError`; ``dataset`` is kept only when the benchmark covers it.
    """
    from ..exceptions import ConfigError

    if bench_name is None:
        return None, None
    from ..benchmarks import load_benchmark

    bench = load_benchmark(bench_name, root=data_dir)
    if bench.space.name != space.name:
        raise ConfigError(f"benchmark {bench_name!r} covers the {bench.space.name} space, the supernet is {space.name}; "
                          f"give a benchmark of {space.name}")
    ds = dataset if dataset in getattr(bench, "datasets", ()) else None
    return bench, {"metric": metric, "dataset": ds}


def training_interrupted(exc: KeyboardInterrupt, out: Path) -> None:
    """Say that a checkpointed training stopped and how to resume it; exit 130 (143 on SIGTERM)."""
    term = isinstance(exc, Terminated)
    typer.echo(f"Training {'terminated' if term else 'interrupted'}; every finished epoch is in {out}: run the "
               "same command again to resume.", err=True)
    raise typer.Exit(143 if term else 130) from None
