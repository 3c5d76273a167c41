"""Published MobileNet-like networks expressed in nasrank's ``mobilenet`` space: parameter counts
and FLOPs against the published values (ImageNet head: 1000 classes, 224 x 224 input).

For each network of :data:`nasrank.spaces.mobilenet.PUBLISHED` (ProxylessNAS-GPU / -CPU / -Mobile /
-Mobile-1.4 and MobileNetV2) the architecture string is parsed, the network is built with its
width preset, its parameters are counted (and the closed form ``space.num_params`` checked
against the count), one 224 x 224 forward pass checks the logits shape, and the closed-form
FLOPs (ProxylessNAS's counter: convolution and classifier multiply-accumulates) are compared with
the published figure. Provenance of every published number: the docstring of
``nasrank/spaces/mobilenet/published.py``. Also printed: the size of the space, the parameter
range of the space at the default (ProxylessNAS-GPU) widths, and the size of Zero-Cost-PT's
supernet (seed 004 §5.3).

    python validation/mobilenet_space.py [--no-forward]
"""

from __future__ import annotations

import argparse
import time

import torch

import nasrank
from nasrank.nn import count_parameters
from nasrank.spaces.mobilenet import PUBLISHED, WIDTH_PRESETS
from nasrank.spaces.mobilenet.encoding import FIRST_OF_STAGE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-forward", action="store_true", help="skip the 224 x 224 forward passes")
    args = parser.parse_args()
    torch.set_num_threads(1)
    space = nasrank.create_space("mobilenet")
    t0 = time.perf_counter()
    ok = True
    print("| network | widths (stem, first, stages, mix) | params built | closed form | published | diff "
          "| FLOPs (M) | published (M) | logits |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, net_info in PUBLISHED.items():
        arch = space.from_str(net_info.arch_str)
        assert space.to_str(arch) == net_info.arch_str
        torch.manual_seed(0)
        net = space.build(arch, num_classes=1000, widths=net_info.widths).eval()
        built = count_parameters(net)
        closed = space.num_params(arch, num_classes=1000, widths=net_info.widths)
        flops = space.flops(arch, (3, 224, 224), num_classes=1000, widths=net_info.widths) / 1e6
        shape = "-"
        if not args.no_forward:
            with torch.no_grad():
                shape = "x".join(map(str, net(torch.randn(1, 3, 224, 224)).shape))
        pub = net_info.params
        diff = "-" if pub is None else f"{built - pub:+d}"
        pub_flops = "-" if net_info.flops_m is None else f"{net_info.flops_m:.1f}"
        print(f"| {name} | {','.join(map(str, WIDTH_PRESETS[net_info.widths]))} | {built:,} | {closed:,} | "
              f"{'-' if pub is None else f'{pub:,}'} ({net_info.params_rounded_m} M) | {diff} | {flops:.1f} | "
              f"{pub_flops} | {shape} |")
        ok &= built == closed and (pub is None or built == pub)
        if net_info.flops_m is not None and name != "mobilenetv2":  # MobileNetV2's "300 M" is rounded
            ok &= abs(flops - net_info.flops_m) < 0.05
    print()
    for name, net_info in PUBLISHED.items():
        a = net_info.arch
        print(f"{name}: {net_info.arch_str}")
        print(f"  canonical: {space.to_str(space.canonical(a))}; source: {net_info.source}")
    print()
    smallest = tuple(1 if first else 0 for first in FIRST_OF_STAGE)
    largest = (6,) * 21
    print(f"space size: {space.size:,} (6^6 * 7^15; 21 blocks, no skip at the 6 first blocks of a stage)")
    print(f"parameter range at the default (ProxylessNAS-GPU) widths, 1000 classes: "
          f"{space.num_params(smallest, 1000) / 1e6:.2f} M (MB3_3x3 first blocks, skips elsewhere) .. "
          f"{space.num_params(largest, 1000) / 1e6:.2f} M (all MB6_7x7); seed 004 Tab. 7: Zero-Cost-PT's "
          f"networks 8.0-8.1 M")
    sn = space.supernet(num_classes=1000, **space.default_config("supernet"))
    print(f"Zero-Cost-PT supernet (widths {sn.widths}): {count_parameters(sn) - sn.alpha.numel():,} weights, "
          f"{int(sn.candidate_mask().sum())} candidate (block, op) pairs")
    print(f"\ntime: {time.perf_counter() - t0:.1f} s")
    print("RESULT:", "PASS" if ok else "FAIL")


if __name__ == "__main__":
    main()
