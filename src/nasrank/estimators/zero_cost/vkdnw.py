"""``vkdnw``: Variance of Knowledge of Deep Network Weights (Tybl & Neumann, CVPR 2025).

The empirical Fisher information of a sample of the network's parameters at initialisation; its
eigenvalues' deciles are normalised to sum to one and their entropy measures how evenly the
network's "knowledge" is spread over its weights. Semantics from the authors' code behind the
published numbers (ondratybl/VKDNW ``NB201/ZeroShotProxy/compute_vkdnw_score.py`` at HEAD, run by
``NB201/tss_general_.py`` with its defaults, Table 1 from ``paper_preparation.ipynb``):

* the network is re-initialised (Conv2d/Linear weights Kaiming-normal, fan-in, ReLU gain; biases
  0; BatchNorm/GroupNorm weight 1, bias 0) and evaluated in **eval** mode (running statistics);
* input: one batch of N(0, 1) noise of 64 images (``--real_input`` off by default);
* parameters: of the first 128 parameter tensors (``named_parameters`` order, "taken from the
  beginning of the network"), one scalar each (the first element; the code spaces ``p`` indices
  evenly with ``torch.linspace``);
* per sample, the Jacobian J (C x P) of the logits w.r.t. those scalars; with the smoothed softmax
  ``p = 0.95 softmax + 0.05 / C`` and the lower-triangular L of the Tanabe-Sagae factorisation
  ``diag(p) - p p^T = L L^T``, the Fisher matrix is ``mean_n (L J)^T (L J)`` (the code multiplies
  ``L`` on the left of J, hence ``J^T L^T L J``, not ``J^T L L^T J``; reproduced);
* singular values of the P x P Fisher matrix (= its eigenvalues), their deciles ``q_1..q_9``
  (``torch.quantile``, linear interpolation), ``t = q / (sum q + 1e-10)`` and the entropy
  ``-sum t log(t + 1e-10)``.

The published VKDNW_single (NB201 C10 Spearman .815) ranks networks lexicographically by (number
of parameter tensors, entropy); :class:`Vkdnw` returns this order as one float (see its docstring),
:class:`VkdnwEntropy` the entropy alone, and :func:`vkdnw_aggregate` the published VKDNW_agg (.919),
a sum of log-ranks over a set of architectures.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ...exceptions import ConfigError
from .._registries import PROXIES
from ._core import Proxy, ProxyContext, normal_, randn_on

__all__ = ["Vkdnw", "VkdnwEntropy", "vkdnw_fisher", "vkdnw_entropy", "vkdnw_aggregate"]

# softmax smoothing of the reference: 0.05 held as a float16 tensor there, i.e. 0.04998779296875
_SMOOTH = float(torch.tensor(0.05, dtype=torch.float16))
_EPS = 1e-10
# per compute_proxies call, the entropy of each option set: ``vkdnw`` and ``vkdnw-entropy``
# requested together compute the Fisher matrix once
_CACHE: weakref.WeakKeyDictionary[ProxyContext, dict[Any, float]] = weakref.WeakKeyDictionary()


def _reinit(net: nn.Module, gen: torch.Generator) -> None:
    """The reference's ``kaiming_norm_fanin`` initialisation, drawn from ``gen``; BatchNorm running
    statistics reset (the reference scores freshly built networks)."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                normal_(m.weight, gen, 0.0, math.sqrt(2.0 / fan_in))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)):
                if getattr(m, "weight", None) is not None:
                    m.weight.fill_(1.0)
                if getattr(m, "bias", None) is not None:
                    m.bias.zero_()
                if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
                    m.reset_running_stats()


def _cov_factor(logits: torch.Tensor) -> torch.Tensor:
    """Per sample the lower-triangular L with ``L L^T = diag(p) - p p^T`` (N x C x C, float64),
    ``p`` the smoothed softmax: ``L[i, j] = -p_i / q_j`` below the diagonal, 1 on it, then column
    ``j`` scaled by ``sqrt(p_j q_j / q_{j-1})``, with ``q_j = 1 - sum_{k<=j} p_k`` (``q_C = 0``,
    ``q_0 = 1``); the last column is zero."""
    c = logits.shape[1]
    p = torch.softmax(logits.double(), dim=1) * (1 - _SMOOTH) + _SMOOTH / c
    q = 1.0 - torch.cumsum(p, dim=1)
    q[:, -1] = 0.0
    q_prev = torch.cat([torch.ones_like(q[:, :1]), q[:, :-1]], dim=1)
    d = torch.sqrt((p * q / q_prev).clamp_min(0.0))
    safe_q = torch.where(q > 0, q, torch.ones_like(q))
    below = -p[:, :, None] / safe_q[:, None, :]  # [n, i, j] = -p_i / q_j
    below = torch.where((q > 0)[:, None, :], below, torch.zeros_like(below))
    L = torch.tril(below, diagonal=-1) + torch.eye(c, dtype=p.dtype, device=p.device)
    return L * d[:, None, :]


def _sampled(net: nn.Module, max_tensors: int, per_tensor: int) -> list[tuple[str, torch.Tensor]]:
    """``(name, flat indices)`` of the sampled scalars of the first ``max_tensors`` tensors."""
    out = []
    for name, p in list(net.named_parameters())[:max_tensors]:
        idx = torch.linspace(0, p.numel() - 1, steps=per_tensor, device=p.device).long()
        out.append((name, idx))
    return out


def vkdnw_fisher(model: nn.Module, x: torch.Tensor, max_tensors: int = 128, per_tensor: int = 1) -> torch.Tensor:
    """The reference's empirical Fisher matrix of ``model`` on ``x`` (P x P, float64).

    ``mean_n (L_n J_n)^T (L_n J_n)``, J_n the Jacobian of sample n's logits w.r.t. ``per_tensor``
    evenly spaced scalars of each of the first ``max_tensors`` parameter tensors, L_n the factor
    of the smoothed-softmax covariance (see the module docstring). The model runs as it is (set
    eval mode first for the reference's per-sample computation); its parameters are not changed.

    Example:
        >>> net = nn.Sequential(nn.Linear(3, 2))
        >>> vkdnw_fisher(net, torch.randn(4, 3)).shape  # 2 tensors (weight, bias), 1 scalar each
        torch.Size([2, 2])
    """
    from torch.func import functional_call, jacrev, vmap

    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}
    chosen = _sampled(model, max_tensors, per_tensor)
    values = {k: params[k].reshape(-1)[idx] for k, idx in chosen}

    def logits_of(sample: torch.Tensor, sub: dict[str, torch.Tensor]) -> torch.Tensor:
        full = dict(params)
        for k, idx in chosen:
            full[k] = params[k].reshape(-1).index_put((idx,), sub[k]).reshape(params[k].shape)
        return functional_call(model, (full, buffers), (sample.unsqueeze(0),)).squeeze(0)

    def jac_one(sample: torch.Tensor) -> torch.Tensor:
        j = jacrev(lambda sub: logits_of(sample, sub))(values)
        return torch.cat([j[k].reshape(j[k].shape[0], -1) for k, _ in chosen], dim=1)

    try:
        J = vmap(jac_one)(x)  # N x C x P
    except RuntimeError:
        # some forwards are not vmap-able (e.g. a channels_last copy): one sample at a time
        J = torch.stack([jac_one(s) for s in x])
    J = J.double()
    with torch.no_grad():
        logits = model(x)
    A = _cov_factor(logits) @ J
    return (A.transpose(1, 2) @ A).mean(0)


def vkdnw_entropy(fisher: torch.Tensor) -> float:
    """Entropy of the normalised deciles of the eigenvalues of a Fisher matrix.

    Singular values (= eigenvalues of a PSD matrix) ``lam``; ``q = quantile(lam, 0.1, ..., 0.9)``;
    ``t = q / (sum q + 1e-10)``; returns ``-sum t log(t + 1e-10)``, NaN when every eigenvalue is 0
    or one is not finite. At most ``log 9``.

    Example:
        >>> round(vkdnw_entropy(torch.eye(5)), 6) == round(math.log(9), 6)  # equal deciles
        True
    """
    f = fisher.double()
    if not bool(torch.isfinite(f).all()):
        return float("nan")
    lam = torch.linalg.svdvals(f)
    if float(lam.max()) <= 0:
        return float("nan")
    levels = torch.arange(1, 10, dtype=lam.dtype, device=lam.device) / 10
    q = torch.quantile(lam, levels)
    t = q / (q.abs().sum() + _EPS)
    return float(-(t * torch.log(t + _EPS)).sum())


def _output_ignores_input(logits: torch.Tensor) -> bool:
    if logits.shape[0] < 2:
        return False
    ref = logits[:1].expand_as(logits)
    return bool(torch.allclose(logits, ref, rtol=1e-5, atol=1e-6 * float(logits.abs().max()) + 1e-12))


def _check_int(name: str, v: object, low: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < low:
        raise ConfigError(f"`{name}` must be an int >= {low}, got {v!r}")
    return v


class _VkdnwBase(Proxy):
    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "eval"
    batch_size: ClassVar[int | None] = 64

    def __init__(self, max_tensors: int = 128, per_tensor: int = 1, reinit: bool = True,
                 real_input: bool = False) -> None:
        self.max_tensors = _check_int("max_tensors", max_tensors, 1)
        self.per_tensor = _check_int("per_tensor", per_tensor, 1)
        self.reinit = bool(reinit)
        self.real_input = bool(real_input)

    def _entropy(self, ctx: ProxyContext) -> float:
        per_ctx = _CACHE.setdefault(ctx, {})
        key = (self.max_tensors, self.per_tensor, self.reinit, self.real_input)
        if key not in per_ctx:
            per_ctx[key] = self._entropy_uncached(ctx)
        return per_ctx[key]

    def _entropy_uncached(self, ctx: ProxyContext) -> float:
        net = ctx.copy_model(train=False)
        if self.reinit:
            _reinit(net, ctx.generator(offset=8191))
        if self.real_input:
            x = ctx.inputs
        else:
            x = randn_on(ctx.inputs.shape, ctx.generator(offset=8209), ctx.device, ctx.inputs.dtype)
        with torch.no_grad():
            if _output_ignores_input(net(x)):
                return float("nan")
        return vkdnw_entropy(vkdnw_fisher(net, x, self.max_tensors, self.per_tensor))


@PROXIES.register("vkdnw-entropy")
class VkdnwEntropy(_VkdnwBase):
    """Entropy of the normalised deciles of the empirical Fisher eigenvalues (VKDNW, CVPR'25).

    On a private copy re-initialised as the authors do (Kaiming-normal fan-in, BatchNorm 1/0,
    running statistics reset; all draws from ``seed``), in eval mode, on one batch of N(0, 1)
    noise with the batch's shape (the data are not read unless ``real_input``): the Fisher matrix
    of one scalar of each of the first 128 parameter tensors (see
    :mod:`nasrank.estimators.zero_cost.vkdnw` for the exact recipe, ondratybl/VKDNW
    ``NB201/ZeroShotProxy/compute_vkdnw_score.py``), its eigenvalues' deciles normalised to sum
    to one, and their entropy (at most log 9). NaN when the logits do not depend on the input or
    the Fisher matrix is zero.

    Args:
        max_tensors: How many parameter tensors (in ``named_parameters`` order) are sampled
            (reference ``--params_grad_len`` 128).
        per_tensor: Scalars sampled per tensor, evenly spaced (reference ``--p``; 1 = the first
            element, the published run).
        reinit: Re-initialise the copy as the reference does (``False``: score the given weights).
        real_input: Use the batch's inputs instead of Gaussian noise (reference ``--real_input``).

    BatchNorm in eval mode; batch size 64; higher is better.

    Example:
        >>> import nasrank
        >>> from nasrank.testing.proxies import tiny_network, tiny_batch
        >>> v = nasrank.compute_proxies(tiny_network(), tiny_batch(), ["vkdnw-entropy"])["vkdnw-entropy"]
        >>> 0.0 < v <= math.log(9)
        True
    """

    def compute(self, ctx: ProxyContext) -> float:
        return self._entropy(ctx)


@PROXIES.register("vkdnw")
class Vkdnw(_VkdnwBase):
    """VKDNW_single as one float: number of parameter tensors + entropy / log 10 (CVPR'25).

    The published single-proxy ranking (ondratybl/VKDNW ``paper_preparation.ipynb``: the dense rank
    of the pair (``vkdnw_dim``, ``vkdnw_entropy``) in lexicographic order; NB201 C10 Spearman .815)
    orders networks first by their number of parameter tensors (``len(named_parameters())``, the
    "number of trainable layers") and then by the ``vkdnw-entropy``. Since the entropy lies in
    [0, log 9], ``dim + entropy / log 10`` has the same order (its integer part is the count, its
    fraction the scaled entropy), so it ranks a set of networks exactly as the published
    ranking does. NaN where ``vkdnw-entropy`` is. Options as for ``vkdnw-entropy``.

    BatchNorm in eval mode; batch size 64; higher is better.

    Example:
        >>> import nasrank
        >>> from nasrank.testing.proxies import tiny_network, tiny_batch
        >>> v = nasrank.compute_proxies(tiny_network(), tiny_batch(), ["vkdnw"])["vkdnw"]
        >>> int(v)  # the tiny network has 8 parameter tensors
        8
    """

    def compute(self, ctx: ProxyContext) -> float:
        dim = len(list(ctx.model.parameters()))
        return dim + self._entropy(ctx) / math.log(10)


def _log_ranks(v: Sequence[float]) -> np.ndarray:
    from scipy.stats import rankdata

    a = np.asarray(v, dtype=float).reshape(-1)
    out = np.full(a.shape, np.nan)
    ok = np.isfinite(a)
    out[ok] = np.log(rankdata(a[ok]))
    return out


def vkdnw_aggregate(
    vkdnw: Sequence[float],
    expressivity: Sequence[float],
    trainability: Sequence[float],
    flops: Sequence[float],
    jacob_cov: Sequence[float],
) -> np.ndarray:
    """VKDNW_agg of each architecture of a set: the sum of the log-ranks of five scores.

    ``log rank(vkdnw) + log rank(expressivity) + log rank(trainability) + log rank(flops) +
    log rank(jacob_cov)``, ranks within the set (average ranks for ties, 1 = smallest), as
    ``vkdnw_comb_rank`` of ondratybl/VKDNW ``NB201/tss_utils.py::get_scores`` (published as
    VKDNW_agg, NB201 C10 Spearman .919). ``expressivity`` and ``trainability`` are the AZ-NAS
    components, ``flops`` the FLOPs and ``jacob_cov`` the ``jacob_cov`` proxy; every input must be
    oriented higher = better. An architecture with a NaN in any input gets NaN; the others are
    ranked among themselves (the reference's table had no NaN).

    Returns:
        A float array, higher = predicted better.

    Raises:
        ConfigError: if the inputs differ in length.

    Example:
        >>> vkdnw_aggregate([1, 2], [1, 2], [1, 2], [1, 2], [2, 1]).round(4).tolist()
        [0.6931, 2.7726]
    """
    cols = [np.asarray(c, dtype=float).reshape(-1) for c in (vkdnw, expressivity, trainability, flops, jacob_cov)]
    n = cols[0].size
    if any(c.size != n for c in cols):
        raise ConfigError(
            "every input of vkdnw_aggregate must have one value per architecture, got lengths "
            + ", ".join(str(c.size) for c in cols)
        )
    ok = np.all([np.isfinite(c) for c in cols], axis=0)
    out = np.full(n, np.nan)
    if ok.any():
        out[ok] = sum(_log_ranks(c[ok]) for c in cols)
    return out
