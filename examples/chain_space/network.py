"""The chain network: stem -> k chosen operations -> BN + ReLU -> global pooling -> linear."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .ops import make_op

__all__ = ["ChainNetwork", "Stem", "Head"]


class Stem(nn.Sequential):
    """3 x 3 convolution to ``C`` channels and BatchNorm."""

    def __init__(self, in_channels: int, C: int) -> None:
        super().__init__(nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))


class Head(nn.Module):
    """BatchNorm + ReLU (:meth:`features`), global average pooling, linear classifier.

    The pre-pooling features are what proxies such as ``zen`` read: a network exposes them as
    ``forward_features`` (or has an ``nn.AdaptiveAvgPool2d`` module).
    """

    def __init__(self, C: int, num_classes: int) -> None:
        super().__init__()
        self.lastact = nn.Sequential(nn.BatchNorm2d(C), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(C, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.lastact(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.global_pooling(self.features(x)).flatten(1))


class ChainNetwork(nn.Module):
    """The network of a chain architecture; ``forward`` returns logits.

    Example:
        >>> net = ChainNetwork((1, 0, 3), C=4)
        >>> net(torch.randn(2, 3, 8, 8)).shape
        torch.Size([2, 10])
    """

    def __init__(self, arch: Sequence[int], C: int = 16, num_classes: int = 10,
                 in_channels: int = 3) -> None:
        super().__init__()
        self.arch = tuple(int(a) for a in arch)
        self.stem = Stem(in_channels, C)
        self.layers = nn.ModuleList(make_op(op, C) for op in self.arch)
        self.head = Head(C, num_classes)

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        for layer in self.layers:
            h = layer(h)
        return h

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before global pooling."""
        return self.head.features(self._body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self._body(x))
