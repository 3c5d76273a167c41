"""Building blocks (operations, macro skeletons) and model utilities."""

from __future__ import annotations

from .networks import NB201Network
from .ops import AvgPool3x3, Identity, ReLUConvBN, ResNetBasicBlock, Zero
from .profile import count_parameters

__all__ = [
    "AvgPool3x3",
    "Identity",
    "NB201Network",
    "ReLUConvBN",
    "ResNetBasicBlock",
    "Zero",
    "count_parameters",
]
