"""The NAS-Bench-201 networks: the macro skeleton and the cell compiled from an architecture.

:func:`~nasrank.spaces.nb201.NB201Space.build` returns the benchmark's network (C=16, N=5 by
default) with the exact parameter set of the reference implementation: bias-free convolutions,
affine BatchNorm with running statistics, average pooling that ignores padded zeros. Its cells
run a plan compiled from the architecture that computes only what can affect the output:

* ``none`` edges are left out of the node sums instead of adding ``x * 0``;
* nodes whose every outgoing edge is ``none`` (or leads only to such nodes) are not computed;
* a node that is identically zero (all its inputs are ``none``, or skip/pool of a zero node) is
  not materialised; a convolution applied to it reduces to BatchNorm of zeros, which is computed
  exactly on a two-element tensor and broadcast (in train mode it equals the BN shift ``beta``);
* ReLUs applied to the same node by several convolutions are computed once;
* when the whole cell output is identically zero the network skips every layer before the head.

The logits equal the reference network's in train and eval mode. What differs, and cannot affect
any output: BatchNorm running statistics of skipped (dead) operations are not updated, and their
parameters receive no gradient (``.grad`` stays ``None`` rather than zero).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

import torch
from torch import nn

from ...nn.ops import AvgPool3x3, Identity, ReLUConvBN, ResNetBasicBlock, Zero, avg_pool_3x3
from .encoding import CONV1, CONV3, EDGES, NONE, NUM_NODES, POOL, SKIP, Arch, to_str

__all__ = ["NB201Network", "NB201Cell", "make_op"]


# kinds of terms in a compiled cell plan
_IDENT, _POOL, _CONV, _BN_OF_ZERO = range(4)


def _analyse(arch: Arch) -> tuple[list[bool], list[bool]]:
    """(zero, live) flags per node: ``zero`` = identically zero, ``live`` = can reach the output."""
    zero = [False] * NUM_NODES
    for k in range(1, NUM_NODES):
        zero[k] = all(
            arch[e] == NONE or (zero[j] and arch[e] in (SKIP, POOL))
            for e, (d, j) in enumerate(EDGES)
            if d == k
        )
    live = [False] * NUM_NODES
    live[NUM_NODES - 1] = True
    for j in range(NUM_NODES - 2, -1, -1):
        live[j] = any(arch[e] != NONE and live[d] for e, (d, s) in enumerate(EDGES) if s == j)
    return zero, live


@cache
def _compile_plan(arch: Arch) -> tuple[tuple[tuple[int, tuple[tuple[int, int, int], ...]], ...], bool]:
    """Compile the cell's forward plan: per computed node, its (edge, source, kind) terms."""
    zero, live = _analyse(arch)
    plan = []
    for k in range(1, NUM_NODES):
        if not live[k] or zero[k]:
            continue
        terms = []
        for e, (d, j) in enumerate(EDGES):
            op = arch[e]
            if d != k or op == NONE:
                continue
            if zero[j]:
                if op in (CONV1, CONV3):
                    terms.append((e, j, _BN_OF_ZERO))
                continue  # skip / pool of zeros is zero
            kind = {SKIP: _IDENT, POOL: _POOL}.get(op, _CONV)
            terms.append((e, j, kind))
        plan.append((k, tuple(terms)))
    return tuple(plan), zero[NUM_NODES - 1]


class NB201Cell(nn.Module):
    """One NAS-Bench-201 cell (4 nodes, 6 edges) with ``C`` channels at stride 1.

    ``layers[e]`` is the operation on edge ``e`` (official order), as in the reference.

    Args:
        arch: Six operation indices.
        C: Channels.
        affine: BatchNorm affine parameters (the benchmark uses True).
        track_running_stats: BatchNorm running statistics (the benchmark uses True).

    Example:
        >>> cell = NB201Cell((3, 0, 0, 1, 0, 0), C=4)
        >>> cell(torch.randn(2, 4, 8, 8)).shape
        torch.Size([2, 4, 8, 8])
    """

    def __init__(
        self, arch: Sequence[int], C: int, affine: bool = True, track_running_stats: bool = True
    ) -> None:
        super().__init__()
        self.arch: Arch = tuple(int(a) for a in arch)
        self.layers = nn.ModuleList(
            make_op(op, C, affine, track_running_stats) for op in self.arch
        )
        self._plan, self.output_is_zero = _compile_plan(self.arch)
        self.in_dim = self.out_dim = C

    def extra_repr(self) -> str:
        return f"arch={to_str(self.arch)!r}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.output_is_zero:
            return torch.zeros_like(x)
        nodes: list[torch.Tensor | None] = [x, None, None, None]
        relu: dict[int, torch.Tensor] = {}
        for k, terms in self._plan:
            acc: torch.Tensor | None = None
            for e, j, kind in terms:
                if kind == _CONV:
                    r = relu.get(j)
                    if r is None:
                        r = relu[j] = torch.relu(nodes[j])
                    t = self.layers[e].forward_after_relu(r)
                elif kind == _IDENT:
                    t = nodes[j]
                elif kind == _POOL:
                    t = avg_pool_3x3(nodes[j])
                else:  # conv of an all-zero node: ReLU(0) = 0, conv(0) = 0 (no bias), then BN
                    bn = self.layers[e].bn
                    t = bn(x.new_zeros(1, x.shape[1], 1, 2))[:, :, :, :1].expand_as(x)
                acc = t if acc is None else acc + t
            nodes[k] = acc
        out = nodes[NUM_NODES - 1]
        assert out is not None
        if out.stride(-1) == 0:  # only a broadcast BN shift reached the output
            out = out.contiguous()
        return out


def make_op(op: int, C: int, affine: bool = True, track_running_stats: bool = True) -> nn.Module:
    """The stand-alone module of operation index ``op`` on ``C`` channels (stride 1).

    Example:
        >>> type(make_op(3, 4)).__name__
        'ReLUConvBN'
    """
    if op == NONE:
        return Zero()
    if op == SKIP:
        return Identity()
    if op == CONV1:
        return ReLUConvBN(C, C, 1, 1, 0, 1, affine, track_running_stats)
    if op == CONV3:
        return ReLUConvBN(C, C, 3, 1, 1, 1, affine, track_running_stats)
    return AvgPool3x3()


class NB201Network(nn.Module):
    """The NAS-Bench-201 macro skeleton around an arbitrary cell.

    stem (3x3 conv + BN) -> N cells (C) -> residual reduction -> N cells (2C) -> residual
    reduction -> N cells (4C) -> BN + ReLU -> global average pool -> linear. ``forward`` returns
    logits only; :meth:`forward_features` returns the pre-pooling feature map.

    Module names equal those of the benchmark's reference network (``stem``, ``cells.{i}``,
    ``lastact``, ``classifier``), so official state dicts load directly.

    Args:
        cell_factory: ``cell_factory(C)`` returns a cell mapping ``C`` to ``C`` channels at
            stride 1. A cell may define ``output_is_zero = True`` to declare that its output is
            identically zero whatever its input; the network then skips everything before the
            last cell, which cannot affect the logits.
        C: Channels of the first stage.
        N: Cells per stage.
        num_classes: Output classes.
        in_channels: Input image channels.
        channels_last: Run the body on channels-last activations. ``None`` (default) does so for
            CPU inputs, where oneDNN's channels-last convolutions made forward+backward passes
            13-36% faster in the regimes measured; parameters keep the standard layout and the
            logits are the same up to float rounding. The feature map of
            :meth:`forward_features` is then channels-last too (use ``.reshape``, not ``.view``).
            The attribute can be changed after construction.

    Example:
        >>> net = NB201Network(lambda c: Identity(), C=4, N=1)
        >>> net(torch.randn(2, 3, 8, 8)).shape
        torch.Size([2, 10])
    """

    def __init__(
        self,
        cell_factory: Callable[[int], nn.Module],
        C: int = 16,
        N: int = 5,
        num_classes: int = 10,
        in_channels: int = 3,
        channels_last: bool | None = None,
    ) -> None:
        super().__init__()
        self.C, self.N, self.num_classes, self.in_channels = C, N, num_classes, in_channels
        self.channels_last = channels_last
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, C, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(C)
        )
        self.cells = nn.ModuleList()
        c_prev = C
        for stage in range(3):
            c_cur = C * (2**stage)
            if stage > 0:
                self.cells.append(ResNetBasicBlock(c_prev, c_cur, 2, True))
            for _ in range(N):
                self.cells.append(cell_factory(c_cur))
            c_prev = c_cur
        # not in place (unlike the reference): full backward hooks on modules must keep working
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)
        self._output_is_zero = bool(getattr(self.cells[-1], "output_is_zero", False))

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        if self._output_is_zero:
            # The last cell outputs zeros whatever it is given: nothing upstream can matter.
            n, _, h, w = x.shape
            for _ in range(2):  # spatial size after the two stride-2 reductions
                h, w = (h - 1) // 2 + 1, (w - 1) // 2 + 1
            return x.new_zeros(n, self.classifier.in_features, h, w)
        use_cl = self.channels_last
        if use_cl is None:
            use_cl = x.device.type == "cpu"
        if use_cl and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        feature = self.stem(x)
        for cell in self.cells:
            feature = cell(feature)
        return feature

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map after the final BN + ReLU, before global pooling."""
        return self.lastact(self._body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.global_pooling(self.forward_features(x)).flatten(1)
        return self.classifier(out)
