"""Parameter counts of nasrank's NAS-Bench-101 networks versus NASLib's, on the 500 cells of
``naslib_zc/zc_nasbench101.json``.

Every key (49 adjacency entries + 7 NASLib op ids) is parsed with
:meth:`NB101Space.from_naslib`; the benchmark network (C=128, 3 stacks of 3 cells, 10 classes)
is built and its parameters counted, and the closed-form ``space.num_params`` checked against it.
Both must equal NASLib's ``params`` (millions, six decimals). ``--enumerate`` also runs the full
enumeration (``benchmarks/nb101_enumerate.py``, 423,624 unique cells).

    python validation/nb101_params.py [--data-dir DIR] [--build-limit N] [--enumerate]
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from _common import data_dir, require

import nasrank
from nasrank.nn import count_parameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--build-limit", type=int, default=None,
                        help="build (and count) only the first N networks; all get the closed form")
    parser.add_argument("--enumerate", action="store_true", help="also count the unique cells")
    args = parser.parse_args()
    torch.set_num_threads(1)
    path = require(data_dir(args.data_dir) / "naslib_zc" / "zc_nasbench101.json", "NASLib NB101 data")
    with open(path) as f:
        data = json.load(f)["nasbench101"]["cifar10"]
    space = nasrank.create_space("nb101")
    t0 = time.perf_counter()
    closed_ok = built_ok = built_n = closed_vs_built = 0
    worst = 0.0
    bad: list[str] = []
    for i, (key, rec) in enumerate(data.items()):
        arch = space.from_naslib(key)
        closed = space.num_params(arch)
        diff = abs(closed / 1e6 - float(rec["params"]))
        worst = max(worst, diff)
        closed_ok += diff < 5e-7
        if diff >= 5e-7:
            bad.append(f"  {space.to_str(arch)}: nasrank {closed}, NASLib {rec['params']} M")
        if args.build_limit is None or i < args.build_limit:
            built = count_parameters(space.build(arch))
            built_n += 1
            built_ok += abs(built / 1e6 - float(rec["params"])) < 5e-7
            closed_vs_built += built == closed
        if (i + 1) % 100 == 0:
            print(f"  {i + 1:>4}/{len(data)} cells ({time.perf_counter() - t0:.0f} s)", flush=True)
    elapsed = time.perf_counter() - t0
    n = len(data)
    print()
    print("| cells | closed form == NASLib | built == NASLib | closed form == built | max |diff| (M) | time (s) |")
    print("|---|---|---|---|---|---|")
    print(f"| {n} | {closed_ok}/{n} | {built_ok}/{built_n} | {closed_vs_built}/{built_n} | {worst:.1e} | "
          f"{elapsed:.1f} |")
    for line in bad[:5]:
        print(line)
    ok = closed_ok == n and built_ok == built_n == closed_vs_built
    if args.enumerate:
        from nasrank.spaces.nb101.enumeration import EnumerationResult, enumerate_cells

        res = EnumerationResult()
        t1 = time.perf_counter()
        count = sum(1 for _ in enumerate_cells(result=res))
        print(f"\nenumeration: {count} unique cells by graph hash, {res.total_isomorphism_classes} "
              f"isomorphism classes (expected 423624) in {time.perf_counter() - t1:.1f} s")
        ok &= count == 423_624 == res.total_isomorphism_classes
    print("RESULT:", "PASS" if ok else "FAIL")


if __name__ == "__main__":
    main()
