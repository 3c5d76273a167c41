"""The DARTS evaluation network of a genotype: cells, auxiliary head, CIFAR skeleton.

:meth:`~nasrank.spaces.darts.DARTSSpace.build` returns the CIFAR network: stem (3 x 3 conv to
``3C`` + BN), ``layers`` cells with reductions (channels x 2) at ``layers // 3`` and
``2 * layers // 3``, optional auxiliary head after the second reduction, global average pooling,
linear classifier.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ...exceptions import ConfigError
from ...nn.ops import FactorizedReduce, Identity
from .encoding import STEPS
from .ops import OpFactory, darts_op, darts_relu_conv_bn

__all__ = ["DARTSCell", "DARTSNetwork", "AuxiliaryHead", "build_network"]


def _drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    keep = 1.0 - drop_prob
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x / keep * mask


class DARTSCell(nn.Module):
    """One cell of a DARTS evaluation network.

    Args:
        genotype: 8 ``(op name, input)`` pairs (node-major, two per node).
        C_prev_prev: Channels of the cell two back.
        C_prev: Channels of the previous cell.
        C: Channels of each intermediate node (output: ``4 C``).
        reduction: Whether this cell halves the resolution.
        reduction_prev: Whether the previous cell did (its input ``0`` is then twice as large).
        op_factory: Builds each operation from its name (:class:`~nasrank.spaces.darts.OpFactory`;
            default :func:`~nasrank.spaces.darts.darts_op`).

    Example:
        >>> cell = DARTSCell([("skip_connect", 0), ("sep_conv_3x3", 1)] * 4, 4, 4, 2, False, False)
        >>> cell(torch.randn(1, 4, 4, 4), torch.randn(1, 4, 4, 4)).shape
        torch.Size([1, 8, 4, 4])
    """

    def __init__(
        self,
        genotype: Sequence[tuple[str, int]],
        C_prev_prev: int,
        C_prev: int,
        C: int,
        reduction: bool,
        reduction_prev: bool,
        *,
        op_factory: OpFactory = darts_op,
    ) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0: nn.Module = (
            FactorizedReduce(C_prev_prev, C) if reduction_prev
            else darts_relu_conv_bn(C_prev_prev, C, 1, 1, 0)
        )
        self.preprocess1 = darts_relu_conv_bn(C_prev, C, 1, 1, 0)
        self._ops = nn.ModuleList()
        self._indices: list[int] = []
        for name, index in genotype:
            stride = 2 if reduction and index < 2 else 1
            self._ops.append(op_factory(name, C, stride, affine=True))
            self._indices.append(int(index))
        self.multiplier = STEPS

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for k in range(STEPS):
            total: torch.Tensor | None = None
            for i in (2 * k, 2 * k + 1):
                op = self._ops[i]
                h = op(states[self._indices[i]])
                if self.training and drop_prob > 0 and not isinstance(op, Identity):
                    h = _drop_path(h, drop_prob)
                total = h if total is None else total + h
            assert total is not None
            states.append(total)
        return torch.cat(states[2:], dim=1)


class AuxiliaryHead(nn.Module):
    """DARTS' CIFAR auxiliary classifier for an 8 x 8 feature map.

    Example:
        >>> AuxiliaryHead(16, 10)(torch.randn(2, 16, 8, 8)).shape
        torch.Size([2, 10])
    """

    def __init__(self, C: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(C, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=False),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class DARTSNetwork(nn.Module):
    """DARTS' CIFAR evaluation network of a genotype; ``forward`` returns logits only.

    Args:
        normal: Normal cell, 8 ``(op name, input)`` pairs.
        reduce: Reduction cell, likewise.
        C: Initial channels.
        layers: Number of cells; reductions at ``layers // 3`` and ``2 * layers // 3``.
        num_classes: Classifier outputs.
        auxiliary: Build the auxiliary head (after cell ``2 * layers // 3``).
        in_channels: Image channels.
        op_factory: Builds each cell operation from its name (default
            :func:`~nasrank.spaces.darts.darts_op`; see :class:`~nasrank.spaces.darts.OpFactory`).

    Attributes:
        drop_path_prob: Drop-path probability applied in training mode (default 0).

    Example:
        >>> g = [("avg_pool_3x3", 0), ("skip_connect", 1)] * 4
        >>> net = DARTSNetwork(g, g, C=2, layers=3)
        >>> net(torch.randn(1, 3, 8, 8)).shape
        torch.Size([1, 10])
    """

    def __init__(
        self,
        normal: Sequence[tuple[str, int]],
        reduce: Sequence[tuple[str, int]],
        C: int = 36,
        layers: int = 20,
        num_classes: int = 10,
        auxiliary: bool = False,
        in_channels: int = 3,
        *,
        op_factory: OpFactory = darts_op,
    ) -> None:
        super().__init__()
        self.layers = layers
        self.drop_path_prob = 0.0
        stem_c = 3 * C
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_c, 3, padding=1, bias=False), nn.BatchNorm2d(stem_c)
        )
        c_pp, c_p, c_cur = stem_c, stem_c, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        self._aux_pos = 2 * layers // 3
        c_aux = None
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_cur *= 2
            cell = DARTSCell(reduce if reduction else normal, c_pp, c_p, c_cur, reduction,
                             reduction_prev, op_factory=op_factory)
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_cur
            if i == self._aux_pos:
                c_aux = c_p
        self.auxiliary_head = AuxiliaryHead(c_aux, num_classes) if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(logits, auxiliary logits)``; the latter is ``None`` without a head or in eval mode."""
        aux = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self._aux_pos and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        out = self.global_pooling(s1).flatten(1)
        return self.classifier(out), aux

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_aux(x)[0]


def build_network(
    normal: Sequence[tuple[str, int]],
    reduce: Sequence[tuple[str, int]],
    *,
    num_classes: int = 10,
    C: int = 36,
    layers: int = 20,
    auxiliary: bool = False,
    drop_path_prob: float = 0.0,
    in_channels: int = 3,
    min_C: int = 1,
    network: type[DARTSNetwork] = DARTSNetwork,
) -> DARTSNetwork:
    """The evaluation network of two cells, its build options validated (the ``build`` of a
    DARTS-style space, after parsing the architecture).

    Args:
        normal: Normal cell, 8 ``(op name, input)`` pairs.
        reduce: Reduction cell, likewise.
        num_classes: Classifier outputs.
        C: Initial channels (at least ``min_C``).
        layers: Number of cells (at least 3).
        auxiliary: Build the auxiliary head.
        drop_path_prob: Drop-path probability in training mode, in [0, 1).
        in_channels: Image channels.
        min_C: The smallest valid ``C``.
        network: The network class (:class:`DARTSNetwork` or a subclass with its signature).

    Example:
        >>> g = [("sep_conv_3x3", 0), ("skip_connect", 1)] * 4
        >>> build_network(g, g, C=2, layers=3, drop_path_prob=0.1).drop_path_prob
        0.1
        >>> build_network(g, g, layers=2)
        Traceback (most recent call last):
        ...
        nasrank.exceptions.ConfigError: `layers` must be an int >= 3, got 2
    """
    for name, value, minimum in (("num_classes", num_classes, 1), ("C", C, min_C),
                                 ("layers", layers, 3), ("in_channels", in_channels, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
            raise ConfigError(f"`{name}` must be an int >= {minimum}, got {value!r}")
    if not 0.0 <= float(drop_path_prob) < 1.0:
        raise ConfigError(f"`drop_path_prob` must be in [0, 1), got {drop_path_prob!r}")
    net = network(normal, reduce, C=int(C), layers=int(layers), num_classes=int(num_classes),
                  auxiliary=bool(auxiliary), in_channels=int(in_channels))
    net.drop_path_prob = float(drop_path_prob)
    return net
