"""``nasrank oneshot``: train weight-sharing supernets and rank their subnets by training speed."""

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
    precision_option,
    training_interrupted,
)
from ._common import fnum as _f
from ._common import load_ground_truth as _ground_truth
from ._common import set_threads as _threads

app = typer.Typer(help="One-shot NAS: train a supernet (SPOS, FairNAS, MultiPath, Reptile, Metaprox) and "
                       "rank its subnets by TSE/SoTL after a few fine-tuning minibatches.",
                  no_args_is_help=True)




def _ints(text: str, option: str, minimum: int) -> list[int]:
    try:
        vals = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"{option} must be comma-separated ints such as 100,200,300; got {text!r}") from None
    if not vals or any(v < minimum for v in vals):
        raise ConfigError(f"{option} needs ints >= {minimum}; got {text!r}")
    return sorted(set(vals))


@app.command("train")
def train_cmd(
    space: str = typer.Option("nb201", "--space", "-s", help="A space with a weight-sharing supernet (nb201, darts)."),
    method: str = typer.Option("spos", "--method", "-m",
                               help="spos, fairnas, multipath, reptile, metaprox, multipath+metaprox."),
    out: Path = typer.Option(..., "--out", "-o", help="Checkpoint file (.safetensors); written after every epoch, "  # noqa: B008
                                                      "and an existing one of the same run is resumed."),
    dataset: str = typer.Option("digits", "--dataset", "-d", help="digits (offline), cifar10, cifar100, mnist, ..."),
    data_dir: str = typer.Option(None, "--data-dir", help="Dataset root (default $NASRANK_DATA)."),
    image_size: int = typer.Option(None, "--image-size", min=1, help="Downsample images to this side."),
    train_size: int = typer.Option(None, "--train-size", min=1, help="Training examples (default: all not used for validation)."),
    val_size: int = typer.Option(300, "--val-size", min=0, help="Validation examples held out of the training part (for ranking)."),
    epochs: int = typer.Option(50, "--epochs", min=1, help="Supernet training epochs."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Minibatch size."),
    lr: float = typer.Option(None, "--lr", help="Initial learning rate (default: the method's, 0.025; cosine to --eta-min)."),
    eta_min: float = typer.Option(0.001, "--eta-min", min=0.0, help="Final learning rate of the cosine schedule."),
    param: list[str] = typer.Option(None, "--param", help="Method parameter key=value (repeatable, e.g. --param k=4)."),  # noqa: B008
    config: list[str] = config_option(),  # noqa: B008
    C: int = C_option(),  # noqa: B008
    N: int = N_option(),  # noqa: B008
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the weights, path draws and data order."),
    threads: int = typer.Option(1, "--threads", min=1, help="Torch CPU threads."),
    device: str = device_option(),
    precision: str = precision_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Train a supernet with a one-shot method; re-running the same command resumes from --out.

    The resumed run may use any --device; its --precision must be the one the supernet was trained in.
    """
    from ..data import DataSpec
    from ..execution import resolve_device, resolve_precision
    from ..oneshot import (
        SUPERNET_METHODS,
        SupernetTrainConfig,
        create_supernet_method,
        train_supernet,
    )
    from ..search import parse_assignments
    from ..spaces import SPACES

    dev = resolve_device(device)  # --device cuda without CUDA: one line, before anything is read or written
    precision = resolve_precision(precision)
    sp = SPACES.get(space)()
    cls = SUPERNET_METHODS.get(method)  # an unknown name: one line with the known ones
    if not cls.supports_precision(precision):
        raise ConfigError(f"method {method!r} cannot train in --precision {precision} (no loss scaling for its "
                          "updates): use --precision bf16")
    if cls.needs_validation or hasattr(cls, "arch_weights"):  # trains a mixture, not paths
        raise ConfigError(f"method {method!r} is a differentiable architecture search, not one-shot "
                          f"path training; run it with: nasrank darts --method {method}")
    params = parse_assignments(param, "--param", "k=4")
    if lr is not None:
        if not (math.isfinite(lr) and lr > 0):
            raise ConfigError(f"--lr must be a number > 0, got {lr}")
        params["lr"] = lr
    build = {**sp.default_config("search"), **parse_assignments(config, "--config", "C=8", C=C, N=N)}
    spec = DataSpec(dataset, root=data_dir, image_size=image_size, train_size=train_size, val_size=val_size,
                    test_size=0, seed=0)
    tcfg = SupernetTrainConfig(epochs=epochs, batch_size=batch_size, eta_min=eta_min)
    if out.exists() and out.is_dir():
        raise ConfigError(f"--out {out} is a directory; give a checkpoint file such as {out}/supernet.safetensors")
    train, _, _ = spec.load()  # missing data fails here, before anything is built
    m = create_supernet_method(method, sp, seed=seed, supernet_config=build, num_classes=train.num_classes,
                               in_channels=train.images.shape[1], **params)
    if batch_size > len(train):
        raise ConfigError(f"--batch-size {batch_size} exceeds the {len(train)} training images; lower it")
    _threads(threads)
    try:
        res = train_supernet(m, train, tcfg, checkpoint=out, data_key=spec.key(), progress=not quiet, device=dev,
                             precision=precision)
    except KeyboardInterrupt as exc:
        training_interrupted(exc, out)
    last = res.history[-1] if res.history else {}
    summary = {"checkpoint": str(out), "method": m.name, "space": sp.name, "supernet_config": build,
               "epochs": len(res.history), "resumed_from": res.resumed_from, "final_loss": last.get("loss"),
               "diverged": res.diverged, "seconds": sum(h.get("seconds", 0.0) for h in res.history),
               "precision": res.precision, **res.device}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        how = f" (resumed after epoch {res.resumed_from})" if res.resumed_from else ""
        typer.echo(f"{m.name} supernet on {sp.name} {build}: {summary['epochs']} epochs{how}, final training loss "
                   f"{_f(summary['final_loss'])}, {summary['seconds']:.1f} s of training")
        if res.diverged:
            typer.echo("training diverged (non-finite loss): the checkpoint holds the last finite epoch")
        typer.echo(f"checkpoint: {out}")
    if res.diverged:
        raise typer.Exit(1)


@app.command("rank")
def rank_cmd(
    checkpoint: Path = typer.Argument(..., help="A supernet checkpoint written by `nasrank oneshot train`."),  # noqa: B008
    subnets: int = typer.Option(200, "--subnets", "-n", min=1, help="Subnets ranked (the benchmark's cells when it has "
                                                                     "few, else a seeded sample)."),
    arch: list[str] = typer.Option(None, "--arch", help="Rank these architectures (repeatable) instead of a sample."),  # noqa: B008
    estimators: str = typer.Option("tse,val_acc,sovl,tl-mini", "--estimators", "-e",
                                   help="Subnet estimators: tse, tse-e, tse-ema, sovl, val_acc, val_loss, tl-mini, "
                                        "val_acc_mini."),
    budgets: str = typer.Option("100", "--B", help="Fine-tuning minibatches, comma-separated (e.g. 100,200,300; 0 = "
                                                   "the inherited weights only)."),
    benchmark: str = typer.Option(None, "--benchmark", help="Ground truth: nb201, nb201-mini, or a benchmark directory."),
    metric: str = typer.Option("test_acc", "--metric", help="Ground-truth metric of the benchmark."),
    gt_dataset: str = typer.Option("cifar10", "--gt-dataset", help="Ground-truth dataset of a multi-dataset benchmark."),
    data_dir: str = typer.Option(None, "--data-dir", help="Data directory of the training data and the benchmark."),
    lr: float = typer.Option(0.001, "--lr", help="Fine-tuning learning rate (constant)."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Fine-tuning minibatch size."),
    top: int = typer.Option(10, "--top", min=1, help="Top-k of each estimator whose mean ground truth is reported."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the subnet sample and of the fine-tuning data order."),
    cache: Path = typer.Option(None, "--cache", help="JSON-lines file of finished subnets; re-running resumes."),  # noqa: B008
    executor: str = typer.Option("serial", "--executor", help="serial or processes."),
    workers: int = typer.Option(1, "--workers", min=1, help="Parallel subnet evaluations."),
    threads: int = typer.Option(1, "--threads", min=1, help="Torch threads per evaluation."),
    device: str = device_option(),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Rank subnets of a trained supernet by each estimator after B fine-tuning minibatches.

    With --benchmark: the rank correlation of every estimator with the ground truth and the mean
    ground truth of its top 10 (seed 000 Tab. 2 layout); without: each estimator's best subnets.
    """
    import numpy as np

    from ..execution import create_executor, placement, resolve_device
    from ..oneshot import (
        SUBNET_ESTIMATORS,
        FinetuneConfig,
        load_checkpoint,
        parse_subnet_estimator,
        rank_subnets,
        ranking_table,
    )
    from ..search import checkpoint_data

    resolve_device(device)  # --device cuda without CUDA: one line, before anything is read or written
    ests = list(dict.fromkeys(parse_subnet_estimator(e)[0] for e in estimators.split(",") if e.strip()))
    if not ests:
        raise ConfigError(f"--estimators needs at least one of {', '.join(SUBNET_ESTIMATORS)}")
    Bs = _ints(budgets, "--B", 0)
    if not (math.isfinite(lr) and lr > 0):
        raise ConfigError(f"--lr must be a number > 0, got {lr}")
    if executor not in ("serial", "processes"):
        raise ConfigError(f"--executor must be serial or processes, got {executor!r}")
    ck = load_checkpoint(checkpoint)  # missing / foreign / corrupted checkpoints fail here
    space = ck.method.space
    bench, gt_cfg = _ground_truth(benchmark, space, data_dir, metric, gt_dataset)
    spec = checkpoint_data(ck.train, data_dir, checkpoint)
    train, val, _ = spec.load()
    needs_val = {"val_acc", "val_loss", "sovl", "val_acc_mini"}
    if val is None and needs_val & set(ests):
        raise ConfigError(f"the supernet was trained with --val-size 0: estimators {', '.join(sorted(needs_val & set(ests)))}"
                          " need validation data; rank with tse, tse-e, tse-ema or tl-mini")
    if max(Bs) == 0 and set(ests) - {"val_acc", "val_loss"}:
        raise ConfigError("--B 0 (inherited weights) defines only val_acc and val_loss; add a B >= 1")
    rng = np.random.default_rng(seed)
    if arch:
        archs = list(dict.fromkeys(space.from_str(a) for a in arch))  # one line for a foreign architecture
        if bench is not None:
            known = set(map(tuple, bench.archs()))
            missing = [space.to_str(a) for a in archs if a not in known]
            if missing:
                raise ConfigError(f"--benchmark {benchmark} has no ground truth for {missing[0]}; leave --benchmark out "
                                  "or rank architectures it covers")
    elif bench is not None:
        pool = [tuple(a) for a in bench.archs()]
        archs = pool if len(pool) <= subnets else [pool[i] for i in sorted(rng.choice(len(pool), subnets, replace=False))]
    else:
        seen: dict[tuple, None] = {}
        tries = 0
        while len(seen) < subnets and tries < 100 * subnets:
            seen.setdefault(tuple(space.sample(rng)), None)
            tries += 1
        archs = list(seen)
    cfg = FinetuneConfig(budgets=tuple(Bs), lr=lr, batch_size=batch_size)
    _threads(threads)
    dev = device.strip().lower()
    kw: dict[str, Any] = placement(executor, dev)  # processes: the workers spread over the GPUs (if any)
    with create_executor(executor, workers=workers, threads=threads, **kw) as ex:
        try:
            results = rank_subnets(ck.method, archs, train, val, cfg, seed=seed, executor=ex, progress=not quiet,
                                   cache=cache, device=dev)
        except KeyboardInterrupt as exc:
            from ._common import Terminated

            where = (f"finished subnets are in {cache}: run the same command again to resume" if cache is not None
                     else "nothing was kept: add --cache FILE to make ranking resumable")
            typer.echo(f"Ranking {'terminated' if isinstance(exc, Terminated) else 'interrupted'}; {where}.", err=True)
            raise typer.Exit(143 if isinstance(exc, Terminated) else 130) from None
    out: dict[str, Any] = {"checkpoint": str(checkpoint), "method": ck.method.name, "space": space.name,
                           "subnets": len(results), "budgets": Bs, "estimators": ests}
    pairs = [(e, B) for B in Bs for e in ests if B > 0 or e in ("val_acc", "val_loss")]
    if bench is not None:
        gt = {}
        for r in results:
            v = bench.query(r.arch, gt_cfg["metric"], gt_cfg["dataset"])
            gt[tuple(r.arch)] = float(v)
        rows = ranking_table(results, gt, list(dict.fromkeys(e for e, _ in pairs)), sorted({B for _, B in pairs}),
                             top=top)
        order = {p: i for i, p in enumerate(pairs)}
        rows = sorted((r for r in rows if (r["estimator"], r["B"]) in order), key=lambda r: order[r["estimator"], r["B"]])
        out["ground_truth"] = {"benchmark": benchmark, **gt_cfg}
        out["table"] = rows
        if as_json:
            typer.echo(json.dumps(out, indent=2, default=str))
            return
        typer.echo(f"{ck.method.name} supernet ({space.name}), {len(results)} subnets; ground truth: {benchmark} "
                   f"{gt_cfg['metric']}{' / ' + gt_cfg['dataset'] if gt_cfg['dataset'] else ''}")
        typer.echo(f"{'B':>5}  {'estimator':<14} {'Spearman':>9} {'Kendall':>8} {f'top-{top} mean':>12}")
        for r in rows:
            typer.echo(f"{r['B']:>5}  {r['estimator']:<14} {_f(r['spearman'], 3):>9} {_f(r['kendall'], 3):>8} "
                       f"{_f(r[f'top{top}_acc'] if f'top{top}_acc' in r else r.get('top_acc'), 4):>12}")
        return
    best = {}
    for e, B in pairs:
        vals = np.array([r.value(e, B) for r in results], dtype=float)
        order = np.argsort(-np.where(np.isfinite(vals), vals, -np.inf))[:top]
        best[f"{e}@B={B}"] = [{"arch": space.to_str(results[i].arch), "value": float(vals[i])} for i in order]
    out["best"] = best
    if as_json:
        typer.echo(json.dumps(out, indent=2, default=str))
        return
    typer.echo(f"{ck.method.name} supernet ({space.name}), {len(results)} subnets (no --benchmark: best by each "
               f"estimator)")
    for name, rows in best.items():
        typer.echo(f"{name}: best {rows[0]['arch']} ({rows[0]['value']:.4g})")


@app.command("info")
def info_cmd(
    checkpoint: Path = typer.Argument(..., help="A supernet checkpoint."),  # noqa: B008
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """What a supernet checkpoint holds: method, space, configuration, data, training history."""
    from ..oneshot import read_checkpoint_info

    info = read_checkpoint_info(checkpoint)
    if as_json:
        typer.echo(json.dumps(info, indent=2, default=str))
        return
    m = info.get("method", {})
    tr = info.get("train", {})
    hist = tr.get("history", [])
    typer.echo(f"{checkpoint}: {m.get('name')} supernet of {m.get('space')} {m.get('supernet_config')}, seed {m.get('seed')}")
    typer.echo(f"data: {tr.get('data')}")
    typer.echo(f"epochs done: {tr.get('epochs_done', len(hist))} of {(tr.get('config') or {}).get('epochs')}")
    typer.echo(f"precision: {tr.get('precision', '32')}; last trained on: {tr.get('device', 'unknown')}"
               + (f" ({tr['device_name']})" if tr.get("device_name") else ""))
    if hist:
        typer.echo(f"last epoch: loss {_f(hist[-1].get('loss'))}, lr {_f(hist[-1].get('lr'), 5)}")
