"""``zico``: ZiCo, the inverse coefficient of variation of the weight gradients (Li et al., ICLR 2023)."""

from __future__ import annotations

import math
from typing import ClassVar

import torch

from ...exceptions import ConfigError
from .._registries import PROXIES
from ._core import Proxy, ProxyContext, weight_layers

__all__ = ["ZiCo", "zico_from_gradients"]


def zico_from_gradients(grads: list[torch.Tensor]) -> float:
    """The ZiCo score of per-layer gradient stacks (NaN when no weight's gradient varies).

    Each entry of ``grads`` holds one layer's weight gradients, one row per minibatch
    (shape ``(batches, weights)``). Per layer, over the weights whose gradient has a nonzero
    standard deviation across the rows (population std, ``ddof=0``), the ratios
    ``mean|g| / std(g)`` are summed; the layer adds the log of that sum (a layer with no such
    weight adds nothing). NaN when no layer adds anything.

    Example:
        >>> g = torch.tensor([[1.0, 2.0, 5.0], [3.0, 2.0, 1.0]])  # weight 2 has zero std
        >>> round(zico_from_gradients([g]), 6)  # log(2/1 + 3/2)
        1.252763
    """
    total = 0.0
    used = 0
    for g in grads:
        g = g.double()
        std = g.std(dim=0, unbiased=False)
        keep = std != 0
        if not bool(keep.any()):
            continue
        s = float((g.abs().mean(dim=0)[keep] / std[keep]).sum().item())
        if s == 0.0 or not math.isfinite(s):
            continue
        total += math.log(s)
        used += 1
    return total if used else float("nan")


@PROXIES.register("zico")
class ZiCo(Proxy):
    """sum over Conv2d/Linear layers of log(sum over weights of mean|g| / std(g)) (Li et al., 2023).

    The batch is cut into ``splits`` equal contiguous minibatches (two in the paper); each gets
    a forward and backward pass of the loss (BatchNorm in train mode, batch statistics of that
    minibatch) on one private copy, and every Conv2d/Linear weight gradient is recorded. The
    statistic is :func:`zico_from_gradients` of those records: per layer, the log of the summed
    ratio of the mean absolute gradient to its standard deviation across minibatches, over the
    weights whose gradient varies; summed over layers. Layers whose weights never get a varying
    gradient are skipped, as in the reference; NaN when no layer remains (e.g. a network whose
    output ignores its input; the reference returns 0 there).

    Args:
        splits: Number of minibatches the batch is cut into (>= 2).
        accumulate: ``True`` (default) records gradients without clearing them between
            minibatches, as the authors' ``ZeroShotProxy/compute_zico.py`` (SLDGroup/ZiCo) does:
            the k-th record is the sum of the first k minibatch gradients. ``False`` records each
            minibatch's own gradient (NASLib's and most re-implementations' reading of the paper's
            formula).

    Published setting: two minibatches of 64 (``batch_size`` 128 here: the whole batch passed to
    the proxy); higher is better.

    Example:
        >>> import torch, nasrank
        >>> _ = torch.manual_seed(0)
        >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
        >>> x, y = torch.randn(8, 3), torch.randint(0, 2, (8,))
        >>> v = nasrank.compute_proxies(net, (x, y), ["zico"])["zico"]
        >>> v == v  # a number, not NaN
        True
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 128

    def __init__(self, splits: int = 2, accumulate: bool = True) -> None:
        if not isinstance(splits, int) or isinstance(splits, bool) or splits < 2:
            raise ConfigError(f"`splits` must be an int >= 2, got {splits!r}")
        self.splits = splits
        self.accumulate = bool(accumulate)

    def compute(self, ctx: ProxyContext) -> float:
        n = ctx.inputs.shape[0]
        if n < self.splits:
            return float("nan")
        net = ctx.copy_model(train=True)
        layers = weight_layers(net)
        weights = [m.weight for m in layers]
        records: list[list[torch.Tensor]] = [[] for _ in layers]
        running: list[torch.Tensor | None] = [None] * len(layers)
        with torch.enable_grad():
            for k in range(self.splits):
                lo, hi = k * n // self.splits, (k + 1) * n // self.splits
                loss = ctx.loss_fn(net(ctx.inputs[lo:hi]), ctx.targets[lo:hi])
                live = [i for i, w in enumerate(weights) if w.requires_grad]
                g = (torch.autograd.grad(loss, [weights[i] for i in live], allow_unused=True)
                     if loss.requires_grad else [None] * len(live))
                got = dict(zip(live, g, strict=True))
                for i, w in enumerate(weights):
                    gi = got.get(i)
                    gi = torch.zeros_like(w) if gi is None else gi.detach()
                    if self.accumulate:
                        running[i] = gi if running[i] is None else running[i] + gi
                        gi = running[i]
                    records[i].append(gi.reshape(-1))
        return zico_from_gradients([torch.stack(r) for r in records])
