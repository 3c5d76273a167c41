"""Parameter and FLOP counts of NAS-Bench-101 networks in closed form (no model is built)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .encoding import OPS, _pruned, validate
from .network import vertex_channels

__all__ = ["num_params", "flops"]


def _cells(C: int, stacks: int, cells_per_stack: int) -> list[tuple[int, int, int]]:
    """(C_in, C_out, stack) of every cell."""
    out, c_prev = [], C
    for s in range(stacks):
        c = C * 2**s
        for i in range(cells_per_stack):
            out.append((c_prev if i == 0 else c, c, s))
        c_prev = c
    return out


def _cell_terms(pm: np.ndarray, ops: Sequence[str], C_in: int, C_out: int) -> tuple[int, int]:
    """(parameters, multiply-accumulates per output pixel) of one cell."""
    n = pm.shape[0]
    ch = vertex_channels(C_in, C_out, pm)
    params = macs = 0
    for t in range(1, n):
        if pm[0, t]:  # 1x1 projection of the cell input (conv + BN scale/shift)
            params += C_in * ch[t] + 2 * ch[t]
            macs += C_in * ch[t]
        if t < n - 1 and ops[t] != OPS[2]:
            k2 = 9 if ops[t] == OPS[0] else 1
            params += k2 * ch[t] * ch[t] + 2 * ch[t]
            macs += k2 * ch[t] * ch[t]
    return params, macs


def num_params(arch: Sequence[int], num_classes: int = 10, C: int = 128, stacks: int = 3,
               cells_per_stack: int = 3, in_channels: int = 3) -> int:
    """Trainable parameters of the NAS-Bench-101 network of ``arch`` (BatchNorm running statistics
    excluded), equal to the benchmark's ``trainable_parameters`` at the default options.

    Example:
        >>> num_params((0,) * 5 + (1,) + (0,) * 20)  # input -> output: projections only
        882570
    """
    pm, po = _pruned(validate(arch))
    assert pm is not None and po is not None
    total = in_channels * C * 9 + 2 * C
    for C_in, C_out, _s in _cells(C, stacks, cells_per_stack):
        total += _cell_terms(pm, po, C_in, C_out)[0]
    c_last = C * 2 ** (stacks - 1)
    return total + c_last * num_classes + num_classes


def flops(arch: Sequence[int], input_size: tuple[int, int, int] = (3, 32, 32), num_classes: int = 10,
          C: int = 128, stacks: int = 3, cells_per_stack: int = 3) -> int:
    """Multiply-accumulates of one forward pass for one image (convolutions and the classifier;
    BatchNorm, ReLU, pooling and additions are not counted). Divide by 1e6 for MFLOPs.

    Example:
        >>> flops((0,) * 5 + (1,) + (0,) * 20) / 1e6
        137.761792
    """
    pm, po = _pruned(validate(arch))
    assert pm is not None and po is not None
    c_in, h, w = input_size
    total = h * w * c_in * C * 9
    for C_in, C_out, s in _cells(C, stacks, cells_per_stack):
        hs, ws = h, w
        for _ in range(s):  # "same" 2x2 stride-2 pooling: ceil
            hs, ws = -(-hs // 2), -(-ws // 2)
        total += hs * ws * _cell_terms(pm, po, C_in, C_out)[1]
    return total + C * 2 ** (stacks - 1) * num_classes
