"""The operations of the DARTS search space (Liu et al., 2019).

Eight primitives, in the order of the DARTS code base: ``none``, ``max_pool_3x3``,
``avg_pool_3x3``, ``skip_connect``, ``sep_conv_3x3``, ``sep_conv_5x5``, ``dil_conv_3x3``,
``dil_conv_5x5``. Every convolution is bias-free; BatchNorm is affine in final networks and
non-affine in search supernets (``affine=False``), where pooling is followed by a non-affine
BatchNorm (:func:`darts_op` with ``pool_bn=True``).

* ``sep_conv_k``: twice [ReLU -> depthwise k x k -> pointwise 1 x 1 -> BN]; only the first
  depthwise convolution is strided.
* ``dil_conv_k``: once [ReLU -> depthwise k x k, dilation 2 -> pointwise 1 x 1 -> BN].
* ``skip_connect``: identity, or :class:`FactorizedReduce` at stride 2.
* pools: 3 x 3, padding 1; average pooling ignores padded zeros.
"""

from __future__ import annotations

import torch
from torch import nn

from .ops import Identity, ReLUConvBN, Zero

__all__ = [
    "DARTS_PRIMITIVES",
    "SepConv",
    "DilConv",
    "FactorizedReduce",
    "darts_op",
    "darts_relu_conv_bn",
]

DARTS_PRIMITIVES: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)


class SepConv(nn.Module):
    """Separable convolution applied twice (the DARTS ``sep_conv_k`` operation).

    Example:
        >>> SepConv(8, 8, 3, 2, 1)(torch.randn(2, 8, 8, 8)).shape
        torch.Size([2, 8, 4, 4])
    """

    def __init__(
        self, C_in: int, C_out: int, kernel_size: int, stride: int, padding: int, affine: bool = True
    ) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride, padding, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_in, 1, bias=False),
            nn.BatchNorm2d(C_in, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, 1, padding, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class DilConv(nn.Module):
    """Dilated depthwise-separable convolution (the DARTS ``dil_conv_k`` operation).

    Example:
        >>> DilConv(8, 8, 5, 1, 4, 2)(torch.randn(2, 8, 8, 8)).shape
        torch.Size([2, 8, 8, 8])
    """

    def __init__(
        self,
        C_in: int,
        C_out: int,
        kernel_size: int,
        stride: int,
        padding: int,
        dilation: int,
        affine: bool = True,
    ) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride, padding, dilation=dilation, groups=C_in,
                      bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset 1 x 1 stride-2 convolutions of ``C_out // 2`` channels.

    ReLU, then ``cat(conv_1(x), conv_2(x[:, :, 1:, 1:]))`` along channels, then BatchNorm.

    Example:
        >>> FactorizedReduce(8, 16)(torch.randn(2, 8, 8, 8)).shape
        torch.Size([2, 16, 4, 4])
    """

    def __init__(self, C_in: int, C_out: int, affine: bool = True) -> None:
        super().__init__()
        if C_out % 2:
            raise ValueError(f"FactorizedReduce needs an even C_out, got {C_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


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
        name: One of :data:`DARTS_PRIMITIVES`.
        C: Input and output channels.
        stride: 1, or 2 in a reduction cell on edges that read the cell inputs.
        affine: BatchNorm affine parameters (final networks: True; supernets: False).
        pool_bn: Follow pooling by a non-affine BatchNorm (the search supernet's ``MixedOp``).

    Example:
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
    raise ValueError(f"unknown DARTS operation {name!r}; valid: {', '.join(DARTS_PRIMITIVES)}")
