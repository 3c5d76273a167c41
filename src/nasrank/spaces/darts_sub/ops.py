"""The operations of the DARTS sub-spaces: the DARTS primitives plus RobustDARTS' ``noise``.

``noise`` (S4; RobustDARTS ``src/operations.py``, ``NoiseOp(stride, 0., 1.)``) discards the
values of its input and returns standard Gaussian noise of the input's shape (at stride 2 of the
input subsampled by ``x[:, :, ::2, ::2]``); it has no parameters and is not followed by
BatchNorm, in final networks and supernets alike, and it is noisy in evaluation mode too.

Reproducibility. The reference draws from the global generator; here every :class:`NoiseOp`
owns its stream so that the same seed gives the same run (and so that the supernet conformance
holds: a restored or rebuilt method draws the same noise, a single path and its discretised
supernet compute the same function). Two buffers (saved in ``state_dict``) define the stream:
``noise_seed``, drawn from torch's global generator at construction (so ``torch.manual_seed``
before building fixes it), and ``noise_draws``, the number of training-mode forward passes so
far. Forward pass ``n`` draws from ``torch.Generator().manual_seed(f(noise_seed, n))``; a
training-mode pass then advances ``n``, an evaluation-mode pass does not (evaluation is
deterministic: the same input gives the same output until the next training pass).
"""

from __future__ import annotations

import torch
from torch import nn

from ...exceptions import ConfigError
from ..darts import darts_op
from .encoding import OP_NAMES

__all__ = ["NoiseOp", "subspace_op"]

_MASK = (1 << 63) - 1


class NoiseOp(nn.Module):
    """RobustDARTS' ``noise`` operation: Gaussian noise ``N(mean, std^2)`` shaped like the
    (strided) input, from the module's own reproducible stream (see :mod:`~nasrank.spaces.
    darts_sub.ops`).

    Args:
        stride: 1, or 2 to subsample the input first (reduction cells).
        mean: Mean of the noise (RobustDARTS: 0).
        std: Standard deviation of the noise (RobustDARTS: 1).

    Example:
        >>> _ = torch.manual_seed(0)
        >>> op = NoiseOp(stride=2).eval()
        >>> x = torch.randn(2, 3, 8, 8)
        >>> y = op(x)
        >>> y.shape, torch.equal(y, op(x)), torch.equal(y, op(torch.zeros_like(x)))
        (torch.Size([2, 3, 4, 4]), True, True)
        >>> _ = op.train(); torch.equal(op(x), op(x))  # each training pass draws afresh
        False
    """

    def __init__(self, stride: int = 1, mean: float = 0.0, std: float = 1.0) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ConfigError(f"`stride` must be 1 or 2, got {stride!r}")
        self.stride, self.mean, self.std = int(stride), float(mean), float(std)
        self.register_buffer("noise_seed", torch.randint(0, 2**62, (), dtype=torch.int64))
        self.register_buffer("noise_draws", torch.zeros((), dtype=torch.int64))

    def extra_repr(self) -> str:
        return f"stride={self.stride}, mean={self.mean}, std={self.std}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride != 1:
            x = x[:, :, :: self.stride, :: self.stride]
        n = int(self.noise_draws)
        seed = (int(self.noise_seed) * 6364136223846793005 + n * 1442695040888963407 + 1) & _MASK
        gen = torch.Generator(device=x.device).manual_seed(seed)
        out = torch.randn(x.shape, generator=gen, device=x.device, dtype=x.dtype)
        if self.training:
            self.noise_draws.add_(1)
        if self.std != 1.0:
            out = out * self.std
        return out + self.mean if self.mean != 0.0 else out


def subspace_op(name: str, C: int, stride: int, affine: bool = True, pool_bn: bool = False) -> nn.Module:
    """Build operation ``name`` of the sub-spaces on ``C`` channels: ``noise`` is a
    :class:`NoiseOp`, every other name is :func:`nasrank.spaces.darts.darts_op`.

    Args:
        name: One of :data:`~nasrank.spaces.darts_sub.OP_NAMES`.
        C: Input and output channels.
        stride: 1, or 2 in a reduction cell on the edges that read the cell inputs.
        affine: BatchNorm affine parameters (final networks: True; supernets: False).
        pool_bn: Follow pooling by a non-affine BatchNorm (supernets).

    Example:
        >>> type(subspace_op("noise", 4, 2)).__name__, type(subspace_op("sep_conv_3x3", 4, 1)).__name__
        ('NoiseOp', 'SepConv')
    """
    if name == "noise":
        return NoiseOp(stride)
    if name not in OP_NAMES:
        raise ConfigError(f"unknown operation {name!r}; valid: {', '.join(OP_NAMES)}")
    return darts_op(name, C, stride, affine=affine, pool_bn=pool_bn)
