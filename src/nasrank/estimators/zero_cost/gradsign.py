"""``gradsign``: agreement of the signs of per-sample gradients (Zhang & Jia, ICLR 2022)."""

from __future__ import annotations

import math
import warnings
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from ...exceptions import ConfigError
from .._registries import PROXIES
from ._core import Proxy, ProxyContext, host_sum, weight_layers

__all__ = ["GradSign", "gradsign_loop", "gradsign_vectorized", "sign_counts_loop", "sign_counts_vectorized"]


class _Workspace:
    """Scratch tensors reused by every layer of one pass, one per (slot, shape, layout, dtype).

    Temporaries of the size of an activation map are the costly kind on CPU: a fresh allocation
    of that size usually comes back from the system as new pages, and touching those pages costs
    about as much as the arithmetic done on them.
    """

    def __init__(self) -> None:
        self._t: dict[tuple, torch.Tensor] = {}

    def like(self, x: torch.Tensor, slot: int) -> torch.Tensor:
        key = (slot, tuple(x.shape), x.stride(), x.dtype, x.device)
        t = self._t.get(key)
        if t is None:
            t = self._t[key] = torch.empty_like(x, memory_format=torch.preserve_format)
            if t.stride() != x.stride():  # an unusual layout: fall back to a fresh tensor
                del self._t[key]
        return t


#: one-pass statistics are used when every (sample, channel) has mean^2 / var below this: the
#: cancellation in E[x^2] - mean^2 (and in the matching backward sums) then costs at most about
#: sqrt(30) ~ 5.5 units of rounding, no more than the rest of the float arithmetic
_ONE_PASS_MAX_RATIO = 30.0


class _SampleNormFn(torch.autograd.Function):
    """Train-mode BatchNorm of every sample on its own: normalise over the spatial positions.

    Plain elementwise kernels and reductions into reused scratch tensors, so a channels-last
    input stays channels-last and no Welford reduction is needed (the kernels behind
    ``F.instance_norm`` and ``torch.var_mean`` are several times slower than BatchNorm on
    channels-last CPU tensors). On CPU the statistics take one pass (sum and sum of squares)
    unless a (sample, channel) has a mean large next to its spread, in which case the layer uses
    two passes (mean, then the mean of squared deviations), forward and backward. The variance
    is the biased one, as BN uses. ``w`` and ``b`` are the affine parameters viewed as
    (1, C, 1, ...) (or None); they get no gradient (GradSign scores Conv2d/Linear weights only).
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, w: torch.Tensor | None, b: torch.Tensor | None,
                eps: float, ws: _Workspace) -> torch.Tensor:
        dims = tuple(range(2, x.dim()))
        inv_n = 1.0 / math.prod(x.shape[2:])
        mean = x.sum(dims, keepdim=True).mul_(inv_n)
        one_pass = x.device.type == "cpu"
        if one_pass:
            var = torch.mul(x, x, out=ws.like(x, 1)).sum(dims, keepdim=True).mul_(inv_n)
            m2 = mean * mean
            var.sub_(m2).clamp_(min=0.0)
            one_pass = bool((m2 <= _ONE_PASS_MAX_RATIO * (var + eps)).all())
        if one_pass:
            rstd = var.add_(eps).rsqrt_()
            scale = rstd if w is None else rstd * w
            shift = -mean * scale if b is None else torch.addcmul(b, mean, scale, value=-1.0)
            y = torch.addcmul(shift, x, scale)
        else:
            d = torch.sub(x, mean, out=ws.like(x, 0))
            rstd = torch.mul(d, d, out=ws.like(x, 1)).sum(dims, keepdim=True).mul_(inv_n).add_(eps).rsqrt_()
            scale = rstd if w is None else rstd * w
            y = d * scale if b is None else torch.addcmul(b, d, scale)
        # x (kept alive anyway) is saved, not the deviations: no new activation-sized tensor
        ctx.save_for_backward(x, mean, rstd, scale)
        ctx.ws = ws
        ctx.one_pass = one_pass
        return y

    @staticmethod
    def backward(ctx: Any, dy: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, mean, rstd, scale = ctx.saved_tensors
        ws: _Workspace = ctx.ws
        dims = tuple(range(2, x.dim()))
        inv_n = -1.0 / math.prod(x.shape[2:])
        # dx = scale * (dy - mean(dy) - xhat * mean(dy * xhat)), xhat = (x - mean) * rstd
        sum_dy = dy.sum(dims, keepdim=True)
        k0 = sum_dy * scale * inv_n
        if ctx.one_pass:
            dot = torch.mul(dy, x, out=ws.like(x, 1)).sum(dims, keepdim=True).sub_(mean * sum_dy)
            k1 = dot.mul_(scale * rstd * rstd).mul_(inv_n)
            return torch.addcmul(k0.sub_(k1 * mean), dy, scale).addcmul_(x, k1), None, None, None, None
        d = torch.sub(x, mean, out=ws.like(x, 0))
        k1 = torch.mul(dy, d, out=ws.like(x, 1)).sum(dims, keepdim=True).mul_(scale * rstd * rstd).mul_(inv_n)
        return torch.addcmul(k0, dy, scale).addcmul_(d, k1), None, None, None, None


class _SingleValueNorm(ValueError):
    """Per-sample train-mode BatchNorm on one value per channel (1x1 feature maps): undefined."""


class _SampleNorm(nn.Module):
    """BatchNorm in train mode applied to every sample as if it were a batch of one.

    For (N, C, *spatial) inputs that is instance normalisation with the BN's affine parameters and
    epsilon; running statistics are neither read nor written. The memory layout (channels-last or
    not) of the input is kept.
    """

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm, ws: _Workspace | None = None) -> None:
        super().__init__()
        self.weight = bn.weight
        self.bias = bn.bias
        self.eps = bn.eps
        self.ws = ws if ws is not None else _Workspace()
        self._affine: dict[int, tuple[torch.Tensor | None, torch.Tensor | None]] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 3 or math.prod(x.shape[2:]) < 2:
            raise _SingleValueNorm(
                "GradSign: BatchNorm in train mode on a single sample needs more than one value per "
                f"channel, got input shape {tuple(x.shape)}"
            )
        affine = self._affine.get(x.dim())
        if affine is None:  # the (1, C, 1, ...) views of the affine parameters, made once
            shape = (1, -1) + (1,) * (x.dim() - 2)
            affine = self._affine[x.dim()] = (
                None if self.weight is None else self.weight.detach().view(shape),
                None if self.bias is None else self.bias.detach().view(shape),
            )
        return _SampleNormFn.apply(x, affine[0], affine[1], self.eps, self.ws)


def _per_sample_batchnorm(model: nn.Module, modules: list[nn.Module] | None = None) -> None:
    ws = _Workspace()  # shared by all layers: one forward or backward step uses it at a time
    for parent in modules if modules is not None else list(model.modules()):
        children = parent._modules
        for name, child in children.items():
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                children[name] = _SampleNorm(child, ws)  # replacing a registered child in place


#: samples per block in the convolution kernels below on the CPU: a block's buffers stay in cache
_CHUNK = 16
#: on other devices a block is as large as fits in this many bytes of work buffers (fewer, larger
#: batched products keep a GPU busy; the sign counts are the same for any block size)
_DEVICE_BLOCK_BYTES = 256 * 2**20


def _block(x: torch.Tensor, n_all: int, bytes_per_sample: int) -> int:
    """Samples per block: :data:`_CHUNK` on the CPU, else as many as fit :data:`_DEVICE_BLOCK_BYTES`."""
    if x.device.type == "cpu":
        return min(_CHUNK, n_all)
    return max(1, min(n_all, _DEVICE_BLOCK_BYTES // max(1, bytes_per_sample)))


class _SignCounter:
    """sum_n sign(per-sample weight gradient) of a layer, from its input and output gradient.

    Plain convolutions (ungrouped, zero padding) never materialise the (N, *weight.shape)
    per-sample gradient, nor an im2col matrix at stride 1: samples are processed in blocks of
    :data:`_CHUNK`, each block's per-sample gradients are formed by batched matrix products into a
    small buffer, reduced to sign counts and discarded. Work buffers (and the views into them) are
    kept per layer shape and reused by every layer of that shape, so one instance should serve
    one backward pass.
    """

    def __init__(self) -> None:
        self._cache: dict[tuple, Any] = {}

    def __call__(self, m: nn.Module, inp: torch.Tensor, gout: torch.Tensor) -> torch.Tensor:
        if isinstance(m, nn.Conv2d) and m.groups == 1 and m.padding_mode == "zeros" \
                and not isinstance(m.padding, str) and inp.dim() == 4:
            if m.kernel_size == (1, 1) and m.stride == (1, 1) and m.padding == (0, 0):
                n, cout = gout.shape[:2]
                gw = torch.bmm(gout.reshape(n, cout, -1), inp.reshape(n, inp.shape[1], -1).transpose(1, 2))
                return gw.sign_().sum(0).reshape(m.weight.shape)
            if m.stride == (1, 1) and m.in_channels >= 8:
                return self._conv_shift(inp, gout, m)
            # strided, or too few input channels for the per-tap products to be efficient
            return self._conv_im2col(inp, gout, m)
        return torch.sign(_per_sample_weight_grad(m, inp, gout)).sum(0)

    def _conv_shift(self, x: torch.Tensor, gout: torch.Tensor, m: nn.Conv2d) -> torch.Tensor:
        """Stride 1: one matrix product per kernel tap and block, no im2col.

        With the input zero-padded to (Hp, Wp) and stored channels-last, and the output gradient
        placed in an (Ho, Wp) grid (zeros beyond column Wo), tap (i, j) of sample n's weight
        gradient is gout_n^T (Cout x L) times the padded input rows shifted by i*dh*Wp + j*dw
        (L x Cin), L = (Ho - 1) * Wp + Wo: every tap reads a strided view of the same buffer.
        """
        n_all, cin, h, w = x.shape
        cout, ho, wo = gout.shape[1:]
        kh, kw = m.kernel_size
        ph, pw = m.padding
        dh, dw = m.dilation
        hp, wp = h + 2 * ph, w + 2 * pw
        length = (ho - 1) * wp + wo
        chunk = _block(x, n_all, x.element_size() * (hp * wp * cin + ho * wp * cout + kh * kw * cout * cin))
        key = ("shift", chunk, cin, cout, h, w, kh, kw, ph, pw, dh, dw, x.dtype, x.device)
        entry = self._cache.get(key)
        if entry is None:
            # the zero borders of xp and gp are never written, so the buffers can be reused
            entry = self._cache[key] = {
                "xp": x.new_zeros(chunk, hp, wp, cin),
                "gp": x.new_zeros(chunk, ho, wp, cout),
                "buf": x.new_empty(kh * kw, chunk, cout, cin),
            }
        xp, gp, buf = entry["xp"], entry["gp"], entry["buf"]
        acc = x.new_zeros(kh * kw, cout, cin)
        xs_all = x.permute(0, 2, 3, 1)
        gs_all = gout.permute(0, 2, 3, 1)
        for s in range(0, n_all, chunk):
            n = min(chunk, n_all - s)
            views = entry.get(n)
            if views is None:  # views into the buffers for a block of n samples, made once
                xf = xp[:n].reshape(n, hp * wp, cin)
                g_t = gp[:n].reshape(n, ho * wp, cout)[:, :length].transpose(1, 2)
                taps = [
                    (g_t, xf[:, off : off + length], buf[i * kw + j, :n])
                    for i in range(kh)
                    for j in range(kw)
                    for off in (i * dh * wp + j * dw,)
                ]
                views = entry[n] = (xp[:n, ph : ph + h, pw : pw + w], gp[:n, :, :wo], taps, buf[:, :n])
            x_dst, g_dst, taps, block = views
            x_dst.copy_(xs_all[s : s + n])
            g_dst.copy_(gs_all[s : s + n])
            for g_t, xs, out in taps:
                torch.bmm(g_t, xs, out=out)
            acc += block.sign_().sum(1)
        return acc.permute(1, 2, 0).reshape(cout, cin, kh, kw)

    def _conv_im2col(self, x: torch.Tensor, gout: torch.Tensor, m: nn.Conv2d) -> torch.Tensor:
        """Any stride: a channels-last im2col of one block (kh*kw strided copies), one product."""
        n_all, cin, _, _ = x.shape
        cout, ho, wo = gout.shape[1:]
        kh, kw = m.kernel_size
        sh, sw = m.stride
        dh, dw = m.dilation
        ph, pw = m.padding
        chunk = _block(x, n_all, x.element_size() * (ho * wo * kh * kw * cin + cout * kh * kw * cin))
        key = ("im2col", chunk, cin, cout, ho, wo, kh, kw, x.dtype, x.device)
        entry = self._cache.get(key)
        if entry is None:
            entry = self._cache[key] = {
                "cols": x.new_empty(chunk, ho, wo, kh, kw, cin),
                "out": x.new_empty(chunk, cout, kh * kw * cin),
            }
        cols, out = entry["cols"], entry["out"]
        acc = x.new_zeros(cout, kh * kw * cin)
        for s in range(0, n_all, chunk):
            n = min(chunk, n_all - s)
            xp = F.pad(x[s : s + n], (pw, pw, ph, ph)).permute(0, 2, 3, 1)
            for i in range(kh):
                for j in range(kw):
                    r0, c0 = i * dh, j * dw
                    cols[:n, :, :, i, j] = xp[:, r0 : r0 + sh * (ho - 1) + 1 : sh, c0 : c0 + sw * (wo - 1) + 1 : sw]
            g = gout[s : s + n].permute(0, 2, 3, 1).reshape(n, ho * wo, cout).transpose(1, 2)
            torch.bmm(g, cols[:n].reshape(n, ho * wo, kh * kw * cin), out=out[:n])
            acc += out[:n].sign_().sum(0)
        return acc.reshape(cout, kh, kw, cin).permute(0, 3, 1, 2)


def _per_sample_weight_grad(m: nn.Module, inp: torch.Tensor, gout: torch.Tensor) -> torch.Tensor:
    """Per-sample gradient of ``m.weight`` (N, *weight.shape) from its input and output gradient.

    The general path (Linear of any rank, grouped convolutions, other padding modes);
    :class:`_SignCounter` uses faster kernels for plain convolutions.
    """
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
    normalisation (train-mode BN of a batch of one, computed for the whole batch at once). One
    forward of the whole batch and one backward of the summed per-sample losses; at each layer the
    per-sample weight gradients are formed from the layer's input and output gradient (batched
    matrix products over blocks of samples, see :class:`_SignCounter`) and reduced to sign counts
    at once, so the N x P matrix is never stored. A layer that runs more than once in the forward
    pass (shared weights) has its per-sample gradients summed over its calls before the sign is
    taken, as the per-sample loop does.

    Example:
        >>> net = nn.Sequential(nn.Linear(2, 2, bias=False))
        >>> with torch.no_grad():
        ...     _ = net[0].weight.copy_(torch.eye(2))
        >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]]); y = torch.tensor([0, 0])
        >>> sign_counts_vectorized(net, x, y)[0].tolist()
        [[-1.0, -1.0], [1.0, 1.0]]
    """
    loss_fn = loss_fn if loss_fn is not None else F.cross_entropy
    modules = list(model.modules())  # one walk of the module tree (they are slow on large trees)
    _per_sample_batchnorm(model, modules)
    if not all(m.training for m in modules):
        model.train()
    layers = [m for m in modules if isinstance(m, (nn.Conv2d, nn.Linear))]  # = weight_layers(model)
    for m in modules:
        for p in m._parameters.values():
            if p is not None:
                p.requires_grad_(False)
    counts = [torch.zeros_like(m.weight) for m in layers]
    calls = [0] * len(layers)
    shared: dict[int, torch.Tensor] = {}  # per-sample gradients of layers called more than once
    counter = _SignCounter()
    handles = []

    for i, m in enumerate(layers):
        def fwd(mod: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor,
                i: int = i) -> torch.Tensor | None:
            replaced = not out.requires_grad
            if replaced:
                # a layer that reads only the (gradient-free) input: make its output a leaf so
                # that its output gradient still arrives, without differentiating the input
                out = out.detach().requires_grad_(True)
            calls[i] += 1
            x_in = inp[0].detach()

            def bwd(gout: torch.Tensor) -> None:
                with torch.no_grad():
                    if calls[i] == 1:
                        counts[i] += counter(mod, x_in, gout)
                    else:
                        g = _per_sample_weight_grad(mod, x_in, gout)
                        shared[i] = g if i not in shared else shared[i] + g

            out.register_hook(bwd)
            return out if replaced else None

        handles.append(m.register_forward_hook(fwd))
    with torch.enable_grad():
        try:
            logits = model(inputs.detach())
        finally:
            for h in handles:
                h.remove()
        # the sum of per-sample losses: each sample's gradient is exactly its own loss gradient
        n = inputs.shape[0]
        loss = torch.stack([loss_fn(logits[j : j + 1], targets[j : j + 1]) for j in range(n)]).sum() \
            if loss_fn is not F.cross_entropy else F.cross_entropy(logits, targets, reduction="sum")
        if loss.requires_grad:
            loss.backward()
    for i, g in shared.items():
        counts[i] += torch.sign(g).sum(0)
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
        with torch.enable_grad():
            loss = loss_fn(model(inputs[j : j + 1]), targets[j : j + 1])
            if loss.requires_grad:
                loss.backward()
        for c, m in zip(counts, layers, strict=True):
            if m.weight.grad is not None:
                c += torch.sign(m.weight.grad)
    return counts


def _reduce(counts: list[torch.Tensor], reduction: str) -> float:
    # |counts| are integers <= N: their float64 sum is exact in any order (one device-to-host
    # transfer for all layers, not one per layer)
    total = host_sum(torch.nansum(c.abs(), dtype=torch.float64) for c in counts)
    if reduction == "sum":
        return total
    valid = int(host_sum((~torch.isnan(c)).sum(dtype=torch.float64) for c in counts))
    return total / valid if valid else float("nan")


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
            BatchNorm statistics and per-sample weight gradients formed layer by layer) or
            ``"loop"`` (the reference's per-sample loop). In float64 the two give identical sign
            counts. In float32 each rounds differently, and on deep networks rounding is
            amplified enough that per-sample gradients well away from zero can change sign: on
            the exact NB201 network (batch 64, six cells) the two float32 scores differed by up
            to 1e-4 (relative), less than the loop's own float32 score differs from its float64
            value (up to 1.6e-4; the vectorised one: up to 1.4e-4).
        reduction: ``"sum"`` (default; ``np.nansum``, the GradSign repository's ``build.py``
            path behind the paper's Spearman numbers) or ``"mean"`` (``np.nanmean``, the
            repository's NASWOT-style ``gradsign.py`` script; not rank-equivalent because P varies
            between architectures).

    BatchNorm in train mode per sample; published batch size 128; higher is better. The loss
    function must be a per-sample mean or sum (sign counts are invariant to the scale). A network
    whose BatchNorm sees one value per channel (1 x 1 feature maps, where per-sample train-mode
    BatchNorm is undefined and the reference fails) scores NaN, with a warning.

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
        try:
            return fn(net, ctx.inputs, ctx.targets, ctx.loss_fn, self.reduction)
        except _SingleValueNorm as exc:
            warnings.warn(f"{exc}; GradSign is NaN for this network", RuntimeWarning, stacklevel=2)
            return float("nan")
