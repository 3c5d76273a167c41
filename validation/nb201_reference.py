"""nasrank's NAS-Bench-201 network versus the reference implementation (xautodl ``TinyNetwork``).

For random cells (plus hand-picked edge cases: no path, conv of a zero node, dead nodes), the
reference network is built from the same architecture string, nasrank's weights are loaded into it
with ``load_state_dict(strict=True)`` (identical keys and shapes), parameters and BN running
statistics are randomised so that eval mode is not the identity, and a CIFAR-sized batch is passed
through both, in eval and in train mode, with the same (standard, NCHW) activation layout. Logits and all parameter gradients (train mode) must agree
to 1e-5 (relative to the largest
logit / the largest gradient element of the network); gradients are compared in float64.

On CPU nasrank runs its activations channels-last by default (faster), which changes the float32
rounding of the convolutions. The table therefore also shows the default layout's train-mode
difference next to the *reference network's own* difference between NCHW and channels-last
execution: the floor that float32 rounding alone produces (train-mode BN amplifies it where a
channel's batch variance is small). That pair is reported, not part of the PASS criterion.

Needs the reference package, used only here:  ``pip install --no-deps xautodl``

    python validation/nb201_reference.py [--cells 24] [--batch 16] [--seed 0]
"""

from __future__ import annotations

import argparse
import copy
import sys

import torch

import nasrank


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))  # a, b: no-grad tensors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=24, help="random cells besides the edge cases")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    try:
        from xautodl.models.cell_infers.tiny_network import TinyNetwork
        from xautodl.models.cell_searchs.genotypes import Structure
    except ImportError:
        print("SKIPPED: the reference package is not installed; run `pip install --no-deps xautodl`.")
        sys.exit(0)

    space = nasrank.create_space("nb201")
    special = [(0,) * 6, (0, 0, 0, 0, 3, 0), (3, 0, 0, 1, 0, 0), (0, 1, 3, 0, 0, 4), (3,) * 6, (4,) * 6]
    archs = special + [space.sample(args.seed * 1000 + i) for i in range(args.cells)]
    torch.manual_seed(args.seed)
    x = torch.randn(args.batch, 3, 32, 32)
    y = torch.randint(0, 10, (args.batch,))
    worst = {"eval logits": 0.0, "train logits": 0.0, "train grads": 0.0}
    worst_layout = {"default layout": 0.0, "reference NCHW vs channels-last": 0.0}
    print("| cell | eval logits | train logits | grads (float64) "
          "| train logits, nasrank default layout | reference's own NCHW vs channels-last |")
    print("|---|---|---|---|---|---|")
    for arch in archs:
        net = space.build(arch, channels_last=False)
        with torch.no_grad():
            for p in net.parameters():
                p.add_(torch.randn_like(p) * 0.1)
            for name, buf in net.named_buffers():
                if name.endswith("running_mean"):
                    buf.normal_(0, 0.2)
                elif name.endswith("running_var"):
                    buf.uniform_(0.5, 2.0)
        ref = TinyNetwork(16, 5, Structure.str2structure(space.to_str(arch)), 10)
        ref.load_state_dict(net.state_dict(), strict=True)
        net.eval()
        ref.eval()
        with torch.no_grad():
            d_eval = _rel(net(x), ref(x)[1])
        net.train()
        ref.train()
        with torch.no_grad():
            out_ref = ref(x)[1]
            d_train = _rel(net(x), out_ref)
            net.channels_last = None  # the default: channels-last on CPU
            d_default = _rel(net(x), out_ref)
            net.channels_last = False
            ref_cl = copy.deepcopy(ref).to(memory_format=torch.channels_last)
            d_ref_cl = _rel(ref_cl(x.contiguous(memory_format=torch.channels_last))[1], out_ref)
        # gradients in float64, so that rounding noise (e.g. on gradients that are exactly zero,
        # such as the BN shift of a constant map in front of a train-mode BN) cannot hide or fake
        # a semantic difference
        net.double()
        ref.double()
        out, out_ref = net(x.double()), ref(x.double())[1]
        torch.nn.functional.cross_entropy(out, y).backward()
        torch.nn.functional.cross_entropy(out_ref, y).backward()
        # gradient differences relative to the largest gradient element of the network (a
        # per-tensor ratio is meaningless where the exact gradient is 0 and both hold rounding
        # noise, e.g. the BN shift of a constant feature map in front of a train-mode BN)
        scale = max(float(q.grad.abs().max()) for q in ref.parameters() if q.grad is not None)
        d_grad = 0.0
        for p, q in zip(net.parameters(), ref.parameters(), strict=True):
            g = torch.zeros_like(p) if p.grad is None else p.grad  # skipped ops: no gradient
            g_ref = torch.zeros_like(q) if q.grad is None else q.grad
            d_grad = max(d_grad, float((g - g_ref).abs().max()) / scale)
        for key, val in zip(worst, (d_eval, d_train, d_grad), strict=True):
            worst[key] = max(worst[key], val)
        for key, val in zip(worst_layout, (d_default, d_ref_cl), strict=True):
            worst_layout[key] = max(worst_layout[key], val)
        print(f"| `{space.to_str(arch)}` | {d_eval:.1e} | {d_train:.1e} | {d_grad:.1e} "
              f"| {d_default:.1e} | {d_ref_cl:.1e} |", flush=True)
    print()
    print(f"{len(archs)} cells; worst relative difference (same layout): "
          + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))
    print("float32 layout effect, train-mode logits (reported, not judged): "
          + ", ".join(f"{k} {v:.1e}" for k, v in worst_layout.items()))
    print("RESULT:", "PASS" if max(worst.values()) <= 1e-5 else "FAIL")


if __name__ == "__main__":
    main()
