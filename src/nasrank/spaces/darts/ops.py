"""The operations of the DARTS search space (Liu et al., 2019): what each of its eight names builds.

Eight primitives, in the order of the DARTS code base: ``none``, ``max_pool_3x3``,
``avg_pool_3x3``, ``skip_connect``, ``sep_conv_3x3``, ``sep_conv_5x5``, ``dil_conv_3x3``,
``dil_conv_5x5``. Every convolution is bias-free; BatchNorm is affine in final networks and
non-affine in search supernets (``affine=False``), where pooling is followed by a non-affine
BatchNorm (:func:`darts_op` with ``pool_bn=True``).

* ``sep_conv_k``: twice [ReLU -> depthwise k x k -> pointwise 1 x 1 -> BN]; only the first
  depthwise convolution is strided (:class:`~nasrank.nn.SepConv`).
* ``dil_conv_k``: once [ReLU -> depthwise k x k, dilation 2 -> pointwise 1 x 1 -> BN]
  (:class:`~nasrank.nn.DilConv`).
* ``skip_connect``: identity, or :class:`~nasrank.nn.FactorizedReduce` at stride 2.
* pools: 3 x 3, padding 1; average pooling ignores padded zeros.
"""

from __future__ import annotations

from typing import Protocol

from torch import nn

from ...exceptions import ConfigError
from ...nn.ops import DilConv, FactorizedReduce, Identity, ReLUConvBN, SepConv, Zero
from .encoding import PRIMITIVES

__all__ = ["DARTS_PRIMITIVES", "OpFactory", "darts_op", "darts_relu_conv_bn"]

#: Alias of :data:`~nasrank.spaces.darts.PRIMITIVES` (the name it had in ``nasrank.nn.darts_ops``).
DARTS_PRIMITIVES = PRIMITIVES


class OpFactory(Protocol):
    """What builds the operation of a cell edge from its name: the signature of :func:`darts_op`.

    The networks and supernets of :mod:`nasrank.spaces.darts` take one (``op_factory``, default
    :func:`darts_op`), so that a space with further operations (e.g. RobustDARTS' ``noise``)
    reuses them.

    Example:
        >>> factory: OpFactory = darts_op
        >>> type(factory("skip_connect", 4, 1)).__name__
        'Identity'
    """

    def __call__(self, name: str, C: int, stride: int, affine: bool = True,
                 pool_bn: bool = False) -> nn.Module: ...


def darts_relu_conv_bn(
    C_in: int, C_out: int, kernel_size: int, stride: int, padding: int, affine: bool = True
) -> ReLUConvBN:
    """DARTS' ReLU -> bias-free conv -> BN block (cell preprocessing).

    Example:
        >>> darts_relu_conv_bn(8, 4, 1, 1, 0).conv.bias is None
        True
    """
    return ReLUConvBN(C_in, C_out, kernel_size, stride, padding, 1, affine, True, bias=False)


def darts_op(name: str, C: int, stride: int, affine: bool = True, pool_bn: bool = False) -> nn.Module:
    """Build the DARTS primitive ``name`` on ``C`` channels.

    Args:
        name: One of :data:`~nasrank.spaces.darts.PRIMITIVES`.
        C: Input and output channels.
        stride: 1, or 2 in a reduction cell on edges that read the cell inputs.
        affine: BatchNorm affine parameters (final networks: True; supernets: False).
        pool_bn: Follow pooling by a non-affine BatchNorm (the search supernet's ``MixedOp``).

    Example:
        >>> import torch
        >>> darts_op("dil_conv_3x3", 4, 2)(torch.randn(1, 4, 8, 8)).shape
        torch.Size([1, 4, 4, 4])
    """
    if name == "none":
        return Zero(stride=stride)
    if name in ("max_pool_3x3", "avg_pool_3x3"):
        pool: nn.Module
        if name == "max_pool_3x3":
            pool = nn.MaxPool2d(3, stride=stride, padding=1)
        else:
            pool = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
        return nn.Sequential(pool, nn.BatchNorm2d(C, affine=False)) if pool_bn else pool
    if name == "skip_connect":
        return Identity() if stride == 1 else FactorizedReduce(C, C, affine)
    if name == "sep_conv_3x3":
        return SepConv(C, C, 3, stride, 1, affine)
    if name == "sep_conv_5x5":
        return SepConv(C, C, 5, stride, 2, affine)
    if name == "dil_conv_3x3":
        return DilConv(C, C, 3, stride, 2, 2, affine)
    if name == "dil_conv_5x5":
        return DilConv(C, C, 5, stride, 4, 2, affine)
    raise ConfigError(f"unknown DARTS operation {name!r}; valid: {', '.join(PRIMITIVES)}")
