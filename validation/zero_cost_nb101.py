"""Validate nasrank's zero-cost proxies on NASLib's 500 NAS-Bench-101 cells with real CIFAR-10.

For the cells of NASLib's ``zc_nasbench101.json`` (in a seeded order) every registered proxy is
computed on one real CIFAR-10 training minibatch with the NB201 protocol of
``validation/zero_cost_nb201.py``: the same batch and the same weight seed for every cell, train
mode, batch 64 (128 for nwot and gradsign, 16 for zen). Reported per proxy: Spearman's rho with
NAS-Bench-101's validation accuracy (the file's ``val_accuracy``), NASLib's own published score's
rho on the same cells, the per-cell rank agreement of our scores with NASLib's, and the seed 003
Tab. 5.1 values (GradSign .449, synflow .363, NASWOT .324, grasp .315, fisher .300, grad_norm
.263, snip .189 on ~4,500 NB101 cells).

At the published width (C=128, 3 stacks of 3 cells) the seeds' proxies cost 27 CPU-s per
cell on one core (measured over the 292 distinct cells: grad_norm, snip, grasp, fisher, synflow,
nwot, gradsign, params, flops, l2_norm, zen, 2.2 CPU-h); the later proxies ntk-cond and vkdnw add
minutes. ``--C`` builds the same cells narrower and ``--num-cells`` / ``--proxies`` limit the run.
The scale is printed in the result header. Per-cell results are appended as JSON lines to
``validation/_cache/`` (one file per seed, width and process) and merged, one record per cell, into
``validation/results/zero_cost_nb101_C{C}_cells.jsonl`` (kept in git), so a run resumes where it
stopped, also on a fresh checkout; a second process with ``--reverse`` takes the cells from the
other end and skips what the first one finished. Usage::

    nice -n 15 python validation/zero_cost_nb101.py --distinct --proxies grad_norm,snip,grasp,fisher,synflow,nwot,gradsign,params,flops,l2_norm,zen
                                                                               # C=128, the seeds' proxies (done: 2.2 CPU-h)
    nice -n 15 python validation/zero_cost_nb101.py --C 16 --num-cells 100     # a CPU-sized run
    python validation/zero_cost_nb101.py --C 16 --report-only                  # table from the cache

The engine (shared with ``validation/zero_cost_nb301.py``) is ``validation/_zero_cost.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _zero_cost import Setup, run  # noqa: E402

#: Seed 003 (GradSign), Tab. 5.1: Spearman rho on ~4,500 NB101 cells, CIFAR-10, batch 64.
TAB_5_1 = {"grad_norm": 0.263, "snip": 0.189, "grasp": 0.315, "fisher": 0.300, "synflow": 0.363,
           "nwot": 0.324, "gradsign": 0.449}


def _nb101_setup() -> Setup:
    from nasrank.benchmarks.naslib_zc_101 import NASLibNB101Benchmark

    def build(space: Any, arch: tuple[int, ...], C: int) -> torch.nn.Module:
        return space.build(arch, num_classes=10, C=C, stacks=3, cells_per_stack=3)

    def load(data: Path) -> NASLibNB101Benchmark:
        bench = NASLibNB101Benchmark(data)
        archs = bench.archs()
        unique = len({bench.space.canonical_key(a) for a in archs})
        params = np.round(bench.scores("params") * 1e6)
        exact = sum(int(p == bench.space.num_params(a)) for p, a in zip(params, archs, strict=True))
        setup.notes.append(f"the file's {len(archs)} entries are {unique} distinct cells by NB101 graph hash (NASLib "
                           "sampled with repeats; a repeat's val_accuracy is another NB101 training seed); "
                           f"params check: {exact}/{len(archs)} equal NASLib's published params exactly (C=128)")
        return bench

    setup = Setup(
        tag="zero_cost_nb101",
        title="Zero-cost proxies on NASLib's NAS-Bench-101 cells (zc_nasbench101.json), real CIFAR-10",
        load_bench=load,
        default_C=128,
        build=build,
        network=lambda C: f"NB101 network C={C}, 3 stacks x 3 cells, 10 classes",
        published=TAB_5_1,
        published_note="seed 003 Tab. 5.1 (~4,500 cells, test accuracy)",
    )
    return setup


def main(argv: list[str] | None = None) -> int:
    return run(_nb101_setup(), argv)


if __name__ == "__main__":
    sys.exit(main())
