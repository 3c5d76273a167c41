"""Generic building blocks (operations, mixed operations, the supernet weight algebra) and model
utilities. Space-specific networks live in their space's package (``nasrank.spaces.<name>``)."""

from __future__ import annotations

from .mixed import MixedOp
from .ops import (
    AvgPool3x3,
    DilConv,
    FactorizedReduce,
    Identity,
    MBConv,
    ReLUConvBN,
    ResNetBasicBlock,
    SepConv,
    Zero,
)
from .profile import count_parameters
from .supernet import PARAM_FREE_OPS, SoftmaxAlpha, SupernetBase

__all__ = [
    "AvgPool3x3",
    "DilConv",
    "FactorizedReduce",
    "Identity",
    "MBConv",
    "MixedOp",
    "ReLUConvBN",
    "ResNetBasicBlock",
    "SepConv",
    "SoftmaxAlpha",
    "PARAM_FREE_OPS",
    "SupernetBase",
    "Zero",
    "count_parameters",
]
