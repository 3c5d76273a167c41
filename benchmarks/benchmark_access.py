"""Speed of benchmark access: shipped mini-benchmark load, NB201 queries, `nasrank correlate`.

Targets (issue 5): the shipped mini-benchmark loads in < 1 s; `nasrank correlate --benchmark
nb201-mini` prints its table and writes the PNG in <= 10 s (whole command, fresh process); the
NAS-Bench-201 adapter answers a query for all 15,625 cells in < 1 s total.

    python benchmarks/benchmark_access.py [--data-dir ../shared/data] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _fresh(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=os.environ.get("NASRANK_DATA", str(REPO.parent / "shared" / "data")))
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    rows = []
    load = [_fresh("import nasrank.benchmarks as b, time; t=time.perf_counter(); "
                   "x=b.load_benchmark('nb201-mini'); x.curve(x.archs()[0]); print(time.perf_counter()-t)")
            for _ in range(args.repeats)]
    rows.append(("load nb201-mini (+1 curve), after import", min(load), 1.0))
    with tempfile.TemporaryDirectory() as tmp:
        walls = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "nasrank", "correlate", "--benchmark", "nb201-mini"],
                           cwd=tmp, capture_output=True, check=True)
            walls.append(time.perf_counter() - t0)
            assert (Path(tmp) / "nb201-mini_correlation.png").is_file()
        rows.append(("`nasrank correlate --benchmark nb201-mini` (fresh process, table + PNG)", min(walls), 10.0))
    csv = Path(args.data_dir) / "nasbench201" / "nb201_accuracy_200ep.csv"
    if csv.is_file():
        q = [_fresh(f"from nasrank.benchmarks import NB201Benchmark; import time; b=NB201Benchmark({args.data_dir!r}); "
                    "a=b.archs(); t=time.perf_counter(); [b.query(x,'test_acc','cifar10-valid') for x in a]; "
                    "print(time.perf_counter()-t)") for _ in range(args.repeats)]
        rows.append(("NB201 adapter: 15,625 single queries", min(q), 1.0))
        ld = [_fresh(f"from nasrank.benchmarks import NB201Benchmark; import time; t=time.perf_counter(); "
                     f"NB201Benchmark({args.data_dir!r}); print(time.perf_counter()-t)") for _ in range(args.repeats)]
        rows.append(("NB201 adapter: open the CSV (after import)", min(ld), float("nan")))
    else:
        print(f"NAS-Bench-201 CSV not found at {csv}: NB201 rows skipped (pass --data-dir)")
    print(f"load average {os.getloadavg()[0]:.2f}; best of {args.repeats}")
    print(f"{'measurement':<72} {'seconds':>8} {'target':>7}  verdict")
    for name, sec, target in rows:
        verdict = "" if target != target else ("OK" if sec <= target else "MISS")
        tgt = "" if target != target else f"<= {target:g}"
        print(f"{name:<72} {sec:>8.3f} {tgt:>7}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
