"""The chain supernet: every layer is a mixed operation over the 5 candidates."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from nasrank.exceptions import InvalidArchitectureError
from nasrank.nn import MixedOp, SupernetBase
from nasrank.spaces import SPACES

from .network import Head, Stem
from .ops import OPS, make_op

__all__ = ["ChainSupernet"]


class ChainSupernet(SupernetBase):
    """``length`` mixed layers between the chain network's stem and head.

    Weights: a ``(length, 5)`` matrix; layer ``e`` computes ``sum_o w[e, o] * op_o(x)`` (a layer
    whose weights are all 0 outputs zeros). Convolutions use non-affine BatchNorm, as DARTS-style
    supernets do.

    Example:
        >>> net = ChainSupernet(length=3, C=2)
        >>> net(torch.randn(2, 3, 8, 8), net.path_weights((1, 0, 3))).shape
        torch.Size([2, 10])
    """

    ops = OPS
    space_name = "chain"

    def __init__(self, length: int = 4, C: int = 8, num_classes: int = 10, in_channels: int = 3
                 ) -> None:
        super().__init__()
        self.length, self.C = int(length), int(C)
        self.stem = Stem(in_channels, C)
        self.layers = torch.nn.ModuleList(
            MixedOp([make_op(o, C, affine=False) for o in range(len(OPS))], names=OPS)
            for _ in range(self.length)
        )
        self.head = Head(C, num_classes)
        self.edge_groups = (tuple(range(self.length)),)
        self._init_arch(self.length)

    @property
    def space(self) -> Any:
        """The chain space of this length."""
        return SPACES.get(self.space_name)(length=self.length)

    def forward(self, x: torch.Tensor, weights: Any = None) -> torch.Tensor:
        rows, coef = self._rows(weights)
        h = self.stem(x)
        for e, layer in enumerate(self.layers):
            c = coef[e]
            out = layer(h, c if isinstance(c, torch.Tensor) else rows[e])
            h = torch.zeros_like(h) if out is None else out
        return self.head(h)

    def path_weights(self, arch: Sequence[int]) -> np.ndarray:
        """One-hot rows: layer ``e`` runs ``arch[e]``."""
        a = self.space.validate(arch)
        return np.eye(len(OPS))[list(a)]

    def arch_from_decisions(self, decided: Mapping[int, int], removed: Collection[int] = ()
                            ) -> tuple[int, ...]:
        """The architecture of one decided op per layer."""
        missing = [e for e in range(self.length) if e not in decided or e in removed]
        if missing:
            raise InvalidArchitectureError(f"layers {missing} are not decided yet")
        return self.space.validate(tuple(decided[e] for e in range(self.length)))
