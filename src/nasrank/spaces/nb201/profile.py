"""Closed-form size and cost of NAS-Bench-201 networks (no model is built)."""

from __future__ import annotations

from collections.abc import Sequence

from ..._validate import check_int as _check_int
from ...exceptions import ConfigError
from .encoding import CONV1, CONV3, validate

__all__ = ["num_params", "flops"]


def num_params(
    arch: Sequence[int], num_classes: int = 10, C: int = 16, N: int = 5, in_channels: int = 3
) -> int:
    """Parameter count of the benchmark network of ``arch``.

    Example:
        >>> num_params((3, 3, 4, 1, 3, 1))
        802426
    """
    a = validate(arch)
    per_c2 = sum({CONV1: 1, CONV3: 9}.get(op, 0) for op in a)  # conv weights / C^2
    n_bn = sum(op in (CONV1, CONV3) for op in a)
    total = in_channels * C * 9 + 2 * C  # stem
    for stage in range(3):
        c = C * 2**stage
        total += N * (per_c2 * c * c + n_bn * 2 * c)
        if stage > 0:
            cp = c // 2
            total += 9 * cp * c + 2 * c + 9 * c * c + 2 * c + cp * c  # conv_a, conv_b, shortcut
    c = 4 * C
    return total + 2 * c + c * num_classes + num_classes


def flops(
    arch: Sequence[int],
    input_size: tuple[int, int, int] = (3, 32, 32),
    num_classes: int = 10,
    C: int = 16,
    N: int = 5,
    convention: str = "benchmark",
) -> int:
    """Multiply-accumulate count of one forward pass for one image.

    Conventions:

    * ``"benchmark"`` (default) — the counter behind NAS-Bench-201's published ``flops``
      (``xautodl``'s ``get_model_infos``): one per multiply-accumulate of every convolution
      and linear layer, plus one per bias element per output position (only the classifier
      has a bias). Every cell operation counts, including those that cannot affect the
      output. Pooling, BatchNorm, ReLU and additions are free.
    * ``"macs"`` — multiply-accumulates of convolutions and linear layers only (no bias).

    Divide by 1e6 for the benchmark's MFLOPs figure.

    Example:
        >>> flops((0, 0, 0, 0, 0, 0)) / 1e6  # the benchmark's smallest cell
        7.78305
    """
    a = validate(arch)
    if convention not in ("benchmark", "macs"):
        raise ConfigError(f"`convention` must be 'benchmark' or 'macs', got {convention!r}")
    if len(input_size) != 3:
        raise ConfigError(f"`input_size` must be (channels, height, width), got {input_size!r}")
    cin, h, w = (_check_int("input_size", v, 1) for v in input_size)
    num_classes = _check_int("num_classes", num_classes, 1)
    k2 = sum({CONV1: 1, CONV3: 9}.get(op, 0) for op in a)  # cell conv MACs / (h * w * c^2)
    total = h * w * C * cin * 9  # stem
    for stage in range(3):
        c = C * 2**stage
        if stage > 0:
            cp = c // 2
            h2, w2 = (h - 1) // 2 + 1, (w - 1) // 2 + 1
            total += h2 * w2 * c * cp * 9 + h2 * w2 * c * c * 9  # conv_a, conv_b
            total += (h // 2) * (w // 2) * c * cp  # 1x1 conv of the shortcut
            h, w = h2, w2
        total += N * k2 * h * w * c * c
    c = 4 * C
    total += c * num_classes + (num_classes if convention == "benchmark" else 0)
    return total
