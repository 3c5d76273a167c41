"""``zen``: Zen-score, expected Gaussian complexity of the pre-pooling features."""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import nn

from ...exceptions import ConfigError
from .._registries import PROXIES
from ._core import Proxy, ProxyContext, gaussian_init, randn_on

__all__ = ["Zen"]


def _features(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    if hasattr(net, "forward_features"):
        return net.forward_features(x)
    pools = [m for m in net.modules() if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool1d))]
    if not pools:
        raise ConfigError(
            "zen needs the features before global pooling: give the model a `forward_features` "
            "method or an nn.AdaptiveAvgPool2d module"
        )
    got: list[torch.Tensor] = []
    h = pools[-1].register_forward_pre_hook(lambda m, inp: got.append(inp[0]))
    try:
        net(x)
    finally:
        h.remove()
    return got[-1]


@PROXIES.register("zen")
class Zen(Proxy):
    """log E|f(x1) - f(x1 + g x2)| + sum_BN log sqrt(mean running_var) (Lin et al., 2021).

    On a private copy re-initialised as Zen-NAS does (Conv2d/Linear weights ~ N(0, 1), biases 0,
    BatchNorm weight 1 and bias 0), in train mode and without gradients: x1, x2 ~ N(0, 1) with the
    batch's shape (the data are not used), g = ``mixup_gamma``; f = the feature map before global
    pooling (``model.forward_features``); the difference is summed over C, H, W and averaged over
    the batch. The BatchNorm term reads each BN's running variance after the two forward passes
    (momentum as built). Repeated ``repeat`` times with fresh weights (running statistics carry
    over between repeats, as in Zen-NAS) and averaged. NaN when the features ignore the input.
    All random draws come from ``seed``.

    Args:
        repeat: Number of re-initialisations averaged (Zen-NAS: 32; NASLib: 1, the default).
        mixup_gamma: Perturbation scale.

    BatchNorm in train mode; published batch size 16; higher is better.

    Example:
        >>> import nasrank, torch
        >>> net = nasrank.create_space("nb201").build((3, 3, 3, 3, 3, 3), C=4, N=1)
        >>> x = torch.zeros(4, 3, 16, 16); y = torch.zeros(4, dtype=torch.long)
        >>> a = nasrank.compute_proxies(net, (x, y), ["zen"], seed=1)["zen"]
        >>> a == nasrank.compute_proxies(net, (x, y), ["zen"], seed=1)["zen"]
        True
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 16

    def __init__(self, repeat: int = 1, mixup_gamma: float = 1e-2) -> None:
        if not isinstance(repeat, int) or repeat < 1:
            raise ConfigError(f"`repeat` must be an int >= 1, got {repeat!r}")
        self.repeat = repeat
        self.mixup_gamma = float(mixup_gamma)

    def compute(self, ctx: ProxyContext) -> float:
        net = ctx.copy_model(train=True)
        gen = ctx.generator(offset=7919)
        scores = []
        with torch.no_grad():
            for _ in range(self.repeat):
                gaussian_init(net, gen)
                shape = ctx.inputs.shape
                x1 = randn_on(shape, gen, ctx.device)
                x2 = randn_on(shape, gen, ctx.device)
                f1 = _features(net, x1)
                f2 = _features(net, x1 + self.mixup_gamma * x2)
                stats = [(f1 - f2).abs().flatten(1).sum(1).mean()] + [
                    m.running_var.mean() for m in net.modules()
                    if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_var is not None]
                delta, *variances = torch.stack(stats).tolist()  # one device-to-host transfer
                bn_term = 0.0
                for v in variances:
                    bn_term += math.log(math.sqrt(v))
                scores.append(math.log(delta) + bn_term if delta > 0 else float("nan"))
        return sum(scores) / len(scores)
