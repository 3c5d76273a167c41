"""Model size utilities."""

from __future__ import annotations

from torch import nn

__all__ = ["count_parameters"]


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters of ``model`` (buffers such as BN running stats excluded).

    Parameters shared between modules are counted once.

    Example:
        >>> count_parameters(nn.Linear(3, 2))
        8
    """
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        total += p.numel()
    return total
