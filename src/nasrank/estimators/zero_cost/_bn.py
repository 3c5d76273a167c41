"""Train-mode BatchNorm with a fast second derivative, for the Hessian-vector product of ``grasp``.

PyTorch differentiates BatchNorm's backward with a generic composite (about thirty full-size
elementwise products and reductions per layer); a GraSP Hessian-vector product on an NB201
network spent about a third of its time there. :class:`_BatchNormFn` runs the same native
kernels as ``F.batch_norm`` in train mode (forward and first backward are bitwise the same) and
differentiates the backward in closed form (:class:`_BatchNormBackwardFn`): five reductions and
two fused output passes.

Per channel, with N values, mean mu, s = 1/sqrt(var + eps), xh = (x - mu) s and the projection
P v = v - mean(v) - xh mean(v xh), the backward is gx = w s P gy, gw = sum(gy xh), gb = sum(gy).
For cotangents (ggx, ggw, gb~) of (gx, gw, gb), with G0 = sum(ggx gy), G1 = sum(ggx),
G2 = sum(ggx xh), m1 = mean(gy), m2 = mean(gy xh):

* d/dgy = w s P ggx + ggw xh + ggb
* d/dx  = -w s^2 [xh (G0 - m1 G1 - 3 m2 G2)/N + G2/N gy + m2 ggx - (G2 m1 + m2 G1)/N]
  + ggw s P gy
* d/dw  = s (G0 - m1 G1 - m2 G2)

(using d xh_i / d x_j = s (delta_ij - 1/N - xh_i xh_j / N) and d s / d x_j = -s^2 xh_j / N).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

__all__ = ["use_fast_double_backward_batchnorm"]


class _BatchNormBackwardFn(torch.autograd.Function):
    """(gy, x, w) -> (gx, gw, gb) of train-mode BatchNorm, with a closed-form derivative."""

    @staticmethod
    def forward(ctx: Any, gy: torch.Tensor, x: torch.Tensor, weight: torch.Tensor | None,
                mean: torch.Tensor, invstd: torch.Tensor, eps: float,
                mask: tuple[bool, bool, bool]) -> tuple[torch.Tensor | None, ...]:
        gx, gw, gb = torch.ops.aten.native_batch_norm_backward(
            gy, x, weight, None, None, mean, invstd, True, eps, list(mask)
        )
        ctx.save_for_backward(gy, x, weight, mean, invstd)
        return gx, gw, gb

    @staticmethod
    def backward(ctx: Any, ggx: torch.Tensor | None, ggw: torch.Tensor | None,
                 ggb: torch.Tensor | None) -> tuple[torch.Tensor | None, ...]:
        gy, x, weight, mean, invstd = ctx.saved_tensors
        need_gy, need_x, need_w = ctx.needs_input_grad[:3]
        c = x.shape[1]
        dims = [0, *range(2, x.dim())]
        shape = (1, c) + (1,) * (x.dim() - 2)
        inv_n = c / x.numel()
        s = invstd.view(shape)
        w = weight.view(shape) if weight is not None else torch.ones_like(s)
        d = x - mean.view(shape)  # xh = d * s
        m1 = gy.sum(dims, keepdim=True).mul_(inv_n)
        m2 = (gy * d).sum(dims, keepdim=True).mul_(s * inv_n)
        if ggx is not None:
            g1 = ggx.sum(dims, keepdim=True)
            g2 = (ggx * d).sum(dims, keepdim=True).mul_(s)
            g0 = (ggx * gy).sum(dims, keepdim=True)
        else:
            g0 = g1 = g2 = torch.zeros_like(s)
        ggw_ = ggw.view(shape) if ggw is not None else None
        d_gy = d_x = d_w = None
        if need_gy:
            # w s (ggx - G1/N - xh G2/N) + ggw xh + ggb, as c0 + c_d d + c_ggx ggx
            c_d = -w * s * s * g2 * inv_n
            c0 = -w * s * g1 * inv_n
            if ggw_ is not None:
                c_d = c_d + ggw_ * s
            if ggb is not None:
                c0 = c0 + ggb.view(shape)
            d_gy = torch.addcmul(c0, d, c_d)
            if ggx is not None:
                d_gy.addcmul_(ggx, w * s)
        if need_x:
            ws2 = w * s * s
            alpha = (g0 - m1 * g1 - 3.0 * m2 * g2) * inv_n
            c_d = -ws2 * s * alpha
            c_gy = -ws2 * g2 * inv_n
            c0 = ws2 * (g2 * m1 + m2 * g1) * inv_n
            if ggw_ is not None:  # ggw s (gy - m1 - xh m2)
                c_d = c_d - ggw_ * s * s * m2
                c_gy = c_gy + ggw_ * s
                c0 = c0 - ggw_ * s * m1
            d_x = torch.addcmul(c0, d, c_d).addcmul_(gy, c_gy)
            if ggx is not None:
                d_x.addcmul_(ggx, -ws2 * m2)
        if need_w and weight is not None:
            d_w = (s * (g0 - m1 * g1 - m2 * g2)).reshape(c)
        return d_gy, d_x, d_w, None, None, None, None


class _BatchNormFn(torch.autograd.Function):
    """Train-mode BatchNorm (batch statistics) whose backward is :class:`_BatchNormBackwardFn`."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor | None, bias: torch.Tensor | None,
                eps: float) -> torch.Tensor:
        y, mean, invstd = torch.native_batch_norm(x, weight, bias, None, None, True, 0.0, eps)
        ctx.save_for_backward(x, weight, mean, invstd)
        ctx.eps = eps
        return y

    @staticmethod
    def backward(ctx: Any, gy: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight, mean, invstd = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        mask = (need_x, need_w and weight is not None, need_b)
        gx, gw, gb = _BatchNormBackwardFn.apply(gy, x, weight, mean, invstd, ctx.eps, mask)
        return gx, gw, gb, None


class _FastDoubleBackwardBatchNorm(nn.Module):
    """Wraps a BatchNorm module in train mode; outputs and first derivatives are unchanged.

    Running statistics are not updated (the wrapped module belongs to a private copy whose
    statistics nothing reads).
    """

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm) -> None:
        super().__init__()
        self.bn = bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bn = self.bn
        if not (bn.training or (bn.running_mean is None and bn.running_var is None)):
            return bn(x)  # running statistics: no batch statistics to differentiate
        bn._check_input_dim(x)
        if x.numel() // x.shape[1] < 2:
            raise ValueError(
                f"Expected more than 1 value per channel when training, got input size {tuple(x.shape)}"
            )
        return _BatchNormFn.apply(x, bn.weight, bn.bias, bn.eps)


def use_fast_double_backward_batchnorm(model: nn.Module) -> int:
    """Wrap every plain BatchNorm1d/2d/3d of ``model`` (a private copy) in place; returns how many.

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
        >>> use_fast_double_backward_batchnorm(net)
        1
    """
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d):
                setattr(parent, name, _FastDoubleBackwardBatchNorm(child))
                count += 1
    return count
