"""Generic operations of cell-based search spaces.

Module and attribute names follow the NAS-Bench-201 and DARTS reference implementations, so a
state dict of a nasrank network has exactly the keys (and shapes) of the reference networks and
official checkpoints load without renaming. Which operation a space's operation *name* means is
decided by the space (``nasrank.spaces.<name>``); this module only holds the blocks:

* :class:`ReLUConvBN`, :class:`AvgPool3x3`, :class:`Identity`, :class:`Zero`,
  :class:`ResNetBasicBlock` (NAS-Bench-201's stage reduction);
* :class:`SepConv` (a depthwise-separable convolution applied twice), :class:`DilConv` (a
  dilated depthwise-separable convolution) and :class:`FactorizedReduce` (resolution halving
  with two offset stride-2 1 x 1 convolutions), the blocks of the DARTS operations;
* :class:`MBConv`, the inverted-residual block of MobileNetV2 (the candidate blocks of
  NAS-Bench-Macro and of the ProxylessNAS / MobileNet-like spaces).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "ReLUConvBN",
    "AvgPool3x3",
    "Identity",
    "Zero",
    "ResNetBasicBlock",
    "SepConv",
    "DilConv",
    "FactorizedReduce",
    "MBConv",
    "avg_pool_3x3",
]


class ReLUConvBN(nn.Module):
    """ReLU -> Conv2d -> BatchNorm2d, the convolution of the NAS-Bench-201 and DARTS spaces.

    Args:
        C_in: Input channels.
        C_out: Output channels.
        kernel_size: Square kernel size.
        stride: Convolution stride.
        padding: Zero padding.
        dilation: Convolution dilation.
        affine: Whether BatchNorm has a learnable scale and shift.
        track_running_stats: Whether BatchNorm keeps running statistics (used in eval mode).
        bias: Whether the convolution has a bias. The benchmark uses ``bias = not affine``;
            ``None`` applies that rule.

    Example:
        >>> op = ReLUConvBN(16, 16, 3, 1, 1)
        >>> op(torch.randn(2, 16, 8, 8)).shape
        torch.Size([2, 16, 8, 8])
    """

    def __init__(
        self,
        C_in: int,
        C_out: int,
        kernel_size: int,
        stride: int,
        padding: int,
        dilation: int = 1,
        affine: bool = True,
        track_running_stats: bool = True,
        bias: bool | None = None,
    ) -> None:
        super().__init__()
        use_bias = (not affine) if bias is None else bias
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                C_in, C_out, kernel_size, stride=stride, padding=padding, dilation=dilation,
                bias=use_bias,
            ),
            nn.BatchNorm2d(C_out, affine=affine, track_running_stats=track_running_stats),
        )

    @property
    def conv(self) -> nn.Conv2d:
        return self.op[1]

    @property
    def bn(self) -> nn.BatchNorm2d:
        return self.op[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)

    def forward_after_relu(self, relu_x: torch.Tensor) -> torch.Tensor:
        """Conv -> BN on an input that has already been passed through ReLU (shared ReLUs)."""
        return self.op[2](self.op[1](relu_x))


class AvgPool3x3(nn.Module):
    """3x3 average pooling, padding 1, padded zeros excluded from the average.

    Example:
        >>> AvgPool3x3()(torch.ones(1, 1, 4, 4)).unique()
        tensor([1.])
    """

    def __init__(self, stride: int = 1) -> None:
        super().__init__()
        self.op = nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Identity(nn.Module):
    """``skip_connect`` with stride 1 and equal channels.

    Example:
        >>> x = torch.randn(1, 2, 3, 3)
        >>> Identity()(x) is x
        True
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Zero(nn.Module):
    """The ``none`` operation: an all-zero output of the right shape.

    Cells built by nasrank never call it (a ``none`` edge is simply left out of the sum); it exists
    so that the module tree, and hence ``print(model)``, mirrors the architecture.

    Example:
        >>> Zero(stride=2)(torch.ones(1, 3, 4, 4)).shape
        torch.Size([1, 3, 2, 2])
    """

    def __init__(self, stride: int = 1, C_out: int | None = None) -> None:
        super().__init__()
        self.stride = stride
        self.C_out = C_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        s = self.stride
        return x.new_zeros(n, self.C_out or c, -(-h // s), -(-w // s))


class ResNetBasicBlock(nn.Module):
    """The residual reduction block between the stages of the NAS-Bench-201 network.

    ``conv_b(conv_a(x)) + downsample(x)`` with ``conv_a`` a strided 3x3 ReLUConvBN, ``conv_b`` a 3x3
    ReLUConvBN, and (stride 2) a shortcut of 2x2 average pooling followed by a bias-free 1x1 conv.

    Example:
        >>> ResNetBasicBlock(16, 32, 2)(torch.randn(2, 16, 8, 8)).shape
        torch.Size([2, 32, 4, 4])
    """

    def __init__(
        self,
        C_in: int,
        C_out: int,
        stride: int = 2,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        self.conv_a = ReLUConvBN(C_in, C_out, 3, stride, 1, 1, affine, track_running_stats)
        self.conv_b = ReLUConvBN(C_out, C_out, 3, 1, 1, 1, affine, track_running_stats)
        self.downsample: nn.Module | None
        if stride == 2:
            self.downsample = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(C_in, C_out, kernel_size=1, stride=1, padding=0, bias=False),
            )
        elif C_in != C_out:
            self.downsample = ReLUConvBN(C_in, C_out, 1, 1, 0, 1, affine, track_running_stats)
        else:
            self.downsample = None
        self.in_dim = C_in
        self.out_dim = C_out
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_b(self.conv_a(x))
        residual = x if self.downsample is None else self.downsample(x)
        return residual + out


def avg_pool_3x3(x: torch.Tensor) -> torch.Tensor:
    """Functional form of :class:`AvgPool3x3` with stride 1.

    Example:
        >>> avg_pool_3x3(torch.ones(1, 1, 3, 3)).unique()
        tensor([1.])
    """
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


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


_ACTIVATIONS = {"relu": nn.ReLU, "relu6": nn.ReLU6}


class MBConv(nn.Module):
    """MobileNetV2 inverted-residual block: 1x1 expansion, k x k depthwise, linear 1x1 projection.

    ``expand`` (a bias-free 1x1 conv to ``hidden`` channels, BN, activation) is omitted when
    ``expand_ratio == 1``; ``depthwise`` is a k x k depthwise conv (padding ``k // 2``, the given
    stride), BN and activation; ``project`` a bias-free 1x1 conv to ``C_out`` and BN, without
    activation. ``hidden`` is ``round(C_in * expand_ratio)`` unless ``hidden_channels`` is given.
    With ``residual="auto"`` the input is added when the shapes allow it (``stride == 1`` and
    ``C_in == C_out``), as in MobileNetV2; ``residual=False`` leaves the shortcut to the caller
    (ProxylessNAS adds it outside the candidate block).

    Args:
        C_in: Input channels.
        C_out: Output channels.
        kernel_size: Odd depthwise kernel size (3, 5, 7).
        stride: 1 or 2.
        expand_ratio: Expansion factor of the hidden width (>= 1).
        activation: ``"relu"`` (NAS-Bench-Macro) or ``"relu6"`` (MobileNetV2, ProxylessNAS).
        residual: ``"auto"``, ``True`` (requires matching shapes) or ``False``.
        hidden_channels: Explicit hidden width, overriding ``expand_ratio``'s.
        affine: Whether the BatchNorm layers have learnable affine parameters.

    Example:
        >>> block = MBConv(16, 16, kernel_size=5, stride=1, expand_ratio=6)
        >>> block(torch.randn(2, 16, 8, 8)).shape, block.use_residual
        (torch.Size([2, 16, 8, 8]), True)
        >>> MBConv(16, 24, 3, 2, 3)(torch.randn(2, 16, 8, 8)).shape
        torch.Size([2, 24, 4, 4])
    """

    def __init__(
        self,
        C_in: int,
        C_out: int,
        kernel_size: int = 3,
        stride: int = 1,
        expand_ratio: float = 6,
        activation: str = "relu6",
        residual: bool | str = "auto",
        hidden_channels: int | None = None,
        affine: bool = True,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd int, got {kernel_size}")
        if expand_ratio < 1:
            raise ValueError(f"expand_ratio must be >= 1, got {expand_ratio}")
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}")
        act = _ACTIVATIONS[activation]
        hidden = int(hidden_channels) if hidden_channels is not None else int(round(C_in * expand_ratio))
        self.expand: nn.Module | None
        if expand_ratio == 1 and hidden_channels is None:
            hidden = C_in
            self.expand = None
        else:
            self.expand = nn.Sequential(
                nn.Conv2d(C_in, hidden, 1, 1, 0, bias=False),
                nn.BatchNorm2d(hidden, affine=affine),
                act(inplace=False),
            )
        self.depthwise = nn.Sequential(
            nn.Conv2d(hidden, hidden, kernel_size, stride, kernel_size // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden, affine=affine),
            act(inplace=False),
        )
        self.project = nn.Sequential(
            nn.Conv2d(hidden, C_out, 1, 1, 0, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )
        shapes_match = stride == 1 and C_in == C_out
        if residual == "auto":
            self.use_residual = shapes_match
        elif residual is True:
            if not shapes_match:
                raise ValueError("residual=True needs stride 1 and C_in == C_out")
            self.use_residual = True
        elif residual is False:
            self.use_residual = False
        else:
            raise ValueError(f"residual must be 'auto', True or False, got {residual!r}")
        self.C_in, self.C_out, self.hidden = C_in, C_out, hidden
        self.kernel_size, self.stride, self.expand_ratio = kernel_size, stride, expand_ratio

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.depthwise(out))
        return out + x if self.use_residual else out
