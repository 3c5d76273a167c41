"""``nasrank bench``: build and inspect learning-curve benchmarks."""

from __future__ import annotations

import shlex
from pathlib import Path

import typer

from ..exceptions import ConfigError
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

app = typer.Typer(help="Build and inspect tabular learning-curve benchmarks.", no_args_is_help=True)


def _seeds(text: str) -> tuple[tuple[int, ...], dict[int, int] | None]:
    """``"0,1:200"`` -> ``((0, 1), {1: 200})``: seed 1 on the first 200 architectures only."""
    seeds, limits = [], {}
    try:
        for item in (t.strip() for t in text.split(",")):
            if not item:
                continue
            seed, sep, k = item.partition(":")
            seeds.append(int(seed))
            if sep:
                limits[int(seed)] = int(k)
    except ValueError:
        raise ConfigError(f"--seeds must be comma-separated ints such as 0,1,2, each optionally SEED:K (SEED on "
                          f"the first K architectures only, e.g. 0,1:200); got {text!r}") from None
    return tuple(seeds), limits or None


@app.command("build")
def build_cmd(
    out: Path = typer.Option(..., "--out", help="Benchmark directory to write (benchmark.json + curves.npz)."),  # noqa: B008
    space: str = typer.Option("nb201", help="Search space."),
    config: list[str] = config_option(),  # noqa: B008
    C: int = C_option(),  # noqa: B008
    N: int = N_option(),  # noqa: B008
    dataset: str = typer.Option("cifar10", help="Dataset: digits, cifar10, cifar100, imagenet16-120, mnist."),
    data_dir: str = typer.Option(None, "--data-dir", help="Data directory (default $NASRANK_DATA)."),
    image_size: int = typer.Option(None, "--image-size", min=1, help="Downsample images to this side (e.g. 16)."),
    train_size: int = typer.Option(None, "--train-size", min=1, help="Training examples (default: all not used for validation)."),
    val_size: int = typer.Option(
        None, "--val-size", min=0,
        help="Validation examples, taken from the training part (default: 1024, at most a fifth of the "
             "training part, e.g. 299 for digits).",
    ),
    test_size: int = typer.Option(None, "--test-size", min=0, help="Test examples (default: the whole test part)."),
    data_seed: int = typer.Option(0, "--data-seed", min=0, help="Seed of the data subsets."),
    archs: int = typer.Option(200, "--archs", min=1, help="Distinct canonical architectures to train."),
    arch_seed: int = typer.Option(0, "--arch-seed", min=0, help="Seed of the architecture draw."),
    arch_file: Path = typer.Option(  # noqa: B008
        None, "--arch-file",
        help="Train exactly these architectures (one string per line in the space's format; '#' starts a "
             "comment) instead of drawing --archs at random."),
    include_invalid: bool = typer.Option(False, "--include-invalid", help="Also draw cells without an input-output path."),
    seeds: str = typer.Option(
        "0", "--seeds",
        help="Training seeds, comma-separated (one run per arch and seed); SEED:K runs SEED on the first K "
             "architectures only (e.g. 0,1:200: a second seed on 200 cells, for the noise ceiling)."),
    epochs: int = typer.Option(20, "--epochs", min=1, help="Training epochs."),
    batch_size: int = typer.Option(128, "--batch-size", min=1),
    lr: float = typer.Option(0.1, "--lr", help="Initial learning rate (cosine-annealed to 0 over --epochs)."),
    weight_decay: float = typer.Option(5e-4, "--weight-decay", min=0.0),
    no_augment: bool = typer.Option(False, "--no-augment", help="Disable random crop + flip."),
    no_minibatch: bool = typer.Option(False, "--no-minibatch", help="Do not keep per-minibatch losses."),
    minibatch_dtype: str = typer.Option(
        "float32", "--minibatch-dtype",
        help="Precision of the minibatch losses in the exported curves.npz: float32 or float16 (half the "
             "size, ~3 significant digits; the store keeps full precision, so switching retrains nothing)."),
    name: str = typer.Option(None, "--name", help="Benchmark name (default: the directory name)."),
    store: Path = typer.Option(None, "--store", help="Results store (default <out>/records.sqlite)."),  # noqa: B008
    executor: str = typer.Option("serial", "--executor", help="serial, processes or ray."),
    workers: int = typer.Option(1, "--workers", min=1, help="Parallel training runs."),
    threads: int = typer.Option(1, "--threads", min=1, help="Torch threads per run."),
    ray_address: str = typer.Option(None, "--ray-address", help="Ray cluster address (default: start a local one)."),
    device: str = device_option(),
    precision: str = precision_option(),
    compile_: bool = compile_option(),
    channels_last: bool = channels_last_option(),
    workers_per_device: int = workers_per_device_option("training runs"),
    gpus_per_task: float = gpus_per_task_option("training run"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train cells, record every curve in the store as it completes, export the benchmark.

    Re-running the same command resumes: runs already in the store are not retrained (also on
    another --device: benchmark.json lists the devices that trained the runs).
    """
    from .._validate import check_float, output_dir, output_file
    from ..benchmarks import BuildConfig, build_benchmark, preflight
    from ..data import DataSpec, load_dataset
    from ..execution import create_executor, placement, resolve_device, resolve_precision
    from ..search import parse_assignments
    from ..spaces import SPACES
    from ..training import TrainConfig

    resolve_device(device)  # --device cuda without CUDA: one line, before anything is read or written
    precision = resolve_precision(precision)
    output_dir(out, "benchmark directory")
    options = parse_assignments(config, "--config", "C=16", C=C, N=N)
    if store is not None:
        output_file(store, "results store")
    check_float("--lr", lr, minimum=0.0, exclusive_min=True)
    if executor == "serial" and workers != 1:
        raise ConfigError("--executor serial runs one job at a time: use --workers 1 or --executor processes")
    kw = placement(executor, device, workers_per_device, gpus_per_task)
    if executor == "ray":
        kw["address"] = ray_address
    arch_list = _read_arch_file(arch_file) if arch_file is not None else None
    seed_list, seed_archs = _seeds(seeds)
    if val_size is None:  # 1024, but never more than a fifth of a small dataset's training part
        val_size = min(1024, len(load_dataset(dataset, root=data_dir, train=True)) // 5)
    cfg = BuildConfig(
        space=space, space_config={**SPACES.get(space)().default_config("search"), **options},
        data=DataSpec(dataset, root=data_dir, image_size=image_size, train_size=train_size,
                      val_size=val_size, test_size=test_size, seed=data_seed),
        train=TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                          augment=not no_augment, precision=precision),
        archs=archs, arch_seed=arch_seed, seeds=seed_list, seed_archs=seed_archs, valid_only=not include_invalid,
        record_minibatch=not no_minibatch, minibatch_dtype=minibatch_dtype, name=name or out.name, arch_list=arch_list,
        device=device, compile=compile_, channels_last=channels_last,
    )
    preflight(cfg.jobs()[0])  # missing data, a split that does not fit, an unbuildable network: fail now
    ex = create_executor(executor, workers=workers, threads=threads, **kw)
    from ._common import Terminated, invocation

    command = "nasrank " + " ".join(shlex.quote(a) for a in invocation)
    try:
        with ex:
            path = build_benchmark(cfg, out, store=store, executor=ex, progress=not quiet, build_command=command)
    except KeyboardInterrupt as exc:
        where = store if store is not None else out / "records.sqlite"
        typer.echo(f"Build interrupted. Every finished training run is in {where}: run the same command again "
                   f"to resume (finished runs are not retrained).", err=True)
        raise typer.Exit(143 if isinstance(exc, Terminated) else 130) from None
    typer.echo(f"benchmark written to {path}")


@app.command("info")
def info_cmd(benchmark: str = typer.Argument("nb201-mini", help="Benchmark name or directory.")) -> None:
    """Print a benchmark's metadata and size."""
    import json

    from ..benchmarks import load_benchmark

    b = load_benchmark(benchmark)
    typer.echo(repr(b))
    meta = getattr(b, "metadata", None)
    if meta:
        typer.echo(json.dumps({k: v for k, v in meta.items() if k != "shapes"}, indent=2, sort_keys=True))


@app.command("list")
def list_cmd() -> None:
    """Names of the benchmarks loadable by name."""
    from ..benchmarks import list_benchmarks

    for n in list_benchmarks():
        typer.echo(n)


def _read_arch_file(path: Path) -> list[str]:
    """The architecture strings of ``--arch-file``: one per line, blank lines and ``#`` comments skipped."""
    from .._validate import input_file

    p = input_file(path, "--arch-file")
    try:
        text = p.read_text()
    except UnicodeDecodeError as exc:
        raise ConfigError(f"--arch-file {path} is not a text file ({exc.reason}); give one architecture string per line") from None
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    archs = [ln for ln in lines if ln]
    if not archs:
        raise ConfigError(f"--arch-file {path} holds no architecture strings; write one per line")
    return archs
