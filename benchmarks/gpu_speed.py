"""Speed on an accelerator: NB201 training vs the reference, proxy throughput, bench build with 1 vs 4 workers.

Runs on the device that ``--device`` names (``auto``: the first CUDA device, else the CPU) and
says plainly, at the top, when no accelerator was found: the GPU targets are then unmeasured
and the numbers are CPU numbers. Three parts (``--parts 1,2,3``):

1. **Training throughput** (images/s: forward + backward + SGD step, train mode, cross-entropy,
   random 32x32 batch of ``--batch`` images on the device) of nasrank's NAS-Bench-201 network
   (C=16, N=5, 10 classes) and of the reference network (xautodl's ``TinyNetwork`` with the same
   weights, loaded with ``strict=True``), for a few cells, in float32 and in bfloat16 autocast +
   channels-last memory layout (:func:`nasrank.execution.autocast`, as ``train(precision="bf16",
   channels_last=True)`` does). The four variants (ours / reference x fp32 / bf16+CL) are
   timed interleaved, in an order rotated every repeat, so that background load hits all alike;
   the median of ``--repeats`` is reported. Targets on a GPU: ours / reference >= 1.0 in float32,
   and ours in bf16 + channels-last >= 1.5x the reference in float32 (the reference run the same
   way, bf16 + channels-last, is shown too, without a target).
2. **Proxy throughput** (cells/s): every registered zero-cost proxy alone on the C=16 N=5 network
   on the device, at its published batch size (64 where it has none), then all of them in one
   ``compute_proxies`` call at batch 64. Only the proxy call is timed (the network is built
   before). On an accelerator a warm-up call of all proxies comes first; on the CPU (where
   first calls cost little) the process CPU time is shown too: with one torch thread it is the
   time on an idle core, whatever the machine's load.
3. **bench build throughput** (cells/s): :func:`nasrank.benchmarks.build_benchmark` training
   C=8 N=1 cells for one epoch on a small data set (CIFAR-10 at 16x16 from ``--data-dir`` /
   ``$NASRANK_DATA`` / ``../shared/data`` when present, else scikit-learn digits), with a process
   executor of 1 and then of 4 workers on the one device (``ProcessExecutor(devices=[device],
   workers_per_device=K)``, jobs on ``device="auto"``: each worker's assigned device). Each
   executor first runs an untimed warm-up build (starts the workers, loads the data); the timed
   builds train the same cells. Target on a GPU: 4 workers >= 2.5x one worker. On a CPU the
   workers share the cores, so the speed-up is bounded by the free cores.

The reference needs ``pip install --no-deps xautodl`` (used only here); without it part 1 says so
and is skipped.

Usage::

    python benchmarks/gpu_speed.py [--device auto] [--parts 1,2,3] [--quick] [--threads 1]
        [--batch N] [--repeats 5] [--cells 4] [--proxy-cells 4] [--build-cells 16]
        [--workers 4] [--data-dir DIR] [--note TEXT]
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime
import inspect
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import nasrank
from nasrank.estimators.zero_cost import proxy_info
from nasrank.exceptions import NasrankError
from nasrank.execution import autocast, device_info, release_memory, resolve_device, visible_devices

REPO = Path(__file__).resolve().parents[1]
# Cells of part 1: the all-3x3 cell (the most convolution work), a mixed cell, one with three
# ``none`` edges; random valid cells are added after these when more are asked for.
FIXED_CELLS = ((3,) * 6, (3, 1, 2, 4, 0, 2), (3, 0, 3, 0, 0, 3))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _load() -> str:
    try:
        return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # not available on this platform
        return "load average n/a"


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _accelerator_note(device: torch.device) -> str:
    if device.type != "cpu":
        return "accelerator found: the GPU targets below are measured on it"
    mps = getattr(torch.backends, "mps", None)
    if visible_devices() or (mps is not None and mps.is_available()):
        return "running on the CPU as asked (--device cpu): the GPU targets are UNMEASURED; these are CPU numbers"
    return ("NO ACCELERATOR FOUND (no CUDA / MPS device visible; torch "
            f"{'CPU-only build' if torch.version.cuda is None else 'with CUDA, but none visible'}): "
            "the GPU targets are UNMEASURED; these are CPU numbers")


def _random_cells(space, n: int, seed: int, fixed: tuple = ()) -> list[tuple[int, ...]]:
    cells = list(fixed[:n])
    rng = np.random.default_rng(seed)
    while len(cells) < n:
        a = tuple(space.sample(rng))
        if space.is_valid(a) and a not in cells:
            cells.append(a)
    return cells


# ---------------------------------------------------------------------------------------------
# Part 1: training throughput, nasrank's network vs the reference
# ---------------------------------------------------------------------------------------------

def _sgd(model: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)


def _steps(model, opt, x, y, device, precision: str, ref: bool, n: int) -> None:
    for _ in range(n):
        opt.zero_grad(set_to_none=True)
        with autocast(device, precision):
            out = model(x)
            loss = F.cross_entropy(out[1] if ref else out, y)
        loss.backward()
        opt.step()


def part_training(args, device: torch.device) -> None:
    print("\n## 1. Training throughput: nasrank NB201 network vs the reference (xautodl TinyNetwork)\n")
    try:
        from xautodl.models.cell_infers.tiny_network import TinyNetwork
        from xautodl.models.cell_searchs.genotypes import Structure
    except ImportError:
        print("SKIPPED: the reference package xautodl is not installed; run `pip install --no-deps xautodl`.")
        return
    space = nasrank.create_space("nb201")
    cells = _random_cells(space, args.cells, args.seed, FIXED_CELLS)
    g = torch.Generator().manual_seed(args.seed)
    x = torch.randn(args.batch, 3, 32, 32, generator=g).to(device)
    y = torch.randint(0, 10, (args.batch,), generator=g).to(device)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    print(f"C=16 N=5, 10 classes, batch {args.batch} x 3 x 32 x 32 on {device}; forward + backward + SGD step "
          f"(momentum 0.9, nesterov, weight decay 5e-4); {args.steps} step(s) per timing, median of "
          f"{args.repeats} interleaved repeats after {args.warmup} warm-up step(s); images/s. 'ours fp32' is the "
          "network as built (on a CPU its activations are channels-last by default); CL = channels-last weights "
          "and inputs\n")
    print("| cell | ours fp32 | ref fp32 | ours bf16+CL | ref bf16+CL | fp32 ours/ref | bf16+CL ours / ref fp32 "
          "| bf16+CL ours/ref |")
    print("|---|---|---|---|---|---|---|---|")
    r32, rbf, rsame = [], [], []
    for arch in cells:
        torch.manual_seed(args.seed)
        ours = space.build(arch, C=16, N=5, num_classes=10).to(device).train()
        ref = TinyNetwork(16, 5, Structure.str2structure(space.to_str(arch)), 10)
        ref.load_state_dict(ours.state_dict(), strict=True)
        ref = ref.to(device).train()
        ours_cl = copy.deepcopy(ours).to(memory_format=torch.channels_last)
        ours_cl.channels_last = True
        ref_cl = copy.deepcopy(ref).to(memory_format=torch.channels_last)
        # name -> (model, optimiser, input, precision, is the reference)
        variants = {
            "ours32": (ours, _sgd(ours), x, "32", False),
            "ref32": (ref, _sgd(ref), x, "32", True),
            "oursbf": (ours_cl, _sgd(ours_cl), x_cl, "bf16", False),
            "refbf": (ref_cl, _sgd(ref_cl), x_cl, "bf16", True),
        }
        for m, opt, inp, prec, is_ref in variants.values():
            _steps(m, opt, inp, y, device, prec, is_ref, args.warmup)
        _sync(device)
        times: dict[str, list[float]] = {k: [] for k in variants}
        order = list(variants)
        for rep in range(args.repeats):
            for k in order[rep % 4:] + order[:rep % 4]:
                m, opt, inp, prec, is_ref = variants[k]
                _sync(device)
                t0 = time.perf_counter()
                _steps(m, opt, inp, y, device, prec, is_ref, args.steps)
                _sync(device)
                times[k].append(time.perf_counter() - t0)
        ips = {k: args.batch * args.steps / statistics.median(v) for k, v in times.items()}
        r32.append(ips["ours32"] / ips["ref32"])
        rbf.append(ips["oursbf"] / ips["ref32"])
        rsame.append(ips["oursbf"] / ips["refbf"])
        print(f"| `{space.to_str(arch)}` | {ips['ours32']:.0f} | {ips['ref32']:.0f} | {ips['oursbf']:.0f} "
              f"| {ips['refbf']:.0f} | {r32[-1]:.2f} | {rbf[-1]:.2f} | {rsame[-1]:.2f} |", flush=True)
        del variants, ours, ref, ours_cl, ref_cl
        release_memory(device)
    print()
    on_gpu = device.type != "cpu"
    for label, rs, target in (("fp32: ours / reference", r32, 1.0),
                              ("bf16+channels-last ours / reference fp32", rbf, 1.5)):
        med = statistics.median(rs)
        verdict = ("PASS" if med >= target else "MISS") if on_gpu else f"not measured on a GPU ({device.type} only)"
        print(f"{label}: median {med:.2f}x (min {min(rs):.2f}, max {max(rs):.2f}); GPU target >= {target}x -> {verdict}")
    print(f"bf16+channels-last ours / reference bf16+channels-last: median {statistics.median(rsame):.2f}x (no target)")


# ---------------------------------------------------------------------------------------------
# Part 2: proxy throughput
# ---------------------------------------------------------------------------------------------

def part_proxies(args, device: torch.device) -> None:
    print("\n## 2. Zero-cost proxy throughput (cells/s, C=16 N=5 network)\n")
    space = nasrank.create_space("nb201")
    cells = _random_cells(space, args.proxy_cells, args.seed + 1)
    names = nasrank.list_proxies()
    g = torch.Generator().manual_seed(args.seed)
    sizes = sorted({proxy_info(n)["batch_size"] or 64 for n in names} | {64})
    data = {b: (torch.randn(b, 3, 32, 32, generator=g).to(device), torch.randint(0, 10, (b,), generator=g).to(device))
            for b in sizes}
    nets = []
    for a in cells:
        torch.manual_seed(args.seed)
        nets.append(space.build(a, C=16, N=5, num_classes=10).to(device))
    on_cpu = device.type == "cpu"
    print(f"{len(cells)} random cells on {device}; each proxy alone at its published batch size (64 where none); "
          "time of the compute_proxies call only"
          + ("; on the CPU also the process CPU time (one thread: the time it would take on an idle core)"
             if on_cpu else ", after one warm-up call of all proxies") + "\n")
    if not on_cpu:  # first-call costs (allocator, kernel selection) are not timed
        t0 = time.perf_counter()
        nasrank.compute_proxies(nets[0], data[64], names)
        _sync(device)
        print(f"(warm-up, all proxies on one cell: {time.perf_counter() - t0:.2f} s)\n")

    def timed(net, batch, which) -> tuple[float, float]:
        _sync(device)
        t0, c0 = time.perf_counter(), time.process_time()
        nasrank.compute_proxies(net, batch, which)
        _sync(device)
        return time.perf_counter() - t0, time.process_time() - c0

    cpu_cols = " cpu s per cell | cells/s (cpu time) |" if on_cpu else ""
    print("| proxy | batch | s per cell (median) | cells/s |" + cpu_cols)
    print("|---|---|---|---|" + ("---|---|" if on_cpu else ""))

    def row(label: str, b: int, ts: list[tuple[float, float]]) -> tuple[float, float]:
        wall, cpu = [t[0] for t in ts], [t[1] for t in ts]
        extra = f" {statistics.median(cpu):.3f} | {len(cpu) / max(sum(cpu), 1e-9):.2f} |" if on_cpu else ""
        print(f"| {label} | {b} | {statistics.median(wall):.3f} | {len(wall) / sum(wall):.2f} |" + extra, flush=True)
        return statistics.median(wall), statistics.median(cpu)

    rows = []
    for n in names:
        b = proxy_info(n)["batch_size"] or 64
        rows.append(row(n, b, [timed(net, data[b], [n]) for net in nets]))
    row(f"all {len(names)} in one call", 64, [timed(net, data[64], names) for net in nets])
    alone = sum(r[0] for r in rows)
    other = sorted(n for n in names if (proxy_info(n)["batch_size"] or 64) != 64)
    print(f"\nevery proxy alone at its published batch size, one call each: {alone:.2f} s per "
          f"cell ({1 / alone:.3f} cells/s). The one-call row runs every proxy at batch 64, "
          f"so {', '.join(other)} do different work there than in their own rows: it is not a sharing "
          "ratio (benchmarks/proxy_speed.py measures that at one batch size).")
    del nets, data
    release_memory(device)


# ---------------------------------------------------------------------------------------------
# Part 3: bench build throughput, 1 vs 4 workers on one device
# ---------------------------------------------------------------------------------------------

def _data_spec(args):
    from nasrank.data import DataSpec

    root = args.data_dir
    if root is not None and (Path(root) / "cifar10" / "cifar-10-batches-py" / "test_batch").exists():
        return DataSpec("cifar10", root=str(root), image_size=16, train_size=args.build_train_size,
                        val_size=256, test_size=256), "CIFAR-10 at 16x16"
    print(f"(CIFAR-10 not found under {root}; using scikit-learn digits, 8x8, instead)")
    return DataSpec("digits", train_size=min(args.build_train_size, 1000), val_size=256, test_size=256), "digits 8x8"


def _executor(workers: int, device: torch.device, threads: int):
    from nasrank.execution import ProcessExecutor

    if "workers_per_device" in inspect.signature(ProcessExecutor).parameters:
        return ProcessExecutor(threads=threads, devices=[str(device)], workers_per_device=workers), True
    return ProcessExecutor(workers=workers, threads=threads), False


def part_build(args, device: torch.device) -> None:
    from nasrank.benchmarks import BuildConfig, build_benchmark
    from nasrank.training import TrainConfig

    print(f"\n## 3. bench build throughput: C=8 N=1 cells, 1 epoch, 1 vs {args.workers} workers on {device}\n")
    data, data_name = _data_spec(args)
    has_device = "device" in {f.name for f in dataclasses.fields(BuildConfig)}
    train = TrainConfig(epochs=1, batch_size=128)

    def config(archs: int, arch_seed: int) -> BuildConfig:
        kw = {"device": "auto"} if has_device else {}
        return BuildConfig("nb201", space_config={"C": 8, "N": 1}, data=data, train=train, archs=archs,
                           arch_seed=arch_seed, **kw)

    print(f"data: {data_name}, {data.train_size} training / 256 validation / 256 test images; batch 128; "
          f"{args.build_cells} cells per timed build; {args.threads} torch thread(s) per worker")
    if not has_device:
        print(f"NOTE: BuildConfig has no `device` field in this nasrank: the jobs run on the CPU, not on {device}")
    results: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="gpu_speed_") as tmp:
        for workers in (1, args.workers):
            ex, assigned = _executor(workers, device, args.threads)
            if not assigned:
                print(f"NOTE: ProcessExecutor has no devices= / workers_per_device= yet: {workers} plain workers")
            recorded: set[str] = set()
            statuses: dict[str, int] = {}

            def on_record(rec, recorded=recorded, statuses=statuses) -> None:
                recorded.add(str((rec.info or {}).get("device", "not recorded")))
                statuses[rec.status] = statuses.get(rec.status, 0) + 1

            try:
                t0 = time.perf_counter()
                build_benchmark(config(max(2, workers), 1000 + workers), Path(tmp) / f"warm{workers}",
                                executor=ex, progress=False)
                warm = time.perf_counter() - t0
                t0 = time.perf_counter()
                build_benchmark(config(args.build_cells, 0), Path(tmp) / f"timed{workers}", executor=ex,
                                progress=False, on_record=on_record)
                dt = time.perf_counter() - t0
            finally:
                ex.shutdown()
            results[workers] = args.build_cells / dt
            print(f"{workers} worker(s): {args.build_cells} cells in {dt:.1f} s = {results[workers]:.2f} cells/s "
                  f"(warm-up build incl. worker start: {warm:.1f} s; device recorded: {', '.join(sorted(recorded))}; "
                  f"status: {', '.join(f'{k} {v}' for k, v in sorted(statuses.items()))})",
                  flush=True)
    speedup = results[args.workers] / results[1]
    on_gpu = device.type != "cpu"
    verdict = ("PASS" if speedup >= 2.5 else "MISS") if on_gpu else (
        f"not measured on a GPU (CPU with {os.cpu_count()} cores shared by the workers)")
    print(f"\n{args.workers} workers / 1 worker: {speedup:.2f}x; GPU target >= 2.5x -> {verdict}")


# ---------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (auto: the first GPU, else the CPU)")
    ap.add_argument("--parts", default="1,2,3", help="comma list of the parts to run (1 training, 2 proxies, 3 build)")
    ap.add_argument("--quick", action="store_true", help="fewer cells and repeats (a few minutes on a CPU)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (main process and each build worker)")
    ap.add_argument("--batch", type=int, default=None, help="part 1 batch (default 256, the NB201 protocol; 64 on a CPU)")
    ap.add_argument("--repeats", type=int, default=None, help="part 1 repeats (default 5; --quick 3)")
    ap.add_argument("--steps", type=int, default=None, help="part 1 steps per timing (default 20 on a GPU, 1 on a CPU)")
    ap.add_argument("--cells", type=int, default=None, help="part 1 cells (default 4; --quick 2)")
    ap.add_argument("--proxy-cells", type=int, default=None, help="part 2 cells per proxy (default 4; --quick 2)")
    ap.add_argument("--build-cells", type=int, default=None, help="part 3 cells per timed build (default 32; --quick 8)")
    ap.add_argument("--build-train-size", type=int, default=None, help="part 3 training images (default 2048; --quick 1024)")
    ap.add_argument("--workers", type=int, default=4, help="part 3 workers compared with one worker")
    ap.add_argument("--data-dir", default=os.environ.get("NASRANK_DATA", str(REPO.parent / "shared" / "data")),
                    help="directory holding cifar10/ (default: $NASRANK_DATA, else ../shared/data)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cudnn-benchmark", action="store_true", help="set torch.backends.cudnn.benchmark (both networks)")
    ap.add_argument("--note", default=None, help="a line printed in the header (e.g. the machine's load)")
    args = ap.parse_args(argv)
    try:
        parts = {int(p) for p in args.parts.split(",") if p.strip()}
    except ValueError:
        parts = set()
    if not parts or not parts <= {1, 2, 3}:
        print(f"error: --parts takes a comma list of 1, 2, 3, got {args.parts!r}", file=sys.stderr)
        return 2
    try:
        device = resolve_device(args.device)
    except NasrankError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    on_cpu = device.type == "cpu"
    q = args.quick
    args.batch = args.batch or (64 if on_cpu else 256)
    args.repeats = args.repeats or (3 if q else 5)
    args.steps = args.steps or (1 if on_cpu else (10 if q else 20))
    args.warmup = 1 if on_cpu else 3
    args.cells = args.cells or (2 if q else 4)
    args.proxy_cells = args.proxy_cells or (2 if q else 4)
    args.build_cells = args.build_cells or (8 if q else 32)
    args.build_train_size = args.build_train_size or (1024 if q else 2048)
    torch.set_num_threads(args.threads)
    if args.cudnn_benchmark:
        torch.backends.cudnn.benchmark = True
    info = device_info(device)
    try:
        import xautodl  # noqa: F401
        ref_version = "xautodl installed"
    except ImportError:
        ref_version = "xautodl NOT installed (part 1 skipped)"
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"# nasrank GPU speed benchmark — {now}")
    print(f"command: python benchmarks/gpu_speed.py {shlex.join(sys.argv[1:] if argv is None else argv)}")
    print(f"machine: {platform.system()} {platform.machine()}, {_cpu_name()}, {os.cpu_count()} CPU cores; {_load()}")
    print(f"device: {info['device']} ({info['device_name']})")
    print(f"  -> {_accelerator_note(device)}")
    print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), nasrank {nasrank.__version__}, python "
          f"{platform.python_version()}, {torch.get_num_threads()} torch thread(s), {ref_version}"
          + (" ; --quick" if q else ""))
    if args.note:
        print(f"note: {args.note}")
    t_start = time.perf_counter()
    if 1 in parts:
        part_training(args, device)
    if 2 in parts:
        part_proxies(args, device)
    if 3 in parts:
        part_build(args, device)
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s; {_load()}")
    if on_cpu:
        print("GPU targets (fp32 >= 1.0x, bf16 >= 1.5x, 4 workers >= 2.5x): UNMEASURED (no GPU in this run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
