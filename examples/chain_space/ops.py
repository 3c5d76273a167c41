"""The chain space's operations: what each of its operation names builds (stride 1, C -> C)."""

from __future__ import annotations

from torch import nn

from nasrank.exceptions import ConfigError
from nasrank.nn import AvgPool3x3, Identity, ReLUConvBN

__all__ = ["OPS", "make_op"]

#: Operation names, in index order.
OPS: tuple[str, ...] = ("skip_connect", "conv_3x3", "conv_1x1", "avg_pool_3x3", "max_pool_3x3")
SKIP = 0


def make_op(op: int, C: int, affine: bool = True) -> nn.Module:
    """The module of operation index ``op`` on ``C`` channels.

    Example:
        >>> type(make_op(1, 4)).__name__
        'ReLUConvBN'
    """
    if op == 0:
        return Identity()
    if op == 1:
        return ReLUConvBN(C, C, 3, 1, 1, affine=affine, bias=False)
    if op == 2:
        return ReLUConvBN(C, C, 1, 1, 0, affine=affine, bias=False)
    if op == 3:
        return AvgPool3x3()
    if op == 4:
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ConfigError(f"unknown chain operation index {op!r}; valid: 0..{len(OPS) - 1} ({', '.join(OPS)})")
