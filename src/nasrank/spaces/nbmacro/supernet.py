"""The NAS-Bench-Macro weight-sharing supernet: every layer holds its three candidate blocks.

The network of :mod:`~nasrank.spaces.nbmacro.network` with each of the 8 searchable layers
replaced by the weighted sum of its candidates (``identity`` / its downsampling 1x1 conv-BN on the
first layer of a stage, ``mb3_k3``, ``mb6_k5``). The weight matrix is ``(8, 3)``: row ``e`` is
layer ``e``, columns follow :data:`~nasrank.spaces.nbmacro.encoding.OPS`; a path is one one-hot
row per layer. A candidate with weight 0 does not run. On a stride-1 layer the MBConv candidates
carry their own residual (as in the stand-alone network), so a mixture computes
``w0 x + w1 (f1(x) + x) + w2 (f2(x) + x)``.

The candidates' BatchNorm layers are non-affine by default (``affine=False``, the convention of
the other supernets of nasrank); the stem and head are those of the stand-alone network. There
are no topology decisions (every layer stays), so :meth:`~nasrank.nn.SupernetBase.topology_nodes`
is empty and Zero-Cost-PT only selects operations. Removed candidates are simply not run:
``inactive_relu_units_`` is always 0 (Zero-Cost-PT's ``inactive_relus="count"`` emulation of the
released NB201 code has nothing to add here).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ...exceptions import InvalidArchitectureError
from ...nn import MixedOp, SupernetBase
from .._registries import SPACES
from .encoding import NUM_LAYERS, OPS, validate
from .network import Head, Stem, layer_shapes, make_block

__all__ = ["NBMacroSupernet"]


class NBMacroSupernet(SupernetBase):
    """The weight-sharing supernet of NAS-Bench-Macro (see the module docstring).

    Args:
        C: Stem channels (benchmark network: 32).
        head_channels: Channels of the head's 1x1 convolution (benchmark network: 1280).
        num_classes: Classifier outputs.
        in_channels: Image channels.
        affine: Whether the candidates' BatchNorm layers have learnable affine parameters.

    Example:
        >>> net = NBMacroSupernet(C=4, head_channels=16)
        >>> w = net.path_weights((0, 2, 0, 1, 2, 1, 0, 0))
        >>> w.shape, net(torch.randn(2, 3, 16, 16), w).shape
        ((8, 3), torch.Size([2, 10]))
    """

    ops = OPS
    space_name = "nb-macro"

    def __init__(self, C: int = 32, head_channels: int = 1280, num_classes: int = 10, in_channels: int = 3,
                 affine: bool = False) -> None:
        super().__init__()
        self.C, self.head_channels = int(C), int(head_channels)
        self.shapes = layer_shapes(self.C)
        self.stem = Stem(in_channels, self.C)
        self.layers = nn.ModuleList(
            MixedOp([make_block(o, ci, co, s, affine=affine) for o in range(len(OPS))], names=OPS)
            for ci, co, s in self.shapes
        )
        self.head = Head(self.shapes[-1][1], self.head_channels, num_classes)
        self.edge_groups = (tuple(range(NUM_LAYERS)),)
        self._init_arch(NUM_LAYERS)

    @property
    def space(self) -> Any:
        """The ``nb-macro`` space."""
        return SPACES.get(self.space_name)()

    def _body(self, x: torch.Tensor, weights: Any) -> torch.Tensor:
        rows, coef = self._rows(weights)
        h = self.stem(x)
        for e, layer in enumerate(self.layers):
            out: torch.Tensor | None = None
            for o, op in enumerate(layer.ops):
                if rows[e][o] == 0:
                    continue
                c = coef[e][o]
                t = op(h)
                if isinstance(c, torch.Tensor) or c != 1:
                    t = t * c
                out = t if out is None else out + t
            if out is None:  # every candidate of the layer removed: a zero map of the layer's shape
                _ci, co, s = self.shapes[e]
                out = h.new_zeros(h.shape[0], co, (h.shape[2] - 1) // s + 1, (h.shape[3] - 1) // s + 1)
            h = out
        self.inactive_relu_units_ = 0
        return h

    def forward_features(self, x: torch.Tensor, weights: Any = None) -> torch.Tensor:
        """The feature map before global pooling under ``weights`` (default :meth:`arch_weights`)."""
        return self.head.features(self._body(x, weights))

    def forward(self, x: torch.Tensor, weights: Any = None) -> torch.Tensor:
        return self.head(self._body(x, weights))

    def path_weights(self, arch: Sequence[int]) -> np.ndarray:
        """One-hot rows: layer ``e`` runs candidate ``arch[e]``.

        Example:
            >>> NBMacroSupernet(C=2, head_channels=4).path_weights((0, 1, 2, 0, 0, 0, 0, 0))[:3].tolist()
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
        """
        return np.eye(len(OPS))[list(validate(arch))]

    def arch_from_decisions(self, decided: Mapping[int, int], removed: Collection[int] = ()
                            ) -> tuple[int, ...]:
        """The architecture of one decided candidate per layer (no layer can be removed).

        Example:
            >>> NBMacroSupernet(C=2, head_channels=4).arch_from_decisions(dict(enumerate([1] * 8)))
            (1, 1, 1, 1, 1, 1, 1, 1)
        """
        missing = [e for e in range(NUM_LAYERS) if e not in decided or e in removed]
        if missing:
            raise InvalidArchitectureError(f"layers {missing} are not decided yet (every layer needs a candidate)")
        return validate(tuple(decided[e] for e in range(NUM_LAYERS)))
