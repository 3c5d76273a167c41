"""The evaluation network of a sub-space genotype whose cells may hold ``noise`` (S4).

S1-S3 genotypes hold DARTS primitives only and are built as
:class:`nasrank.spaces.darts.DARTSNetwork`. S4's ``noise`` is not a DARTS primitive, so S4 builds
:class:`SubspaceNetwork`: the DARTS network itself (same skeleton, modules and parameter names)
whose cell operations come from :func:`~nasrank.spaces.darts_sub.subspace_op`. On a genotype
without ``noise`` it computes exactly what ``DARTSNetwork`` computes with the same weights.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..darts import DARTSNetwork
from .ops import subspace_op

__all__ = ["SubspaceNetwork"]


class SubspaceNetwork(DARTSNetwork):
    """The DARTS CIFAR evaluation network of a sub-space genotype (operations from
    :func:`~nasrank.spaces.darts_sub.subspace_op`); ``forward`` returns logits.

    Args:
        normal: Normal cell, 8 ``(op name, input)`` pairs.
        reduce: Reduction cell, likewise.
        C: Initial channels.
        layers: Number of cells.
        num_classes: Classifier outputs.
        auxiliary: Build the auxiliary head (after cell ``2 * layers // 3``).
        in_channels: Image channels.

    Example:
        >>> import torch
        >>> g = [("noise", 0), ("sep_conv_3x3", 1)] * 4
        >>> SubspaceNetwork(g, g, C=2, layers=3)(torch.randn(1, 3, 8, 8)).shape
        torch.Size([1, 10])
    """

    def __init__(self, normal: Sequence[tuple[str, int]], reduce: Sequence[tuple[str, int]],
                 C: int = 36, layers: int = 20, num_classes: int = 10, auxiliary: bool = False,
                 in_channels: int = 3) -> None:
        super().__init__(normal, reduce, C=C, layers=layers, num_classes=num_classes,
                         auxiliary=auxiliary, in_channels=in_channels, op_factory=subspace_op)
