"""The MobileNet-like network of an architecture, and the channel widths it is built with.

Layout (ProxylessNAS's ``ProxylessNASNets``; Cai et al., 2019):

* ``stem``: 3 x 3 convolution (stride ``stem_stride``, 2 on ImageNet), BatchNorm, ReLU6;
* ``first_block``: an MBConv of expansion 1 and kernel 3 (stride 1, no shortcut), fixed;
* ``blocks``: the 21 searchable blocks of :mod:`~nasrank.spaces.mobilenet.encoding` -- an MBConv
  with its identity shortcut where shapes allow (stride 1, equal widths), or the identity;
* ``feature_mix``: 1 x 1 convolution to the last width, BatchNorm, ReLU6;
* global average pooling, dropout (``dropout``, default 0), linear classifier.

Every convolution is bias-free and followed by BatchNorm (eps 1e-3, ProxylessNAS's ``bn_param``);
the classifier has a bias. Weights use PyTorch's default initialisation.

**Widths** are build options, not part of the architecture: a preset name of
:data:`WIDTH_PRESETS` or nine ints ``(stem, first block, stage 1..6, feature mix)``. ``C`` rescales
every width of the preset by ``C / stem`` (rounded, at least 1), so ``C`` is the stem width;
the tiny and search configurations of the space use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..._validate import check_int as _check_int
from ...exceptions import ConfigError
from ...nn.ops import Identity, MBConv
from .encoding import (
    EXPANSIONS,
    KERNELS,
    NUM_BLOCKS,
    SKIP,
    STAGE_BLOCKS,
    STAGE_OF,
    STAGE_STRIDES,
    validate,
)

__all__ = ["MobileNetNetwork", "WIDTH_PRESETS", "resolve_widths", "block_shapes", "BN_EPS"]

#: BatchNorm epsilon of ProxylessNAS's networks (``bn_param = (0.1, 1e-3)``).
BN_EPS = 1e-3

#: Channel widths ``(stem, first block, stage 1..6, feature mix)`` of the published networks.
#: ``"gpu"`` (the default) is ProxylessNAS-GPU's, and the supernet of Zero-Cost-PT's MobileNet-like
#: space (seed 004 §5.3); ``"backbone"`` is ProxylessNAS's search backbone (width multiplier 1).
WIDTH_PRESETS: dict[str, tuple[int, ...]] = {
    "gpu": (40, 24, 32, 56, 112, 128, 256, 432, 1728),
    "cpu": (40, 24, 32, 48, 88, 104, 216, 360, 1432),
    "mobile": (32, 16, 32, 40, 80, 96, 192, 320, 1280),
    "mobile14": (48, 24, 40, 56, 112, 136, 256, 448, 1792),
    "backbone": (32, 16, 24, 40, 80, 96, 192, 320, 1280),
    "mobilenetv2": (32, 16, 24, 32, 64, 96, 160, 320, 1280),
}


def resolve_widths(widths: str | Sequence[int] = "gpu", C: int | None = None) -> tuple[int, ...]:
    """The nine channel widths of a network: a preset or explicit widths, rescaled to stem ``C``.

    Args:
        widths: A name of :data:`WIDTH_PRESETS` or nine positive ints.
        C: Stem width; every width is multiplied by ``C / stem`` and rounded (at least 1).
            ``None`` keeps the widths.

    Example:
        >>> resolve_widths("gpu")
        (40, 24, 32, 56, 112, 128, 256, 432, 1728)
        >>> resolve_widths("gpu", C=4)
        (4, 2, 3, 6, 11, 13, 26, 43, 173)
    """
    if isinstance(widths, str):
        if widths not in WIDTH_PRESETS:
            raise ConfigError(f"unknown mobilenet width preset {widths!r}; valid: {', '.join(WIDTH_PRESETS)} "
                              "or nine ints (stem, first block, 6 stages, feature mix)")
        w = WIDTH_PRESETS[widths]
    else:
        try:
            w = tuple(widths)
        except TypeError:
            w = ()
        if len(w) != 9 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in w):
            raise ConfigError(f"`widths` must be a preset ({', '.join(WIDTH_PRESETS)}) or nine ints >= 1 "
                              f"(stem, first block, 6 stages, feature mix), got {widths!r}")
    if C is None:
        return tuple(int(v) for v in w)
    C = _check_int("C", C, 1)
    return (C, *(max(1, int(round(v * C / w[0]))) for v in w[1:]))


def block_shapes(widths: Sequence[int]) -> list[tuple[int, int, int]]:
    """``(C_in, C_out, stride)`` of each searchable block for resolved ``widths``.

    Example:
        >>> block_shapes(resolve_widths("gpu"))[:2]
        [(24, 32, 2), (32, 32, 1)]
    """
    out = []
    c = widths[1]
    for i in range(NUM_BLOCKS):
        s = STAGE_OF[i]
        first = i == sum(STAGE_BLOCKS[:s])
        cout = widths[2 + s]
        out.append((c, cout, STAGE_STRIDES[s] if first else 1))
        c = cout
    return out


def _conv_bn_relu6(C_in: int, C_out: int, kernel_size: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(C_in, C_out, kernel_size, stride, kernel_size // 2, bias=False),
        nn.BatchNorm2d(C_out),
        nn.ReLU6(inplace=False),
    )


def make_block(op: int, C_in: int, C_out: int, stride: int) -> nn.Module:
    """The module of operation ``op`` on a block of shape ``(C_in, C_out, stride)``: the identity,
    or an MBConv (ReLU6) with the identity shortcut where the shapes allow it.

    Example:
        >>> make_block(2, 8, 8, 1).use_residual, make_block(2, 8, 16, 2).use_residual
        (True, False)
    """
    if op == SKIP:
        if stride != 1 or C_in != C_out:
            raise ConfigError(f"skip_connect needs stride 1 and equal widths, got {C_in}->{C_out} stride {stride}")
        return Identity()
    return MBConv(C_in, C_out, kernel_size=KERNELS[op], stride=stride, expand_ratio=EXPANSIONS[op],
                  activation="relu6", residual="auto")


def set_bn_eps(module: nn.Module, eps: float = BN_EPS) -> None:
    """Set the epsilon of every BatchNorm layer of ``module`` (ProxylessNAS uses 1e-3).

    Example:
        >>> bn = nn.BatchNorm2d(2); set_bn_eps(bn); bn.eps
        0.001
    """
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eps = eps


class MobileNetHead(nn.Module):
    """Feature mix (1 x 1 conv, BN, ReLU6), global average pooling, dropout, linear classifier.

    Example:
        >>> MobileNetHead(8, 32, 10)(torch.randn(2, 8, 3, 3)).shape
        torch.Size([2, 10])
    """

    def __init__(self, C_in: int, C_last: int, num_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.feature_mix = _conv_bn_relu6(C_in, C_last, 1, 1)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None
        self.classifier = nn.Linear(C_last, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.feature_mix(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.global_pooling(self.features(x)).flatten(1)
        if self.dropout is not None:
            h = self.dropout(h)
        return self.classifier(h)


class MobileNetStem(nn.Sequential):
    """Stem convolution (3 x 3, BN, ReLU6) followed by the fixed expansion-1 MBConv block.

    Example:
        >>> MobileNetStem(3, 8, 4)(torch.randn(2, 3, 16, 16)).shape
        torch.Size([2, 4, 8, 8])
    """

    def __init__(self, in_channels: int, C_stem: int, C_first: int, stride: int = 2) -> None:
        super().__init__(
            _conv_bn_relu6(in_channels, C_stem, 3, stride),
            MBConv(C_stem, C_first, kernel_size=3, stride=1, expand_ratio=1, activation="relu6", residual=False),
        )


def check_build_options(num_classes: Any, in_channels: Any, stem_stride: Any, dropout: Any
                        ) -> tuple[int, int, int, float]:
    """Validated ``(num_classes, in_channels, stem_stride, dropout)`` (one-line ``ConfigError``).

    Example:
        >>> check_build_options(10, 3, 2, 0)
        (10, 3, 2, 0.0)
    """
    num_classes = _check_int("num_classes", num_classes, 1)
    in_channels = _check_int("in_channels", in_channels, 1)
    stem_stride = _check_int("stem_stride", stem_stride, 1, 2)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ConfigError(f"`dropout` must be a float in [0, 1), got {dropout!r}")
    return num_classes, in_channels, stem_stride, float(dropout)


class MobileNetNetwork(nn.Module):
    """The network of a MobileNet-like architecture; ``forward`` returns logits.

    Args:
        arch: 21 op indices (see :mod:`~nasrank.spaces.mobilenet.encoding`).
        num_classes: Classifier outputs.
        C: Stem width rescaling every width (see :func:`resolve_widths`); ``None`` keeps ``widths``.
        widths: Width preset name or nine ints.
        in_channels: Image channels.
        stem_stride: Stride of the stem convolution (2 as in ProxylessNAS; 1 keeps small inputs large).
        dropout: Dropout before the classifier.

    Example:
        >>> net = MobileNetNetwork((1,) * 21, C=4)
        >>> net(torch.randn(2, 3, 16, 16)).shape
        torch.Size([2, 10])
    """

    def __init__(self, arch: Sequence[int], num_classes: int = 10, C: int | None = None,
                 widths: str | Sequence[int] = "gpu", in_channels: int = 3, stem_stride: int = 2,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.arch = validate(arch)
        num_classes, in_channels, stem_stride, dropout = check_build_options(num_classes, in_channels,
                                                                              stem_stride, dropout)
        self.widths = resolve_widths(widths, C)
        w = self.widths
        self.stem = MobileNetStem(in_channels, w[0], w[1], stem_stride)
        self.blocks = nn.ModuleList(make_block(op, *shape) for op, shape in zip(self.arch, block_shapes(w),
                                                                                 strict=True))
        self.head = MobileNetHead(w[7], w[8], num_classes, dropout)
        set_bn_eps(self)

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        return h

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before global pooling (after the feature-mix layer)."""
        return self.head.features(self._body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self._body(x))
