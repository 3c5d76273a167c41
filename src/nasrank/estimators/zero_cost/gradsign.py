"""``gradsign``: agreement of the signs of per-sample gradients (Zhang & Jia, ICLR 2022)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ...exceptions import ConfigError
from .. import PROXIES
from ._core import Proxy, ProxyContext, weight_layers

__all__ = ["GradSign", "gradsign_loop", "gradsign_vectorized", "sign_counts_loop", "sign_counts_vectorized"]


class _SampleNorm(nn.Module):
    """BatchNorm in train mode applied to every sample as if it were a batch of one.

    For (N, C, *spatial) inputs that is instance normalisation with the BN's affine parameters and
    epsilon; running statistics are neither read nor written.
    """

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm) -> None:
        super().__init__()
        self.weight = bn.weight
        self.bias = bn.bias
        self.eps = bn.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3 or x[0, 0].numel() < 2:
            raise ValueError(
                "GradSign: BatchNorm in train mode on a single sample needs more than one value per "
                f"channel, got input shape {tuple(x.shape)}"
            )
        return F.instance_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)


def _per_sample_batchnorm(model: nn.Module) -> None:
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, _SampleNorm(child))


def _per_sample_weight_grad(m: nn.Module, inp: torch.Tensor, gout: torch.Tensor) -> torch.Tensor:
    """Per-sample gradient of ``m.weight`` (N, *weight.shape) from its input and output gradient."""
    n = inp.shape[0]
    if isinstance(m, nn.Linear):
        if inp.dim() == 2:
            return gout.unsqueeze(2) * inp.unsqueeze(1)
        return torch.einsum("n...o,n...i->noi", gout, inp)
    assert isinstance(m, nn.Conv2d)
    if m.padding_mode != "zeros" or isinstance(m.padding, str):
        # generic (slower) path: let autograd do the per-sample reduction with vmap
        return _conv_grad_vmap(m, inp, gout)
    g = m.groups
    cout = m.out_channels
    kh, kw = m.kernel_size
    if (kh, kw) == (1, 1) and m.stride == (1, 1) and m.padding == (0, 0):
        cols = inp.reshape(n, inp.shape[1], -1)
    else:
        cols = F.unfold(inp, (kh, kw), dilation=m.dilation, padding=m.padding, stride=m.stride)
    go = gout.reshape(n, cout, -1)
    if g == 1:
        w = torch.bmm(go, cols.transpose(1, 2))
    else:
        cols = cols.reshape(n, g, cols.shape[1] // g, -1)
        go = go.reshape(n, g, cout // g, -1)
        w = torch.einsum("ngol,ngil->ngoi", go, cols)
    return w.reshape(n, *m.weight.shape)


def _conv_grad_vmap(m: nn.Conv2d, inp: torch.Tensor, gout: torch.Tensor) -> torch.Tensor:
    from torch.func import functional_call, vjp, vmap

    w = m.weight.detach()

    def one(xi: torch.Tensor, gi: torch.Tensor) -> torch.Tensor:
        def f(weight: torch.Tensor) -> torch.Tensor:
            return functional_call(m, {"weight": weight, **({"bias": m.bias} if m.bias is not None else {})},
                                   (xi.unsqueeze(0),))

        _, pull = vjp(f, w)
        return pull(gi.unsqueeze(0))[0]

    return vmap(one)(inp, gout)


def sign_counts_vectorized(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: Any = None
) -> list[torch.Tensor]:
    """Per Conv2d/Linear weight: sum over samples of sign(per-sample gradient), vectorised.

    ``model`` must be a private copy: its BatchNorm modules are replaced by per-sample
    normalisation (train-mode BN of a batch of one). One forward of the whole batch and one
    backward; each layer's per-sample weight gradients are formed from its input and output
    gradient (an unfold and a batched matrix product for convolutions) and reduced to sign counts
    at once, so the N x P matrix is never stored.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 2, bias=False))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.eye(2))
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]]); y = torch.tensor([0, 0])
        >>> sign_counts_vectorized(net, x, y)[0].tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
    """
    loss_fn = loss_fn if loss_fn is not None else F.cross_entropy
    _per_sample_batchnorm(model)
    model.train()
    layers = weight_layers(model)
    for p in model.parameters():
        p.requires_grad_(False)
    counts = [torch.zeros_like(m.weight) for m in layers]
    handles = []

    for i, m in enumerate(layers):
        def fwd(mod: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor, i: int = i) -> None:
            if not out.requires_grad:
                return
            x_in = inp[0].detach()

            def bwd(gout: torch.Tensor) -> None:
                with torch.no_grad():
                    gw = _per_sample_weight_grad(mod, x_in, gout)
                    counts[i] += torch.sign(gw).sum(0)

            out.register_hook(bwd)

        handles.append(m.register_forward_hook(fwd))
    x = inputs.detach().clone().requires_grad_(True)
    try:
        logits = model(x)
    finally:
        for h in handles:
            h.remove()
    # the sum of per-sample losses: each sample's gradient is exactly its own loss gradient
    n = x.shape[0]
    loss = torch.stack([loss_fn(logits[j : j + 1], targets[j : j + 1]) for j in range(n)]).sum() \
        if loss_fn is not F.cross_entropy else F.cross_entropy(logits, targets, reduction="sum")
    if loss.requires_grad:
        loss.backward()
    return counts


def sign_counts_loop(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: Any = None
) -> list[torch.Tensor]:
    """Reference path: the per-sample loop of the GradSign code (one forward/backward per sample).

    ``model`` must be a private copy (its gradients and BN running statistics change). Train-mode
    BatchNorm on each single sample; Conv2d/Linear weight gradients only; a missing gradient
    counts as zero.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 2, bias=False))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.eye(2))
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]]); y = torch.tensor([0, 0])
        >>> sign_counts_loop(net, x, y)[0].tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
    """
    loss_fn = loss_fn if loss_fn is not None else F.cross_entropy
    model.train()
    layers = weight_layers(model)
    counts = [torch.zeros_like(m.weight) for m in layers]
    for j in range(inputs.shape[0]):
        model.zero_grad(set_to_none=True)
        loss = loss_fn(model(inputs[j : j + 1]), targets[j : j + 1])
        if loss.requires_grad:
            loss.backward()
        for c, m in zip(counts, layers, strict=True):
            if m.weight.grad is not None:
                c += torch.sign(m.weight.grad)
    return counts


def _reduce(counts: list[torch.Tensor], reduction: str) -> float:
    flat = torch.cat([c.reshape(-1) for c in counts]).double().abs()
    return float(torch.nansum(flat).item() if reduction == "sum" else torch.nanmean(flat).item())


def gradsign_vectorized(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: Any = None,
    reduction: str = "sum",
) -> float:
    """GradSign of a private copy ``model`` with vectorised per-sample gradients.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 2, bias=False))
        >>> gradsign_vectorized(net, torch.randn(3, 2), torch.tensor([0, 1, 0])) <= 3 * 4
        True
    """
    return _reduce(sign_counts_vectorized(model, inputs, targets, loss_fn), reduction)


def gradsign_loop(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn: Any = None,
    reduction: str = "sum",
) -> float:
    """GradSign of a private copy ``model`` with the reference per-sample loop.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 2, bias=False))
        >>> x, y = torch.randn(3, 2), torch.tensor([0, 1, 0])
        >>> gradsign_loop(net, x, y) == gradsign_vectorized(net, x, y)
        True
    """
    return _reduce(sign_counts_loop(model, inputs, targets, loss_fn), reduction)


@PROXIES.register("gradsign")
class GradSign(Proxy):
    """sum_k |sum_i sign(d loss_i / d theta_k)| over Conv2d/Linear weights (Zhang & Jia, 2022).

    Per-sample gradients of each sample's own loss, with BatchNorm in train mode on that single
    sample (as the reference loop does); sign(0) = 0; summed over samples; absolute value; then
    reduced over parameters. The value lies in [0, N * P] (N samples, P weights).

    Args:
        method: ``"vectorized"`` (default: one batched forward and backward with per-sample
            weight gradients formed layer by layer) or ``"loop"`` (the reference's per-sample
            loop; same value up to rounding of near-zero gradients).
        reduction: ``"sum"`` (default; ``np.nansum``, the GradSign repository's ``build.py``
            path behind the paper's Spearman numbers) or ``"mean"`` (``np.nanmean``, the
            repository's NASWOT-style ``gradsign.py`` script; not rank-equivalent because P varies
            between architectures).

    BatchNorm in train mode per sample; published batch size 128; higher is better. The loss
    function must be a per-sample mean or sum (sign counts are invariant to the scale).

    Example:
        >>> import torch, nasrank
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.eye(2))
        >>> x = torch.tensor([[1.0, 0.0], [1.0, 0.0]]); y = torch.tensor([0, 0])
        >>> nasrank.compute_proxies(net, (x, y), ["gradsign"])["gradsign"]  # both samples agree
        4.0
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train (per sample)"
    batch_size: ClassVar[int | None] = 128

    def __init__(self, method: str = "vectorized", reduction: str = "sum") -> None:
        if method not in ("vectorized", "loop"):
            raise ConfigError(f"`method` must be 'vectorized' or 'loop', got {method!r}")
        if reduction not in ("sum", "mean"):
            raise ConfigError(f"`reduction` must be 'sum' or 'mean', got {reduction!r}")
        self.method = method
        self.reduction = reduction

    def compute(self, ctx: ProxyContext) -> float:
        net = ctx.copy_model(train=True)
        fn = gradsign_vectorized if self.method == "vectorized" else gradsign_loop
        return fn(net, ctx.inputs, ctx.targets, ctx.loss_fn, self.reduction)
