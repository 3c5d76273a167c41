"""The NAS-Bench-Macro network: stem, 8 chosen layers in 3 stages, 1x1 head, pooling, classifier.

The published CIFAR-10 network (``train/model.py`` of xiusu/NAS-Bench-Macro), with its defaults
``C = 32`` and ``head_channels = 1280``:

* **stem**: 3x3 convolution (stride 1, padding 1, no bias) to ``C`` channels, BatchNorm, ReLU;
* **layers**: stages of 2, 3 and 3 searchable layers; the first layer of each stage has stride 2
  and doubles the channels (``C -> 2C -> 4C -> 8C``: 64, 128, 256), the others keep them.
  A layer is one of the candidates of :func:`make_block` (the MBConv blocks with ReLU);
* **head**: 1x1 convolution (no bias) to ``head_channels``, BatchNorm, ReLU, global average
  pooling, linear classifier (with bias).

There is no dropout. ``forward`` returns logits; ``forward_features`` the map before pooling.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ...exceptions import ConfigError
from ...nn import Identity, MBConv
from .encoding import MB_PARAMS, NUM_LAYERS, OPS, STAGES

__all__ = ["NBMacroNetwork", "make_block", "layer_shapes", "Stem", "Head", "Downsample"]


class Downsample(nn.Sequential):
    """The identity candidate where shapes change: 1x1 convolution (no bias, given stride) and
    BatchNorm.

    Example:
        >>> Downsample(4, 8, 2)(torch.randn(1, 4, 8, 8)).shape
        torch.Size([1, 8, 4, 4])
    """

    def __init__(self, C_in: int, C_out: int, stride: int, affine: bool = True) -> None:
        super().__init__(nn.Conv2d(C_in, C_out, 1, stride=stride, bias=False),
                         nn.BatchNorm2d(C_out, affine=affine))


def make_block(op: int, C_in: int, C_out: int, stride: int, affine: bool = True) -> nn.Module:
    """The module of candidate ``op`` for a layer ``C_in -> C_out`` with ``stride``.

    ``0`` is the identity (a :class:`Downsample` when the stride is 2 or the channels change),
    ``1`` / ``2`` the MobileNetV2 block (:class:`~nasrank.nn.MBConv`, ReLU, hidden width
    ``round(C_in * expansion)``, a residual when stride 1 and ``C_in == C_out``) with expansion 3
    / kernel 3 and expansion 6 / kernel 5.

    Example:
        >>> type(make_block(0, 8, 8, 1)).__name__, type(make_block(0, 8, 16, 2)).__name__
        ('Identity', 'Downsample')
        >>> make_block(2, 8, 8, 1).hidden
        48
    """
    if op == 0:
        if stride == 1 and C_in == C_out:
            return Identity()
        return Downsample(C_in, C_out, stride, affine=affine)
    if op in MB_PARAMS:
        t, k = MB_PARAMS[op]
        return MBConv(C_in, C_out, kernel_size=k, stride=stride, expand_ratio=t, activation="relu",
                      residual="auto", affine=affine)
    raise ConfigError(f"unknown NAS-Bench-Macro candidate {op!r}; valid: 0..{len(OPS) - 1} ({', '.join(OPS)})")


def layer_shapes(C: int) -> list[tuple[int, int, int]]:
    """``(C_in, C_out, stride)`` of the 8 searchable layers of a network with stem width ``C``.

    Example:
        >>> layer_shapes(32)[:3]
        [(32, 64, 2), (64, 64, 1), (64, 128, 2)]
    """
    out, c = [], C
    for n in STAGES:
        for i in range(n):
            if i == 0:
                out.append((c, 2 * c, 2))
                c *= 2
            else:
                out.append((c, c, 1))
    assert len(out) == NUM_LAYERS
    return out


class Stem(nn.Sequential):
    """3x3 convolution (no bias) to ``C`` channels, BatchNorm, ReLU."""

    def __init__(self, in_channels: int, C: int) -> None:
        super().__init__(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C),
                         nn.ReLU(inplace=False))


class Head(nn.Module):
    """1x1 convolution (no bias) to ``head_channels``, BatchNorm, ReLU (:meth:`features`), global
    average pooling, linear classifier."""

    def __init__(self, C_in: int, head_channels: int, num_classes: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(C_in, head_channels, 1, bias=False), nn.BatchNorm2d(head_channels),
                                  nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(head_channels, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.global_pooling(self.features(x)).flatten(1))


class NBMacroNetwork(nn.Module):
    """The NAS-Bench-Macro network of an architecture (see the module docstring).

    Args:
        arch: 8 candidate indices (validated by the space).
        C: Stem channels (benchmark: 32); the stages have ``2C``, ``4C``, ``8C``.
        head_channels: Channels of the 1x1 head convolution (benchmark: 1280).
        num_classes: Classifier outputs.
        in_channels: Image channels.

    Example:
        >>> net = NBMacroNetwork((0, 2, 0, 1, 2, 1, 0, 0), C=4, head_channels=16)
        >>> net(torch.randn(2, 3, 16, 16)).shape
        torch.Size([2, 10])
    """

    def __init__(self, arch: Sequence[int], C: int = 32, head_channels: int = 1280, num_classes: int = 10,
                 in_channels: int = 3) -> None:
        super().__init__()
        self.arch = tuple(int(a) for a in arch)
        shapes = layer_shapes(C)
        self.stem = Stem(in_channels, C)
        self.layers = nn.Sequential(*(make_block(op, ci, co, s) for op, (ci, co, s) in
                                      zip(self.arch, shapes, strict=True)))
        self.head = Head(shapes[-1][1], head_channels, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before global pooling."""
        return self.head.features(self.layers(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.layers(self.stem(x)))
