"""FLOPs of NAS-Bench-201 cells: nasrank versus the benchmark's counter and NASLib's published values.

1. ``space.flops`` (closed form) against the reference FLOP counter (``xautodl``'s
   ``get_model_infos``, the counter behind the benchmark's published ``flops``) run on the reference
   network, for random cells on CIFAR-10 (32x32, 10 classes) and ImageNet16-120 (16x16, 120 classes).
   Skipped if xautodl is not installed (``pip install --no-deps xautodl``).
2. ``space.flops`` against the ``flops`` that NASLib published in ``naslib_zc/zc_nasbench201.json``
   for every cell present there (NASLib's key order and op indices are converted), with the exact
   decomposition of the difference.

    python validation/nb201_flops.py [--data-dir DIR] [--cells 30]
"""

from __future__ import annotations

import argparse
import ast
import json

import numpy as np
from _common import data_dir, require

import nasrank

# NASLib key: edges (1<-0, 2<-0, 3<-0, 2<-1, 3<-1, 3<-2); ops 0 skip, 1 none, 2 conv3x3, 3 conv1x1, 4 pool
_NASLIB_EDGE_OF = [0, 1, 3, 2, 4, 5]  # NB201 edge e sits at NASLib position _NASLIB_EDGE_OF[e]
_NASLIB_OP = {0: 1, 1: 0, 2: 3, 3: 2, 4: 4}
DATASETS = {"cifar10": (32, 10), "cifar100": (32, 100), "ImageNet16-120": (16, 120)}


def from_naslib(key: str) -> tuple[int, ...]:
    t = ast.literal_eval(key)
    return tuple(_NASLIB_OP[t[_NASLIB_EDGE_OF[e]]] for e in range(6))


def reference_counter(space, n_cells: int) -> None:
    try:
        from xautodl.models.cell_infers.tiny_network import TinyNetwork
        from xautodl.models.cell_searchs.genotypes import Structure
        from xautodl.utils.flop_benchmark import get_model_infos
    except ImportError:
        print("1. SKIPPED: xautodl not installed (pip install --no-deps xautodl)\n")
        return
    worst = 0.0
    for i in range(n_cells):
        arch = space.sample(i)
        for size, classes in ((32, 10), (16, 120)):
            ref = TinyNetwork(16, 5, Structure.str2structure(space.to_str(arch)), classes)
            mflops, _ = get_model_infos(ref, (1, 3, size, size))
            ours = space.flops(arch, input_size=(3, size, size), num_classes=classes) / 1e6
            worst = max(worst, abs(ours - mflops) / mflops)
    print("1. closed form vs the reference counter on the reference network")
    print(f"   {n_cells} cells x 2 datasets: max relative difference {worst:.1e}",
          "PASS" if worst < 1e-9 else "FAIL", "\n")


def naslib(space, root) -> None:
    path = require(root / "naslib_zc" / "zc_nasbench201.json", "NASLib zero-cost scores")
    with open(path) as f:
        data = json.load(f)
    print("2. vs NASLib's published `flops` (naslib_zc/zc_nasbench201.json)")
    print("| dataset | cells | max rel. diff (benchmark conv.) | within 1% | residual after the decomposition below |")
    print("|---|---|---|---|---|")
    for ds, (size, classes) in DATASETS.items():
        rel, resid = [], []
        for key, rec in data[ds].items():
            arch = from_naslib(key)
            ours = space.flops(arch, input_size=(3, size, size), num_classes=classes)
            theirs = rec["flops"]["score"] * 1e6
            rel.append(abs(ours - theirs) / theirs)
            resid.append(theirs - naslib_model(space, arch, size, classes))
        rel, resid = np.array(rel), np.array(resid)
        print(f"| {ds} | {len(rel)} | {rel.max():.2%} | {(rel <= 0.01).mean():.0%} | "
              f"{resid.min():.0f} .. {resid.max():.0f} |")
    print(
        "\nNASLib's counter = the benchmark counter\n"
        "  + 3 per output element of every ReLU-Conv-BN (cell convolutions and the reduction blocks),\n"
        "    of the stem BN and of the final BN+ReLU (consistent with BN costing 2 and ReLU 1 per element)\n"
        "  + 9 per output element of every 3x3 cell pooling (pooling is free in the benchmark's counter)\n"
        "  + 4 per output element of the two 2x2 shortcut poolings\n"
        "  - the classifier bias additions\n"
        "  + a residual constant per input size (the last column; the same for every cell)."
    )


def naslib_model(space, arch, size: int, classes: int) -> float:
    """The decomposition of NASLib's count printed above, without the residual constant."""
    total = space.flops(arch, input_size=(3, size, size), num_classes=classes, convention="macs")
    per_op = 0
    h, extra = size, 3 * 16 * size * size  # stem BN
    for stage in range(3):
        c = 16 * 2**stage
        if stage > 0:
            h2 = h // 2
            extra += 3 * c * h2 * h2 * 2  # conv_a, conv_b ReLU-Conv-BN
            extra += 4 * (c // 2) * h2 * h2  # 2x2 shortcut pooling
            h = h2
        per_op += 5 * c * h * h
    n_conv = sum(op in (2, 3) for op in arch)
    n_pool = sum(op == 4 for op in arch)
    extra += 3 * n_conv * per_op + 9 * n_pool * per_op + 3 * 64 * h * h  # final BN + ReLU
    return total + extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--cells", type=int, default=30)
    args = parser.parse_args()
    space = nasrank.create_space("nb201")
    reference_counter(space, args.cells)
    naslib(space, data_dir(args.data_dir))


if __name__ == "__main__":
    main()
