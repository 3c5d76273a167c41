"""The MobileNet-like weight-sharing supernet: one mixture of candidate blocks per searchable block.

Block ``e`` computes ``sum_o w[e, o] * op_o(x)`` over the columns of a ``(21, 7)`` weight matrix in
:data:`~nasrank.spaces.mobilenet.OPS` order: ``skip_connect`` is the identity, each MBConv candidate
carries its own identity shortcut where shapes allow (so a one-hot row is exactly the block of the
stand-alone network, and a softmax row is ``x + sum_o w_o MBConv_o(x)`` on a non-first block, as in
ProxylessNAS's mixed edge next to its shortcut). The first block of a stage has no skip candidate:
its ``skip_connect`` column is never run (:meth:`~MobileNetSupernet.candidate_mask`), so weight
there acts like ``none``; a block whose weights are all 0 outputs zeros.

This is the search model of Zero-Cost-PT's MobileNet-like space (seed 004 §5.3: ProxylessNAS's
candidates on the ProxylessNAS-GPU widths, 6 MBConvs everywhere plus the identity except at the
first block of each stage).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ...exceptions import ConfigError, InvalidArchitectureError
from ...nn.ops import Identity, Zero
from ...nn.supernet import SupernetBase
from .._registries import SPACES
from .encoding import FIRST_OF_STAGE, NUM_BLOCKS, OPS, SKIP, Arch, one_hot, validate
from .network import (
    MobileNetHead,
    MobileNetStem,
    block_shapes,
    check_build_options,
    make_block,
    resolve_widths,
    set_bn_eps,
)

__all__ = ["MobileNetSupernet"]


class MobileNetSupernet(SupernetBase):
    """Stem and head of the MobileNet-like network around 21 mixtures of the 7 candidate blocks.

    Args:
        C: Stem width rescaling every width (see :func:`~nasrank.spaces.mobilenet.resolve_widths`).
        widths: Width preset name or nine ints (default ProxylessNAS-GPU's, Zero-Cost-PT's supernet).
        num_classes: Classifier outputs.
        in_channels: Image channels.
        stem_stride: Stride of the stem convolution.
        dropout: Dropout before the classifier.

    Example:
        >>> net = MobileNetSupernet(C=4)
        >>> a = (1,) * 21
        >>> net(torch.randn(2, 3, 16, 16), net.path_weights(a)).shape
        torch.Size([2, 10])
        >>> int(net.candidate_mask().sum())  # 6 blocks x 6 MBConvs + 15 blocks x 7 candidates
        141
    """

    ops = OPS
    edge_groups = (tuple(range(NUM_BLOCKS)),)
    space_name = "mobilenet"

    def __init__(self, C: int | None = None, widths: str | Sequence[int] = "gpu", num_classes: int = 10,
                 in_channels: int = 3, stem_stride: int = 2, dropout: float = 0.0) -> None:
        super().__init__()
        num_classes, in_channels, stem_stride, dropout = check_build_options(num_classes, in_channels,
                                                                              stem_stride, dropout)
        self.widths = resolve_widths(widths, C)
        self.C = self.widths[0]
        w = self.widths
        self.shapes = block_shapes(w)
        self.stem = MobileNetStem(in_channels, w[0], w[1], stem_stride)
        self.blocks = nn.ModuleList()
        for e, (cin, cout, s) in enumerate(self.shapes):
            skip: nn.Module = Zero(stride=s, C_out=cout) if FIRST_OF_STAGE[e] else Identity()
            self.blocks.append(nn.ModuleList([skip, *(make_block(o, cin, cout, s) for o in range(1, len(OPS)))]))
        self.head = MobileNetHead(w[7], w[8], num_classes, dropout)
        set_bn_eps(self)
        self._init_arch(NUM_BLOCKS)

    @property
    def space(self) -> Any:
        """The :class:`~nasrank.spaces.mobilenet.MobileNetSpace`."""
        return SPACES.get(self.space_name)()

    def _body(self, x: torch.Tensor, weights: Any) -> torch.Tensor:
        rows, coef = self._rows(weights)
        h = self.stem(x)
        for e in range(NUM_BLOCKS):
            h = self._block(e, h, rows[e], coef[e])
        return h

    def _block(self, e: int, h: torch.Tensor, row: Sequence[float], coef: Any) -> torch.Tensor:
        """``sum_o w[e, o] * op_o(h)`` over the candidates with a non-zero weight (the skip of a
        stage's first block never runs)."""
        cands = self.blocks[e]
        out: torch.Tensor | None = None
        for o in range(len(OPS)):
            if row[o] == 0 or (o == SKIP and FIRST_OF_STAGE[e]):
                continue
            t = _scaled(cands[o](h), coef[o])
            out = t if out is None else out + t
        if out is None:  # no candidate runs: zeros of the block's output shape
            return cands[SKIP](h) if FIRST_OF_STAGE[e] else torch.zeros_like(h)
        return out

    def forward_features(self, x: torch.Tensor, weights: Any = None) -> torch.Tensor:
        """The feature map before global pooling."""
        return self.head.features(self._body(x, weights))

    def forward(self, x: torch.Tensor, weights: Any = None) -> torch.Tensor:
        """Logits under ``weights`` (default :meth:`arch_weights`)."""
        return self.head(self._body(x, weights))

    def candidate_mask(self) -> np.ndarray:
        """Every column except ``skip_connect`` on the first block of a stage.

        Example:
            >>> MobileNetSupernet(C=4).candidate_mask()[:2, :2].tolist()
            [[False, True], [True, True]]
        """
        mask = np.ones((NUM_BLOCKS, len(OPS)), dtype=bool)
        mask[[e for e in range(NUM_BLOCKS) if FIRST_OF_STAGE[e]], SKIP] = False
        return mask

    def path_weights(self, arch: Sequence[int]) -> np.ndarray:
        """One-hot rows: block ``e`` runs ``arch[e]``.

        Example:
            >>> MobileNetSupernet(C=4).path_weights((1,) * 21)[0].tolist()
            [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        """
        return one_hot(arch).astype(np.float64)

    def arch_from_decisions(self, decided: Mapping[int, int], removed: Collection[int] = ()) -> Arch:
        """The architecture whose block ``e`` is ``decided[e]`` (every block must be decided).

        Example:
            >>> MobileNetSupernet(C=4).arch_from_decisions({e: 2 for e in range(21)})[:3]
            (2, 2, 2)
        """
        missing = [e for e in range(NUM_BLOCKS) if e not in decided or e in removed]
        if missing:
            raise InvalidArchitectureError(f"blocks {missing} are not decided yet")
        return validate(tuple(int(decided[e]) for e in range(NUM_BLOCKS)))

    def arch_from_weights(self, weights: Any) -> Arch:
        """Per block the candidate with the largest weight (never the skip of a stage's first block).

        Example:
            >>> w = np.zeros((21, 7)); w[:, 0] = 1.0; w[:, 3] = 0.5
            >>> MobileNetSupernet(C=4).arch_from_weights(w)[:5]
            (3, 0, 0, 0, 3)
        """
        w = np.asarray(weights.detach().cpu().numpy() if isinstance(weights, torch.Tensor) else weights,
                       dtype=np.float64)
        if w.shape != (NUM_BLOCKS, len(OPS)):
            raise ConfigError(f"weights must have shape {(NUM_BLOCKS, len(OPS))}, got {w.shape}")
        w = np.where(self.candidate_mask(), w, -np.inf)
        return self.arch_from_decisions({e: int(np.argmax(row)) for e, row in enumerate(w)})


def _scaled(t: torch.Tensor, c: Any) -> torch.Tensor:
    """``c * t``, skipping the multiplication for a float ``c == 1``."""
    return t if (not isinstance(c, torch.Tensor) and c == 1) else t * c

