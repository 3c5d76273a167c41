"""``nwot``: NASWOT, log|det| of the ReLU activation-pattern kernel.

One implementation, two entry points:

* the registered proxy :class:`Nwot` (``compute_proxies(..., ["nwot"])``): ReLU inputs of the
  shared forward/backward pass on a private copy of the model (train-mode BatchNorm);
* :func:`naswot_score`: one forward pass under ``torch.no_grad`` on the model itself, BatchNorm in
  eval mode by default (the way Zero-Cost-PT scores untrained networks and supernets), ReLU inputs
  read by forward pre-hooks, and tensors reported by modules with a ``relu_tap`` attribute (a
  fused supernet cell shares one ReLU between several convolutions and reports it once with its
  multiplicity).

Both group identical tensors (one ReLU input read by several convolutions) and weight each group by
its multiplicity before building the kernel (:func:`naswot_kernel`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import torch
from torch import nn

from ...exceptions import ConfigError
from .._registries import PROXIES
from ._core import Proxy, ProxyContext, relu_points

__all__ = ["Nwot", "naswot_kernel", "naswot_score", "naswot_logdet", "RELU_HOOKS"]

#: NASWOT hook sets of :func:`naswot_score`: ``"relu"`` (every ReLU once) and ``"released"``
#: (Zero-Cost-PT's released NB201 code: ReLUConvBN blocks are hooked as well as their ReLU)
RELU_HOOKS = ("relu", "released")


def naswot_kernel(codes: list[tuple[torch.Tensor, int]]) -> torch.Tensor:
    """K = sum over layers of (agreements between binary ReLU patterns), float64, N x N.

    Args:
        codes: ``(relu_input, multiplicity)`` pairs; a unit is active where the input is > 0.

    Example:
        >>> k = naswot_kernel([(torch.tensor([[1.0, -1.0], [1.0, 1.0]]), 1)])
        >>> k.tolist()
        [[2.0, 1.0], [1.0, 2.0]]
    """
    n = codes[0][0].shape[0]
    K = torch.zeros(n, n, dtype=torch.float64, device=codes[0][0].device)
    for t, mult in codes:
        c = (t.reshape(n, -1) > 0).to(torch.float32)
        units = c.shape[1]
        s = c.sum(1)
        # agreements = c c^T + (1-c)(1-c)^T = units - s_i - s_j + 2 c c^T (exact in float32 for
        # fewer than 2**23 units per layer: every entry is an integer)
        k = 2.0 * (c @ c.T) - s[:, None] - s[None, :] + units
        K += mult * k.double()
    return K


class _Groups:
    """ReLU inputs grouped by identity (storage, shape, strides), with their multiplicities."""

    def __init__(self) -> None:
        self._groups: dict[tuple, list] = {}

    def add(self, t: torch.Tensor, mult: int = 1) -> None:
        key = (t.data_ptr(), tuple(t.shape), t.stride())
        if key in self._groups:
            self._groups[key][1] += mult
        else:
            self._groups[key] = [t, mult]

    def codes(self) -> list[tuple[torch.Tensor, int]]:
        return [(t, m) for t, m in self._groups.values()]

    def clear(self) -> None:
        self._groups.clear()


def naswot_logdet(codes: Iterable[tuple[torch.Tensor, int]], extra_units: float = 0.0,
                  require_finite: bool = False) -> float:
    """``log|det K|`` of the kernel of ``(relu_input, multiplicity)`` pairs, grouping repeated
    tensors; NaN when there are none or K is singular.

    Args:
        codes: ReLU inputs and how many times each is read.
        extra_units: ReLU units with an all-zero input to add (each adds 1 to every entry of K).
        require_finite: Also return NaN for a non-finite log-determinant.

    Example:
        >>> x = torch.tensor([[1.0, -1.0], [1.0, 1.0]])
        >>> round(naswot_logdet([(x, 1)]), 6)  # log det [[2, 1], [1, 2]] = log 3
        1.098612
    """
    groups = _Groups()
    for t, m in codes:
        groups.add(t, m)
    return _logdet(groups, extra_units, require_finite)


def _logdet(groups: _Groups, extra_units: float, require_finite: bool) -> float:
    codes = groups.codes()
    if not codes:
        return float("nan")
    K = naswot_kernel(codes)
    groups.clear()
    if extra_units:
        K += float(extra_units)
    sign, logdet = torch.stack(torch.linalg.slogdet(K)).tolist()  # one device-to-host transfer
    if sign == 0 or (require_finite and not math.isfinite(logdet)):
        return float("nan")
    return float(logdet)


def naswot_score(
    model: nn.Module,
    x: torch.Tensor,
    forward: Callable[[torch.Tensor], Any] | None = None,
    bn_mode: str = "eval",
    extra_units: Callable[[], int] | None = None,
    relu_hooks: str = "relu",
    idle_blocks: bool = False,
) -> float:
    """NASWOT ``log|det K|`` of ``model`` on the batch ``x`` in one no-grad forward pass.

    The fast path of Zero-Cost-PT (reference §1.7/§3.2): BatchNorm in eval mode (running
    statistics), no backward pass, and no copy of the model (its train/eval modes are restored;
    with ``bn_mode="train"`` its BatchNorm running statistics are updated as by any train-mode
    forward). ReLUs are read at the points of :func:`relu_points`; a
    module with a ``relu_tap`` attribute gets a callback ``relu_tap(tensor, multiplicity)`` for
    the ReLU inputs it computes without ReLU modules.

    Args:
        model: The network whose ReLUs are read.
        x: Input batch.
        forward: Callable running the forward pass (default ``model(x)``), e.g. a supernet under
            given architecture weights.
        bn_mode: ``"eval"`` (reference Zero-Cost-PT: running statistics) or ``"train"``.
        extra_units: Called after the forward; that many extra ReLU units with an all-zero
            input are added (each contributes 1 to every kernel entry).
        relu_hooks: ``"relu"`` (default: every ReLU is read once) or ``"released"``, a
            bug-compatible emulation of Zero-Cost-PT's released NB201 code, which hooks every
            module whose type name contains "ReLU" and so also the ``ReLUConvBN`` blocks: the
            input of each block is read by the block's hook and again by its inner ReLU, so
            every ReLU of a :class:`~nasrank.nn.ReLUConvBN` (hook point ``(conv, True)`` of
            :func:`relu_points`, and every ``relu_tap`` report, which the NB201 cells make for
            ReLUConvBN candidates) counts twice; other ReLUs once. This reproduces the
            released hook set on NAS-Bench-201 networks and supernets only (other spaces'
            released code has other blocks whose names contain "ReLU").
        idle_blocks: With ``relu_hooks="released"``: also read the tensors that modules report
            through an ``idle_tap(tensor, count)`` attribute, i.e. the inputs of ReLUConvBN
            candidates of weight 0 that a supernet skips but the released supernet runs (it
            zeroes their input only inside the block, so the block hook reads the real one).
            Their inner ReLUs (all-zero input) are ``extra_units``.

    Returns:
        The log-abs-determinant (NaN when K is singular or no ReLU ran).

    Example:
        >>> _ = torch.manual_seed(0)
        >>> net = nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 2))
        >>> s = naswot_score(net, torch.randn(4, 3))
        >>> isinstance(s, float) and s > 0  # a float, not NaN, for this net and batch
        True
    """
    if bn_mode not in ("eval", "train"):
        raise ConfigError(f"`bn_mode` must be 'eval' or 'train', got {bn_mode!r}")
    if relu_hooks not in RELU_HOOKS:
        raise ConfigError(f"`relu_hooks` must be one of {RELU_HOOKS}, got {relu_hooks!r}")
    groups = _Groups()
    block = 2 if relu_hooks == "released" else 1  # reads per ReLUConvBN ReLU

    def hook_for(mult: int) -> Callable[[nn.Module, tuple[torch.Tensor, ...]], None]:
        def hook(_mod: nn.Module, inp: tuple[torch.Tensor, ...]) -> None:
            groups.add(inp[0], mult)

        return hook

    handles = [m.register_forward_pre_hook(hook_for(block if on_conv else 1))
               for m, on_conv in relu_points(model)]
    tapped = [m for m in model.modules() if hasattr(m, "relu_tap")]
    for m in tapped:
        m.relu_tap = groups.add if block == 1 else (lambda t, mult=1: groups.add(t, block * mult))
    idle = ([m for m in model.modules() if hasattr(m, "idle_tap")]
            if relu_hooks == "released" and idle_blocks else [])
    for m in idle:
        m.idle_tap = groups.add
    modes = [(m, m.training) for m in model.modules()]
    model.train(bn_mode == "train")
    try:
        with torch.no_grad():
            (forward or model)(x)
    finally:
        for h in handles:
            h.remove()
        for m in tapped:
            m.relu_tap = None
        for m in idle:
            m.idle_tap = None
        for m, mode in modes:
            m.training = mode
    if not groups.codes():
        return float("nan")
    extra = float(extra_units()) if extra_units is not None else 0.0
    return _logdet(groups, extra, require_finite=True)


@PROXIES.register("nwot")
class Nwot(Proxy):
    """log|det K| of the NASWOT kernel on ReLU inputs (Mellor et al., 2021).

    K[i, j] counts the ReLU units where samples i and j are on the same side of zero, summed over
    every ReLU (its input is binarised as input > 0); the score is ``slogdet(K)``'s log-abs-det
    (sign dropped). NaN when K is singular (e.g. a cell with no path from input to output).

    Args:
        visited_only: ``True`` (default, the original NASWOT code behind the published numbers)
            counts only ReLUs reached by a backward pass of the summed outputs; ``False`` counts
            every ReLU that ran in the forward pass (NASLib ``nwot``, Zero-Cost-PT). On nasrank's
            NB201 networks both give the same value (operations that cannot reach the output are
            not executed at all).

    BatchNorm in train mode (the original scores freshly built networks in their default mode);
    published batch size 128; higher is better. :func:`naswot_score` is the no-grad, eval-mode
    variant Zero-Cost-PT uses.

    Example:
        >>> import torch, nasrank
        >>> _ = torch.manual_seed(0)
        >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
        >>> x, y = torch.randn(4, 3), torch.randint(0, 2, (4,))
        >>> s = nasrank.compute_proxies(net, (x, y), ["nwot"])["nwot"]
        >>> s == s and s > 0  # a number (NaN would fail both), positive here
        True
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 128
    needs = frozenset({"relu_visited"})

    def __init__(self, visited_only: bool = True) -> None:
        self.visited_only = bool(visited_only)

    def needs_for(self) -> frozenset[str]:
        return frozenset({"relu_visited"}) if self.visited_only else frozenset({"relu"})

    def compute(self, ctx: ProxyContext) -> float:
        sp = ctx.shared()
        groups = _Groups()
        for t, visited in sp.relu_inputs:
            if self.visited_only and not visited:
                continue
            groups.add(t)
        return _logdet(groups, 0.0, require_finite=False)
