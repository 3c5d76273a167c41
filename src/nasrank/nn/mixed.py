"""Mixed operations: the weighted sum of candidate operations on one supernet edge."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

__all__ = ["MixedOp"]


class MixedOp(nn.Module):
    """``sum_o w_o * op_o(x)`` over the candidate operations of one edge.

    Operations whose weight is exactly zero (removed by a perturbation, or not chosen on a
    discretised edge) are not executed at all, so they cost nothing and leave no trace in
    activation-based scores. Weights are plain floats (one per candidate, in order), so that
    skipping needs no device synchronisation.

    Args:
        ops: The candidate operations; all map the edge input to the same output shape.
        names: Optional names of the candidates (for ``repr``).

    Example:
        >>> op = MixedOp([nn.Identity(), nn.Conv2d(2, 2, 1)])
        >>> x = torch.randn(1, 2, 3, 3)
        >>> torch.equal(op(x, [1.0, 0.0]), x)
        True
    """

    def __init__(self, ops: Iterable[nn.Module], names: Sequence[str] | None = None) -> None:
        super().__init__()
        self.ops = nn.ModuleList(ops)
        self.names = tuple(names) if names is not None else None

    def extra_repr(self) -> str:
        return f"names={self.names}" if self.names is not None else ""

    def forward(self, x: torch.Tensor, weights: Sequence[float]) -> torch.Tensor | None:
        """Weighted sum of the operations with non-zero weight; ``None`` if all weights are 0."""
        if len(weights) != len(self.ops):
            raise ValueError(f"expected {len(self.ops)} weights, got {len(weights)}")
        out: torch.Tensor | None = None
        for w, op in zip(weights, self.ops, strict=True):
            if w == 0:
                continue
            t = op(x)
            t = t if w == 1 else t * w
            out = t if out is None else out + t
        return out
