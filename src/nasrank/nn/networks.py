"""Macro skeletons shared by the cell-based spaces."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .ops import ResNetBasicBlock

__all__ = ["NB201Network"]


class NB201Network(nn.Module):
    """The NAS-Bench-201 macro skeleton around an arbitrary cell.

    stem (3x3 conv + BN) -> N cells (C) -> residual reduction -> N cells (2C) -> residual
    reduction -> N cells (4C) -> BN + ReLU -> global average pool -> linear. ``forward`` returns
    logits only; :meth:`forward_features` returns the pre-pooling feature map.

    Module names equal those of the benchmark's reference network (``stem``, ``cells.{i}``,
    ``lastact``, ``classifier``), so official state dicts load directly.

    Args:
        cell_factory: ``cell_factory(C)`` returns a cell mapping ``C`` to ``C`` channels at
            stride 1. A cell may define ``output_is_zero = True`` to declare that its output is
            identically zero whatever its input; the network then skips everything before the
            last cell, which cannot affect the logits.
        C: Channels of the first stage.
        N: Cells per stage.
        num_classes: Output classes.
        in_channels: Input image channels.
        channels_last: Run the body on channels-last activations. ``None`` (default) does so for
            CPU inputs, where oneDNN's channels-last convolutions made forward+backward passes
            13-36% faster in the regimes measured; parameters keep the standard layout and the
            logits are the same up to float rounding. The feature map of
            :meth:`forward_features` is then channels-last too (use ``.reshape``, not ``.view``).
            The attribute can be changed after construction.

    Example:
        >>> from nasrank.nn.ops import Identity
        >>> net = NB201Network(lambda c: Identity(), C=4, N=1)
        >>> net(torch.randn(2, 3, 8, 8)).shape
        torch.Size([2, 10])
    """

    def __init__(
        self,
        cell_factory: Callable[[int], nn.Module],
        C: int = 16,
        N: int = 5,
        num_classes: int = 10,
        in_channels: int = 3,
        channels_last: bool | None = None,
    ) -> None:
        super().__init__()
        self.C, self.N, self.num_classes, self.in_channels = C, N, num_classes, in_channels
        self.channels_last = channels_last
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, C, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(C)
        )
        self.cells = nn.ModuleList()
        c_prev = C
        for stage in range(3):
            c_cur = C * (2**stage)
            if stage > 0:
                self.cells.append(ResNetBasicBlock(c_prev, c_cur, 2, True))
            for _ in range(N):
                self.cells.append(cell_factory(c_cur))
            c_prev = c_cur
        # not in place (unlike the reference): full backward hooks on modules must keep working
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_prev), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)
        self._output_is_zero = bool(getattr(self.cells[-1], "output_is_zero", False))

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        if self._output_is_zero:
            # The last cell outputs zeros whatever it is given: nothing upstream can matter.
            n, _, h, w = x.shape
            for _ in range(2):  # spatial size after the two stride-2 reductions
                h, w = (h - 1) // 2 + 1, (w - 1) // 2 + 1
            return x.new_zeros(n, self.classifier.in_features, h, w)
        use_cl = self.channels_last
        if use_cl is None:
            use_cl = x.device.type == "cpu"
        if use_cl and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        feature = self.stem(x)
        for cell in self.cells:
            feature = cell(feature)
        return feature

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Feature map after the final BN + ReLU, before global pooling."""
        return self.lastact(self._body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.global_pooling(self.forward_features(x)).flatten(1)
        return self.classifier(out)
