"""The RandWiredNN network: a stem, three randomly wired stages, a classifier head.

Following Xie et al. (2019, §3.2 and Tab. 1, small computation regime):

* **stem**: ``conv1`` = 3x3 convolution to ``C/2`` channels + BN; ``conv2`` = ReLU, 3x3
  convolution to ``C`` channels, BN (both with stride ``stem_stride``: 2 on 224x224 ImageNet as
  in the paper, 1 for CIFAR-size inputs);
* **stages** ``conv3``, ``conv4``, ``conv5``: one random DAG each, with ``C``, ``2C``, ``4C``
  channels. Every node aggregates its inputs by a weighted sum with positive learnable weights
  (``sigmoid`` of one parameter per in-edge; a node with a single input passes it through), then
  applies the ReLU - 3x3 separable convolution (3x3 depthwise, 1x1 pointwise) - BN triplet. The
  graph's nodes without predecessors read the stage input: their convolution has stride 2 and
  maps the previous stage's channels to this stage's. The stage output is the unweighted average
  of the nodes without successors;
* **head** (``classifier``): ReLU, 1x1 convolution to ``head_channels`` (1280 in the paper), BN,
  ReLU, global average pooling, linear layer.

Convolutions have no bias; BatchNorm is affine with running statistics.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["RandWiredNetwork", "RandWiredStage", "RandWiredNode"]


class RandWiredNode(nn.Module):
    """One node: weighted-sum aggregation of ``num_inputs`` tensors, then ReLU - separable 3x3
    convolution - BN.

    Example:
        >>> node = RandWiredNode(2, 4, 8, stride=2)
        >>> node([torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)]).shape
        torch.Size([1, 8, 4, 4])
    """

    def __init__(self, num_inputs: int, C_in: int, C_out: int, stride: int = 1) -> None:
        super().__init__()
        self.aggregate = nn.Parameter(torch.zeros(num_inputs)) if num_inputs > 1 else None
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, 3, stride, 1, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out),
        )

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        if self.aggregate is None:
            x = inputs[0]
        else:
            w = torch.sigmoid(self.aggregate)
            x = inputs[0] * w[0]
            for k in range(1, len(inputs)):
                x = x + inputs[k] * w[k]
        return self.op(x)


class RandWiredStage(nn.Module):
    """A randomly wired stage computing the DAG ``edges`` (pairs ``(u, v)`` with ``u < v``) on
    ``num_nodes`` nodes.

    Example:
        >>> stage = RandWiredStage(4, [(0, 1), (0, 2), (1, 3), (2, 3)], 4, 8)
        >>> stage.input_nodes, stage.output_nodes
        ((0,), (3,))
        >>> stage(torch.randn(2, 4, 8, 8)).shape
        torch.Size([2, 8, 4, 4])
    """

    def __init__(self, num_nodes: int, edges: Sequence[tuple[int, int]], C_in: int, C_out: int,
                 stride: int = 2) -> None:
        super().__init__()
        self.num_nodes = int(num_nodes)
        self.edges = tuple((int(u), int(v)) for u, v in edges)
        self.preds: tuple[tuple[int, ...], ...] = tuple(
            tuple(u for u, w in self.edges if w == v) for v in range(self.num_nodes))
        has_succ = {u for u, _ in self.edges}
        self.input_nodes = tuple(v for v in range(self.num_nodes) if not self.preds[v])
        self.output_nodes = tuple(v for v in range(self.num_nodes) if v not in has_succ)
        self.nodes = nn.ModuleList(
            RandWiredNode(1, C_in, C_out, stride) if not self.preds[v]
            else RandWiredNode(len(self.preds[v]), C_out, C_out, 1)
            for v in range(self.num_nodes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h: list[torch.Tensor] = []
        for v, node in enumerate(self.nodes):
            preds = self.preds[v]
            h.append(node([x]) if not preds else node([h[u] for u in preds]))
        out = h[self.output_nodes[0]]
        for v in self.output_nodes[1:]:
            out = out + h[v]
        return out / len(self.output_nodes) if len(self.output_nodes) > 1 else out


class RandWiredNetwork(nn.Module):
    """The network of three cell DAGs; ``forward`` returns logits.

    Args:
        num_nodes: Nodes per cell graph.
        cells: Three DAG edge lists (stages ``conv3``, ``conv4``, ``conv5``).
        C: Channels of the first random stage (the paper's small regime: 78).
        num_classes: Classifier outputs.
        head_channels: Channels of the 1x1 convolution before pooling (paper: 1280).
        stem_stride: Stride of each of the two stem convolutions.
        in_channels: Image channels.

    Example:
        >>> ring = [(i, i + 1) for i in range(5)]
        >>> net = RandWiredNetwork(6, [ring] * 3, C=4, head_channels=8, stem_stride=1)
        >>> net(torch.randn(2, 3, 8, 8)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_nodes: int, cells: Sequence[Sequence[tuple[int, int]]], C: int = 78,
                 num_classes: int = 10, head_channels: int = 1280, stem_stride: int = 2,
                 in_channels: int = 3) -> None:
        super().__init__()
        half = max(1, C // 2)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, half, 3, stem_stride, 1, bias=False),
            nn.BatchNorm2d(half),
            nn.ReLU(inplace=False),
            nn.Conv2d(half, C, 3, stem_stride, 1, bias=False),
            nn.BatchNorm2d(C),
        )
        widths = (C, C, 2 * C, 4 * C)
        self.stages = nn.ModuleList(
            RandWiredStage(num_nodes, edges, widths[k], widths[k + 1], 2) for k, edges in enumerate(cells)
        )
        self.head = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(widths[-1], head_channels, 1, bias=False),
            nn.BatchNorm2d(head_channels),
            nn.ReLU(inplace=False),
        )
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(head_channels, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before global pooling."""
        h = self.stem(x)
        for stage in self.stages:
            h = stage(h)
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.global_pooling(self.forward_features(x)).flatten(1))
