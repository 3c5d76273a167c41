"""``az-nas-*``: the per-network components of AZ-NAS (Lee & Ham, CVPR 2024).

AZ-NAS scores a network by four components and ranks a *set* of networks by the sum over the
components of ``log(rank / n)`` (:func:`nasrank.evaluation.ensembles.az_nas_aggregate`). The
aggregate is a set-level operation, so no single-network ``az-nas`` proxy is registered; the
components are, and compute together in one forward and one backward pass:

* ``az-nas-expressivity`` (:class:`AzNasExpressivity`) — sum over feature maps of the entropy of
  the normalised eigenvalue spectrum of the channel covariance;
* ``az-nas-progressivity`` (:class:`AzNasProgressivity`) — the smallest increase of that entropy
  from one feature map to the next;
* ``az-nas-trainability`` (:class:`AzNasTrainability`) — mean over consecutive feature maps of
  ``2 - s - 1/s`` for the largest singular value ``s`` of the channel-to-channel Jacobian
  correlation (0 at ``s = 1``, the ideal, negative elsewhere);
* complexity — the network's FLOPs: the existing ``flops`` proxy (not registered again).

:func:`az_nas_components` returns the three computed components of one network at once.

Facts taken from the authors' code (cvlab-yonsei/AZ-NAS, ``NB201/ZeroShotProxy/
compute_az_nas_score.py``, ``NB201/custom/tss_model.py``, ``NB201/tss_general.ipynb``):

* feature maps: the stem output and the output of every cell (reduction blocks included), i.e.
  ``extract_cell_features`` of their NB201 network;
* the network is re-initialised (Kaiming normal, fan-in, ReLU gain on Conv2d/Linear weights, zero
  biases, BatchNorm/GroupNorm affine 1 and 0) and run in train mode (batch statistics);
* the input is a standard Gaussian batch of the real batch's shape (AZ-NAS is not among the
  notebook's ``real_input_metrics``), batch size 64 (the ``weight-sharing.config`` loader);
* expressivity: covariance over the ``B*H*W`` positions (divided by their number), eigenvalues
  ``s``, ``p = s / sum(s)``, entropy ``-sum p log(p + 1e-8)``;
* trainability: going from the last feature map back, a Rademacher (+-1) cotangent ``g_out`` on
  ``f_out`` is pulled back to ``g_in`` on ``f_in``; a block that passes it unchanged (identity)
  scores -inf; otherwise ``g_in`` is pixel-unshuffled to ``f_out``'s resolution,
  ``M = g_in^T g_out / (B*H*W)`` and the score is ``-s - 1/(s + 1e-6) + 2`` with ``s`` the
  largest singular value of ``M``;
* complexity: the benchmark's FLOPs; higher is better for every component.

Differences from that code (each affects only values the reference turns into a sentinel):

* NaN where the reference returns -inf or maps NaN to -inf (identity block in trainability, a
  constant feature map, a block whose output ignores its input, no feature map at all); the
  rank aggregation puts NaN last by default, which is where -inf ranks in the reference;
* eigenvalues are computed in float64 and round-off negatives clamped to 0 (the reference's
  float32 ``eigvalsh`` can return tiny negatives whose ``log`` is NaN);
* a feature map whose height/width is not a multiple of the next one's is zero-padded before the
  pixel unshuffle (the reference would fail on such shapes; NB201/DARTS at 32x32 never do);
* a block that receives no gradient from its successor scores NaN rather than about -1e6.

Feature maps are found on any model as follows: a model with an ``extract_cell_features(x)``
method (the reference's protocol) provides them; otherwise the outputs of ``model.stem`` and of
every module of ``model.cells`` (nasrank's NB201 and DARTS networks); otherwise the outputs of the
model's direct children that return 4-D tensors, global pooling excluded (a wrapper with a single
child is looked through).
"""

from __future__ import annotations

import math
import weakref
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ...exceptions import ConfigError
from .._registries import PROXIES
from ._core import Proxy, ProxyContext, randn_on

__all__ = [
    "AzNasExpressivity",
    "AzNasProgressivity",
    "AzNasTrainability",
    "az_nas_components",
    "feature_entropy",
    "trainability_score",
]

_INITS = ("kaiming_normal_fan_in", None)

#: the components computed per context, so that requesting several shares one pass
_CACHE: weakref.WeakKeyDictionary[ProxyContext, dict[Any, dict[str, float]]] = weakref.WeakKeyDictionary()


def feature_entropy(feature: torch.Tensor) -> float:
    """Entropy of the normalised eigenvalues of the channel covariance of a feature map.

    The covariance is over every (sample, position) pair, divided by their number; eigenvalues
    are computed in float64, round-off negatives clamped to zero. NaN when the covariance is zero.

    Args:
        feature: ``(B, C, H, W)`` (or ``(B, C)``) activations.

    Example:
        >>> x = torch.zeros(4, 2, 1, 1)
        >>> x[:, 0, 0, 0] = torch.tensor([1.0, -1.0, 1.0, -1.0])
        >>> x[:, 1, 0, 0] = torch.tensor([1.0, 1.0, -1.0, -1.0])
        >>> round(feature_entropy(x), 6)  # two equal eigenvalues: log 2
        0.693147
    """
    f = feature.detach().double()
    c = f.shape[1]
    f = f.movedim(1, -1).reshape(-1, c)
    f = f - f.mean(0, keepdim=True)
    cov = f.T @ f / f.shape[0]
    s = torch.linalg.eigvalsh(cov).clamp_min(0.0)
    total = s.sum()
    if not float(total) > 0.0:
        return float("nan")
    p = s / total
    return float((-p * torch.log(p + 1e-8)).sum())


def trainability_score(g_in: torch.Tensor, g_out: torch.Tensor) -> float:
    """``2 - s - 1/(s + 1e-6)`` for the largest singular value ``s`` of ``g_in^T g_out / n``.

    ``g_out`` is the cotangent on a block's output, ``g_in`` its pull-back on the block's input;
    ``g_in`` is pixel-unshuffled (zero-padded first if needed) to ``g_out``'s resolution. NaN
    when ``g_in`` equals ``g_out`` (an identity block; the reference scores -inf) or ``s = 0``.

    Example:
        >>> g = torch.ones(2, 1, 2, 2)
        >>> round(trainability_score(2 * g, g), 4)  # M = [[2]]: 2 - 2 - 1/(2 + 1e-6)
        -0.5
    """
    if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
        return float("nan")
    if g_in.dim() == 4 and g_in.shape[2:] != g_out.shape[2:]:
        hi, wi = g_in.shape[2:]
        ho, wo = g_out.shape[2:]
        s = max(math.ceil(hi / ho), math.ceil(wi / wo))
        if (hi, wi) != (s * ho, s * wo):
            g_in = F.pad(g_in, (0, s * wo - wi, 0, s * ho - hi))
        g_in = F.pixel_unshuffle(g_in, s)
    gi = g_in.detach().double().movedim(1, -1).reshape(-1, g_in.shape[1])
    go = g_out.detach().double().movedim(1, -1).reshape(-1, g_out.shape[1])
    if gi.shape[0] != go.shape[0]:
        return float("nan")
    m = gi.T @ go / go.shape[0]
    smax = float(torch.linalg.matrix_norm(m, ord=2))
    if not smax > 0.0:
        return float("nan")
    return -smax - 1.0 / (smax + 1e-6) + 2.0


def _reinit(net: nn.Module, gen: torch.Generator) -> None:
    """Kaiming normal (fan-in, ReLU gain) weights, zero biases, unit/zero norm affine, drawn from ``gen``."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                std = math.sqrt(2.0) / math.sqrt(fan_in) if fan_in else 0.0
                m.weight.copy_(randn_on(m.weight.shape, gen, m.weight.device) * std)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()


def _feature_modules(net: nn.Module) -> list[nn.Module]:
    children = list(net.children())
    while len(children) == 1 and not hasattr(net, "cells"):  # a wrapper: look inside
        net = children[0]
        children = list(net.children())
    stem, cells = getattr(net, "stem", None), getattr(net, "cells", None)
    if isinstance(stem, nn.Module) and isinstance(cells, nn.ModuleList):
        return [stem, *cells]
    pools = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
    return [m for m in children if not isinstance(m, pools)]


def _extract(net: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The feature maps of one forward pass, in execution order."""
    if callable(getattr(net, "extract_cell_features", None)):
        return [f for f in net.extract_cell_features(x) if isinstance(f, torch.Tensor)]
    feats: list[torch.Tensor] = []

    def _save(_m: nn.Module, _inp: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor) and out.dim() == 4:
            feats.append(out)

    handles = [m.register_forward_hook(_save) for m in _feature_modules(net)]
    try:
        net(x)
    finally:
        for h in handles:
            h.remove()
    return feats


def _rademacher(like: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """+-1 entries of ``like``'s shape, dtype and device, drawn on ``gen``'s device (a CPU
    generator gives the same signs on every device)."""
    dev = gen.device if gen.device.type != "cpu" else None
    r = torch.randint(0, 2, like.shape, generator=gen, device=dev)
    return r.to(like.device).to(like.dtype) * 2 - 1


def _compute(net: nn.Module, x: torch.Tensor, gen: torch.Generator) -> dict[str, float]:
    nan = float("nan")
    feats = _extract(net, x)
    if len(feats) < 2:
        return {"expressivity": nan, "progressivity": nan, "trainability": nan}
    ent = [feature_entropy(f) for f in feats]
    expressivity = math.fsum(ent)
    progressivity = min(b - a for a, b in zip(ent[:-1], ent[1:], strict=True))
    if any(math.isnan(e) for e in ent):
        expressivity = progressivity = nan
    scores: list[float] = []
    for i in reversed(range(1, len(feats))):
        f_out, f_in = feats[i], feats[i - 1]
        if not (f_out.requires_grad and f_in.requires_grad):
            scores.append(nan)
            continue
        g_out = _rademacher(f_out, gen)
        (g_in,) = torch.autograd.grad(f_out, f_in, grad_outputs=g_out, retain_graph=True, allow_unused=True)
        scores.append(nan if g_in is None else trainability_score(g_in, g_out))
    trainability = nan if any(math.isnan(s) for s in scores) else math.fsum(scores) / len(scores)
    return {"expressivity": expressivity, "progressivity": progressivity, "trainability": trainability}


def _components(ctx: ProxyContext, init: str | None) -> dict[str, float]:
    per_ctx = _CACHE.setdefault(ctx, {})
    if init not in per_ctx:
        net = ctx.copy_model(train=True)
        gen = ctx.generator(offset=4099)
        if init is not None:
            _reinit(net, gen)
        x = randn_on(ctx.inputs.shape, gen, ctx.device, ctx.inputs.dtype)
        per_ctx[init] = _compute(net, x, gen)
    return per_ctx[init]


def az_nas_components(
    model: nn.Module,
    batch: tuple[torch.Tensor, torch.Tensor],
    seed: int = 0,
    init: str | None = "kaiming_normal_fan_in",
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Expressivity, progressivity and trainability of ``model`` in one pass (NaN where undefined).

    Complexity, AZ-NAS's fourth component, is the ``flops`` proxy.

    Args:
        model: A network (left untouched; a private copy is scored).
        batch: ``(inputs, targets)``; only the inputs' shape is used (the input is Gaussian).
        seed: Seed of the re-initialisation, the input and the Rademacher cotangents.
        init: ``"kaiming_normal_fan_in"`` (the reference) or ``None`` to keep the model's weights.
        device: Device of the copy; default the model's.

    Example:
        >>> from nasrank.testing.proxies import tiny_batch, tiny_network
        >>> sorted(az_nas_components(tiny_network(), tiny_batch()))
        ['expressivity', 'progressivity', 'trainability']
    """
    _check_init(init)
    x, y = batch
    ctx = ProxyContext(model, (x, y), seed=seed, device=device)
    return dict(_components(ctx, init))


def _check_init(init: Any) -> None:
    if init not in _INITS:
        raise ConfigError(f"`init` must be one of {list(_INITS)}, got {init!r}")


class _AzNasComponent(Proxy):
    """Shared behaviour of the three AZ-NAS component proxies."""

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 64
    component: ClassVar[str] = ""

    def __init__(self, init: str | None = "kaiming_normal_fan_in") -> None:
        _check_init(init)
        self.init = init

    def compute(self, ctx: ProxyContext) -> float:
        return _components(ctx, self.init)[self.component]


@PROXIES.register("az-nas-expressivity")
class AzNasExpressivity(_AzNasComponent):
    """AZ-NAS expressivity: sum over feature maps of the channel-covariance eigenvalue entropy.

    See :mod:`nasrank.estimators.zero_cost.az_nas` for the exact definition and its source.
    Gaussian input of the batch's shape drawn from the seed; the copy is re-initialised (Kaiming
    normal, fan-in) unless ``init=None``; train-mode BatchNorm; batch size 64; higher is better.

    Args:
        init: ``"kaiming_normal_fan_in"`` (reference) or ``None`` (keep the model's weights).

    Example:
        >>> import nasrank
        >>> from nasrank.testing.proxies import tiny_batch, tiny_network
        >>> v = nasrank.compute_proxies(tiny_network(), tiny_batch(), ["az-nas-expressivity"])
        >>> v["az-nas-expressivity"] > 0
        True
    """

    component = "expressivity"


@PROXIES.register("az-nas-progressivity")
class AzNasProgressivity(_AzNasComponent):
    """AZ-NAS progressivity: the smallest entropy increase between consecutive feature maps.

    See :mod:`nasrank.estimators.zero_cost.az_nas`. Same input, init, BatchNorm mode and batch
    size as ``az-nas-expressivity``; higher is better.

    Args:
        init: ``"kaiming_normal_fan_in"`` (reference) or ``None`` (keep the model's weights).

    Example:
        >>> import math, nasrank
        >>> from nasrank.testing.proxies import tiny_batch, tiny_network
        >>> v = nasrank.compute_proxies(tiny_network(), tiny_batch(), ["az-nas-progressivity"])
        >>> math.isfinite(v["az-nas-progressivity"])
        True
    """

    component = "progressivity"


@PROXIES.register("az-nas-trainability")
class AzNasTrainability(_AzNasComponent):
    """AZ-NAS trainability: mean of ``2 - s - 1/s`` over blocks (``s``: top singular value of the Jacobian correlation).

    See :mod:`nasrank.estimators.zero_cost.az_nas`. Rademacher cotangents drawn from the seed;
    same input, init, BatchNorm mode and batch size as ``az-nas-expressivity``; at most 0,
    higher is better; NaN if any block is an identity (the reference: -inf).

    Args:
        init: ``"kaiming_normal_fan_in"`` (reference) or ``None`` (keep the model's weights).

    Example:
        >>> import nasrank
        >>> from nasrank.testing.proxies import tiny_batch, tiny_network
        >>> v = nasrank.compute_proxies(tiny_network(), tiny_batch(), ["az-nas-trainability"])
        >>> v["az-nas-trainability"] <= 0
        True
    """

    component = "trainability"

