"""Closed-form parameter and FLOP counts of MobileNet-like networks (no model is built)."""

from __future__ import annotations

from collections.abc import Sequence

from ..._validate import check_int as _check_int
from ...exceptions import ConfigError
from .encoding import EXPANSIONS, KERNELS, SKIP, validate
from .network import block_shapes, resolve_widths

__all__ = ["num_params", "flops", "FLOPS_CONVENTION"]

#: What :func:`flops` counts.
FLOPS_CONVENTION = ("multiply-accumulates per image of every convolution (in*out*k*k*H_out*W_out/groups) "
                    "and of the classifier's weights (no bias, BatchNorm, activation, pooling or "
                    "additions): ProxylessNAS's counter ('Total FLOPs' in its logs)")


def _mbconv_params(cin: int, cout: int, k: int, e: int) -> int:
    if e == 1:
        return cin * k * k + 2 * cin + cin * cout + 2 * cout
    h = int(round(cin * e))
    return cin * h + 2 * h + h * k * k + 2 * h + h * cout + 2 * cout


def num_params(arch: Sequence[int], num_classes: int = 10, C: int | None = None,
               widths: str | Sequence[int] = "gpu", in_channels: int = 3) -> int:
    """Parameter count of :class:`~nasrank.spaces.mobilenet.MobileNetNetwork` (BatchNorm affine
    parameters included, running statistics not).

    Example:
        >>> from nasrank.spaces.mobilenet import PUBLISHED
        >>> num_params(PUBLISHED["proxylessnas-gpu"].arch, num_classes=1000)
        7119848
    """
    a = validate(arch)
    num_classes = _check_int("num_classes", num_classes, 1)
    in_channels = _check_int("in_channels", in_channels, 1)
    w = resolve_widths(widths, C)
    total = in_channels * w[0] * 9 + 2 * w[0]  # stem
    total += _mbconv_params(w[0], w[1], 3, 1)  # first block
    for op, (cin, cout, _s) in zip(a, block_shapes(w), strict=True):
        if op != SKIP:
            total += _mbconv_params(cin, cout, KERNELS[op], EXPANSIONS[op])
    total += w[7] * w[8] + 2 * w[8]  # feature mix
    return total + w[8] * num_classes + num_classes


def _out(size: int, k: int, s: int) -> int:
    return (size + 2 * (k // 2) - k) // s + 1


def flops(arch: Sequence[int], input_size: tuple[int, int, int] = (3, 32, 32), num_classes: int = 10,
          C: int | None = None, widths: str | Sequence[int] = "gpu", stem_stride: int = 2) -> int:
    """Multiply-accumulates of one forward pass for one image (:data:`FLOPS_CONVENTION`).

    Spatial sizes follow the convolutions' arithmetic (padding ``k // 2``); at 224 x 224 they equal
    ProxylessNAS's ``int(size / stride)``. Divide by 1e6 for the published MFLOPs.

    Example:
        >>> from nasrank.spaces.mobilenet import PUBLISHED
        >>> round(flops(PUBLISHED["proxylessnas-gpu"].arch, (3, 224, 224), num_classes=1000) / 1e6, 1)
        465.3
    """
    a = validate(arch)
    if len(input_size) != 3:
        raise ConfigError(f"`input_size` must be (channels, height, width), got {input_size!r}")
    cin, h, wd = (_check_int("input_size", v, 1) for v in input_size)
    num_classes = _check_int("num_classes", num_classes, 1)
    stem_stride = _check_int("stem_stride", stem_stride, 1, 2)
    w = resolve_widths(widths, C)
    h, wd = _out(h, 3, stem_stride), _out(wd, 3, stem_stride)
    total = h * wd * cin * w[0] * 9  # stem
    total += h * wd * (w[0] * 9 + w[0] * w[1])  # first block: depthwise 3x3, projection
    for op, (ci, co, s) in zip(a, block_shapes(w), strict=True):
        if op == SKIP:
            continue
        k, e = KERNELS[op], EXPANSIONS[op]
        hid = int(round(ci * e))
        h2, w2 = _out(h, k, s), _out(wd, k, s)
        total += h * wd * ci * hid + h2 * w2 * hid * k * k + h2 * w2 * hid * co
        h, wd = h2, w2
    total += h * wd * w[7] * w[8]  # feature mix
    return total + w[8] * num_classes
