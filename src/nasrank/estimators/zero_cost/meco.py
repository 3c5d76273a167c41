"""``meco``: MeCo, minimum eigenvalues of feature-map channel correlations (Jiang et al., NeurIPS 2023)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from ...exceptions import ConfigError
from .._registries import PROXIES
from ._core import Proxy, ProxyContext, randn_on

__all__ = ["MeCo", "min_channel_correlation_eigenvalue"]


def min_channel_correlation_eigenvalue(
    feature: torch.Tensor, channels: int | None = None, generator: torch.Generator | None = None,
) -> float | None:
    """Smallest eigenvalue of the correlation matrix between the rows of one sample's feature map.

    ``feature`` is one sample's output, e.g. (C, H, W): it is viewed as C rows of H*W values and
    ``corrcoef`` of the rows is taken (float64); undefined entries (a constant row) are set to 0,
    as the reference does, and the smallest eigenvalue of the symmetric result is returned. With
    ``channels = k < C`` only k rows drawn at random (from ``generator``) are used and the value is
    scaled by C / k (MeCo_opt). ``None`` when the value is undefined: fewer than two rows, or every
    entry of the matrix undefined (every row constant).

    Example:
        >>> f = torch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])  # corr = [[1, -1], [-1, 1]]
        >>> round(min_channel_correlation_eigenvalue(f), 6)
        0.0
        >>> min_channel_correlation_eigenvalue(torch.ones(2, 3)) is None
        True
    """
    if feature.dim() == 0:
        return None
    n = feature.shape[0]
    f = feature.detach().reshape(n, -1).double()
    if n < 2 or f.shape[1] < 2:
        return None
    scale = 1.0
    if channels is not None and channels < n:
        idx = torch.randperm(n, generator=generator, device=generator.device if generator else f.device)
        f = f[idx[:channels].to(f.device)]
        scale = n / channels
    corr = torch.corrcoef(f)
    bad = ~torch.isfinite(corr)
    if bool(bad.all()):
        return None
    corr = corr.masked_fill(bad, 0.0)
    return float(torch.linalg.eigvalsh(corr)[0].item()) * scale


@PROXIES.register("meco")
class MeCo(Proxy):
    """sum over modules of the smallest eigenvalue of one sample's channel-correlation matrix.

    One forward pass of one sample through a private copy (BatchNorm in train mode, i.e. on that
    sample's own statistics), with a forward hook on **every** module (containers included, as in
    the authors' ``correlation/NAS_Bench_201.py``, HamsterMimi/MeCo): each module's output for the
    sample (C x H x W) gives :func:`min_channel_correlation_eigenvalue`, and the values are
    summed. Modules whose correlation is undefined (e.g. logits: one value per row; constant
    features) add 0, as in the reference (which zeroes NaN entries); the proxy is NaN when every
    module is undefined (e.g. a network whose stem output is constant; the reference gives 0).
    Modules whose output is not a tensor are skipped. Because containers count, the value depends
    on how a network nests its modules. NaN also when a BatchNorm sees one value per channel
    (1 x 1 feature maps of one sample: train-mode statistics undefined).

    Args:
        input: ``"data"`` (default; the authors' code scores the first image of a CIFAR loader
            with batch size 1: here the first sample of the batch) or ``"gaussian"`` (one N(0, 1)
            sample of the same shape drawn from the seed: the data-free reading of the paper).
        channels: ``None`` (default): all channels; an int k: MeCo_opt, k random channels per
            module (8 in the paper) drawn from the seed, value scaled by C / k.

    Eigenvalues come from the symmetric solver in float64 (the reference calls the general
    solver in float32 and keeps the real part). Published batch size 1; higher is better.

    Example:
        >>> import torch, nasrank
        >>> _ = torch.manual_seed(0)
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
        ...                           torch.nn.Linear(64, 2))
        >>> x, y = torch.randn(2, 3, 6, 6), torch.zeros(2, dtype=torch.long)
        >>> v = nasrank.compute_proxies(net, (x, y), ["meco"])["meco"]
        >>> v == v and v >= -1e-9  # correlation matrices are positive semi-definite
        True
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 1

    def __init__(self, input: str = "data", channels: int | None = None) -> None:  # noqa: A002
        if input not in ("data", "gaussian"):
            raise ConfigError(f"`input` must be 'data' or 'gaussian', got {input!r}")
        if channels is not None and (not isinstance(channels, int) or isinstance(channels, bool) or channels < 2):
            raise ConfigError(f"`channels` must be None or an int >= 2, got {channels!r}")
        self.input = input
        self.channels = channels

    def compute(self, ctx: ProxyContext) -> float:
        net = ctx.copy_model(train=True)
        gen = ctx.generator(offset=4243)
        if self.input == "data":
            x = ctx.inputs[:1].detach()
        else:
            x = randn_on((1, *ctx.inputs.shape[1:]), gen, ctx.device, ctx.inputs.dtype)
        outs: list[torch.Tensor] = []

        def hook(_m: torch.nn.Module, _inp: Any, out: Any) -> None:
            if isinstance(out, torch.Tensor) and out.dim() >= 1:
                outs.append(out[0].detach())

        handles = [m.register_forward_hook(hook) for m in net.modules()]
        try:
            with torch.no_grad():
                net(x)
        except ValueError as exc:  # train-mode BatchNorm on one value per channel: undefined
            if "more than 1 value per channel" in str(exc):
                return float("nan")
            raise
        finally:
            for h in handles:
                h.remove()
        total, defined = 0.0, 0
        for f in outs:
            v = min_channel_correlation_eigenvalue(f, self.channels, gen)
            if v is not None:
                total += v
                defined += 1
        return total if defined else float("nan")
