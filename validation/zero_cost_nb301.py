"""Validate nasrank's zero-cost proxies on NASLib's 725 NAS-Bench-301 (DARTS) cells with real CIFAR-10.

Same protocol and report as ``validation/zero_cost_nb101.py`` (whose :func:`run` this uses): every
registered proxy on one real CIFAR-10 training batch (64; nwot and gradsign 128; zen 16), train
mode, the same weight seed for every cell, at NAS-Bench-301's network size (DARTS network, C=32,
8 cells, no auxiliary head; ``--C`` narrower for a CPU-sized run), Spearman's rho with the
file's ``val_accuracy`` and with NASLib's per-cell scores. Seed 000 reports that every
zero-cost proxy falls below 0.2 on NB301 (synflow: 0.74 on NB201 -> < 0.2).

Before scoring, the script checks the NASLib key -> genotype mapping on all 725 cells: NASLib's
``params`` must equal :func:`~nasrank.benchmarks.naslib_zc_301.naslib_nb301_params` exactly.

Usage::

    nice -n 15 python validation/zero_cost_nb301.py --proxies grad_norm,snip,grasp,fisher,plain,jacob_cov,synflow,params,flops,l2_norm,nwot,gradsign,zen,jacob_cov_b128
                                                                          # C=32, the seeds' proxies, 725 cells (~30 CPU-s/cell)
    nice -n 15 python validation/zero_cost_nb301.py                       # C=32, every proxy (ntk-cond, vkdnw: minutes/cell)
    nice -n 15 python validation/zero_cost_nb301.py --C 8 --num-cells 200 # a CPU-sized run
    python validation/zero_cost_nb301.py --C 8 --report-only              # table from the cache
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _zero_cost import Setup, run  # noqa: E402  (the shared engine)

from nasrank.benchmarks.naslib_zc_301 import NB301_BUILD, NASLibNB301Benchmark, naslib_nb301_params  # noqa: E402


def check_params(bench: NASLibNB301Benchmark) -> str:
    """One line: how many of the file's ``params`` equal the NB301 parameter count exactly."""
    published = np.round(bench.scores("params") * 1e6)
    ours = np.array([naslib_nb301_params(a) for a in bench.archs()])
    ok = np.isfinite(published)
    exact = int(np.sum(published[ok] == ours[ok]))
    return (f"params check: {exact}/{int(ok.sum())} cells equal NASLib's published params exactly "
            f"(max |diff| {int(np.max(np.abs(published[ok] - ours[ok])))} parameters)")


def _setup() -> Setup:
    def load(data: Path) -> NASLibNB301Benchmark:
        bench = NASLibNB301Benchmark(data)
        if "--report-only" not in sys.argv:
            setup.notes.append(check_params(bench))
            print(setup.notes[-1], flush=True)
        return bench

    def build(space: Any, arch: tuple[int, ...], C: int) -> torch.nn.Module:
        return space.build(arch, num_classes=10, **{**NB301_BUILD, "C": C})

    setup = Setup(
        tag="zero_cost_nb301",
        title="Zero-cost proxies on NASLib's NAS-Bench-301 cells (zc_nasbench301.json), real CIFAR-10",
        load_bench=load,
        default_C=NB301_BUILD["C"],
        build=build,
        network=lambda C: f"DARTS network C={C}, {NB301_BUILD['layers']} cells, no auxiliary head, 10 classes",
        published={},
        published_note="none per proxy (seed 000: every zero-cost proxy < 0.2 on NB301)",
    )
    return setup


def main(argv: list[str] | None = None) -> int:
    return run(_setup(), argv)


if __name__ == "__main__":
    sys.exit(main())
