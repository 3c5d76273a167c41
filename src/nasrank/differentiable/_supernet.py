"""Supernets with mixed operations and architecture weights, and their projection state.

A supernet superposes every architecture of a cell-based space: each edge computes
``sum_o w[e, o] * op_o(x)``. The weight matrix ``w`` (edges x candidate ops) is passed to
``forward``; by default it is :meth:`Supernet.arch_weights`, i.e. ``softmax(alpha)`` per edge
with the edges decided so far replaced by their one-hot row (seed 004 §3.1 and reference §3.1).

Two operations on a (partially discretised) supernet ``A`` define every perturbation-based
scoring function:

* **discretise** ``A + (e, o)``: edge ``e`` keeps only ``o`` (:meth:`Supernet.discretized`
  returns the weights, :meth:`Supernet.discretize` makes it permanent);
* **perturb** ``A - (e, o)``: ``o`` is removed from edge ``e`` — its weight becomes 0, the other
  weights are not renormalised (:meth:`Supernet.perturbed`).

Operations with weight 0 are not executed. (Zero-Cost-PT's released NB201 supernet still runs
them on an all-zero input, which adds a constant block to the NASWOT kernel; the paper's
"removed" operation is followed here, and ``inactive_relus="count"`` in the scorer reproduces
the released code's constant exactly without running anything; see
:func:`nasrank.differentiable.supernet_score`.)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .._rng import as_generator
from .._validate import check_int as _check_int
from ..exceptions import ConfigError, InvalidArchitectureError
from ..nn.darts_ops import DARTS_PRIMITIVES, FactorizedReduce, darts_op, darts_relu_conv_bn
from ..nn.mixed import MixedOp
from ..nn.ops import AvgPool3x3, Identity, ReLUConvBN, ResNetBasicBlock, Zero, avg_pool_3x3
from ..spaces.base import Arch
from ..spaces.darts import STEPS, DARTSSpace, cell_edges
from ..spaces.nb201 import EDGES, OPS, NB201Space

__all__ = ["Supernet", "NB201Supernet", "DARTSSupernet", "NB201SearchCell", "DARTSSearchCell",
           "build_supernet"]



class Supernet(nn.Module, ABC):
    """Base class: architecture parameters, projection state and the weight algebra.

    Subclasses define the network (``forward(x, weights)``), :attr:`ops` (candidate operation
    names, the columns of the weight matrix), :attr:`edge_groups` (edges decided together, e.g.
    the normal and the reduction cell of DARTS) and :meth:`genotype`.

    Attributes:
        alpha: Architecture parameters, shape ``(num_edges, num_ops)``.
        decided_: ``{edge: op column}`` of the discretised edges.
        removed_edges_: Edges removed by topology selection (their weights are all 0).
        inactive_relu_units_: Set by each forward: ReLU units of convolution candidates that
            were skipped because their weight is 0 (used to emulate the released code).
    """

    ops: tuple[str, ...] = ()
    edge_groups: tuple[tuple[int, ...], ...] = ()
    space_name: str = ""

    def _init_arch(self, num_edges: int) -> None:
        self.num_edges = num_edges
        self.alpha = nn.Parameter(1e-3 * torch.randn(num_edges, len(self.ops)))
        self.decided_: dict[int, int] = {}
        self.removed_edges_: set[int] = set()
        self.inactive_relu_units_ = 0

    # --- projection state -------------------------------------------------------------------
    def reset_arch_parameters(self, rng: int | np.random.Generator | None = None) -> None:
        """New ``alpha ~ 1e-3 N(0, 1)`` and no decided or removed edges (a fresh proposal)."""
        gen = as_generator(rng)
        a = 1e-3 * gen.standard_normal((self.num_edges, len(self.ops)))
        with torch.no_grad():
            self.alpha.copy_(torch.as_tensor(a, dtype=self.alpha.dtype))
        self.decided_ = {}
        self.removed_edges_ = set()

    def undecided(self, group: Sequence[int] | None = None) -> list[int]:
        """Edges (of ``group``, default all) not discretised and not removed, in order."""
        edges = range(self.num_edges) if group is None else group
        return [e for e in edges if e not in self.decided_ and e not in self.removed_edges_]

    def _check_edge_op(self, e: int, o: int | None = None) -> None:
        if not 0 <= e < self.num_edges:
            raise ConfigError(f"edge must be in 0..{self.num_edges - 1}, got {e}")
        if o is not None and not 0 <= o < len(self.ops):
            raise ConfigError(f"op must be in 0..{len(self.ops) - 1}, got {o}")

    def discretize(self, e: int, o: int) -> None:
        """``A <- A + (e, o)``: edge ``e`` keeps only candidate ``o`` from now on."""
        self._check_edge_op(e, o)
        if e in self.removed_edges_:
            raise ConfigError(f"edge {e} was removed by topology selection")
        self.decided_[e] = int(o)

    def remove_edge(self, e: int) -> None:
        """Remove edge ``e`` entirely (topology selection)."""
        self._check_edge_op(e)
        self.removed_edges_.add(int(e))

    def arch_weights(self) -> np.ndarray:
        """Current weights: ``softmax(alpha)`` rows, decided edges one-hot, removed edges 0.

        Example:
            >>> net = NB201Supernet(C=2, N=1)
            >>> net.discretize(0, 3)
            >>> net.arch_weights()[0].tolist()
            [0.0, 0.0, 0.0, 1.0, 0.0]
        """
        a = self.alpha.detach().double().cpu().numpy()
        w = np.exp(a - a.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        for e, o in self.decided_.items():
            w[e] = 0.0
            w[e, o] = 1.0
        for e in self.removed_edges_:
            w[e] = 0.0
        return w

    def perturbed(self, e: int, o: int, weights: np.ndarray | None = None) -> np.ndarray:
        """Weights of ``A - (e, o)``: candidate ``o`` of edge ``e`` removed (no renormalisation)."""
        self._check_edge_op(e, o)
        w = (self.arch_weights() if weights is None else weights).copy()
        w[e, o] = 0.0
        return w

    def discretized(self, e: int, o: int, weights: np.ndarray | None = None) -> np.ndarray:
        """Weights of ``A + (e, o)``: edge ``e`` reduced to candidate ``o``."""
        self._check_edge_op(e, o)
        w = (self.arch_weights() if weights is None else weights).copy()
        w[e] = 0.0
        w[e, o] = 1.0
        return w

    def without_edge(self, e: int, weights: np.ndarray | None = None) -> np.ndarray:
        """Weights with every candidate of edge ``e`` removed."""
        self._check_edge_op(e)
        w = (self.arch_weights() if weights is None else weights).copy()
        w[e] = 0.0
        return w

    def topology_nodes(self) -> list[list[int]]:
        """Per node that must keep a subset of its input edges, the candidate edges (none here)."""
        return []

    @abstractmethod
    def genotype(self) -> Arch:
        """The architecture of the fully discretised supernet (raises if edges are undecided)."""

    def _rows(self, weights: Any) -> tuple[list[list[float]], Any]:
        """(python float rows for skipping, coefficients for the weighted sum)."""
        if weights is None:
            weights = self.arch_weights()
        if isinstance(weights, torch.Tensor):
            if tuple(weights.shape) != (self.num_edges, len(self.ops)):
                raise ConfigError(f"weights must have shape {(self.num_edges, len(self.ops))}, "
                                  f"got {tuple(weights.shape)}")
            rows = weights.detach().double().cpu().tolist()
            return rows, (weights if weights.requires_grad else rows)
        arr = np.asarray(weights, dtype=np.float64)
        if arr.shape != (self.num_edges, len(self.ops)):
            raise ConfigError(f"weights must have shape {(self.num_edges, len(self.ops))}, "
                              f"got {arr.shape}")
        rows = arr.tolist()
        return rows, rows


# ---------------------------------------------------------------------------------------------
# NAS-Bench-201
# ---------------------------------------------------------------------------------------------
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

    #: optional ``relu_tap(tensor, multiplicity)`` called by the fused inference path
    relu_tap: Any = None

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
            for e, (d, s) in enumerate(EDGES):
                if s != j:
                    continue
                ops = self.layers[e].ops
                for o in (_SKIP, _CONV1, _CONV3, _POOL):
                    w = rows[e][o]
                    if w == 0:
                        if o in (_CONV1, _CONV3):
                            inactive += units
                        continue
                    if o == _SKIP:
                        t = src
                    elif o == _POOL:
                        t = avg_pool_3x3(src)
                    else:
                        if relu is None:
                            relu = torch.relu(src)
                        t = ops[o].forward_after_relu(relu)
                    c = coef[e][o]
                    t = t if (not isinstance(c, torch.Tensor) and c == 1) else t * c
                    acc[d] = t if acc[d] is None else acc[d] + t
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
        that attribute is set (multiplicity = number of active convolutions reading it).
        """
        acc: list[torch.Tensor | None] = [x, None, None, None]
        inactive = 0
        units = x.shape[1] * x.shape[2] * x.shape[3]
        C = x.shape[1]
        tap = getattr(self, "relu_tap", None)

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
                if active:
                    convs.append((d, [(e, o, w) for o, w in active]))  # type: ignore[misc]
            if not convs:
                continue
            relu = torch.relu(src)
            if tap is not None:
                tap(relu, sum(len(a) for _, a in convs))
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


class NB201Supernet(Supernet):
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

    def genotype(self) -> Arch:
        missing = self.undecided()
        if missing:
            raise InvalidArchitectureError(f"edges {missing} are not discretised yet")
        return NB201Space().validate(tuple(self.decided_[e] for e in range(len(EDGES))))


# ---------------------------------------------------------------------------------------------
# DARTS
# ---------------------------------------------------------------------------------------------
class DARTSSearchCell(nn.Module):
    """A DARTS supernet cell: 14 mixed edges (node ``k`` reads the 2 cell inputs and nodes < k).

    Example:
        >>> cell = DARTSSearchCell(4, 4, 2, reduction=True, reduction_prev=False,
        ...                        ops=["skip_connect", "max_pool_3x3"])
        >>> w = [[0.5, 0.5]] * 14
        >>> cell(torch.randn(1, 4, 4, 4), torch.randn(1, 4, 4, 4), w, w).shape
        torch.Size([1, 8, 2, 2])
    """

    def __init__(
        self, C_prev_prev: int, C_prev: int, C: int, reduction: bool, reduction_prev: bool,
        ops: Sequence[str],
    ) -> None:
        super().__init__()
        self.reduction = reduction
        self.C = C
        self.preprocess0: nn.Module = (
            FactorizedReduce(C_prev_prev, C, affine=False) if reduction_prev
            else darts_relu_conv_bn(C_prev_prev, C, 1, 1, 0, affine=False)
        )
        self.preprocess1 = darts_relu_conv_bn(C_prev, C, 1, 1, 0, affine=False)
        self.edges = cell_edges()
        self._ops = nn.ModuleList(
            MixedOp([darts_op(name, C, 2 if reduction and j < 2 else 1, affine=False, pool_bn=True)
                     for name in ops], names=ops)
            for _k, j in self.edges
        )
        self.multiplier = STEPS

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, rows: Sequence[Sequence[float]],
                coef: Any) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        n, _, h, w = states[1].shape
        if self.reduction:
            h, w = -(-h // 2), -(-w // 2)
        e = 0
        for k in range(STEPS):
            total: torch.Tensor | None = None
            for j in range(k + 2):
                row = rows[e]
                if any(v != 0 for v in row):
                    ce = coef[e]
                    out = self._ops[e](states[j], ce if isinstance(ce, torch.Tensor) else row)
                    if out is not None:
                        total = out if total is None else total + out
                e += 1
            states.append(total if total is not None else states[1].new_zeros(n, self.C, h, w))
        return torch.cat(states[2:], dim=1)


class DARTSSupernet(Supernet):
    """The DARTS CIFAR search supernet (C=16, 8 cells by default), normal + reduction weights.

    Weight rows ``0..13`` belong to the normal cells, ``14..27`` to the reduction cells (edge
    order of :func:`~nasrank.spaces.darts.cell_edges`). Candidates: by default the 7 operations
    other than ``none``, as in DARTS-PT's default space (``include_none=True`` adds it back; it
    can be removed by perturbation but is never chosen for a genotype).

    Args:
        C: Initial channels.
        layers: Cells; reductions at ``layers // 3`` and ``2 * layers // 3``.
        num_classes: Classifier outputs.
        in_channels: Image channels.
        include_none: Include ``none`` among the candidates.

    Example:
        >>> net = DARTSSupernet(C=2, layers=3)
        >>> net.arch_weights().shape, net.ops[0]
        ((28, 7), 'max_pool_3x3')
    """

    space_name = "darts"
    edge_groups = (tuple(range(14)), tuple(range(14, 28)))

    def __init__(
        self, C: int = 16, layers: int = 8, num_classes: int = 10, in_channels: int = 3,
        include_none: bool = False,
    ) -> None:
        super().__init__()
        C = _check_int("C", C, 2)
        layers = _check_int("layers", layers, 3)
        num_classes = _check_int("num_classes", num_classes, 1)
        in_channels = _check_int("in_channels", in_channels, 1)
        self.ops = DARTS_PRIMITIVES if include_none else DARTS_PRIMITIVES[1:]
        self.C, self.layers = C, layers
        stem_c = 3 * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_c, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(stem_c))
        c_pp, c_p, c_cur = stem_c, stem_c, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_cur *= 2
            cell = DARTSSearchCell(c_pp, c_p, c_cur, reduction, reduction_prev, self.ops)
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_cur
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)
        self._init_arch(2 * len(cell_edges()))

    def forward(self, x: torch.Tensor, weights: Any = None) -> torch.Tensor:
        """Logits of the supernet under ``weights`` (default :meth:`arch_weights`)."""
        rows, coef = self._rows(weights)
        n_e = len(cell_edges())
        normal = (rows[:n_e], coef[:n_e])
        reduce = (rows[n_e:], coef[n_e:])
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            r, c = reduce if cell.reduction else normal
            s0, s1 = s1, cell(s0, s1, r, c)
        self.inactive_relu_units_ = 0
        return self.classifier(self.global_pooling(s1).flatten(1))

    def topology_nodes(self) -> list[list[int]]:
        """Candidate input edges of the nodes with more than 2 inputs, normal then reduction.

        Example:
            >>> DARTSSupernet(C=2, layers=3).topology_nodes()[:3]
            [[2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12, 13]]
        """
        out = []
        n_e = len(cell_edges())
        for base in (0, n_e):
            start = 0
            for k in range(STEPS):
                edges = list(range(base + start, base + start + k + 2))
                if len(edges) > 2:
                    out.append([e for e in edges if e not in self.removed_edges_])
                start += k + 2
        return out

    def genotype(self) -> Arch:
        """The genotype: per node its 2 kept input edges (input order) with their decided ops."""
        edges = cell_edges()
        arch: list[int] = []
        for base in (0, len(edges)):
            for k in range(STEPS):
                kept = [(j, base + i) for i, (kk, j) in enumerate(edges)
                        if kk == k and base + i not in self.removed_edges_]
                if len(kept) != 2:
                    raise InvalidArchitectureError(
                        f"node {k} keeps {len(kept)} input edges; topology selection must leave 2"
                    )
                for j, e in kept:
                    if e not in self.decided_:
                        raise InvalidArchitectureError(f"edge {e} is not discretised yet")
                    name = self.ops[self.decided_[e]]
                    if name == "none":
                        raise InvalidArchitectureError(f"edge {e} was discretised to 'none'")
                    arch += [DARTS_PRIMITIVES.index(name), j]
        return DARTSSpace().validate(tuple(arch))


def build_supernet(space: str, **config: Any) -> Supernet:
    """The supernet of a registered space (``"nb201"`` or ``"darts"``).

    Example:
        >>> build_supernet("nb201", C=2, N=1).ops[3]
        'nor_conv_3x3'
    """
    if space == "nb201":
        return NB201Supernet(**config)
    if space == "darts":
        return DARTSSupernet(**config)
    from ..spaces import SPACES

    SPACES.get(space)  # unknown names raise with the list of spaces
    raise ConfigError(f"space {space!r} has no supernet; supernets exist for nb201, darts")
