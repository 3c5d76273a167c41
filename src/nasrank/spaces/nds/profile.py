"""Closed-form parameter and FLOP counts of the NDS networks.

FLOPs convention (the pycls complexity counter the NDS data was produced with): multiply-accumulates
per image of every convolution (``k*k*c_in/groups*c_out*h_out*w_out``) and of the classifier
(``in*out`` plus its ``out`` biases); BatchNorm, ReLU, pooling and residual additions are free.
Parameters: convolution weights, BatchNorm weight and bias (running statistics are buffers, not
parameters), classifier weight and bias.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...exceptions import ConfigError
from .encoding import STAGES, NDSFamily
from .network import bottleneck_width, scaled_width

__all__ = ["NetworkPlan", "plan", "num_params", "flops"]


@dataclass(frozen=True)
class NetworkPlan:
    """The concrete channel plan of one network (what :class:`~.network.NDSNetwork` takes).

    Attributes:
        depths: Blocks per stage.
        widths: Output channels per stage (scaled).
        bottlenecks: Per stage ``(bottleneck_width, groups)``, or ``None`` for basic blocks.
        stem_width: Channels of the stem (scaled).
    """

    depths: tuple[int, ...]
    widths: tuple[int, ...]
    bottlenecks: tuple[tuple[int, int], ...] | None
    stem_width: int


def plan(family: NDSFamily, arch: Sequence[int], width_mult: float = 1.0, stem_width: int = 16) -> NetworkPlan:
    """The channel plan of ``arch`` at ``width_mult`` (see :mod:`~.network` for the rounding).

    Example:
        >>> from nasrank.spaces.nds.encoding import RESNEXT_A
        >>> p = plan(RESNEXT_A, RESNEXT_A.from_str("d=1,2,4|w=16,32,64|r=1,2,4|g=1,2,4"))
        >>> p.widths, p.bottlenecks, p.stem_width
        ((16, 32, 64), ((16, 1), (16, 2), (16, 4)), 16)
    """
    if isinstance(width_mult, bool) or not isinstance(width_mult, (int, float)) or not 0 < width_mult <= 64:
        raise ConfigError(f"`width_mult` must be a number in (0, 64], got {width_mult!r}")
    if isinstance(stem_width, bool) or not isinstance(stem_width, int) or stem_width < 1:
        raise ConfigError(f"`stem_width` must be an int >= 1, got {stem_width!r}")
    v = family.values(arch)
    widths = tuple(scaled_width(w, width_mult) for w in v["w"])
    bnecks = None
    if family.block == "bottleneck":
        bnecks = tuple((bottleneck_width(w, r, g), g) for w, r, g in zip(widths, v["r"], v["g"], strict=True))
    return NetworkPlan(tuple(v["d"]), widths, bnecks, scaled_width(stem_width, width_mult))


def _walk(p: NetworkPlan, in_channels: int, hw: tuple[int, int], num_classes: int) -> tuple[int, int]:
    """``(params, flops)`` of the network of plan ``p``."""
    h, w = hw
    params = flops = 0

    def conv(c_in: int, c_out: int, k: int, groups: int, h_out: int, w_out: int) -> None:
        nonlocal params, flops
        weights = k * k * (c_in // groups) * c_out
        params += weights + 2 * c_out  # conv + its BatchNorm
        flops += weights * h_out * w_out

    conv(in_channels, p.stem_width, 3, 1, h, w)
    prev = p.stem_width
    for i in range(STAGES):
        for j in range(p.depths[i]):
            stride = (1 if i == 0 else 2) if j == 0 else 1
            c_in, c_out = (prev if j == 0 else p.widths[i]), p.widths[i]
            ho, wo = -(-h // stride), -(-w // stride)
            if p.bottlenecks is None:
                conv(c_in, c_out, 3, 1, ho, wo)
                conv(c_out, c_out, 3, 1, ho, wo)
            else:
                b, g = p.bottlenecks[i]
                conv(c_in, b, 1, 1, h, w)
                conv(b, b, 3, g, ho, wo)
                conv(b, c_out, 1, 1, ho, wo)
            if c_in != c_out or stride != 1:
                conv(c_in, c_out, 1, 1, ho, wo)
            h, w = ho, wo
        prev = p.widths[i]
    params += prev * num_classes + num_classes
    flops += prev * num_classes + num_classes
    return params, flops


def num_params(p: NetworkPlan, num_classes: int = 10, in_channels: int = 3) -> int:
    """Parameters of the network of plan ``p``.

    Example:
        >>> num_params(NetworkPlan((1, 1, 1), (16, 32, 64), None, 16))
        78042
    """
    return _walk(p, in_channels, (32, 32), num_classes)[0]


def flops(p: NetworkPlan, input_size: tuple[int, int, int] = (3, 32, 32), num_classes: int = 10) -> int:
    """Multiply-accumulates of one forward pass for one image (convention in the module docstring).

    Example:
        >>> flops(NetworkPlan((1, 1, 1), (16, 32, 64), None, 16))
        12501642
    """
    if len(input_size) != 3:
        raise ConfigError(f"`input_size` must be (channels, height, width), got {input_size!r}")
    return _walk(p, int(input_size[0]), (int(input_size[1]), int(input_size[2])), num_classes)[1]
