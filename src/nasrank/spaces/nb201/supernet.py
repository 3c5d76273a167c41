"""The NAS-Bench-201 supernet: the benchmark's macro skeleton with mixed-operation cells.

Every cell superposes the 5 candidates on each of its 6 edges (weights: a 6 x 5 matrix, columns in
:data:`~nasrank.spaces.nb201.OPS` order, shared by every cell as in the reference
``TinyNetworkDartsProj``). Operations with weight 0 are not executed. (Zero-Cost-PT's released
NB201 supernet still runs them on an all-zero input, which adds a constant block to the NASWOT
kernel; the paper's "removed" operation is followed here, and ``inactive_relus="count"`` in the
scorer reproduces the released code's constant exactly without running anything; see
:func:`nasrank.oneshot.supernet_score`. The released code's NASWOT hooks also read the input of
every ReLUConvBN block, whatever its weight; the cells report what those hooks would read
(``relu_tap`` / ``idle_tap``), so ``relu_hooks="released"`` in the scorer reproduces that hook
set on this supernet.)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..._validate import check_int as _check_int
from ...exceptions import InvalidArchitectureError
from ...nn.mixed import MixedOp
from ...nn.ops import AvgPool3x3, Identity, ReLUConvBN, ResNetBasicBlock, Zero, avg_pool_3x3
from ...nn.supernet import SupernetBase
from .._registries import SPACES
from .encoding import EDGES, OPS, Arch, one_hot, validate

__all__ = ["NB201Supernet", "NB201SearchCell"]

_NONE, _SKIP, _CONV1, _CONV3, _POOL = range(5)


class NB201SearchCell(nn.Module):
    """A NAS-Bench-201 cell whose 6 edges are mixed operations over the 5 NB201 candidates.

    ``layers[e]`` holds the 5 candidates of edge ``e`` (``none``, ``skip_connect``,
    ``nor_conv_1x1``, ``nor_conv_3x3``, ``avg_pool_3x3``); the convolutions are ReLUConvBN with
    ``affine``-dependent BatchNorm and **no conv bias**, as in Zero-Cost-PT's search cells. (The
    stand-alone NB201 cells use ``bias = not affine``; in a non-affine supernet that bias would
    be cancelled by train-mode BatchNorm but passes straight through the eval-mode BatchNorm of
    an untrained supernet, where it shifts every node's sign pattern and turns NASWOT-based
    operation scores upside down.) The ReLU of a node is computed once for every convolution
    reading it.

    Example:
        >>> cell = NB201SearchCell(2)
        >>> w = [[0.2] * 5] * 6
        >>> cell(torch.randn(1, 2, 4, 4), w, w).shape
        torch.Size([1, 2, 4, 4])
    """

    def __init__(self, C: int, affine: bool = False, track_running_stats: bool = True) -> None:
        super().__init__()
        self.C = C
        self.layers = nn.ModuleList(
            MixedOp(
                [Zero(), Identity(),
                 ReLUConvBN(C, C, 1, 1, 0, 1, affine, track_running_stats, bias=False),
                 ReLUConvBN(C, C, 3, 1, 1, 1, affine, track_running_stats, bias=False), AvgPool3x3()],
                names=OPS,
            )
            for _ in EDGES
        )
        self.inactive_relu_units_ = 0

    #: optional ``relu_tap(tensor, multiplicity)`` called by the fused inference path: the
    #: shared ReLU input of the ReLUConvBN candidates reading one node, with the number of them
    #: that run (nonzero weight)
    relu_tap: Any = None
    #: optional ``idle_tap(tensor, count)`` called by both forward paths for every node read by
    #: convolution candidates of weight 0 (which do not run here): the node's tensor (or its
    #: ReLU: the same sign pattern) and how many such candidates read it. Zero-Cost-PT's
    #: released supernet runs them on the real node tensor, zeroed only inside the block, so
    #: its block-level NASWOT hook reads this tensor once per such candidate
    #: (:func:`nasrank.oneshot.supernet_score` with ``relu_hooks="released"``).
    idle_tap: Any = None

    def forward(self, x: torch.Tensor, rows: Sequence[Sequence[float]], coef: Any) -> torch.Tensor:
        if not self.training and not torch.is_grad_enabled() and not isinstance(coef[0][0], torch.Tensor):
            return self._forward_fused(x, rows)
        acc: list[torch.Tensor | None] = [x, None, None, None]
        inactive = 0
        units = x.shape[1] * x.shape[2] * x.shape[3]
        # source-major order: every op reading node j runs right after node j is complete
        for j in range(3):
            src = acc[j]
            if src is None:  # every input of node j is none/removed: the node is zero
                src = acc[j] = torch.zeros_like(x)
            relu: torch.Tensor | None = None
            idle = 0
            for e, (d, s) in enumerate(EDGES):
                if s != j:
                    continue
                ops = self.layers[e].ops
                for o in (_SKIP, _CONV1, _CONV3, _POOL):
                    w = rows[e][o]
                    if w == 0:
                        if o in (_CONV1, _CONV3):
                            inactive += units
                            idle += 1
                        continue
                    if o == _SKIP:
                        t = ops[o](src)  # the Identity module: forward hooks (e.g. dropout) apply
                    elif o == _POOL:
                        t = avg_pool_3x3(src)
                    else:
                        if relu is None:
                            relu = torch.relu(src)
                        t = ops[o].forward_after_relu(relu)
                    c = coef[e][o]
                    t = t if (not isinstance(c, torch.Tensor) and c == 1) else t * c
                    acc[d] = t if acc[d] is None else acc[d] + t
            idle_tap = getattr(self, "idle_tap", None)
            if idle and idle_tap is not None:
                idle_tap(src if relu is None else relu, idle)
        self.inactive_relu_units_ = inactive
        out = acc[3]
        return torch.zeros_like(x) if out is None else out

    def _folded(self, e: int, o: int, w: float) -> tuple[torch.Tensor, torch.Tensor]:
        """``w * BN(conv(.))`` of candidate ``o`` on edge ``e`` as one conv (eval-mode BN)."""
        m = self.layers[e].ops[o]
        conv, bn = m.conv, m.bn
        if bn.running_var is None:
            raise RuntimeError("the fused inference path needs BatchNorm running statistics")
        scale = torch.rsqrt(bn.running_var + bn.eps)
        if bn.weight is not None:
            scale = scale * bn.weight
        bias = -bn.running_mean * scale
        if conv.bias is not None:
            bias = bias + conv.bias * scale
        if bn.bias is not None:
            bias = bias + bn.bias
        return conv.weight * (scale * w).view(-1, 1, 1, 1), bias * w

    def _forward_fused(self, x: torch.Tensor, rows: Sequence[Sequence[float]]) -> torch.Tensor:
        """Inference path (eval mode, no autograd): BatchNorm folded into the convolutions, and
        all convolution candidates reading one node (1x1 embedded in 3x3) run as one conv.

        Equal to the module path up to float rounding. Convolutions run without their module
        hooks; their shared ReLU input is reported to ``relu_tap(tensor, multiplicity)`` when
        that attribute is set (multiplicity = number of active convolutions reading it), and
        nodes read by idle convolutions (weight 0) to ``idle_tap(tensor, count)``.
        """
        acc: list[torch.Tensor | None] = [x, None, None, None]
        inactive = 0
        units = x.shape[1] * x.shape[2] * x.shape[3]
        C = x.shape[1]
        tap = getattr(self, "relu_tap", None)
        idle_tap = getattr(self, "idle_tap", None)

        def add(d: int, t: torch.Tensor, w: float) -> None:
            if acc[d] is None:
                acc[d] = t * w
            else:
                acc[d].add_(t, alpha=w)

        for j in range(3):
            src = acc[j]
            if src is None:
                src = acc[j] = torch.zeros_like(x)
            pooled: torch.Tensor | None = None
            convs: list[tuple[int, list[tuple[int, float]]]] = []
            idle = 0
            for e, (d, s) in enumerate(EDGES):
                if s != j:
                    continue
                r = rows[e]
                if r[_SKIP] != 0:
                    add(d, src, r[_SKIP])
                if r[_POOL] != 0:
                    if pooled is None:
                        pooled = avg_pool_3x3(src)
                    add(d, pooled, r[_POOL])
                active = [(o, r[o]) for o in (_CONV1, _CONV3) if r[o] != 0]
                inactive += units * (2 - len(active))
                idle += 2 - len(active)
                if active:
                    convs.append((d, [(e, o, w) for o, w in active]))  # type: ignore[misc]
            if not convs:
                if idle and idle_tap is not None:
                    idle_tap(src, idle)
                continue
            relu = torch.relu(src)
            if tap is not None:
                tap(relu, sum(len(a) for _, a in convs))
            if idle and idle_tap is not None:
                idle_tap(relu, idle)  # the same tensor: grouped with the tap above
            k = 3 if any(o == _CONV3 for _, a in convs for _e, o, _w in a) else 1
            weights, biases = [], []
            for _d, act in convs:
                wsum: torch.Tensor | None = None
                bsum: torch.Tensor | None = None
                for e, o, w in act:
                    W, b = self._folded(e, o, w)
                    if k == 3 and o == _CONV1:
                        W = torch.nn.functional.pad(W, (1, 1, 1, 1))
                    wsum = W if wsum is None else wsum + W
                    bsum = b if bsum is None else bsum + b
                weights.append(wsum)
                biases.append(bsum)
            out = torch.nn.functional.conv2d(relu, torch.cat(weights), torch.cat(biases),
                                             padding=k // 2)
            for i, (d, _act) in enumerate(convs):
                chunk = out[:, i * C : (i + 1) * C]
                if acc[d] is None:
                    acc[d] = chunk
                else:
                    acc[d].add_(chunk)
        self.inactive_relu_units_ = inactive
        out3 = acc[3]
        return torch.zeros_like(x) if out3 is None else out3


class NB201Supernet(SupernetBase):
    """The NAS-Bench-201 supernet: the benchmark's macro skeleton with :class:`NB201SearchCell`.

    One weight matrix (6 edges x 5 ops, columns in :data:`~nasrank.spaces.nb201.OPS` order) is
    shared by every cell, as in the reference ``TinyNetworkDartsProj`` (C=16, N=5, non-affine
    cell BatchNorm with running statistics).

    Args:
        C: Channels of the first stage.
        N: Cells per stage.
        num_classes: Classifier outputs.
        in_channels: Image channels.
        affine: Affine BatchNorm (and bias-free convs) in the cells; the reference search model
            uses False.

    Example:
        >>> net = NB201Supernet(C=2, N=1)
        >>> net(torch.randn(1, 3, 8, 8)).shape
        torch.Size([1, 10])
        >>> for e in range(6):
        ...     net.discretize(e, 3)
        >>> net.genotype()
        (3, 3, 3, 3, 3, 3)
    """

    ops = OPS
    edge_groups = (tuple(range(len(EDGES))),)
    space_name = "nb201"
    #: NASWOT hook sets this supernet's cells can report (see
    #: :func:`nasrank.oneshot.supernet_score`): ``"released"`` needs the ``idle_tap`` of its cells
    relu_hook_modes = ("relu", "released")

    def __init__(
        self, C: int = 16, N: int = 5, num_classes: int = 10, in_channels: int = 3,
        affine: bool = False,
    ) -> None:
        super().__init__()
        C = _check_int("C", C, 1)
        N = _check_int("N", N, 1)
        num_classes = _check_int("num_classes", num_classes, 1)
        in_channels = _check_int("in_channels", in_channels, 1)
        self.C, self.N = C, N
        self.affine = bool(affine)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, C, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(C))
        self.cells = nn.ModuleList()
        c_prev = C
        for stage in range(3):
            c = C * 2**stage
            if stage > 0:
                self.cells.append(ResNetBasicBlock(c_prev, c, 2, True))
            for _ in range(N):
                self.cells.append(NB201SearchCell(c, affine=affine))
            c_prev = c
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)
        self._init_arch(len(EDGES))

    def forward(self, x: torch.Tensor, weights: Any = None) -> torch.Tensor:
        """Logits of the supernet under ``weights`` (default :meth:`arch_weights`)."""
        rows, coef = self._rows(weights)
        if x.device.type == "cpu" and x.dim() == 4:  # oneDNN convolutions are faster in NHWC
            x = x.contiguous(memory_format=torch.channels_last)
        h = self.stem(x)
        inactive = 0
        for cell in self.cells:
            if isinstance(cell, NB201SearchCell):
                h = cell(h, rows, coef)
                inactive += cell.inactive_relu_units_
            else:
                h = cell(h)
        self.inactive_relu_units_ = inactive
        h = self.global_pooling(self.lastact(h)).flatten(1)
        return self.classifier(h)

    @property
    def space(self) -> Any:
        """The :class:`~nasrank.spaces.NB201Space`."""
        return SPACES.get(self.space_name)()

    def path_weights(self, arch: Sequence[int]) -> np.ndarray:
        """One-hot rows of the 6 edges: the single path of ``arch``.

        Example:
            >>> NB201Supernet(C=2, N=1).path_weights((3, 0, 0, 1, 0, 4))[0].tolist()
            [0.0, 0.0, 0.0, 1.0, 0.0]
        """
        return one_hot(arch).astype(np.float64)

    def run_weights(self, arch: Sequence[int]) -> np.ndarray:
        """:meth:`path_weights` without the edges that cannot change the logits: edges into a node
        that has no non-``none`` path to the output (their result is never used), and -- when the
        cell BatchNorm is not affine -- edges leaving a node that is identically zero (every input
        ``none`` or zero: a convolution, pool or skip of zeros followed by non-affine BatchNorm on
        batch statistics is zero). With BatchNorm on batch statistics (train mode: how the supernet
        methods train paths and how subnets are fine-tuned and evaluated) the logits are unchanged
        and so are the gradients of every weight that affects them; in eval mode the running
        statistics of a dropped convolution would add a constant. The dropped operations are not
        run (their weights then get no gradient, rather than a zero one), which makes the single
        path as cheap as the stand-alone network.

        Example:
            >>> net = NB201Supernet(C=2, N=1)
            >>> a = (3, 0, 0, 1, 0, 0)   # node 1 reaches the output only through none edges
            >>> print(net.run_weights(a).sum(), net.path_weights(a).sum())  # only 3<-0 skip runs
            1.0 6.0
        """
        a = validate(arch)
        zero = [False] * 4
        for k in range(1, 4):
            zero[k] = all(a[e] == _NONE or zero[s] for e, (d, s) in enumerate(EDGES) if d == k)
        live = [False, False, False, True]
        for j in (2, 1, 0):
            live[j] = any(a[e] != _NONE and live[d] for e, (d, s) in enumerate(EDGES) if s == j)
        w = np.zeros((len(EDGES), len(OPS)))
        for e, (d, s) in enumerate(EDGES):
            if a[e] != _NONE and live[d] and not (zero[s] and not self.affine):
                w[e, a[e]] = 1.0
        return w

    def arch_from_decisions(self, decided: Mapping[int, int], removed: Collection[int] = ()
                            ) -> Arch:
        """The architecture whose edge ``e`` has op ``decided[e]`` (every edge must be decided).

        Example:
            >>> NB201Supernet(C=2, N=1).arch_from_decisions(dict(enumerate((3, 0, 0, 1, 0, 4))))
            (3, 0, 0, 1, 0, 4)
        """
        missing = [e for e in range(len(EDGES)) if e not in decided or e in removed]
        if missing:
            raise InvalidArchitectureError(f"edges {missing} are not discretised yet")
        return validate(tuple(decided[e] for e in range(len(EDGES))))
