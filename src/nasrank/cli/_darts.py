"""``nasrank darts``: differentiable architecture search (DARTS, SoTL-DARTS / DARTS-TSE, SoVL-DARTS,
DrNAS, P-DARTS and their training-speed variants) with a per-epoch trajectory."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import typer

from ..exceptions import ConfigError
from ._common import (
    C_option,
    N_option,
    config_option,
    device_option,
    fnum,
    load_ground_truth,
    precision_option,
    set_threads,
    training_interrupted,
)

_METHODS_HELP = "darts, darts2, sotl-darts (= darts-tse), sovl-darts, drnas, drnas-tse, pdarts, pdarts-sotl."


def _differentiable(name: str) -> Any:
    """The registered class of ``name``; a one-line error when it is no differentiable search."""
    from ..oneshot import SUPERNET_METHODS, DifferentiableMethod

    cls = SUPERNET_METHODS.get(name)  # unknown names: did-you-mean error
    if not (isinstance(cls, type) and issubclass(cls, DifferentiableMethod)):
        ok = [n for n in SUPERNET_METHODS.list()
              if isinstance(SUPERNET_METHODS.get(n), type) and issubclass(SUPERNET_METHODS.get(n), DifferentiableMethod)]
        raise ConfigError(f"method {name!r} trains paths, it is not a differentiable search: train it with "
                          f"`nasrank oneshot train`, or use one of {', '.join(ok)}")
    return cls


def _rows(history: list[dict[str, Any]], space: Any, bench: Any, gt: dict | None) -> list[dict[str, Any]]:
    from ..evaluation.trajectories import benchmark_accuracy

    rows = []
    for h in history:
        acc = None
        if bench is not None and h.get("arch") is not None:
            acc = benchmark_accuracy(bench, h["arch"], gt["metric"], gt["dataset"])
        rows.append({"epoch": int(h["epoch"]) + 1, "loss": h.get("loss"), "val_loss": h.get("val_loss"),
                     "arch": h.get("arch"), "param_free": h.get("param_free"), "skip": h.get("skip"),
                     "benchmark_acc": acc, "hessian": h.get("hessian"), "lr": h.get("lr"),
                     "seconds": h.get("seconds"), "diverged": bool(h.get("diverged", False))})
    return rows


def darts_cmd(
    space: str = typer.Option("nb201", "--space", "-s", help="nb201 or darts (a space with a weight-sharing supernet)."),
    method: str = typer.Option("darts", "--method", "-m", help=_METHODS_HELP),
    out: Path = typer.Option(..., "--out", "-o", help="Checkpoint file (.safetensors); written after every epoch, "  # noqa: B008
                                                      "and an existing one of the same run is resumed."),
    epochs: int = typer.Option(50, "--epochs", min=1, help="Search epochs (NB201 protocol: 50)."),
    dataset: str = typer.Option("digits", "--dataset", "-d", help="digits (offline), cifar10, cifar100, mnist, ..."),
    data_dir: str = typer.Option(None, "--data-dir", help="Dataset (and benchmark) root (default $NASRANK_DATA)."),
    image_size: int = typer.Option(None, "--image-size", min=1, help="Downsample images to this side."),
    train_size: int = typer.Option(None, "--train-size", min=1,
                                   help="Search-train examples (default: the training part minus the search-val ones)."),
    val_size: int = typer.Option(None, "--val-size", min=1,
                                 help="Search-val examples, held out of the training part (default: half of it, or "
                                      "as many as --train-size: DARTS' 50/50 split; SoTL methods never train on them)."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Minibatch size (train and val)."),
    lr: float = typer.Option(None, "--lr", help="Initial weight learning rate (default the method's, 0.025; cosine to --eta-min)."),
    eta_min: float = typer.Option(0.001, "--eta-min", min=0.0, help="Final learning rate of the cosine schedule."),
    param: list[str] = typer.Option(None, "--param", help="Method parameter key=value (repeatable, e.g. --param "  # noqa: B008
                                                          "inner_steps=20, --param arch_lr=1e-3)."),
    config: list[str] = config_option(),  # noqa: B008
    C: int = C_option(),  # noqa: B008
    N: int = N_option(),  # noqa: B008
    hessian: bool = typer.Option(False, "--hessian", help="Record the dominant eigenvalue of the architecture Hessian "
                                                          "every epoch (power iteration; slower)."),
    benchmark: str = typer.Option(None, "--benchmark", help="Ground truth of the derived cells: nb201, nb201-mini, or a "
                                                            "benchmark directory (of --space)."),
    metric: str = typer.Option("test_acc", "--metric", help="Ground-truth metric of the benchmark."),
    gt_dataset: str = typer.Option("cifar10", "--gt-dataset", help="Ground-truth dataset of a multi-dataset benchmark."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the weights, architecture parameters and data order."),
    threads: int = typer.Option(1, "--threads", min=1, help="Torch CPU threads."),
    device: str = device_option(),
    precision: str = precision_option("; the searches take 32 or bf16"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    as_json: bool = typer.Option(False, "--json", help="Print the per-epoch table and the result as JSON."),
) -> None:
    """Differentiable NAS: search a cell by gradient descent on architecture weights; re-running resumes from --out.

    The derived architecture is recorded every epoch.

    Every epoch prints: training / validation loss, the architecture the weights derive, its parameter-free operations (none, skip, pooling: a skip-connection collapse shows here), the benchmark accuracy of the derived cell (with --benchmark) and the Hessian eigenvalue (with --hessian). The training data is split into search-train and search-val halves (DARTS); the training-speed methods (sotl-darts = darts-tse, drnas-tse, pdarts-sotl) search on the search-train half only (the search-val half only gives the per-epoch probe minibatch). Plot several runs with `nasrank report CKPT ... --out DIR`.
    """  # noqa: E501  (one line: the CLI help reflows it)
    from ..data import DataSpec, load_dataset
    from ..execution import resolve_device, resolve_precision
    from ..oneshot import SupernetTrainConfig, create_supernet_method, train_supernet
    from ..search import parse_assignments
    from ..spaces import SPACES

    dev = resolve_device(device)  # --device cuda without CUDA: one line, before anything is read or written
    precision = resolve_precision(precision)
    sp = SPACES.get(space)()
    if not sp.has_supernet:
        with_one = [n for n in SPACES.list() if SPACES.get(n)().has_supernet]
        raise ConfigError(f"space {sp.name!r} has no weight-sharing supernet; use --space {' or '.join(with_one)}")
    cls = _differentiable(method)
    if not cls.supports_precision(precision):
        raise ConfigError(f"method {method!r} cannot search in --precision {precision} (its architecture gradients have "
                          "no loss scaling): use --precision bf16")
    params = parse_assignments(param, "--param", "inner_steps=20")
    if lr is not None:
        if not (math.isfinite(lr) and lr > 0):
            raise ConfigError(f"--lr must be a number > 0, got {lr}")
        params["lr"] = lr
    if hessian:
        params["hessian"] = True
    build = {**sp.default_config("search"), **parse_assignments(config, "--config", "C=8", C=C, N=N)}
    bench, gt = load_ground_truth(benchmark, sp, data_dir, metric, gt_dataset)
    if bench is not None and metric not in bench.metrics(gt["dataset"]):
        raise ConfigError(f"benchmark {benchmark!r} has no metric {metric!r}; use one of "
                          f"{', '.join(bench.metrics(gt['dataset']))}")
    if out.exists() and out.is_dir():
        raise ConfigError(f"--out {out} is a directory; give a checkpoint file such as {out}/search.safetensors")
    if val_size is None:  # DARTS' 50/50 split of the training part
        pool = len(load_dataset(dataset, root=data_dir, train=True))  # missing data fails here
        val_size = min(train_size, pool - train_size) if train_size is not None else pool // 2
        if val_size < 1:
            raise ConfigError(f"--train-size {train_size} leaves no search-val example of the {pool} training "
                              "images; lower it or give --val-size")
    spec = DataSpec(dataset, root=data_dir, image_size=image_size, train_size=train_size, val_size=val_size,
                    test_size=0, seed=0)
    train, val, _ = spec.load()
    assert val is not None
    for part, n in (("search-train", len(train)), ("search-val", len(val))):
        if batch_size > n:
            raise ConfigError(f"--batch-size {batch_size} exceeds the {n} {part} images; lower it")
    m = create_supernet_method(method, sp, seed=seed, supernet_config=build, num_classes=train.num_classes,
                               in_channels=train.images.shape[1], **params)
    tcfg = SupernetTrainConfig(epochs=epochs, batch_size=batch_size, eta_min=eta_min)
    set_threads(threads)
    try:
        res = train_supernet(m, train, tcfg, val_set=val, checkpoint=out, data_key=spec.key(), progress=not quiet,
                             device=dev, precision=precision)
    except KeyboardInterrupt as exc:
        training_interrupted(exc, out)
    rows = _rows(res.history, sp, bench, gt)
    final_arch = res.method.derive()
    net = res.method.supernet
    final = {"arch": sp.to_str(final_arch), "param_free": int(net.param_free_count(final_arch)),
             "skip": int(net.skip_count(final_arch)), "operations": len(net.path_ops(final_arch)),
             "benchmark_acc": None}
    if bench is not None:
        from ..evaluation.trajectories import benchmark_accuracy

        final["benchmark_acc"] = benchmark_accuracy(bench, final_arch, gt["metric"], gt["dataset"])
    final["weights"] = [[round(float(w), 6) for w in row] for row in res.method.arch_weights()]
    summary = {"checkpoint": str(out), "method": m.name, "space": sp.name, "supernet_config": build, "seed": seed,
               "data": {**spec.key(), "search_train": len(train), "search_val": len(val)},
               "epochs": len(res.history), "resumed_from": res.resumed_from, "diverged": res.diverged,
               "precision": res.precision, **res.device,
               "seconds": sum(h.get("seconds", 0.0) for h in res.history),
               "benchmark": None if bench is None else {"name": benchmark, **gt},
               "history": rows, "final": final}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        _print_table(summary, bench is not None, any(r["hessian"] is not None for r in rows))
    if res.diverged:
        raise typer.Exit(1)


def _print_table(s: dict[str, Any], with_acc: bool, with_hessian: bool) -> None:
    how = f" (resumed after epoch {s['resumed_from']})" if s["resumed_from"] else ""
    d = s["data"]
    typer.echo(f"{s['method']} search on {s['space']} {s['supernet_config']}, seed {s['seed']}: {d['dataset']} "
               f"{d['search_train']} search-train / {d['search_val']} search-val images; {s['epochs']} epochs{how}, "
               f"{s['seconds']:.1f} s of search")
    ops = s["final"]["operations"]
    acc_head = ""
    if with_acc:
        acc_head = f" {(s['benchmark']['name'] + ' acc%')[:16]:>16}"
    head = (f"{'epoch':>5} {'train loss':>10} {'val loss':>9} {f'param-free/{ops}':>13} {'skip':>4}{acc_head}"
            + (f" {'hessian':>9}" if with_hessian else "") + "  derived architecture")
    typer.echo(head)
    for r in s["history"]:
        line = (f"{r['epoch']:>5} {fnum(r['loss']):>10} {fnum(r['val_loss']):>9} "
                f"{'-' if r['param_free'] is None else r['param_free']:>13} {'-' if r['skip'] is None else r['skip']:>4}")
        if with_acc:
            line += f" {fnum(r['benchmark_acc'], 2):>16}"
        if with_hessian:
            line += f" {fnum(r['hessian'], 4):>9}"
        line += f"  {r['arch'] or ('(diverged)' if r['diverged'] else '-')}"
        typer.echo(line)
    f = s["final"]
    acc = ""
    if with_acc:
        acc = (f"; {s['benchmark']['name']} {s['benchmark']['metric']} {fnum(f['benchmark_acc'], 2)} %"
               if f["benchmark_acc"] is not None else f"; not in {s['benchmark']['name']}")
    typer.echo(f"derived architecture: {f['arch']}")
    typer.echo(f"  {f['param_free']} of {ops} operations parameter-free, {f['skip']} skip connections{acc}")
    if s["diverged"]:
        typer.echo("search diverged (non-finite loss): the checkpoint holds the last finite epoch")
    typer.echo(f"checkpoint: {s['checkpoint']}  (plot runs with: nasrank report {s['checkpoint']} ... --out DIR)")
