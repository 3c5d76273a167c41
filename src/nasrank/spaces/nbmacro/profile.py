"""Parameter and FLOP counts of NAS-Bench-Macro networks in closed form (no model is built).

**FLOPs convention** (the benchmark's ``count_FLOPs`` in ``train/utils.py``, whose totals are the
``flops`` of the published file): multiply-accumulates of every convolution
(``C_in * C_out / groups * k * k`` per output pixel) plus ``in * out`` of the linear classifier;
BatchNorm, ReLU, pooling, residual additions and biases are not counted. Input 3 x 32 x 32.
Parameters are the trainable ones (BatchNorm running statistics excluded), as the file's
``params``. ``validation/nb_macro.py`` checks both against all 6,561 published entries.
"""

from __future__ import annotations

from collections.abc import Sequence

from .encoding import MB_PARAMS, validate
from .network import layer_shapes

__all__ = ["num_params", "flops", "layer_terms"]


def _out(size: int, stride: int) -> int:
    # every strided convolution here is 1x1 / pad 0 or k x k / pad k // 2 (odd k): ceil(size / stride)
    return (size - 1) // stride + 1


def layer_terms(op: int, C_in: int, C_out: int, stride: int, h: int, w: int) -> tuple[int, int]:
    """``(parameters, multiply-accumulates)`` of one searchable layer on an ``h x w`` input.

    Example:
        >>> layer_terms(0, 32, 64, 2, 32, 32)  # the downsampling identity
        (2176, 524288)
    """
    ho, wo = _out(h, stride), _out(w, stride)
    if op == 0:
        if stride == 1 and C_in == C_out:
            return 0, 0
        return C_in * C_out + 2 * C_out, C_in * C_out * ho * wo
    t, k = MB_PARAMS[op]
    hid = int(round(C_in * t))
    params = (C_in * hid + 2 * hid) + (hid * k * k + 2 * hid) + (hid * C_out + 2 * C_out)
    macs = C_in * hid * h * w + hid * k * k * ho * wo + hid * C_out * ho * wo
    return params, macs


def num_params(arch: Sequence[int], num_classes: int = 10, C: int = 32, head_channels: int = 1280,
               in_channels: int = 3) -> int:
    """Trainable parameters of the network of ``arch`` (the file's ``params`` at the defaults).

    Example:
        >>> num_params((0, 2, 0, 1, 2, 1, 0, 0))
        890666
    """
    a = validate(arch)
    total = in_channels * C * 9 + 2 * C
    shapes = layer_shapes(C)
    for op, (ci, co, s) in zip(a, shapes, strict=True):
        total += layer_terms(op, ci, co, s, 1, 1)[0]
    c_last = shapes[-1][1]
    total += c_last * head_channels + 2 * head_channels
    return total + head_channels * num_classes + num_classes


def flops(arch: Sequence[int], input_size: tuple[int, int, int] = (3, 32, 32), num_classes: int = 10,
          C: int = 32, head_channels: int = 1280) -> int:
    """Multiply-accumulates of one forward pass for one image, in the benchmark's convention (the
    file's ``flops`` at the defaults; see the module docstring).

    Example:
        >>> flops((0, 2, 0, 1, 2, 1, 0, 0))
        47327744
    """
    a = validate(arch)
    c_in, h, w = input_size
    total = c_in * C * 9 * h * w
    shapes = layer_shapes(C)
    for op, (ci, co, s) in zip(a, shapes, strict=True):
        total += layer_terms(op, ci, co, s, h, w)[1]
        h, w = _out(h, s), _out(w, s)
    total += shapes[-1][1] * head_channels * h * w
    return total + head_channels * num_classes
