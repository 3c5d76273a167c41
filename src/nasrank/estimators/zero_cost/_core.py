"""Shared machinery of the zero-cost proxies: the :class:`ZeroCostProxy` protocol, the
:class:`Proxy` base class, the per-call :class:`ProxyContext` that shares forward/backward
passes, and :func:`compute_proxies`.

Every proxy works on private copies of the caller's model, so the caller's parameters, buffers,
gradients, ``requires_grad`` flags and train/eval modes are never touched.

The proxies that need the gradient of the training loss (``grad_norm``, ``snip``, ``plain``,
``fisher``, ``grasp``) and those that need the gradient of the summed logits w.r.t. the input or the
ReLU activation patterns (``jacob_cov``, ``nwot``) are served by **one** forward pass of one copy
(train-mode BatchNorm, as the reference runs them) and the fewest backward passes, when they are
requested together.
"""

from __future__ import annotations

import copy
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn

from ...exceptions import ConfigError
from .._registries import PROXIES
from ._bn import use_fast_double_backward_batchnorm

__all__ = [
    "ZeroCostProxy",
    "BN_MODES",
    "Proxy",
    "ProxyContext",
    "ProxyResult",
    "compute_proxies",
    "list_proxies",
    "proxy_info",
    "weight_layers",
    "relu_points",
    "gaussian_init",
    "randn_on",
    "normal_",
    "host_sum",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: what a proxy may ask of the shared pass
NEEDS = frozenset({"grad", "act_grad", "hvp", "input_grad", "relu", "relu_visited"})

#: How BatchNorm behaves while a proxy is computed: ``"train"`` (batch statistics),
#: ``"train (per sample)"`` (each sample normalised on its own), ``"eval"`` (running
#: statistics), ``"off"`` (BatchNorm removed) or ``"n/a"`` (no forward pass).
BN_MODES = ("train", "train (per sample)", "eval", "off", "n/a")


@runtime_checkable
class ZeroCostProxy(Protocol):
    """The contract of a zero-cost proxy: metadata plus one call on (model, batch).

    * ``name`` — its registry name;
    * ``higher_is_better`` — whether a larger value predicts a better architecture (ranking
      APIs negate the value otherwise);
    * ``bn_mode`` — one of :data:`BN_MODES`: how BatchNorm behaves while it is computed,
      whatever mode the caller's model is in;
    * ``batch_size`` — the batch size of its reference publication (``None``: it reads no data);
    * ``proxy(model, (inputs, targets), loss_fn=None, seed=0)`` — the value as a ``float``,
      NaN where the proxy is undefined (never inf, never a sentinel), computed on private copies
      (the caller's model is not modified) and a deterministic function of ``seed``.

    :class:`Proxy` implements the call on top of :meth:`Proxy.compute`; the conformance suite
    :func:`nasrank.testing.proxies.check_proxy` checks every point above.

    Example:
        >>> from nasrank.estimators import PROXIES
        >>> isinstance(PROXIES.get("snip")(), ZeroCostProxy)
        True
    """

    name: str
    higher_is_better: bool
    bn_mode: str
    batch_size: int | None

    def __call__(
        self,
        model: nn.Module,
        batch: tuple[torch.Tensor, torch.Tensor],
        loss_fn: LossFn | None = None,
        seed: int = 0,
    ) -> float: ...


class Proxy(ABC):
    """Base class of the registered zero-cost proxies (implements :class:`ZeroCostProxy`).

    Subclasses set the class attributes below and implement :meth:`compute` on a
    :class:`ProxyContext`, which lets :func:`compute_proxies` share one forward/backward pass
    between proxies; calling an instance on ``(model, batch)`` computes it alone. Options are
    keyword arguments of the constructor and are only stored there.

    Attributes:
        name: Registry name (written by ``PROXIES.register``).
        higher_is_better: Whether a larger value predicts a better architecture.
        bn_mode: How BatchNorm behaves while the proxy is computed (one of :data:`BN_MODES`).
        batch_size: The batch size of the proxy's reference publication (``None``: no data).
        needs: Quantities of the shared forward/backward pass the proxy reads.

    Example:
        >>> from nasrank.estimators import PROXIES
        >>> snip = PROXIES.get("snip")
        >>> snip.name, snip.higher_is_better
        ('snip', True)
        >>> net = nn.Sequential(nn.Linear(2, 2))
        >>> snip()(net, (torch.ones(3, 2), torch.zeros(3, dtype=torch.long))) >= 0
        True
    """

    name: ClassVar[str] = ""
    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 64
    needs: ClassVar[frozenset[str]] = frozenset()

    def needs_for(self) -> frozenset[str]:
        """The shared-pass quantities this configured instance needs (default: :attr:`needs`).

        Example:
            >>> from nasrank.estimators import PROXIES
            >>> sorted(PROXIES.get("grasp")().needs_for())
            ['grad', 'hvp']
        """
        return self.needs

    @abstractmethod
    def compute(self, ctx: ProxyContext) -> float:
        """Return the proxy's value for ``ctx.model`` on ``ctx.batch`` (NaN when undefined)."""

    def __call__(
        self,
        model: nn.Module,
        batch: tuple[torch.Tensor, torch.Tensor] | Sequence[torch.Tensor],
        loss_fn: LossFn | None = None,
        seed: int = 0,
        device: torch.device | str | None = None,
    ) -> float:
        """The proxy's value of ``model`` on ``batch`` alone (the same as :func:`compute_proxies`).

        Example:
            >>> from nasrank.estimators import PROXIES
            >>> net = nn.Sequential(nn.Linear(2, 2, bias=False))
            >>> PROXIES.get("l2_norm")()(net, (torch.ones(1, 2), torch.zeros(1, dtype=torch.long))) > 0
            True
        """
        x, y = _check_batch(batch, seed)
        ctx = ProxyContext(model, (x, y), loss_fn=loss_fn, seed=seed, device=device, needs=_needs(self))
        return _finite(self.compute(ctx))


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """The layers whose ``.weight`` the reference proxies score: every ``Conv2d`` and ``Linear``.

    Example:
        >>> len(weight_layers(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(4, 2))))
        2
    """
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def randn_on(shape: Sequence[int], gen: torch.Generator, device: torch.device | str | None = None,
             dtype: torch.dtype | None = None) -> torch.Tensor:
    """N(0, 1) draws of ``shape`` from ``gen``, placed on ``device``.

    A CPU generator (:meth:`ProxyContext.generator`) draws on the CPU and the values are moved,
    so a proxy's random inputs are the same numbers on every device; a generator of another
    device draws there.

    Example:
        >>> a = randn_on((2,), torch.Generator().manual_seed(0))
        >>> torch.equal(a, torch.randn(2, generator=torch.Generator().manual_seed(0)))
        True
    """
    if gen.device.type != "cpu":
        return torch.randn(tuple(shape), generator=gen, device=gen.device, dtype=dtype).to(device or gen.device)
    x = torch.randn(tuple(shape), generator=gen, dtype=dtype)
    return x if device is None else x.to(device)


def normal_(t: torch.Tensor, gen: torch.Generator, mean: float = 0.0, std: float = 1.0) -> torch.Tensor:
    """Fill ``t`` in place with N(mean, std^2) draws from ``gen``, wherever ``t`` lives.

    On ``gen``'s device this is ``t.normal_(mean, std, generator=gen)``; elsewhere the same
    draws are made on ``gen``'s device (in ``t``'s layout) and copied, so a CPU generator gives
    the same weights on every device.

    Example:
        >>> w = torch.empty(3)
        >>> torch.equal(normal_(w, torch.Generator().manual_seed(1)),
        ...             torch.empty(3).normal_(generator=torch.Generator().manual_seed(1)))
        True
    """
    with torch.no_grad():
        if t.device == gen.device or (t.device.type == gen.device.type == "cpu"):
            return t.normal_(mean, std, generator=gen)
        return t.copy_(torch.empty_like(t, device=gen.device).normal_(mean, std, generator=gen))


def host_sum(values: Iterable[torch.Tensor]) -> float:
    """``sum(float(v) for v in values)`` with one device-to-host transfer instead of one per value.

    The scalars are stacked on their device and read back together, then added in order in
    Python (the same float result as adding them one ``.item()`` at a time); 0.0 for none.

    Example:
        >>> host_sum([torch.tensor(0.5), torch.tensor(2.0, dtype=torch.float64)])
        2.5
    """
    vals = [v.reshape(()) for v in values]
    if not vals:
        return 0.0
    dtype = torch.float64 if any(v.dtype == torch.float64 for v in vals) else vals[0].dtype
    return float(sum(torch.stack([v.to(dtype) for v in vals]).tolist()))


def gaussian_init(model: nn.Module, gen: torch.Generator) -> None:
    """Re-initialise ``model`` in place as Zen-NAS and SWAP score networks: N(0, 1) Conv2d/Linear
    weights drawn from ``gen`` (a CPU generator gives the same weights on every device, see
    :func:`normal_`), zero biases, unit / zero BatchNorm and GroupNorm affine parameters.

    Example:
        >>> net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
        >>> gaussian_init(net, torch.Generator().manual_seed(0))
        >>> float(net[0].bias.detach().abs().sum()), float(net[1].weight.detach().sum())
        (0.0, 2.0)
    """
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                normal_(m.weight, gen)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)):
                if m.weight is not None:
                    nn.init.ones_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)


def relu_points(model: nn.Module) -> list[tuple[nn.Module, bool]]:
    """Where NASWOT reads ReLU inputs: ``(module, pre_hook_on_conv)`` pairs.

    Every ``nn.ReLU`` / ``nn.ReLU6`` module is hooked on its input, except the ReLU of a nasrank ``ReLUConvBN``
    (recognised by its ``forward_after_relu`` method): such a block may apply its ReLU once for
    several convolutions, so the input of its convolution (``ReLU(x)``, whose sign pattern equals
    that of ``x``) is read instead, once per convolution, as in the reference network.

    Example:
        >>> relu_points(nn.Sequential(nn.Linear(2, 2), nn.ReLU()))
        [(ReLU(), False)]
    """
    skip: set[int] = set()
    points: list[tuple[nn.Module, bool]] = []
    for m in model.modules():
        if hasattr(m, "forward_after_relu") and isinstance(getattr(m, "op", None), nn.Sequential):
            seq = m.op
            relu = next((c for c in seq if isinstance(c, nn.ReLU)), None)
            conv = next((c for c in seq if isinstance(c, nn.Conv2d)), None)
            if relu is not None and conv is not None:
                skip.add(id(relu))
                points.append((conv, True))
    for m in model.modules():
        if isinstance(m, (nn.ReLU, nn.ReLU6)) and id(m) not in skip:
            points.append((m, False))
    return points


@dataclass
class SharedPass:
    """Results of the shared forward/backward pass (train-mode BatchNorm, one copy)."""

    layers: list[nn.Module]
    weights: list[torch.Tensor]
    grads: list[torch.Tensor] | None = None
    act_grad_products: list[torch.Tensor] | None = None  # per layer: (N, C_out) sum_spatial a*dL/da
    hvp: list[torch.Tensor] | None = None
    input_grad: torch.Tensor | None = None
    relu_inputs: list[tuple[torch.Tensor, bool]] = field(default_factory=list)  # (tensor, visited)


class ProxyContext:
    """Everything one :func:`compute_proxies` call shares between proxies.

    Args:
        model: The caller's model (never modified; proxies use :meth:`copy_model`).
        batch: ``(inputs, targets)``.
        loss_fn: Loss of ``(logits, targets)``, averaged over the batch.
        seed: Seed of every random draw a proxy makes.
        device: Where copies and data live.
        needs: Union of the shared-pass quantities the requested proxies read.

    Example:
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
        >>> ctx = ProxyContext(net, (torch.ones(3, 4), torch.zeros(3, dtype=torch.long)))
        >>> ctx.shared(frozenset({"grad"})).grads[0].shape
        torch.Size([2, 4])
    """

    def __init__(
        self,
        model: nn.Module,
        batch: tuple[torch.Tensor, torch.Tensor],
        loss_fn: LossFn | None = None,
        seed: int = 0,
        device: torch.device | str | None = None,
        needs: frozenset[str] = frozenset(),
    ) -> None:
        self.model = model
        if device is None:
            p = next(iter(model.parameters()), None)
            device = p.device if p is not None else torch.device("cpu")
        self.device = torch.device(device)
        x, y = batch
        self.inputs = x.to(self.device)
        self.targets = y.to(self.device)
        self.loss_fn: LossFn = loss_fn if loss_fn is not None else F.cross_entropy
        self.seed = seed
        self.needs = needs
        self._shared: SharedPass | None = None

    def generator(self, offset: int = 0) -> torch.Generator:
        """A fresh CPU ``torch.Generator`` seeded with ``seed + offset``.

        It lives on the CPU whatever :attr:`device` is: proxies draw with :func:`randn_on` /
        :func:`normal_`, which move the draws to the device, so a seed gives the same random
        inputs and weights on a CPU and on a GPU (a CUDA generator would give other numbers).
        """
        g = torch.Generator()
        g.manual_seed(int(self.seed) + offset)
        return g

    def copy_model(self, train: bool = True) -> nn.Module:
        """A deep copy of the model on :attr:`device`, gradients cleared, in train/eval mode."""
        net = copy.deepcopy(self.model).to(self.device)
        for p in net.parameters():
            p.grad = None
            p.requires_grad_(True)
        net.train(train)
        return net

    # ------------------------------------------------------------------ shared pass
    def shared(self, needs: frozenset[str] | None = None) -> SharedPass:
        """Run (once) the shared pass computing everything in ``needs | self.needs``."""
        if self._shared is None:
            self._shared = self._run_shared(self.needs | (needs or frozenset()))
        return self._shared

    def _run_shared(self, needs: frozenset[str]) -> SharedPass:
        net = self.copy_model(train=True)
        if "hvp" in needs:
            # same forward and first derivatives, a much cheaper second derivative
            use_fast_double_backward_batchnorm(net)
        layers = weight_layers(net)
        weights = [m.weight for m in layers]
        out = SharedPass(layers=layers, weights=weights)
        need_loss = bool(needs & {"grad", "act_grad", "hvp"})
        need_in = bool(needs & {"input_grad", "relu_visited"})
        need_relu = bool(needs & {"relu", "relu_visited"})
        acts: dict[int, list[torch.Tensor]] = {}
        relu_ins: list[tuple[torch.Tensor, bool]] = []
        handles = []
        if "act_grad" in needs:
            for i, m in enumerate(layers):
                def _save(mod: nn.Module, inp: Any, o: torch.Tensor, i: int = i) -> None:
                    acts.setdefault(i, []).append(o)

                handles.append(m.register_forward_hook(_save))
        if need_relu:
            for m, is_conv in relu_points(net):
                def _save_relu(mod: nn.Module, inp: tuple[torch.Tensor, ...], c: bool = is_conv) -> None:
                    relu_ins.append((inp[0], c))

                handles.append(m.register_forward_pre_hook(_save_relu))
        x = self.inputs.detach().clone()
        if need_in:
            x.requires_grad_(True)
        try:
            logits = net(x)
        finally:
            for h in handles:
                h.remove()
        flat_acts = [(i, a) for i, lst in acts.items() for a in lst]
        if need_loss:
            loss = self.loss_fn(logits, self.targets)
            targets = weights + [a for _, a in flat_acts]
            g = torch.autograd.grad(
                loss, targets, allow_unused=True,
                retain_graph=need_in or "hvp" in needs, create_graph="hvp" in needs,
            )
            grads = [
                torch.zeros_like(w) if gi is None else gi for w, gi in zip(weights, g[: len(weights)], strict=True)
            ]
            if "hvp" in needs:
                z = sum((gi * gi.detach()).sum() for gi in g[: len(weights)] if gi is not None)
                if isinstance(z, torch.Tensor) and z.requires_grad:
                    h = torch.autograd.grad(z, weights, allow_unused=True, retain_graph=need_in)
                else:
                    h = (None,) * len(weights)
                out.hvp = [torch.zeros_like(w) if hi is None else hi.detach() for w, hi in zip(weights, h, strict=True)]
            out.grads = [gi.detach() for gi in grads]
            if "act_grad" in needs:
                prods = [torch.zeros(x.shape[0], m.weight.shape[0], device=self.device) for m in layers]
                for (i, a), ga in zip(flat_acts, g[len(weights):], strict=True):
                    if ga is None:
                        continue
                    p = a.detach() * ga.detach()
                    prods[i] = prods[i] + (p.flatten(2).sum(-1) if p.dim() > 2 else p)
                out.act_grad_products = prods
        if need_in:
            rel = [t for t, _ in relu_ins]
            g = [None] * (1 + len(rel))
            # only tensors in the graph can be differentiated: a ReLU input that does not require
            # grad (e.g. fed by parameter-free ops that ignore the network input) has no gradient
            live = [k for k, t in enumerate([x] + rel) if t.requires_grad]
            if logits.requires_grad and live:
                targets = [([x] + rel)[k] for k in live]
                for k, gk in zip(live, torch.autograd.grad(logits.sum(), targets, allow_unused=True),
                                 strict=True):
                    g[k] = gk
            out.input_grad = torch.zeros_like(x) if g[0] is None else g[0].detach()
            out.relu_inputs = [
                (t.detach(), gi is not None) for (t, _), gi in zip(relu_ins, g[1:], strict=True)
            ]
        elif need_relu:
            out.relu_inputs = [(t.detach(), True) for t, _ in relu_ins]
        return out


@dataclass(frozen=True)
class ProxyResult:
    """A proxy value with its bookkeeping (returned by :func:`compute_proxies` with ``details``)."""

    name: str
    value: float
    higher_is_better: bool
    seconds: float


def _resolve(names: str | Iterable[str] | None) -> list[str]:
    if names is None:
        return PROXIES.list()
    if isinstance(names, str):
        names = [n for n in names.replace(",", " ").split() if n]
    out: list[str] = []
    for n in names:
        key = PROXIES.canonical(n)  # the registered spelling; UnknownNameError with did-you-mean
        if key not in out:
            out.append(key)
    if not out:
        raise ConfigError("`names` must name at least one proxy")
    return out


def _make(name: str, options: dict[str, Any] | None) -> Proxy:
    cls = PROXIES.get(name)
    by_name = {PROXIES.canonical(k) if k in PROXIES else k: v for k, v in (options or {}).items()}
    kwargs = by_name.get(name, {})
    if not isinstance(kwargs, dict):
        raise ConfigError(f"options[{name!r}] must be a dict of keyword arguments, got {kwargs!r}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"invalid options for proxy {name!r}: {exc}") from None


def _check_batch(batch: Any, seed: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """``(inputs, targets)`` of a proxy call, validated with ``seed`` (one-line errors)."""
    if len(batch) != 2:
        raise ConfigError("`batch` must be a pair (inputs, targets)")
    x, y = batch
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ConfigError("`batch` must hold two tensors (inputs, targets)")
    if x.dim() < 2 or x.shape[0] < 1 or y.shape[0] != x.shape[0]:
        raise ConfigError(
            f"inputs and targets must have the same non-zero batch size, got {tuple(x.shape)} "
            f"and {tuple(y.shape)}"
        )
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"`seed` must be an int >= 0, got {seed!r}")
    if not x.is_floating_point():
        raise ConfigError(f"inputs must be a floating-point tensor, got {x.dtype}")
    return x, y


def _needs(proxy: Proxy) -> frozenset[str]:
    """``proxy.needs_for()``, refused if it names a quantity the shared pass does not compute."""
    needs = frozenset(proxy.needs_for())
    unknown = needs - NEEDS
    if unknown:
        raise ConfigError(
            f"proxy {proxy.name!r} asks the shared pass for {', '.join(sorted(unknown))}; "
            f"it computes only {', '.join(sorted(NEEDS))}"
        )
    return needs


def _finite(v: Any) -> float:
    v = float(v)
    return v if math.isfinite(v) else float("nan")


def compute_proxies(
    model: nn.Module,
    batch: tuple[torch.Tensor, torch.Tensor] | Sequence[torch.Tensor],
    names: str | Iterable[str] | None = None,
    loss_fn: LossFn | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    options: dict[str, dict[str, Any]] | None = None,
    details: bool = False,
) -> dict[str, float] | dict[str, ProxyResult]:
    """Compute zero-cost proxies of ``model`` on one minibatch.

    The caller's model is left exactly as it was (parameters, buffers, gradients,
    ``requires_grad`` flags, train/eval modes): every proxy works on a private copy. Proxies that
    read the loss gradient, the input gradient or ReLU patterns share one forward pass.
    Non-finite values (and proxies undefined on the model, e.g. a cell with no path from input to
    output) are returned as NaN.

    Args:
        model: A classifier whose ``forward`` returns logits.
        batch: ``(inputs, targets)``; the whole batch is used by every proxy (see each proxy's
            ``batch_size`` for the size its publication used).
        names: Proxy names (list, or one comma/space separated string); ``None`` = all of
            :func:`list_proxies`.
        loss_fn: ``loss_fn(logits, targets)`` averaged over the batch; default cross-entropy.
        seed: Seed of every random draw (only ``zen`` draws).
        device: Device of the copies; default the model's.
        options: Per-proxy constructor options, e.g. ``{"gradsign": {"method": "loop"}}``.
        details: Return :class:`ProxyResult` objects (value, sign, seconds) instead of floats.

    Returns:
        ``{name: value}`` in the order requested, keyed by the registered names (``"grad-norm"``
        is looked up as ``grad_norm`` and returned under that key).

    Raises:
        UnknownNameError: for an unknown proxy name (the message lists the valid ones).

    Example:
        >>> import nasrank
        >>> net = nasrank.create_space("nb201").build((3, 3, 0, 1, 3, 4), C=4, N=1)
        >>> x, y = torch.randn(8, 3, 16, 16), torch.randint(0, 10, (8,))
        >>> scores = nasrank.compute_proxies(net, (x, y), names=["snip", "synflow"])
        >>> sorted(scores)
        ['snip', 'synflow']
    """
    x, y = _check_batch(batch, seed)
    keys = _resolve(names)
    proxies = {k: _make(k, options) for k in keys}
    needs = frozenset().union(*(_needs(p) for p in proxies.values()))
    ctx = ProxyContext(model, (x, y), loss_fn=loss_fn, seed=seed, device=device, needs=needs)
    results: dict[str, ProxyResult] = {}
    for k, p in proxies.items():
        t0 = time.perf_counter()
        v = _finite(p.compute(ctx))
        results[k] = ProxyResult(k, v, type(p).higher_is_better, time.perf_counter() - t0)
    if details:
        return results
    return {k: r.value for k, r in results.items()}


def list_proxies(pattern: str | None = None) -> list[str]:
    """Names of the registered zero-cost proxies, optionally filtered by a glob ``pattern``.

    Example:
        >>> "synflow" in list_proxies()
        True
    """
    return PROXIES.list(pattern)


def proxy_info(name: str) -> dict[str, Any]:
    """Sign, BatchNorm mode, batch-size default and one-line summary of a proxy.

    Example:
        >>> proxy_info("nwot")["batch_size"]
        128
    """
    cls = PROXIES.get(name)
    doc = (cls.__doc__ or "").strip().splitlines()
    return {
        "name": PROXIES.canonical(name),
        "higher_is_better": cls.higher_is_better,
        "bn_mode": cls.bn_mode,
        "batch_size": cls.batch_size,
        "summary": doc[0] if doc else "",
    }
