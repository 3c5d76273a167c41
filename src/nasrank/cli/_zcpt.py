"""``nasrank zcpt``: Zero-Cost-PT architecture search on an untrained supernet."""

from __future__ import annotations

import json
from typing import Any

import typer

from ..exceptions import BenchmarkDataError, ConfigError
from ._common import device_option


def zcpt_cmd(
    space_name: str = typer.Option(
        "nb201", "--space", "-s", help="A space with a weight-sharing supernet (nb201, darts)."),
    dataset: str = typer.Option("digits", "--dataset", "-d", help="digits (offline), cifar10, ..."),
    data_dir: str = typer.Option(None, "--data-dir", help="Dataset root (default $NASRANK_DATA)."),
    proxy: str = typer.Option("nwot", "--proxy", help="Zero-cost proxy scoring the perturbations."),
    order: str = typer.Option(
        "random", "--order",
        help="Edge order: fixed, random, global-op-iter, global-op-once, global-edge-iter, "
             "global-edge-once.",
    ),
    proposals: int = typer.Option(10, "--proposals", "-N", help="Proposal iterations N."),
    validation: int = typer.Option(100, "--validation", "-V", help="Validation minibatches V."),
    batch_size: int = typer.Option(64, "--batch-size", "-b", help="Minibatch size."),
    seed: int = typer.Option(0, "--seed", help="Seed of weights, orders and minibatches."),
    mode: str = typer.Option("perturb", "--mode",
                             help="perturb (Zero-Cost-PT) or discretize (Zero-Cost-DISC)."),
    C: int = typer.Option(
        None, "--C",
        help="Supernet channels (and of the validation networks); default the space's supernet "
             "default (16 for nb201 and darts).",
    ),
    depth: int = typer.Option(
        None, "--depth",
        help="The space's depth option (NB201: cells per stage, default 5; DARTS: number of "
             "cells, default 8).",
    ),
    relu_hooks: str = typer.Option(
        "relu", "--relu-hooks",
        help="NASWOT hook set: relu (every ReLU once) or released (bug-compatible with the "
             "released NB201 code, which also hooks the ReLUConvBN blocks; nb201 and nwot only).",
    ),
    threads: int = typer.Option(1, "--threads", help="Torch CPU threads (small networks: 1 is fastest)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
    device: str = device_option(),
) -> None:
    """Search an architecture with Zero-Cost-PT (perturbation + zero-cost proxy, no training)."""
    import torch

    from ..data import load_dataset
    from ..execution import resolve_device
    from ..oneshot import ZeroCostPT
    from ..spaces import SPACES

    resolve_device(device)  # `--device cuda` without a GPU: one line, exit 2, before any work

    for name, value, minimum in (("--proposals", proposals, 1), ("--validation", validation, 0),
                                 ("--batch-size", batch_size, 2), ("--seed", seed, 0),
                                 ("--C", C, 2), ("--threads", threads, 1)):
        if value is not None and value < minimum:
            raise ConfigError(f"`{name}` must be an int >= {minimum}, got {value}")
    space = SPACES.get(space_name)()  # an unknown name lists the registered spaces
    if not space.has_supernet:
        with_one = [n for n in SPACES.list() if SPACES.get(n)().has_supernet]
        raise ConfigError(f"zcpt needs a space with a weight-sharing supernet; --space "
                          f"{space_name!r} has none (use one of: {', '.join(with_one)})")
    if depth is not None and depth < 1:
        raise ConfigError(f"`--depth` must be an int >= 1, got {depth}")
    if C is None and space.width_option is not None:
        C = space.default_config("supernet").get(space.width_option)
    cfg: dict[str, Any] = {}
    for flag, option, value in (("--C", space.width_option, C), ("--depth", space.depth_option, depth)):
        if value is None:
            continue
        if option is None:
            raise ConfigError(f"space {space_name!r} has no {flag} option; leave {flag} out")
        cfg[option] = value
    zc = ZeroCostPT(space_name, proxy=proxy, order=order, proposals=proposals,
                    validation=validation, batch_size=batch_size, mode=mode,
                    supernet_config=cfg, network_config=cfg, relu_hooks=relu_hooks, device=device)
    zc._check()  # bad options fail before any data is read
    data = load_dataset(dataset, root=data_dir, train=True)
    if batch_size > len(data):
        raise ConfigError(
            f"`--batch-size` {batch_size} exceeds the {len(data)} training images of {dataset}; lower it"
        )
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), transient=True, disable=as_json) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        try:
            res = zc.search(data, seed=seed, progress=progress)
        finally:
            torch.set_num_threads(old_threads)
    out = res.to_dict()
    out["dataset"] = dataset
    out["ground_truth"] = _ground_truth(space, res.arch, data_dir)
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    hooks = "" if relu_hooks == "relu" else f", {relu_hooks} ReLU hooks"
    typer.echo(f"Zero-Cost-PT ({mode}, proxy {proxy}{hooks}, order {order}, N={proposals}, "
               f"V={validation}, seed {seed}) on {space_name} / {dataset}, {res.device} ({res.device_name})")
    typer.echo(f"proposals: {len(set(res.proposals))} distinct of {len(res.proposals)}; "
               f"perturbations per proposal: {res.perturbations[0]}; time: {res.seconds:.1f} s "
               f"(proposal {res.seconds_proposal:.1f} s, validation {res.seconds_validation:.1f} s)")
    typer.echo(f"genotype: {res.arch_str}")
    gt = out["ground_truth"]
    if gt:
        typer.echo(f"published test accuracy ({space_name} benchmark): "
                   + ", ".join(f"{k} {v:.2f}%" for k, v in gt.items()))


def _ground_truth(space: Any, arch: tuple[int, ...], data_dir: str | None) -> dict[str, float] | None:
    """Published test accuracies (%) of ``arch`` from the tabular benchmark registered under the
    space's name (NAS-Bench-201 for ``nb201``, NAS-Bench-Macro for ``nb-macro``) when its files are
    installed and it covers the space, per dataset; else ``None``."""
    from ..benchmarks import BENCHMARKS, load_benchmark

    if space.name not in BENCHMARKS:
        return None
    try:
        bench = load_benchmark(space.name, data_dir)
        if bench.space.name != space.name:
            return None
        datasets = [ds for ds in bench.datasets if ds != "cifar10-valid" and "test_acc" in bench.metrics(ds)]
        return {ds: 100 * bench.query(arch, "test_acc", ds) for ds in datasets} or None
    except (BenchmarkDataError, ImportError):
        return None
