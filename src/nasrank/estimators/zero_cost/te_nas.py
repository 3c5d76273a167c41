"""TE-NAS components: ``ntk-cond`` (NTK condition number) and ``linear-regions``, and their rank
combination :func:`te_nas_rank` over a set of architectures (Chen et al., ICLR 2021).

TE-NAS ranks candidate networks by two quantities: the condition number of the neural tangent
kernel (lower is better: trainability) and the number of linear regions the network cuts its input
space into (higher is better: expressivity). The two are combined by **ranks within a set** of
candidates, so the combination is not a single-network proxy: both components are registered
proxies and :func:`te_nas_rank` combines a table of their values.

The semantics follow the single-network form of the authors' code that the later zero-cost
literature evaluates (AZ-NAS, cvlab-yonsei/AZ-NAS ``ZeroShotProxy/compute_te_nas_score.py``, reused
unchanged by VKDNW, ondratybl/VKDNW ``NB201/ZeroShotProxy/compute_te_nas_score.py``; NB201 C10
Spearman .722 in VKDNW Tab. 1): the given network (no re-initialisation, no thin copy), one real
batch of 64 for the NTK and one random Gaussian batch of the same shape for the linear regions.
The original pruning search (VITA-Group/TENAS ``prune_tenas.py``) instead scores a supernet with
an op removed, averages 3 re-initialisations, counts regions of a thin copy (C=1, N=1) on
3 x 1000 random 1-channel 3 x 3 inputs, and uses batch 16 for the NTK.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from ...exceptions import ConfigError
from .._registries import PROXIES
from ._core import Proxy, ProxyContext, randn_on, relu_points

__all__ = ["NtkCond", "LinearRegions", "ntk_condition_number", "count_linear_regions", "te_nas_rank"]

# a Gram matrix whose smallest eigenvalue is below this fraction of the largest (times the batch
# size) is singular in the float32 precision the gradients are computed in
_RANK_TOL = float(torch.finfo(torch.float32).eps)


def _ntk_weights(net: nn.Module) -> list[torch.Tensor]:
    """Parameters the reference differentiates: those whose name contains ``"weight"`` (Conv2d,
    Linear and BatchNorm weights alike)."""
    return [p for name, p in net.named_parameters() if "weight" in name]


def ntk_condition_number(model: nn.Module, x: torch.Tensor) -> float:
    """Condition number ``lambda_max / lambda_min`` of the empirical NTK of ``model`` on ``x``.

    Row ``i`` of G is the gradient of the sum of sample ``i``'s logits with respect to every
    parameter whose name contains ``"weight"`` (parameters that receive no gradient are left out);
    the NTK is ``G G^T`` (N x N, float64). The model is run as it is (train/eval mode untouched,
    gradients not accumulated in ``.grad``).

    Returns:
        The condition number; NaN when the NTK is singular in float32 precision (smallest
        eigenvalue <= N * eps * largest, e.g. identical rows because the output ignores the
        input) or not finite. The reference maps NaN to 100000 and keeps negative or huge values
        of a numerically singular NTK.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 2, bias=False))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.eye(2))
        >>> # per-sample gradients are (x_i, x_i) rows, so the NTK is 2 * X X^T
        >>> round(ntk_condition_number(net, torch.tensor([[1.0, 0.0], [0.0, 2.0]])), 6)
        4.0
    """
    params = _ntk_weights(model)
    logits = model(x)
    if not logits.requires_grad or not params:
        return float("nan")
    n = logits.shape[0]
    rows = []
    for i in range(n):  # one backward per sample: train-mode BatchNorm couples the samples
        g = torch.autograd.grad(logits[i].sum(), params, retain_graph=i < n - 1, allow_unused=True)
        used = [gi.reshape(-1) for gi in g if gi is not None]
        if not used:
            return float("nan")
        rows.append(torch.cat(used))
    G = torch.stack(rows).double()
    ev = torch.linalg.eigvalsh(G @ G.T)
    lo, hi = float(ev[0]), float(ev[-1])
    if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= 0 or lo <= n * _RANK_TOL * hi:
        return float("nan")
    return hi / lo


def _output_ignores_input(logits: torch.Tensor) -> bool:
    """All samples give the same logits (the output does not depend on the input)."""
    if logits.shape[0] < 2:
        return False
    ref = logits[:1].expand_as(logits)
    return bool(torch.allclose(logits, ref, rtol=1e-5, atol=1e-6 * float(logits.abs().max()) + 1e-12))


def count_linear_regions(model: nn.Module, x: torch.Tensor | Sequence[torch.Tensor]) -> float:
    """Number of distinct ReLU activation patterns of ``model`` over the samples of ``x``.

    ``x`` is one batch or a sequence of batches (forwarded one after the other, as the
    reference's ``sample_batch``). No-grad forward passes (the model's train/eval modes as they
    are); every ReLU whose input
    is 4-D (a feature map, as in the reference's hook) contributes its units' on/off states
    (``input > 0``; a nasrank ``ReLUConvBN`` is read at its convolution's input, once per
    convolution, see :func:`~nasrank.estimators.zero_cost.relu_points`). The reference computes
    ``sum_i 1 / #{j : pattern_j == pattern_i}``, which is this count.

    Returns:
        The count as a float (between 1 and ``len(x)``); NaN when no 4-D ReLU ran or when the
        logits are the same for every sample (the output ignores the input).

    Example:
        >>> net = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False), nn.ReLU(), nn.Flatten())
        >>> with torch.no_grad():
        ...     _ = net[0].weight.fill_(1.0)
        >>> x = torch.tensor([1.0, -1.0, 2.0, -3.0]).reshape(4, 1, 1, 1)
        >>> count_linear_regions(net, x)  # two patterns: on and off
        2.0
    """
    batches = [x] if isinstance(x, torch.Tensor) else list(x)
    codes: list[torch.Tensor] = []

    def read(_m: nn.Module, inp: tuple[torch.Tensor, ...]) -> None:
        if inp[0].dim() == 4:
            codes.append((inp[0] > 0).reshape(inp[0].shape[0], -1))

    handles = [m.register_forward_pre_hook(read) for m, _ in relu_points(model)]
    patterns, outputs = [], []
    try:
        with torch.no_grad():
            for b in batches:
                codes.clear()
                outputs.append(model(b))
                if not codes:
                    return float("nan")
                patterns.append(torch.cat(codes, dim=1))
    finally:
        for h in handles:
            h.remove()
    if _output_ignores_input(torch.cat(outputs)):
        return float("nan")
    return float(torch.unique(torch.cat(patterns), dim=0).shape[0])


@PROXIES.register("ntk-cond")
class NtkCond(Proxy):
    """Condition number of the neural tangent kernel on one real batch (TE-NAS; Chen et al., 2021).

    ``lambda_max / lambda_min`` of ``G G^T``, G holding per sample the gradient of the sum of its
    logits w.r.t. every parameter whose name contains ``"weight"`` (BatchNorm weights included,
    as in VITA-Group/TENAS ``lib/procedures/ntk.py::get_ntk_n``), on a private copy in train mode
    (BatchNorm batch statistics over the whole batch, one backward per sample) with the real
    inputs. NaN where the NTK is numerically singular (e.g. the output ignores the input) or not
    finite; the reference maps NaN to 100000 (a sentinel) and would return a negative number for a
    numerically singular NTK (AZ-NAS/VKDNW ``compute_te_nas_score.py``).

    BatchNorm in train mode; batch size 64 (the AZ-NAS/VKDNW NB201 protocol behind the published
    .722; TENAS's pruning used 16); lower is better. See :func:`te_nas_rank` for the combination
    with ``linear-regions``.

    Example:
        >>> import nasrank
        >>> from nasrank.testing.proxies import tiny_network, tiny_batch
        >>> v = nasrank.compute_proxies(tiny_network(), tiny_batch(), ["ntk-cond"])["ntk-cond"]
        >>> v >= 1.0
        True
    """

    higher_is_better: ClassVar[bool] = False
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 64

    def compute(self, ctx: ProxyContext) -> float:
        net = ctx.copy_model(train=True)
        return ntk_condition_number(net, ctx.inputs)


@PROXIES.register("linear-regions")
class LinearRegions(Proxy):
    """Number of distinct ReLU activation patterns over random Gaussian inputs (TE-NAS).

    The inputs are N(0, 1) with the shape of the given batch (the data are not read), drawn from
    ``seed``; one no-grad forward pass of a private copy in train mode (the mode the reference
    leaves the network in after the NTK); every ReLU on a 4-D feature map contributes its units'
    on/off states and the score is the number of distinct patterns, as in AZ-NAS/VKDNW
    ``compute_te_nas_score.py::compute_RN_score`` (one batch, ``sample_batch=1``). NaN when the
    logits do not depend on the input (a cell with no path from input to output) or no ReLU runs
    on a feature map. The value saturates at the batch size: larger batches separate better.

    The count saturates on full-width networks: on NB201 (C=16, N=5) every one of 64 random
    32 x 32 images gets its own pattern, so the value is 64 for every cell with a path (measured on
    57 cells; the same happens in the AZ-NAS/VKDNW code, whose TE-NAS ranking is therefore the
    NTK's alone), and 3000 inputs of 3 x 3 pixels still give 3000. The original TE-NAS counts on a
    thin copy (C=1, N=1), which a generic proxy cannot build: pass such a network yourself, with
    ``num_samples`` / ``image_size`` for the original's 3000 inputs of 3 x 3 pixels.

    Args:
        num_samples: Number of random inputs (default: the batch's size), drawn in chunks of
            the batch's size.
        image_size: Their height and width (default: the batch's).

    BatchNorm in train mode (per chunk); batch size 64; higher is better. See :func:`te_nas_rank`.

    Example:
        >>> import nasrank
        >>> from nasrank.testing.proxies import tiny_network, tiny_batch
        >>> nasrank.compute_proxies(tiny_network(), tiny_batch(), ["linear-regions"])["linear-regions"]
        6.0
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 64

    def __init__(self, num_samples: int | None = None, image_size: int | None = None) -> None:
        for key, v in (("num_samples", num_samples), ("image_size", image_size)):
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 1):
                raise ConfigError(f"`{key}` must be None or an int >= 1, got {v!r}")
        self.num_samples = num_samples
        self.image_size = image_size

    def compute(self, ctx: ProxyContext) -> float:
        net = ctx.copy_model(train=True)
        shape = list(ctx.inputs.shape)
        if self.image_size is not None:
            if len(shape) != 4:
                raise ConfigError("`image_size` needs image inputs (N, C, H, W)")
            shape[2] = shape[3] = self.image_size
        total = self.num_samples or shape[0]
        gen = ctx.generator(offset=4099)
        xs = []
        while sum(len(x) for x in xs) < total:
            shape[0] = min(ctx.inputs.shape[0], total - sum(len(x) for x in xs))
            xs.append(randn_on(shape, gen, ctx.device, ctx.inputs.dtype))
        return count_linear_regions(net, xs[0] if len(xs) == 1 else xs)


def _ranks(v: np.ndarray) -> np.ndarray:
    """Average ranks (1 = smallest) of the finite entries; NaN elsewhere."""
    from scipy.stats import rankdata

    out = np.full(v.shape, np.nan)
    ok = np.isfinite(v)
    out[ok] = rankdata(v[ok])
    return out


def te_nas_rank(ntk_cond: Sequence[float], linear_regions: Sequence[float]) -> np.ndarray:
    """TE-NAS score of each architecture of a set: rank(-NTK condition) + rank(linear regions).

    Ranks are average ranks within the set (ties share, as ``scipy.stats.rankdata``), 1 = worst,
    so a higher score predicts a better architecture (the AZ-NAS/VKDNW evaluation,
    ``tss_utils.py::get_scores``, which ranks ``-cond`` and the region count the same way).
    An architecture with a NaN component gets NaN and the others are ranked among themselves
    (the reference turns a NaN condition number into 100000, i.e. the worst rank).

    Args:
        ntk_cond: ``ntk-cond`` value of each architecture (lower is better).
        linear_regions: ``linear-regions`` value of each architecture (higher is better).

    Returns:
        A float array of scores, higher = predicted better.

    Raises:
        ConfigError: if the two sequences differ in length.

    Example:
        >>> te_nas_rank([10.0, 100.0, 50.0], [30.0, 60.0, 60.0]).tolist()
        [4.0, 3.5, 4.5]
    """
    k = np.asarray(ntk_cond, dtype=float).reshape(-1)
    r = np.asarray(linear_regions, dtype=float).reshape(-1)
    if k.shape != r.shape:
        raise ConfigError(
            f"`ntk_cond` and `linear_regions` must have one value per architecture, got {k.size} and {r.size}"
        )
    ok = np.isfinite(k) & np.isfinite(r)
    out = np.full(k.shape, np.nan)
    out[ok] = _ranks(-k[ok]) + _ranks(r[ok])
    return out
