"""The networks of the NDS ResNet / ResNeXt design spaces (CIFAR variant).

Structure, as in the NDS models (Radosavovic et al. 2019, trained with pycls's AnyNet):

* stem: 3x3 convolution (stride 1) to ``stem_width`` = 16 channels, BatchNorm, ReLU;
* 3 stages of ``d_i`` residual blocks with ``w_i`` output channels; the first block of a stage
  has stride 1 (stage 1) or 2 (stages 2 and 3); every other block has stride 1;
* head: global average pooling and a linear classifier (with bias).

Blocks (:class:`ResidualBlock`): ``relu(shortcut(x) + f(x))``; the shortcut is the identity, or a
1x1 convolution + BatchNorm with the block's stride when the width or the resolution changes.

* ``basic`` (ResNet): ``f`` = 3x3 conv (stride) - BN - ReLU - 3x3 conv - BN;
* ``bottleneck`` (ResNeXt): ``f`` = 1x1 conv to the bottleneck width ``b = w / r`` - BN - ReLU -
  3x3 conv with ``g`` groups (stride) - BN - ReLU - 1x1 conv to ``w`` - BN. (pycls names the
  multiplier ``bot_mul = 1 / r``; ``g`` is the number of groups, not the group width.)

Convolutions have no bias. Initialisation follows pycls: convolution weights ~ N(0, 2 / fan_out),
BatchNorm weight 1 and bias 0, classifier weights ~ N(0, 0.01^2) and bias 0.

Down-scaling (``width_mult``; the paper's networks are ``width_mult=1``): every width, the stem's
included, becomes ``max(1, round(w * width_mult))``; the bottleneck width becomes
``round(w' / r)`` rounded to the nearest multiple of ``g`` (at least ``g``) so the grouped
convolution stays valid. At ``width_mult=1`` nothing is rounded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["NDSNetwork", "ResidualBlock", "scaled_width", "bottleneck_width"]


def scaled_width(width: int, width_mult: float) -> int:
    """``max(1, round(width * width_mult))`` (halves round up).

    Example:
        >>> scaled_width(16, 0.25), scaled_width(24, 1 / 16), scaled_width(16, 1 / 64)
        (4, 2, 1)
    """
    return max(1, int(math.floor(width * width_mult + 0.5)))


def bottleneck_width(width: int, ratio: int, groups: int) -> int:
    """The bottleneck width ``width / ratio``, rounded to the nearest multiple of ``groups``
    (at least ``groups``).

    Example:
        >>> bottleneck_width(64, 4, 4), bottleneck_width(4, 4, 2), bottleneck_width(6, 1, 4)
        (16, 2, 8)
    """
    b = max(1, int(math.floor(width / ratio + 0.5)))
    return max(groups, groups * int(math.floor(b / groups + 0.5)))


def _conv_bn(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, groups=groups, bias=False),
            nn.BatchNorm2d(c_out)]


class ResidualBlock(nn.Module):
    """A residual block of the NDS networks: ``relu(shortcut(x) + f(x))`` (see the module
    docstring).

    Args:
        c_in: Input channels.
        c_out: Output channels.
        stride: Stride of the block (1 or 2).
        bottleneck: ``None`` for the basic block, else ``(bottleneck_width, groups)``.

    Example:
        >>> ResidualBlock(8, 16, 2, bottleneck=(8, 2))(torch.randn(2, 8, 8, 8)).shape
        torch.Size([2, 16, 4, 4])
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1,
                 bottleneck: tuple[int, int] | None = None) -> None:
        super().__init__()
        if bottleneck is None:
            layers = [*_conv_bn(c_in, c_out, 3, stride), nn.ReLU(inplace=False), *_conv_bn(c_out, c_out, 3)]
        else:
            b, g = bottleneck
            layers = [*_conv_bn(c_in, b, 1), nn.ReLU(inplace=False),
                      *_conv_bn(b, b, 3, stride, groups=g), nn.ReLU(inplace=False),
                      *_conv_bn(b, c_out, 1)]
        self.f = nn.Sequential(*layers)
        self.proj: nn.Module | None = None
        if c_in != c_out or stride != 1:
            self.proj = nn.Sequential(*_conv_bn(c_in, c_out, 1, stride))
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.proj is None else self.proj(x)
        return self.relu(shortcut + self.f(x))


class NDSNetwork(nn.Module):
    """An NDS ResNet / ResNeXt network for CIFAR-size inputs; ``forward`` returns logits.

    Args:
        depths: Blocks per stage (3 values).
        widths: Output channels per stage, already scaled.
        bottlenecks: ``None`` (basic blocks) or per stage ``(bottleneck_width, groups)``.
        stem_width: Channels of the stem convolution.
        num_classes: Classifier outputs.
        in_channels: Input image channels.

    Example:
        >>> net = NDSNetwork((1, 2, 1), (4, 8, 16), stem_width=4)
        >>> net(torch.randn(2, 3, 8, 8)).shape
        torch.Size([2, 10])
    """

    def __init__(self, depths: Sequence[int], widths: Sequence[int],
                 bottlenecks: Sequence[tuple[int, int]] | None = None, stem_width: int = 16,
                 num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.stem = nn.Sequential(*_conv_bn(in_channels, stem_width, 3), nn.ReLU(inplace=False))
        stages = []
        prev = stem_width
        for i, (d, w) in enumerate(zip(depths, widths, strict=True)):
            bneck = None if bottlenecks is None else tuple(bottlenecks[i])
            blocks = [ResidualBlock(prev if j == 0 else w, w, (1 if i == 0 else 2) if j == 0 else 1, bneck)
                      for j in range(d)]
            stages.append(nn.Sequential(*blocks))
            prev = w
        self.stages = nn.Sequential(*stages)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(prev, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                nn.init.normal_(m.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before global pooling."""
        return self.stages(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.global_pooling(self.forward_features(x)).flatten(1))
