"""The NAS-Bench-101 network (``nasbench/lib/model_builder.py``), in PyTorch.

* stem: 3x3 convolution (``C`` channels, 128 in the benchmark) -> BatchNorm -> ReLU;
* ``stacks`` stacks (3) of ``cells_per_stack`` cells (3); before every stack but the first a
  2x2 max pooling with stride 2 halves the resolution and the cells of that stack double the
  channels;
* global average pooling and a dense classifier (with bias).

A cell (:class:`NB101Cell`) maps ``C_in`` to ``C_out`` channels. The output vertex concatenates its
interior inputs, whose channels split ``C_out`` evenly (the first ones get one more channel when the
division leaves a remainder); every other interior vertex gets the largest channel count among
the interior vertices it feeds (:func:`vertex_channels`). An interior vertex sums its inputs:
interior vertices with more channels than it are truncated to its first channels, the cell input
goes through a 1x1 conv-BN-ReLU projection. When the input feeds the output directly its
projection to ``C_out`` channels is added to the concatenation (or is the output, when no interior
vertex feeds it).

Every convolution is bias-free and followed by BatchNorm (momentum 0.997 in TensorFlow's
convention, i.e. ``momentum=0.003`` here, epsilon 1e-5) and ReLU. Weights are initialised as in
the benchmark's TensorFlow code: convolutions from a truncated normal with variance
``1 / fan_in`` (``tf.variance_scaling_initializer()``), the classifier Glorot-uniform with zero
bias. Pooling with TensorFlow's ``"same"`` padding is reproduced exactly (padding with -inf for
the 3x3 pool, ``ceil_mode`` for the 2x2 downsampling). The parameter count equals the benchmark's
``trainable_parameters`` (BatchNorm running statistics are buffers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..._validate import check_int as _check_int
from ...exceptions import ConfigError, InvalidArchitectureError
from .encoding import INPUT, MAX_EDGES, OPS, OUTPUT, check_spec, graph_hash, prune

__all__ = ["NB101Network", "NB101Cell", "ConvBNReLU", "vertex_channels", "prune", "graph_hash",
           "OPS", "INPUT", "OUTPUT"]

#: BatchNorm settings of the benchmark (TensorFlow momentum 0.997 = PyTorch momentum 0.003).
BN_MOMENTUM = 1.0 - 0.997
BN_EPS = 1e-5
# std of a standard normal truncated to [-2, 2]: TensorFlow divides by it for "truncated_normal"
_TRUNC_STD = 0.87962566103423978


class ConvBNReLU(nn.Module):
    """Bias-free ``k x k`` convolution (stride 1, "same" padding) -> BatchNorm -> ReLU.

    Args:
        C_in: Input channels.
        C_out: Output channels.
        kernel_size: 1 or 3.

    Example:
        >>> ConvBNReLU(4, 6, 3)(torch.randn(2, 4, 8, 8)).shape
        torch.Size([2, 6, 8, 8])
    """

    def __init__(self, C_in: int, C_out: int, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(C_in, C_out, kernel_size, padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(C_out, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU()  # a module, so that activation-reading proxies (NASWOT) see it
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """TensorFlow's ``variance_scaling_initializer()``: truncated normal, variance 1/fan_in."""
        fan_in = self.conv.in_channels * self.conv.kernel_size[0] * self.conv.kernel_size[1]
        std = math.sqrt(1.0 / fan_in) / _TRUNC_STD
        nn.init.trunc_normal_(self.conv.weight, 0.0, std, -2 * std, 2 * std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


def vertex_channels(C_in: int, C_out: int, matrix: Any) -> list[int]:
    """Channels of every vertex of a pruned cell (``compute_vertex_channels`` of the benchmark).

    Example:
        >>> m = [[0, 1, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
        >>> vertex_channels(64, 128, m)  # 128 split over vertices 2 and 3; 1 feeds 3
        [64, 64, 64, 64, 128]
        >>> vertex_channels(8, 10, [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1],
        ...                          [0, 0, 0, 0, 0]])
        [8, 4, 3, 3, 10]
    """
    m = np.asarray(matrix)
    n = m.shape[0]
    ch = [0] * n
    ch[0], ch[n - 1] = C_in, C_out
    if n == 2:
        return ch
    fan_in = int(m[1:, n - 1].sum())  # interior vertices feeding the output
    base, extra = divmod(C_out, fan_in)
    for v in range(1, n - 1):
        if m[v, n - 1]:
            ch[v] = base + (1 if extra > 0 else 0)
            extra -= 1 if extra > 0 else 0
    for v in range(n - 3, 0, -1):
        if not m[v, n - 1]:
            ch[v] = max([ch[v]] + [ch[d] for d in range(v + 1, n - 1) if m[v, d]])
    if min(ch[1 : n - 1]) <= 0:
        raise ConfigError(
            f"an NB101 cell whose output has {fan_in} interior inputs cannot split {C_out} channels "
            f"among them; use at least {fan_in} channels (`C` >= 5 fits every cell)"
        )
    return ch


class NB101Cell(nn.Module):
    """One NAS-Bench-101 cell ("module") of a spec, mapping ``C_in`` to ``C_out`` channels.

    The spec is pruned first (:func:`prune`); ``matrix`` / ``ops`` hold the pruned spec,
    ``channels`` the vertex channels. ``vertex_ops[t - 1]`` is the operation of interior vertex
    ``t``, ``projections[str(t)]`` the input projection of vertex ``t`` (``str(n - 1)``: the
    output's).

    Args:
        matrix: Adjacency matrix (upper-triangular 0/1, <= 7 vertices).
        ops: Vertex labels ``["input", op, ..., "output"]``, ops from :data:`OPS`.
        C_in: Input channels.
        C_out: Output channels.

    Example:
        >>> m = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
        >>> cell = NB101Cell(m, ["input", "conv3x3-bn-relu", "maxpool3x3", "output"], 4, 8)
        >>> cell.channels, cell(torch.randn(2, 4, 6, 6)).shape
        ([4, 4, 4, 8], torch.Size([2, 8, 6, 6]))
    """

    def __init__(self, matrix: Any, ops: Sequence[str], C_in: int, C_out: int) -> None:
        super().__init__()
        pm, po = prune(matrix, ops)
        if pm is None or po is None:
            raise InvalidArchitectureError(
                "NB101 cell has no path from input to output; connect the input to the output"
            )
        self.matrix: np.ndarray = pm
        self.ops: list[str] = po
        n = pm.shape[0]
        self.channels = vertex_channels(C_in, C_out, pm)
        self.vertex_ops = nn.ModuleList()
        for t in range(1, n - 1):
            op = po[t]
            if op == OPS[0]:
                self.vertex_ops.append(ConvBNReLU(self.channels[t], self.channels[t], 3))
            elif op == OPS[1]:
                self.vertex_ops.append(ConvBNReLU(self.channels[t], self.channels[t], 1))
            else:
                self.vertex_ops.append(nn.MaxPool2d(3, stride=1, padding=1))
        self.projections = nn.ModuleDict(
            {str(t): ConvBNReLU(C_in, self.channels[t], 1) for t in range(1, n) if pm[0, t]}
        )
        # (interior sources, input projected?) per interior vertex, and the output's sources
        self._plan = [
            ([s for s in range(1, t) if pm[s, t]], bool(pm[0, t])) for t in range(1, n - 1)
        ]
        self._out_sources = [s for s in range(1, n - 1) if pm[s, n - 1]]
        self.C_in, self.C_out = C_in, C_out

    def extra_repr(self) -> str:
        return f"C_in={self.C_in}, C_out={self.C_out}, ops={self.ops[1:-1]}, channels={self.channels}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(self.ops)
        tensors: list[torch.Tensor] = [x]
        for t in range(1, n - 1):
            sources, from_input = self._plan[t - 1]
            c = self.channels[t]
            acc: torch.Tensor | None = None
            for s in sources:  # interior inputs, truncated to this vertex's channels
                h = tensors[s]
                h = h if h.shape[1] == c else h[:, :c]
                acc = h if acc is None else acc + h
            if from_input:
                h = self.projections[str(t)](x)
                acc = h if acc is None else acc + h
            assert acc is not None  # a pruned cell has no vertex without inputs
            tensors.append(self.vertex_ops[t - 1](acc))
        if not self._out_sources:
            return self.projections[str(n - 1)](x)
        outs = [tensors[s] for s in self._out_sources]
        out = outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)
        if self.matrix[0, n - 1]:
            out = out + self.projections[str(n - 1)](x)
        return out


class NB101Network(nn.Module):
    """The NAS-Bench-101 network of a cell spec.

    Args:
        matrix: Adjacency matrix of the cell (upper-triangular 0/1, <= 7 vertices; pruned here).
        ops: Vertex labels ``["input", op, ..., "output"]``.
        num_classes: Classifier outputs.
        C: Stem channels (benchmark: 128); stack ``s`` has ``C * 2**s`` channels.
        stacks: Number of stacks (benchmark: 3).
        cells_per_stack: Cells per stack (benchmark: 3).
        in_channels: Image channels.

    Raises:
        InvalidArchitectureError: if the spec is malformed, disconnected or has more than 9
            edges after pruning.

    Example:
        >>> m = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
        >>> net = NB101Network(m, ["input", "conv3x3-bn-relu", "maxpool3x3", "output"],
        ...                    C=4, stacks=2, cells_per_stack=1)
        >>> net(torch.randn(2, 3, 8, 8)).shape
        torch.Size([2, 10])
    """

    def __init__(
        self, matrix: Any, ops: Sequence[str], num_classes: int = 10, C: int = 128,
        stacks: int = 3, cells_per_stack: int = 3, in_channels: int = 3,
    ) -> None:
        super().__init__()
        m, labels = check_spec(matrix, ops)
        pm, po = prune(m, labels)
        if pm is None or po is None:
            raise InvalidArchitectureError(
                "NB101 cell has no path from input to output; connect the input to the output"
            )
        if int(pm.sum()) > MAX_EDGES:
            raise InvalidArchitectureError(
                f"NB101 cell has {int(pm.sum())} edges after pruning; at most {MAX_EDGES} are allowed"
            )
        num_classes = _check_int("num_classes", num_classes, 1)
        C = _check_int("C", C, 1)
        stacks = _check_int("stacks", stacks, 1)
        cells_per_stack = _check_int("cells_per_stack", cells_per_stack, 1)
        in_channels = _check_int("in_channels", in_channels, 1)
        self.matrix, self.ops = pm, po
        self.C, self.num_stacks, self.cells_per_stack = C, stacks, cells_per_stack
        self.stem = ConvBNReLU(in_channels, C, 3)
        self.downsample = nn.MaxPool2d(2, stride=2, ceil_mode=True)  # TF "same" padding
        self.stacks = nn.ModuleList()
        c_prev = C
        for s in range(stacks):
            c = C * 2**s
            self.stacks.append(nn.Sequential(*(
                NB101Cell(pm, po, c_prev if i == 0 else c, c) for i in range(cells_per_stack)
            )))
            c_prev = c
        self.classifier = nn.Linear(c_prev, num_classes)
        nn.init.xavier_uniform_(self.classifier.weight)
        nn.init.zeros_(self.classifier.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map after the last stack (before global pooling)."""
        h = self.stem(x)
        for s, stack in enumerate(self.stacks):
            if s > 0:
                h = self.downsample(h)
            h = stack(h)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.forward_features(x).mean(dim=(2, 3)))
