"""Start-up time of the ``nasrank`` command: ``--version`` and ``--help`` next to ``python -c pass``.

Each command runs as a fresh process (the console script of the active environment), ``--repeats``
times; the table prints the median and the spread. Target: ``nasrank --version`` and
``nasrank --help`` each <= 1.0 s (median of 5) on the 2-core development machine. The script also
checks that neither command imports PyTorch or NumPy (the reason a command used to take 3-4 s).

Usage::

    python benchmarks/cli_startup.py [--repeats 5] [--target 1.0]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def _time(cmd: list[str], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append(time.perf_counter() - t0)
    return out


def _heavy_modules(args: list[str]) -> list[str]:
    """Heavy modules imported when the CLI runs ``args`` in-process."""
    code = (
        "import sys\n"
        "from nasrank.cli import main\n"
        f"rc = main({args!r})\n"
        "heavy = [m for m in ('torch', 'numpy', 'scipy', 'sklearn') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    line = [ln for ln in res.stderr.splitlines() if ln.startswith("HEAVY=")][-1]
    return [m for m in line[len("HEAVY="):].split(",") if m]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--target", type=float, default=1.0, help="Seconds (median) the CLI commands may take.")
    args = ap.parse_args()
    exe = shutil.which("nasrank")
    if exe is None:
        print("the nasrank console script is not on PATH: pip install -e . first", file=sys.stderr)
        return 2
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"], None),
        ("nasrank --version", [exe, "--version"], args.target),
        ("nasrank --help", [exe, "--help"], args.target),
        ("nasrank search --help", [exe, "search", "--help"], args.target),
    ]
    print(f"{'command':<24} {'median s':>9} {'min s':>7} {'max s':>7}  target")
    ok = True
    for name, cmd, target in rows:
        ts = _time(cmd, args.repeats)
        med = statistics.median(ts)
        verdict = "" if target is None else (f"<= {target:.1f} s: " + ("PASS" if med <= target else "FAIL"))
        ok &= target is None or med <= target
        print(f"{name:<24} {med:9.3f} {min(ts):7.3f} {max(ts):7.3f}  {verdict}")
    for argv in (["--version"], ["--help"]):
        heavy = _heavy_modules(argv)
        print(f"modules loaded by nasrank {' '.join(argv)}: {', '.join(heavy) if heavy else 'none of torch/numpy/scipy/sklearn'}")
        ok &= not heavy
    print(f"({args.repeats} runs each; python {sys.version.split()[0]})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
