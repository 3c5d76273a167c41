"""Build the second learning-curve benchmark (issue 22) across sessions and machines.

The build (``validation/lc_benchmark_design.py`` gives the design; at the 10,240 training images
the pilot chose, about 25 CPU-hours of training) does not fit one sitting. Its training runs live in a results store that is not kept in git
(``benchmarks/_cache/nb201-lc1000.sqlite``); what is kept is plain data: gzipped JSON-lines parts
under ``benchmarks/results/nb201-lc1000-records/``, each holding the runs the parts before it
did not. This script

1. imports every committed part into the store (a part already there adds nothing), so a fresh
   machine retrains none of them;
2. runs the build (``nasrank bench build``, resumable; ``--workers`` processes at 1 thread), until
   it finishes or is stopped (Ctrl-C: every finished run is already in the store);
3. exports the runs no part holds yet as the next part (nothing when there are none). A build
   killed from outside exports nothing: run ``--export-only`` then, before the machine goes.

When the build has finished, the benchmark directory is written to ``--out`` (default
``benchmarks/_cache/nb201-lc1000``), ready to be copied into the package.

Usage::

    nice -n 10 python validation/lc_benchmark_build.py [--workers 2]   # build; export at the end
    python validation/lc_benchmark_build.py --export-only                # after a stopped build
    python validation/lc_benchmark_build.py --status                     # runs per part and in the store
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, data_dir  # noqa: E402

STORE = REPO / "benchmarks" / "_cache" / "nb201-lc1000.sqlite"
PARTS = REPO / "benchmarks" / "results" / "nb201-lc1000-records"
OUT = REPO / "benchmarks" / "_cache" / "nb201-lc1000"


def build_command(data: Path, workers: int, out: Path) -> list[str]:
    """The design's build (``lc_benchmark_design.py``), with this machine's data directory.

    Paths are relative to the repository (the command runs there), so the ``build_command`` that
    ``benchmark.json`` records names no machine's directories.
    """
    return ["nasrank", "bench", "build", "--out", rel(out), "--name", "nb201-lc1000", "--space", "nb201",
            "--C", "8", "--N", "1", "--dataset", "cifar10", "--data-dir", rel(data), "--image-size", "16",
            "--train-size", "10240", "--val-size", "1024", "--archs", "1000", "--arch-seed", "1", "--epochs", "40",
            "--batch-size", "128", "--seeds", "0,1:200", "--store", rel(STORE), "--executor", "processes",
            "--workers", str(workers), "--threads", "1", "--minibatch-dtype", "float16", "--quiet"]


def rel(path: Path) -> str:
    return os.path.relpath(Path(path).resolve(), REPO)


def parts() -> list[Path]:
    return sorted(PARTS.glob("part-*.jsonl.gz"))


def run(cmd: list[str]) -> int:
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=REPO)


def export_new() -> int:
    """Export the store's runs that no part holds as the next part; 0 records: no file."""
    if not STORE.exists():
        print(f"no store at {STORE}: nothing to export")
        return 0
    PARTS.mkdir(parents=True, exist_ok=True)
    old = parts()
    nums = [int(m.group(1)) for p in old if (m := re.search(r"part-(\d+)", p.name))]
    new = PARTS / f"part-{(max(nums) + 1 if nums else 1):02d}.jsonl.gz"
    cmd = ["nasrank", "store", "export", str(STORE), str(new)]
    for p in old:
        cmd += ["--skip", str(p)]
    rc = run(cmd)
    if rc == 0 and new.exists():
        from nasrank.store import read_records

        n = sum(1 for _ in read_records(new))
        if n == 0:
            new.unlink()
            print("no new runs since the last part: nothing written")
        else:
            print(f"{new.relative_to(REPO)}: {n} runs, {new.stat().st_size / 1e6:.2f} MB (commit it)")
    return rc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--export-only", action="store_true", help="only export the runs no part holds yet")
    ap.add_argument("--status", action="store_true", help="print the parts and the store's counts")
    args = ap.parse_args(argv)
    STORE.parent.mkdir(parents=True, exist_ok=True)
    if args.status:
        for p in parts():
            print(f"{p.relative_to(REPO)}: {p.stat().st_size / 1e6:.2f} MB")
        return run(["nasrank", "store", "info", str(STORE)]) if STORE.exists() else 0
    if args.export_only:
        return export_new()
    data = data_dir(args.data_dir)
    if not (data / "cifar10").is_dir():
        print(f"SKIPPED: CIFAR-10 not found under {data}. Pass --data-dir or set NASRANK_DATA.")
        return 0
    if parts():
        rc = run(["nasrank", "store", "import", str(STORE), *map(str, parts())])
        if rc != 0:
            return rc
    try:
        rc = run(build_command(data, args.workers, args.out))
    except KeyboardInterrupt:
        rc = 130
    export_new()
    if rc == 0:
        print(f"benchmark written to {args.out}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
