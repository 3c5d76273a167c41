"""``nasrank proxies``: zero-cost proxies of one architecture on one real minibatch."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer

from .. import create_space
from ..exceptions import ConfigError
from ._bench import _read_arch_file
from ._common import (
    C_option,
    N_option,
    config_option,
    device_option,
    gpus_per_task_option,
    print_table,
    workers_per_device_option,
)


def _batch(dataset: str, data_dir: str | None, size: int, seed: int) -> tuple[Any, Any, int, int]:
    from ..data import load_dataset

    ds = load_dataset(dataset, root=data_dir, train=True)
    if size > len(ds.labels):
        raise ConfigError(f"`--batch-size` {size} exceeds the {len(ds.labels)} training images of {dataset}")
    x, y = ds.proxy_batch(size, seed)
    return x, y, ds.num_classes, ds.images.shape[1]


app = typer.Typer(help="Zero-cost proxies: of one architecture, or a whole space's table.",
                  no_args_is_help=False, invoke_without_command=True)


@app.callback(invoke_without_command=True)
def proxies_cmd(
    ctx: typer.Context,
    space_name: str = typer.Option("nb201", "--space", "-s", help="Search space name."),
    arch: str = typer.Option(None, "--arch", "-a", help="Architecture in the space's string format."),
    dataset: str = typer.Option("digits", "--dataset", "-d", help="digits (offline), cifar10, ..."),
    data_dir: str = typer.Option(None, "--data-dir", help="Dataset root (default $NASRANK_DATA)."),
    names: str = typer.Option(None, "--names", "-n", help="Comma-separated proxies (default: all)."),
    batch_size: int = typer.Option(
        None, "--batch-size", "-b", min=1,
        help="One batch size for every proxy (default: each proxy's published batch size).",
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the minibatch, weights and zen draws."),
    config: list[str] = config_option(),  # noqa: B008
    C: int = C_option(),  # noqa: N803
    N: int = N_option(),  # noqa: N803
    threads: int = typer.Option(
        None, "--threads", min=1,
        help="Torch CPU threads (default: torch's choice; use 1 when other jobs share the cores).",
    ),
    list_only: bool = typer.Option(False, "--list", help="List the proxies (sign, BN mode, batch size)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    device: str = device_option(),
) -> None:
    """Compute zero-cost proxies of an architecture on one minibatch of real data.

    The network is the space's standard one (NB201: C=16, N=5, as the proxies were published),
    changed by --config key=value / --C / --N. `nasrank proxies table` scores a whole space.
    """
    if ctx.invoked_subcommand is not None:
        return
    import torch

    from ..estimators.zero_cost import compute_proxies, list_proxies, proxy_info
    from ..execution import device_info, resolve_device
    from ..search import parse_assignments

    dev = resolve_device(device)  # `--device cuda` without a GPU: one line, exit 2, before any work

    if threads is not None:
        torch.set_num_threads(threads)

    if list_only:
        rows = [proxy_info(n) for n in list_proxies()]
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        _print_table(
            ["proxy", "higher is better", "BatchNorm", "batch size", "summary"],
            [[r["name"], "yes" if r["higher_is_better"] else "no", r["bn_mode"],
              "-" if r["batch_size"] is None else str(r["batch_size"]), r["summary"]] for r in rows],
        )
        return
    if arch is None:
        raise ConfigError("`--arch` is required (or pass --list; `nasrank proxies table` scores a whole space)")
    selected = list_proxies() if names is None else [n for n in names.replace(" ", ",").split(",") if n]
    infos = {n: proxy_info(n) for n in selected}  # unknown names raise UnknownNameError (exit 2)
    selected = [i["name"] for i in infos.values()]
    space = create_space(space_name)
    a = space.from_str(arch)
    build_cfg = {**space.default_config("standard"),
                 **parse_assignments(config, "--config", "C=16", C=C, N=N)}
    sizes = {n: batch_size or infos[n]["batch_size"] or 1 for n in selected}
    # data-free proxies ride along with the largest group
    x_all, y_all, num_classes, in_ch = _batch(dataset, data_dir, max(sizes.values()), seed)
    torch.manual_seed(seed)
    # built on the CPU under the seed, then moved: the same weights on every device
    net = space.build(a, num_classes=num_classes, in_channels=in_ch, **build_cfg).to(dev)
    x_all, y_all = x_all.to(dev), y_all.to(dev)
    groups: dict[int, list[str]] = {}
    for n in selected:
        groups.setdefault(sizes[n], []).append(n)
    results: dict[str, Any] = {}
    for size, group in sorted(groups.items()):
        res = compute_proxies(net, (x_all[:size], y_all[:size]), group, seed=seed, device=dev, details=True)
        for n, r in res.items():
            results[n] = {"value": None if math.isnan(r.value) else r.value,
                          "higher_is_better": r.higher_is_better, "batch_size": size,
                          "seconds": round(r.seconds, 4)}
    ordered = {n: results[n] for n in selected}
    info = {"space": space.name, "arch": space.to_str(a), "dataset": dataset, "seed": seed,
            "config": build_cfg, **{k: build_cfg[k] for k in ("C", "N") if k in build_cfg},
            **device_info(dev), "proxies": ordered}
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    _print_table(
        ["proxy", "value", "higher is better", "batch", "seconds"],
        [[n, "NaN" if r["value"] is None else f"{r['value']:.6g}",
          "yes" if r["higher_is_better"] else "no", str(r["batch_size"]), f"{r['seconds']:.3f}"]
         for n, r in ordered.items()],
        title=f"{space.to_str(a)} on {dataset} ({info['device']})",
    )


@app.command("table")
def table_cmd(
    space_name: str = typer.Option("nb201", "--space", "-s", help="An enumerable search space."),
    proxies: str = typer.Option(..., "--proxies", "-p", help="Comma-separated proxies, e.g. gradsign,nwot,synflow."),
    out: str = typer.Option(..., "--out", "-o", help="Table directory (a re-run resumes it)."),
    arch_file: Path = typer.Option(  # noqa: B008
        None, "--arch-file",
        help="Score only these architectures (one string per line, '#' comments) instead of the whole "
             "space; needed for spaces too large to enumerate."),
    dataset: str = typer.Option("cifar10", "--dataset", "-d", help="Dataset of the minibatch (digits is offline)."),
    data_dir: str = typer.Option(None, "--data-dir", help="Dataset root (default $NASRANK_DATA)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the minibatch and the initial weights."),
    batch_size: list[str] = typer.Option(  # noqa: B008
        None, "--batch-size", "-b",
        help="proxy=size (repeatable) to override a proxy's published batch size, e.g. synflow=64.",
    ),
    config: list[str] = config_option(),  # noqa: B008
    C: int = C_option(),  # noqa: N803
    N: int = N_option(),  # noqa: N803
    executor: str = typer.Option("serial", "--executor", help="serial, processes or ray."),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Parallel scoring processes."),
    threads: int = typer.Option(1, "--threads", min=1, help="Torch threads per worker."),
    chunk: int = typer.Option(8, "--chunk", min=1, help="Architectures per task."),
    limit: int = typer.Option(None, "--limit", min=1, help="Stop after this many cells (continue later)."),
    ray_address: str = typer.Option(None, "--ray-address", help="Ray cluster address (default: a local one)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    device: str = device_option(),
    workers_per_device: int = workers_per_device_option("scoring processes"),
    gpus_per_task: float = gpus_per_task_option("scoring task"),
) -> None:
    """Score every canonical architecture of a finite space with zero-cost proxies (resumable).

    Each network is the space's standard one (NB201: C=16, N=5) built under --seed, scored on one
    seeded minibatch of the dataset's training images at each proxy's published batch size. The
    table (proxy_table.json + scores.npz) feeds `nasrank search --proxy DIR:PROXY` and correlation
    studies (tables shipped with nasrank: `--proxy PROXY-table`). The device is not part of the
    table's protocol (a table started on a CPU can be finished on a GPU); each row records where
    it was scored. With --executor processes, workers are spread over the visible GPUs.
    """
    import torch

    from ..benchmarks import ProxyProtocol, build_proxy_table
    from ..execution import create_executor, placement, resolve_device
    from ..search import parse_assignments

    resolve_device(device)  # `--device cuda` without a GPU: one line, exit 2, before any work
    kw: dict[str, Any] = placement(executor, device, workers_per_device, gpus_per_task)
    if executor == "ray":
        kw["address"] = ray_address
    torch.set_num_threads(threads)
    space = create_space(space_name)
    sizes = {}
    for item in batch_size or []:
        k, sep, v = item.partition("=")
        if not sep or not v.strip().isdigit():
            raise ConfigError(f"--batch-size must be proxy=size (e.g. synflow=64), got {item!r}")
        sizes[k.strip()] = int(v)
    cfg = {**space.default_config("standard"), **parse_assignments(config, "--config", "C=16", C=C, N=N)}
    protocol = ProxyProtocol(space.name, tuple(n for n in proxies.replace(" ", ",").split(",") if n),
                             dataset=dataset, seed=seed, batch_sizes=sizes, space_config=cfg)
    protocol.resolved()  # bad names fail before any work
    archs = None if arch_file is None else [space.from_str(a) for a in _read_arch_file(arch_file)]
    with create_executor(executor, workers=workers, threads=threads, **kw) as ex:
        table = build_proxy_table(protocol, out, archs, data_dir=data_dir, executor=ex, chunk=chunk, limit=limit,
                                  progress=not quiet, device=device)
    if table is None:
        typer.echo(f"stopped at --limit {limit}; re-run the same command without --limit to finish {out}")
        return
    where = ", ".join(f"{d['device']} ({d['device_name']}): {d['cells']}" for d in table.meta.get("devices", []))
    typer.echo(f"{table!r}: {len(table.archs)} cells, {int(table.meta['errors'])} errors, "
               f"{table.meta['seconds_total'] / 60:.1f} min of scoring -> {out}" + (f" [{where}]" if where else ""))


def _print_table(header: list[str], rows: list[list[str]], title: str | None = None) -> None:
    from rich.table import Table

    table = Table(title=title)
    for i, name in enumerate(header):  # the first column holds names: never cut or wrapped
        table.add_column(name, no_wrap=i == 0)
    for r in rows:
        table.add_row(*r)
    print_table(table)
