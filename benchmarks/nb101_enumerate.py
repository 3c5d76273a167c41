"""Enumerate the NAS-Bench-101 space and count its unique cells (the benchmark says 423,624).

Two ways, both timed:

* ``fast`` (default): :func:`nasrank.spaces.nb101.enumeration.enumerate_cells` — unlabelled full
  DAGs reduced to isomorphism classes first, then every labelling of each representative hashed
  with the official graph hash; labelled isomorphism classes counted exactly as well;
* ``--naive``: the benchmark's own procedure (``generate_graphs.py``): every labelled full DAG on
  2..7 vertices with <= 9 edges hashed, distinct hashes counted (about 1.3 million hashes).

With ``--canonical`` the :meth:`NB101Space.canonical` representative of every class is computed too
(checks that the 423,624 classes have 423,624 distinct representatives; slow).

    nice -n 15 python benchmarks/nb101_enumerate.py [--naive] [--canonical] [--out FILE]
"""

from __future__ import annotations

import argparse
import itertools
import platform
import time
from pathlib import Path

import numpy as np

from nasrank.spaces.nb101.encoding import _hash_labelled, canonical
from nasrank.spaces.nb101.enumeration import EnumerationResult, enumerate_cells, full_dags

EXPECTED = 423_624


def naive_count(max_vertices: int = 7) -> dict[int, int]:
    """Distinct official hashes over every labelled full DAG (the benchmark's procedure)."""
    seen: set[str] = set()
    per_n = {}
    for n in range(2, max_vertices + 1):
        before = len(seen)
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        for row in full_dags(n):
            m = np.zeros((n, n), dtype=np.int64)
            for k, (i, j) in enumerate(pairs):
                m[i, j] = row[k]
            for lab in itertools.product(range(3), repeat=n - 2):
                seen.add(_hash_labelled(m, [-1, *lab, -2]))
        per_n[n] = len(seen) - before
    return per_n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--naive", action="store_true", help="also hash every labelled full DAG")
    p.add_argument("--canonical", action="store_true", help="also compute every canonical representative")
    p.add_argument("--out", type=Path, default=None, help="also write the report to this file")
    args = p.parse_args()
    lines = [f"# NAS-Bench-101 enumeration ({platform.processor() or platform.machine()}, 1 process)", ""]
    res = EnumerationResult()
    t0 = time.perf_counter()
    cells = list(enumerate_cells(result=res))
    t_fast = time.perf_counter() - t0
    lines += ["| vertices | full DAGs | unlabelled classes | hash classes | isomorphism classes |",
              "|---|---|---|---|---|"]
    for n in sorted(res.hashes):
        lines.append(f"| {n} | {len(full_dags(n))} | {res.unlabelled[n]} | {res.hashes[n]} | "
                     f"{res.isomorphism_classes[n]} |")
    lines.append(f"| all | {sum(len(full_dags(n)) for n in res.hashes)} | {sum(res.unlabelled.values())} | "
                 f"{res.total_hashes} | {res.total_isomorphism_classes} |")
    lines += ["", f"fast enumeration: {res.total_hashes} hash classes, {res.total_isomorphism_classes} "
              f"isomorphism classes (expected {EXPECTED}) in {t_fast:.1f} s"]
    ok = res.total_hashes == EXPECTED == res.total_isomorphism_classes == len(cells)
    _emit(lines, args.out)
    if args.naive:
        t0 = time.perf_counter()
        per_n = naive_count()
        t_naive = time.perf_counter() - t0
        total = sum(per_n.values())
        lines.append(f"naive (benchmark procedure): {total} distinct hashes {per_n} in {t_naive:.1f} s")
        ok &= total == EXPECTED
        _emit(lines, args.out)
    if args.canonical:
        t0 = time.perf_counter()
        reps = {canonical(a) for a, _h in cells}
        lines.append(f"canonical representatives: {len(reps)} distinct in {time.perf_counter() - t0:.1f} s")
        ok &= len(reps) == EXPECTED
    lines.append("RESULT: " + ("PASS" if ok else "FAIL"))
    _emit(lines, args.out)


def _emit(lines: list[str], out: Path | None) -> None:
    """Print the report so far and (re)write it to ``out`` (a partial report survives a kill)."""
    text = "\n".join(lines)
    print(text, flush=True)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n")


if __name__ == "__main__":
    main()
