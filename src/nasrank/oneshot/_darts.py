"""Differentiable architecture search on the weight-sharing layer: DARTS (first and second
order), SoTL-DARTS / DARTS-TSE and SoVL-DARTS.

Every method here trains a supernet whose edges mix their candidate operations with weights
``softmax(alpha)`` (:class:`~nasrank.nn.SoftmaxAlpha`, the supernet's own architecture
parameters; subclasses may use another parameterisation, e.g. DrNAS' Dirichlet) and learns the
architecture parameters by gradient descent. The common machinery is
:class:`DifferentiableMethod`: SGD over the supernet weights (NAS-Bench-201 ``DARTS.config``:
lr 0.025, Nesterov momentum 0.9, weight decay 5e-4, gradients clipped to norm 5), Adam over the
architecture parameters (lr 3e-4, betas (0.5, 0.999), weight decay 1e-3), an optional mask of
allowed operations, the derived architecture (:meth:`~DifferentiableMethod.derive`), the dominant
eigenvalue of the architecture Hessian (:meth:`~DifferentiableMethod.hessian_eigenvalue`) and the
per-epoch record (:meth:`~DifferentiableMethod.epoch_info`). Registered methods:

* ``darts`` (:class:`DARTS`; Liu et al., 2019, first order): per step an Adam step on
  ``grad_alpha L_val(w, alpha)`` (validation minibatch), then an SGD step on ``L_train``;
* ``darts2`` (:class:`DARTSSecondOrder`): the one-step unrolled hypergradient
  ``grad_alpha L_val(w', alpha) - xi * H v`` with ``w' = w - xi * grad_w L_train`` (momentum and
  weight decay included, ``xi`` the current lr) and the Hessian-vector product by central
  differences (``eps = 0.01 / ||grad_w' L_val||``);
* ``sotl-darts`` = ``darts-tse`` (:class:`SoTLDARTS`; seed 002 Alg. 3, Eq. 3.22): the sum of the
  first-order architecture gradients of the *training* losses over ``inner_steps`` = 100 unrolled
  SGD steps, then the weights go back to where the window started and are re-trained on the same
  minibatches under the new ``alpha``; no validation data;
* ``sovl-darts`` (:class:`SoVLDARTS`; seed 002 §4.3.1): the same window, but the summed gradient
  is that of the validation losses along the unrolled weights.

Steps run with BatchNorm on batch statistics (train mode). The running statistics follow the
weight updates only: computing an architecture gradient (or a Hessian eigenvalue) leaves every
buffer as it was.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from .._validate import check_float, check_int
from ..exceptions import ConfigError
from ..nn.supernet import SoftmaxAlpha
from ..spaces.base import SearchSpace
from ._methods import SUPERNET_METHODS, Arch, Batch, SGDLearningRate, SupernetMethod
from ._params import DirichletConcentration

__all__ = ["DifferentiableMethod", "DARTS", "DARTSSecondOrder", "SoTLDARTS", "DARTSTSE",
           "SoVLDARTS"]


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ConfigError(f"`{name}` must be true or false, got {value!r}")
    return bool(value)


def _canonical(t: torch.Tensor) -> torch.Tensor:
    """A copy of ``t`` with the default (row-major) strides. Buffered minibatches are stored this
    way: a tensor's strides choose the convolution kernels, and a checkpoint stores every tensor
    row-major, so a window replayed after a resume must see the same layout as the original."""
    return torch.empty(t.shape, dtype=t.dtype, device=t.device).copy_(t)


def _zeros_for(grads: Sequence[torch.Tensor | None], like: Sequence[torch.Tensor]
               ) -> list[torch.Tensor]:
    return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, like, strict=True)]


class DifferentiableMethod(SGDLearningRate, SupernetMethod):
    """Base of the differentiable searches: supernet weights by SGD, architecture parameters by
    Adam, under a mixture of every (allowed) operation.

    Subclasses implement :meth:`step` from the building blocks :meth:`weight_step` (one SGD step
    of the weights, architecture frozen) and :meth:`arch_grad` (first-order architecture
    gradient), and extend :meth:`config` / :meth:`_state` / :meth:`_load_state` with their own
    parameters and state. A subclass with another parameterisation overrides :meth:`_make_arch`
    (and :meth:`mixed_weights` for a stochastic one); one that rebuilds its supernet (a
    progressive search) calls :meth:`_build_optimizers` afterwards.

    Defaults: NAS-Bench-201 ``DARTS.config`` and the DARTS architecture optimiser
    (``algorithms.md`` §4.6): SGD lr 0.025 (cosine to 0.001 by the trainer), Nesterov momentum
    0.9, weight decay 5e-4, weight gradients clipped to norm 5 before every SGD step; Adam lr
    3e-4, betas (0.5, 0.999), weight decay 1e-3. The SGD optimiser never sees an architecture
    parameter and Adam never a supernet weight.

    Args:
        space: A space name or instance with a supernet.
        seed: Seed of the supernet's initial weights and ``alpha``.
        supernet_config: Keyword arguments of ``space.supernet`` (default: ``"search"`` config).
        num_classes: Classifier outputs.
        in_channels: Image channels.
        lr: Base learning rate of the weights (:meth:`set_lr` sets the current one).
        momentum: SGD momentum.
        nesterov: Nesterov momentum (ignored when ``momentum`` is 0).
        weight_decay: SGD weight decay of the supernet weights.
        grad_clip: Maximal norm of the weight gradient of an SGD step (``None``: no clipping).
        arch_lr: Adam learning rate of the architecture parameters.
        arch_betas: Adam betas.
        arch_weight_decay: Adam (L2) weight decay of the architecture parameters.
        hessian: Record the dominant Hessian eigenvalue in :meth:`epoch_info`.

    Attributes:
        arch: The :class:`~nasrank.oneshot.ArchParameterization` learnt (default: the supernet's
            :class:`~nasrank.nn.SoftmaxAlpha`).
        optimizer: SGD over every supernet weight except the architecture parameters.
        arch_optimizer: Adam over ``arch.parameters()``.
        weights: The parameters ``optimizer`` trains.
        last_arch_grad: The gradient of the last architecture update (one tensor per
            architecture parameter, before Adam's weight decay), or ``None``; not saved.
        needs_validation: True (bilevel search on validation minibatches) unless a subclass
            searches on training data only (``sotl-darts``).
    """

    needs_validation: ClassVar[bool] = True

    def __init__(self, space: str | SearchSpace = "nb201", seed: int = 0,
                 supernet_config: Mapping[str, Any] | None = None, num_classes: int = 10,
                 in_channels: int = 3, lr: float = 0.025, momentum: float = 0.9,
                 nesterov: bool = True, weight_decay: float = 5e-4,
                 grad_clip: float | None = 5.0, arch_lr: float = 3e-4,
                 arch_betas: Sequence[float] = (0.5, 0.999), arch_weight_decay: float = 1e-3,
                 hessian: bool = False) -> None:
        super().__init__(space, seed, supernet_config, num_classes, in_channels)
        self.lr = check_float("lr", lr, minimum=0.0, exclusive_min=True)
        self.momentum = check_float("momentum", momentum, minimum=0.0, maximum=1.0)
        self.nesterov = _check_bool("nesterov", nesterov)
        self.weight_decay = check_float("weight_decay", weight_decay, minimum=0.0)
        self.grad_clip = (None if grad_clip is None
                          else check_float("grad_clip", grad_clip, minimum=0.0, exclusive_min=True))
        self.arch_lr = check_float("arch_lr", arch_lr, minimum=0.0)
        if (not isinstance(arch_betas, Sequence) or isinstance(arch_betas, str)
                or len(arch_betas) != 2):
            raise ConfigError(f"`arch_betas` must be two numbers in [0, 1), got {arch_betas!r}")
        betas = tuple(check_float("arch_betas", b, minimum=0.0) for b in arch_betas)
        if not all(b < 1.0 for b in betas):
            raise ConfigError(f"`arch_betas` must be two numbers in [0, 1), got {arch_betas!r}")
        self.arch_betas: tuple[float, float] = (betas[0], betas[1])
        self.arch_weight_decay = check_float("arch_weight_decay", arch_weight_decay, minimum=0.0)
        self.hessian = _check_bool("hessian", hessian)
        self._mask: np.ndarray | None = None
        self._mask_cache: dict[tuple[torch.device, torch.dtype], torch.Tensor] = {}
        self.last_arch_grad: list[torch.Tensor] | None = None
        self.arch = self._make_arch()
        self._build_optimizers()

    # --- construction hooks -------------------------------------------------------------------
    def _make_arch(self) -> Any:
        """The architecture parameterisation (default: the supernet's ``SoftmaxAlpha``)."""
        return self.supernet.arch_param

    def _build_optimizers(self) -> None:
        """(Re)create :attr:`weights`, :attr:`optimizer` and :attr:`arch_optimizer` for the
        current supernet and :attr:`arch` (fresh optimiser states, current lr kept)."""
        lr = self.current_lr if hasattr(self, "optimizer") else self.lr
        skip = {id(p) for p in self.arch.parameters()}
        arch_param = getattr(self.supernet, "arch_param", None)
        if arch_param is not None:
            skip |= {id(p) for p in arch_param.parameters()}
        self.weights = [p for p in self.supernet.parameters() if id(p) not in skip]
        self.optimizer = torch.optim.SGD(self.weights, lr=lr, momentum=self.momentum,
                                         nesterov=self.nesterov and self.momentum > 0,
                                         weight_decay=self.weight_decay)
        self.arch_optimizer = torch.optim.Adam(self.arch.parameters(), lr=self.arch_lr,
                                               betas=self.arch_betas, eps=1e-8,
                                               weight_decay=self.arch_weight_decay)

    @property
    def arch_parameters(self) -> list[torch.Tensor]:
        """The learnt architecture parameters (``arch.parameters()``)."""
        return list(self.arch.parameters())

    @property
    def mask(self) -> np.ndarray | None:
        """Allowed operations, a ``(num_edges, num_ops)`` boolean array (``None``: all).

        A masked operation gets weight exactly 0 (it is not executed and gets no gradient); the
        weights of the allowed operations of an edge are renormalised (a softmax over them). An
        edge with no allowed operation has weight 0 everywhere. Part of the saved state.

        Example:
            >>> import numpy as np
            >>> from nasrank.oneshot import create_supernet_method
            >>> m = create_supernet_method("darts", "nb201", supernet_config={"C": 2, "N": 1})
            >>> mask = np.ones((6, 5)); mask[:, 1] = 0      # no skip_connect
            >>> m.mask = mask
            >>> w = m.arch_weights(); float(w[:, 1].max()), round(float(w[0].sum()), 6)
            (0.0, 1.0)
        """
        return None if self._mask is None else self._mask.copy()

    @mask.setter
    def mask(self, value: Any) -> None:
        self._mask_cache = {}
        if value is None:
            self._mask = None
            return
        m = np.asarray(value)
        shape = (self.supernet.num_edges, len(self.supernet.ops))
        if m.shape != shape:
            raise ConfigError(f"mask must have shape {shape} (edges x operations), got {m.shape}")
        if not np.isin(m, (0, 1)).all():
            raise ConfigError("mask entries must be 0 (masked) or 1 (allowed)")
        self._mask = m.astype(bool)

    def _effective_mask(self, like: torch.Tensor) -> torch.Tensor | None:
        """The mask as a tensor (``like``'s device and dtype), including the decided / removed
        edges of a ``SoftmaxAlpha``'s projection state; ``None`` when everything is allowed."""
        decided = removed = ()
        if isinstance(self.arch, SoftmaxAlpha):
            decided, removed = tuple(self.arch.decided_.items()), tuple(self.arch.removed_edges_)
        if self._mask is None and not decided and not removed:
            return None
        key = (like.device, like.dtype)
        base = self._mask_cache.get(key)
        if base is None:
            m = (np.ones(tuple(like.shape), dtype=bool) if self._mask is None else self._mask)
            base = self._mask_cache[key] = torch.as_tensor(m, device=like.device)
        if decided or removed:
            base = base.clone()
            for e, o in decided:
                keep = bool(base[e, o])
                base[e] = False
                base[e, o] = keep
            for e in removed:
                base[e] = False
        return base

    # --- architecture weights -----------------------------------------------------------------
    def weights_tensor(self) -> torch.Tensor:
        """The deterministic weight matrix, differentiable in the architecture parameters:
        masked ``softmax(alpha)`` (a Dirichlet parameterisation: its mean).

        Example:
            >>> from nasrank.oneshot import create_supernet_method
            >>> m = create_supernet_method("darts", "nb201", supernet_config={"C": 2, "N": 1})
            >>> w = m.weights_tensor(); tuple(w.shape), w.requires_grad
            ((6, 5), True)
        """
        arch = self.arch
        if isinstance(arch, SoftmaxAlpha):
            alpha = arch.alpha
            m = self._effective_mask(alpha)
            if m is None:
                return torch.softmax(alpha, dim=-1)
            empty = ~m.any(dim=-1, keepdim=True)
            logits = alpha.masked_fill(~(m | empty), float("-inf"))
            return torch.softmax(logits, dim=-1) * m.to(alpha.dtype)
        if isinstance(arch, DirichletConcentration):
            return self._renormalised(arch.concentration())
        raise NotImplementedError(f"{type(self).__name__} must define weights_tensor() for "
                                  f"{type(arch).__name__}")

    def _renormalised(self, w: torch.Tensor) -> torch.Tensor:
        """``w`` restricted to the allowed operations and renormalised per edge (rows with no
        allowed operation: 0)."""
        m = self._effective_mask(w)
        if m is not None:
            w = w * m.to(w.dtype)
        total = w.sum(dim=-1, keepdim=True)
        return w / torch.where(total > 0, total, torch.ones_like(total))

    def mixed_weights(self) -> torch.Tensor:
        """The weight matrix of one search step, differentiable in the architecture parameters
        (default :meth:`weights_tensor`; a stochastic parameterisation draws here)."""
        return self.weights_tensor()

    def arch_weights(self) -> np.ndarray:
        """The current deterministic weights (float64 numpy, masked entries exactly 0).

        Example:
            >>> from nasrank.oneshot import create_supernet_method
            >>> m = create_supernet_method("darts", "nb201", supernet_config={"C": 2, "N": 1})
            >>> m.arch_weights().shape, round(float(m.arch_weights().sum()), 6)
            ((6, 5), 6.0)
        """
        with torch.no_grad():
            return self.weights_tensor().detach().double().cpu().numpy()

    def derive(self, batch: Batch | None = None, score: Any = None,
               candidates: int | None = None) -> Arch:
        """The architecture the search has found: ``supernet.arch_from_weights(arch_weights())``
        (per edge the strongest operation; DARTS: the genotype rule). ``batch``, ``score`` and
        ``candidates`` are accepted for the common interface and not used; nothing changes.

        Example:
            >>> from nasrank.oneshot import create_supernet_method
            >>> m = create_supernet_method("darts", "nb201", supernet_config={"C": 2, "N": 1})
            >>> len(m.derive())
            6
        """
        return self.supernet.arch_from_weights(self.arch_weights())

    # --- building blocks ----------------------------------------------------------------------
    @contextlib.contextmanager
    def _kept_buffers(self) -> Iterator[None]:
        """Train mode inside; the supernet's buffers (BatchNorm running statistics) and mode are
        restored afterwards."""
        net = self.supernet
        saved = {k: v.clone() for k, v in net.named_buffers()}
        was_training = net.training
        net.train()
        try:
            yield
        finally:
            with torch.no_grad():
                for k, v in net.named_buffers():
                    v.copy_(saved[k])
            net.train(was_training)

    def _loss(self, batch: Batch, weights: Any, amp: bool = True) -> torch.Tensor:
        """Cross-entropy (float32) of the supernet under ``weights`` on ``batch``; the forward
        pass runs in :attr:`precision` (autocast) unless ``amp`` is false."""
        x, y = batch
        if not amp or self.precision == "32":
            return F.cross_entropy(self.supernet(x, weights), y)
        with self._autocast():
            logits = self.supernet(x, weights)
        return F.cross_entropy(logits.float(), y)

    def _chain(self, w_mix: torch.Tensor, grad_w: torch.Tensor | None,
               retain_graph: bool = False) -> list[torch.Tensor]:
        """Gradient of the architecture parameters given the gradient wrt the weight matrix."""
        params = self.arch_parameters
        if grad_w is None:
            return [torch.zeros_like(p) for p in params]
        grads = torch.autograd.grad(w_mix, params, grad_outputs=grad_w, allow_unused=True,
                                    retain_graph=retain_graph)
        return _zeros_for(grads, params)

    def _sgd_step(self, batch: Batch, w_mix: torch.Tensor | None = None
                  ) -> tuple[float, list[torch.Tensor] | None]:
        """One SGD step of the weights on ``batch`` (clipped gradient). With ``w_mix`` (a weight
        matrix differentiable in the architecture parameters) the same backward pass also returns
        the first-order architecture gradient; without, the step runs under the detached
        :meth:`mixed_weights`."""
        net = self.supernet
        net.train()
        leaf = None
        if w_mix is None:
            with torch.no_grad():
                coef: Any = self.mixed_weights().detach()
        else:
            leaf = coef = w_mix.detach().requires_grad_(True)
        loss = self._loss(batch, coef)
        targets = self.weights + ([leaf] if leaf is not None else [])
        grads = torch.autograd.grad(loss, targets, allow_unused=True)
        n = len(self.weights)
        for p, g in zip(self.weights, grads[:n], strict=True):
            p.grad = g
        if self.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_([p for p in self.weights if p.grad is not None],
                                           self.grad_clip)
        self.optimizer.step()
        for p in self.weights:
            p.grad = None
        arch_grads = None if w_mix is None else self._chain(w_mix, grads[n])
        return float(loss.detach()), arch_grads

    def weight_step(self, batch: Batch) -> float:
        """One SGD step of the supernet weights on ``batch`` under :meth:`mixed_weights` (the
        architecture parameters get no gradient); returns the loss before the step.

        Example:
            >>> import torch
            >>> from nasrank.oneshot import create_supernet_method
            >>> m = create_supernet_method("darts", "nb201", supernet_config={"C": 2, "N": 1})
            >>> b = (torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3]))
            >>> m.weight_step(b) > 0
            True
        """
        return self._sgd_step(batch)[0]

    def _arch_grad(self, batch: Batch) -> tuple[float, list[torch.Tensor]]:
        with self._kept_buffers():
            w_mix = self.mixed_weights()
            leaf = w_mix.detach().requires_grad_(True)
            loss = self._loss(batch, leaf)
            (g,) = torch.autograd.grad(loss, [leaf], allow_unused=True)
            return float(loss.detach()), self._chain(w_mix, g)

    def arch_grad(self, batch: Batch) -> list[torch.Tensor]:
        """The first-order gradient of the loss on ``batch`` wrt the architecture parameters
        (at the current weights; nothing changes).

        Example:
            >>> import torch
            >>> from nasrank.oneshot import create_supernet_method
            >>> m = create_supernet_method("darts", "nb201", supernet_config={"C": 2, "N": 1})
            >>> b = (torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3]))
            >>> [tuple(g.shape) for g in m.arch_grad(b)]
            [(6, 5)]
        """
        return self._arch_grad(batch)[1]

    def arch_update(self, grads: Sequence[torch.Tensor]) -> None:
        """One Adam step of the architecture parameters with the gradient ``grads``."""
        params = self.arch_parameters
        self.last_arch_grad = [g.detach().clone() for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = g.detach().to(p.dtype)
        self.arch_optimizer.step()
        for p in params:
            p.grad = None

    def _need_val(self, val_batch: Batch | None) -> Batch:
        if val_batch is None:
            raise ConfigError(f"supernet method {self.name!r} searches on validation data: call "
                              "step(batch, val_batch) (train_supernet(..., val_set=...))")
        return val_batch

    # --- diagnostics --------------------------------------------------------------------------
    def hessian_eigenvalue(self, batch: Batch, iters: int = 20, tol: float = 1e-3) -> float:
        """The largest eigenvalue of the Hessian of the loss on ``batch`` wrt the architecture
        parameters: the "dominant eigenvalue" of Zela et al. (2020) whose growth signals a
        collapsing search (seed 002 Fig. 4.15, 4.16).

        Power iteration with Hessian-vector products by double backward, from a fixed start
        vector: it finds the eigenvalue of largest magnitude; if that one is negative, a second
        power iteration on ``H - lambda I`` finds the largest one. Each iteration stops after
        ``iters`` products or when the Rayleigh quotient changes by less than ``tol``
        (relative). Weights: :meth:`weights_tensor`; BatchNorm on the batch's statistics;
        weights, architecture and buffers are left unchanged.

        Example:
            >>> import torch
            >>> from nasrank.oneshot import create_supernet_method
            >>> m = create_supernet_method("darts", "nb201", supernet_config={"C": 2, "N": 1})
            >>> b = (torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 2, 3]))
            >>> isinstance(m.hessian_eigenvalue(b, iters=3), float)
            True
        """
        iters = check_int("iters", iters, 1)
        tol = check_float("tol", tol, minimum=0.0)
        params = self.arch_parameters
        with self._kept_buffers():
            loss = self._loss(batch, self.weights_tensor(), amp=False)  # a diagnostic: float32
            grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
            if any(g is None or not g.requires_grad for g in grads):
                return 0.0

            def hvp(v: list[torch.Tensor]) -> list[torch.Tensor]:
                out = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True,
                                          allow_unused=True)
                return [h.detach() for h in _zeros_for(out, params)]

            return self._largest_eigenvalue(hvp, params, iters, tol)

    @classmethod
    def _largest_eigenvalue(cls, hvp: Any, params: list[torch.Tensor], iters: int, tol: float
                            ) -> float:
        """Largest eigenvalue of the symmetric ``H`` given ``hvp(v) = H v`` (shapes of
        ``params``)."""
        top = cls._power_iteration(hvp, params, iters, tol, shift=0.0)
        if top < 0:  # the dominant eigenvalue is negative: the largest one of H - top I
            top = top + cls._power_iteration(hvp, params, iters, tol, shift=top)
        return top

    @staticmethod
    def _power_iteration(hvp: Any, params: list[torch.Tensor], iters: int, tol: float,
                         shift: float) -> float:
        """Dominant eigenvalue of ``H - shift * I`` given the product ``hvp(v) = H v``."""
        gen = torch.Generator().manual_seed(0)
        v = [torch.randn(p.shape, generator=gen, dtype=torch.float64).to(p) for p in params]
        norm = torch.sqrt(sum((t * t).sum() for t in v))
        v = [t / norm for t in v]
        value = 0.0
        for i in range(iters):
            hv = [h - shift * t for h, t in zip(hvp(v), v, strict=True)]
            rayleigh = float(sum((h * t).sum() for h, t in zip(hv, v, strict=True)))
            norm = torch.sqrt(sum((h * h).sum() for h in hv))
            if float(norm) == 0.0:
                return rayleigh
            v = [h / norm for h in hv]
            done = i > 0 and abs(rayleigh - value) <= tol * abs(rayleigh)
            value = rayleigh
            if done:
                break
        return value

    def epoch_info(self, batch: Batch | None = None) -> dict[str, Any]:
        """The per-epoch record: derived architecture (``arch``, as a string), its parameter-free
        and skip operations (``param_free``, ``skip``), the architecture weights (``weights``,
        rounded to 4 decimals) and, with ``hessian=True`` and a ``batch``, the dominant Hessian
        eigenvalue (``hessian``).

        Example:
            >>> from nasrank.oneshot import create_supernet_method
            >>> m = create_supernet_method("darts", "nb201", supernet_config={"C": 2, "N": 1})
            >>> sorted(m.epoch_info())
            ['arch', 'param_free', 'skip', 'weights']
        """
        arch = self.derive()
        info: dict[str, Any] = {
            "arch": self.space.to_str(arch),
            "param_free": int(self.supernet.param_free_count(arch)),
            "skip": int(self.supernet.skip_count(arch)),
            "weights": np.round(self.arch_weights(), 4).tolist(),
        }
        if self.hessian and batch is not None:
            info["hessian"] = self.hessian_eigenvalue(batch)
        return info

    # --- state --------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(),
                "arch_optimizer": self.arch_optimizer.state_dict(),
                "arch": self.arch.state_dict(),
                "mask": None if self._mask is None else self._mask.copy()}

    def _load_state(self, state: Mapping[str, Any]) -> None:
        self.arch.load_state_dict(state["arch"])
        self.mask = state["mask"]
        self.optimizer.load_state_dict(state["optimizer"])
        self.arch_optimizer.load_state_dict(state["arch_optimizer"])

    def to(self, device: str | torch.device) -> DifferentiableMethod:
        """Move the supernet, the architecture parameters and every saved tensor to ``device``
        (see :meth:`SupernetMethod.to`).

        Example:
            >>> from nasrank.oneshot import create_supernet_method
            >>> m = create_supernet_method("darts", "nb201", supernet_config={"C": 2, "N": 1})
            >>> m.to("cpu").arch_parameters[0].device
            device(type='cpu')
        """
        from ..execution import resolve_device

        device = resolve_device(device)
        state = self.state_dict()
        self.supernet.to(device)
        with torch.no_grad():
            for p in self.arch_parameters:
                if p.device != device:
                    p.data = p.data.to(device)
        self._mask_cache = {}
        self.load_state_dict(state)
        return self

    def config(self) -> dict[str, Any]:
        return {**super().config(), "lr": self.lr, "momentum": self.momentum,
                "nesterov": self.nesterov, "weight_decay": self.weight_decay,
                "grad_clip": self.grad_clip, "arch_lr": self.arch_lr,
                "arch_betas": list(self.arch_betas), "arch_weight_decay": self.arch_weight_decay,
                "hessian": self.hessian}

    def _out(self, loss: float, val_loss: float | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"loss": loss, "arch": None, "archs": []}
        if val_loss is not None:
            out["val_loss"] = val_loss
        return out


@SUPERNET_METHODS.register("darts")
class DARTS(DifferentiableMethod):
    """First-order DARTS (Liu et al., 2019, "DARTS: Differentiable Architecture Search", Alg. 1
    with ``xi = 0``; seed 002 Alg. 2).

    Each :meth:`step` takes one Adam step of ``alpha`` on ``grad_alpha L_val(w, alpha)`` (the
    validation minibatch), then one SGD step of the weights on the training minibatch under the
    new ``softmax(alpha)``. Defaults: :class:`DifferentiableMethod` (NAS-Bench-201's DARTS
    configuration). Published on NAS-Bench-201 CIFAR-10: 54.30 % -- the search collapses to skip
    connections (seed 002 Tab. 4.6).

    Args:
        space, seed, supernet_config, num_classes, in_channels, lr, momentum, nesterov,
        weight_decay, grad_clip, arch_lr, arch_betas, arch_weight_decay, hessian: see
            :class:`DifferentiableMethod`.

    Example:
        >>> import torch
        >>> from nasrank.oneshot import create_supernet_method
        >>> m = create_supernet_method("darts", "nb201", supernet_config={"C": 2, "N": 1})
        >>> b = (torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,)))
        >>> v = (torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,)))
        >>> out = m.step(b, v)
        >>> sorted(out), out["archs"], m.steps
        (['arch', 'archs', 'loss', 'val_loss'], [], 1)
    """

    name: ClassVar[str] = "darts"
    needs_validation: ClassVar[bool] = True

    def step(self, batch: Batch, val_batch: Batch | None = None) -> dict[str, Any]:
        """Architecture step on ``val_batch``, then weight step on ``batch``.

        Returns:
            ``{"loss": training loss (before the weight step), "val_loss": validation loss (before
            the architecture step), "arch": None, "archs": []}``.
        """
        val_batch = self._need_val(val_batch)
        val_loss, grads = self._arch_grad(val_batch)
        self.arch_update(grads)
        loss = self.weight_step(batch)
        self.steps += 1
        return self._out(loss, val_loss)


@SUPERNET_METHODS.register("darts2")
class DARTSSecondOrder(DifferentiableMethod):
    """Second-order DARTS (Liu et al., 2019, Alg. 1, Eq. 7-8): the one-step unrolled
    hypergradient.

    Per :meth:`step`: ``w' = w - xi * (momentum * buffer + grad_w L_train(w, alpha) +
    weight_decay * w)`` (the unrolled SGD step of DARTS' ``_compute_unrolled_model``; ``xi`` =
    the current learning rate), the hypergradient ``grad_alpha L_val(w', alpha) - xi * (grad_alpha
    L_train(w+, alpha) - grad_alpha L_train(w-, alpha)) / (2 eps)`` with ``w+- = w +- eps *
    grad_w' L_val(w', alpha)`` and ``eps = hvp_eps / ||grad_w' L_val||`` (central differences for
    the Hessian-vector product), an Adam step of ``alpha`` with it, then one SGD step of the
    weights on the training minibatch. Published on NAS-Bench-201 CIFAR-10: 54.30 %.

    Args:
        hvp_eps: Numerator of the finite-difference step (DARTS: 0.01).
        **kwargs: see :class:`DifferentiableMethod`.

    Example:
        >>> import torch
        >>> from nasrank.oneshot import create_supernet_method
        >>> m = create_supernet_method("darts2", "nb201", supernet_config={"C": 2, "N": 1})
        >>> b = (torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,)))
        >>> v = (torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,)))
        >>> [tuple(g.shape) for g in m.unrolled_grad(b, v)]
        [(6, 5)]
        >>> out = m.step(b, v); m.steps, out["archs"]
        (1, [])
    """

    name: ClassVar[str] = "darts2"
    needs_validation: ClassVar[bool] = True

    def __init__(self, space: str | SearchSpace = "nb201", seed: int = 0,
                 supernet_config: Mapping[str, Any] | None = None, num_classes: int = 10,
                 in_channels: int = 3, lr: float = 0.025, momentum: float = 0.9,
                 nesterov: bool = True, weight_decay: float = 5e-4,
                 grad_clip: float | None = 5.0, arch_lr: float = 3e-4,
                 arch_betas: Sequence[float] = (0.5, 0.999), arch_weight_decay: float = 1e-3,
                 hessian: bool = False, hvp_eps: float = 0.01) -> None:
        super().__init__(space, seed, supernet_config, num_classes, in_channels, lr=lr,
                         momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                         grad_clip=grad_clip, arch_lr=arch_lr, arch_betas=arch_betas,
                         arch_weight_decay=arch_weight_decay, hessian=hessian)
        self.hvp_eps = check_float("hvp_eps", hvp_eps, minimum=0.0, exclusive_min=True)

    def _unrolled(self, batch: Batch, val_batch: Batch) -> tuple[float, list[torch.Tensor]]:
        params = self.weights
        xi = self.current_lr
        with self._kept_buffers():
            w_mix = self.mixed_weights()
            fixed = w_mix.detach()
            grads = _zeros_for(torch.autograd.grad(self._loss(batch, fixed), params,
                                                   allow_unused=True), params)
            theta = [p.detach().clone() for p in params]
            try:
                with torch.no_grad():
                    for p, t, g in zip(params, theta, grads, strict=True):
                        step = g + self.weight_decay * t
                        buf = self.optimizer.state.get(p, {}).get("momentum_buffer")
                        if buf is not None and self.momentum > 0:
                            step = step + self.momentum * buf
                        p.copy_(t - xi * step)
                # L_val at the unrolled weights: gradients wrt the weight matrix and w'
                leaf = fixed.clone().requires_grad_(True)
                val_loss = self._loss(val_batch, leaf)
                out = torch.autograd.grad(val_loss, [leaf, *params], allow_unused=True)
                g_w = out[0] if out[0] is not None else torch.zeros_like(leaf)
                dw = _zeros_for(out[1:], params)
                norm = float(torch.sqrt(sum((d.double() ** 2).sum() for d in dw)))
                if norm > 0 and xi > 0:
                    eps = self.hvp_eps / norm
                    diff: list[torch.Tensor] = []
                    for sign in (1.0, -1.0):
                        with torch.no_grad():
                            for p, t, d in zip(params, theta, dw, strict=True):
                                p.copy_(t + sign * eps * d)
                        leaf_pm = fixed.clone().requires_grad_(True)
                        (g_pm,) = torch.autograd.grad(self._loss(batch, leaf_pm), [leaf_pm],
                                                      allow_unused=True)
                        diff.append(torch.zeros_like(leaf_pm) if g_pm is None else g_pm)
                    g_w = g_w - xi * (diff[0] - diff[1]) / (2 * eps)
            finally:
                with torch.no_grad():
                    for p, t in zip(params, theta, strict=True):
                        p.copy_(t)
            return float(val_loss.detach()), self._chain(w_mix, g_w)

    def unrolled_grad(self, batch: Batch, val_batch: Batch) -> list[torch.Tensor]:
        """The hypergradient of :meth:`step` (one tensor per architecture parameter) on the
        training minibatch ``batch`` and the validation minibatch ``val_batch``; nothing
        changes."""
        return self._unrolled(batch, val_batch)[1]

    def step(self, batch: Batch, val_batch: Batch | None = None) -> dict[str, Any]:
        """Architecture step with the unrolled hypergradient, then weight step on ``batch``.

        Returns:
            ``{"loss": training loss (before the weight step), "val_loss": validation loss at the
            unrolled weights w', "arch": None, "archs": []}``.
        """
        val_batch = self._need_val(val_batch)
        val_loss, grads = self._unrolled(batch, val_batch)
        self.arch_update(grads)
        loss = self.weight_step(batch)
        self.steps += 1
        return self._out(loss, val_loss)

    def config(self) -> dict[str, Any]:
        return {**super().config(), "hvp_eps": self.hvp_eps}


@SUPERNET_METHODS.register("sotl-darts")
class SoTLDARTS(DifferentiableMethod):
    """SoTL-DARTS / DARTS-TSE (seed 002 Alg. 3, Eq. 3.22; reference: TSE
    ``darts_tse_nb201/search-cell.py`` with ``--higher_algo darts_higher --inner_steps 100``).

    The architecture descends the approximate gradient of the sum of training losses over a
    window of ``inner_steps`` (K = 100) consecutive minibatches: each :meth:`step` is one unrolled
    SGD step of the weights whose backward pass also yields ``d L_train(w_k, alpha) / d alpha``
    (first order), summed over the window. When the window is full: the weights (and the SGD
    state) go back to where the window started, Adam steps ``alpha`` with the summed gradient,
    and (``retrain=True``, the bilevel reference) the weights are re-trained with SGD on the K
    buffered minibatches under the new ``alpha``. ``retrain=False`` keeps the unrolled weights
    (no reset, no re-training). No validation data is used. Every SGD step (unrolled or
    re-training) clips the weight gradient to ``grad_clip`` like a DARTS weight step; the
    reference's rollout does not clip (``grad_clip=None`` reproduces that).

    Windows do not cross epochs, as in the reference (which cuts every epoch into windows of K):
    :meth:`begin_epoch` closes a partial window left by the previous epoch. The open window
    (weights and SGD state at its start, the buffered minibatches, the summed gradient) is part of
    :meth:`state_dict`, so a run interrupted mid-window continues identically. Defaults: those of
    :class:`DifferentiableMethod` (NAS-Bench-201 ``DARTS.config``; Adam lr 3e-4, betas (0.5,
    0.999), weight decay 1e-3). Published on NAS-Bench-201 CIFAR-10: 92.66 % (seed 002 Tab. 4.6).

    Args:
        inner_steps: K, the minibatches of one window (one architecture update).
        retrain: Reset the weights to the window's start and re-train them under the new
            ``alpha`` after each architecture update.
        **kwargs: see :class:`DifferentiableMethod`.

    Example:
        >>> import torch
        >>> from nasrank.oneshot import create_supernet_method
        >>> m = create_supernet_method("sotl-darts", "nb201", supernet_config={"C": 2, "N": 1},
        ...                            inner_steps=2)
        >>> bs = [(torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,))) for _ in range(3)]
        >>> outs = [m.step(b) for b in bs]
        >>> m.arch_updates, m.window_size, sorted(outs[0])
        (1, 1, ['arch', 'archs', 'loss'])
    """

    name: ClassVar[str] = "sotl-darts"
    needs_validation: ClassVar[bool] = False

    def __init__(self, space: str | SearchSpace = "nb201", seed: int = 0,
                 supernet_config: Mapping[str, Any] | None = None, num_classes: int = 10,
                 in_channels: int = 3, lr: float = 0.025, momentum: float = 0.9,
                 nesterov: bool = True, weight_decay: float = 5e-4,
                 grad_clip: float | None = 5.0, arch_lr: float = 3e-4,
                 arch_betas: Sequence[float] = (0.5, 0.999), arch_weight_decay: float = 1e-3,
                 hessian: bool = False, inner_steps: int = 100, retrain: bool = True) -> None:
        super().__init__(space, seed, supernet_config, num_classes, in_channels, lr=lr,
                         momentum=momentum, nesterov=nesterov, weight_decay=weight_decay,
                         grad_clip=grad_clip, arch_lr=arch_lr, arch_betas=arch_betas,
                         arch_weight_decay=arch_weight_decay, hessian=hessian)
        self.inner_steps = check_int("inner_steps", inner_steps, 1)
        self.retrain = _check_bool("retrain", retrain)
        self._buffer: list[Batch] = []
        self._snapshot: dict[str, Any] | None = None
        self._acc: list[torch.Tensor] | None = None
        self.arch_updates = 0

    # --- the window ---------------------------------------------------------------------------
    @property
    def window_size(self) -> int:
        """Minibatches buffered in the open window."""
        return len(self._buffer)

    @property
    def window_grad(self) -> list[torch.Tensor] | None:
        """The architecture gradient summed over the open window so far (a copy), or ``None``."""
        return None if self._acc is None else [g.clone() for g in self._acc]

    def _arch_keys(self) -> set[str]:
        ids = {id(p) for p in self.arch_parameters}
        arch_param = getattr(self.supernet, "arch_param", None)
        if arch_param is not None:
            ids |= {id(p) for p in arch_param.parameters()}
        return {k for k, p in self.supernet.named_parameters() if id(p) in ids}

    def _take_snapshot(self) -> dict[str, Any]:
        skip = self._arch_keys()
        return {"supernet": {k: v.detach().clone() for k, v in self.supernet.state_dict().items()
                             if k not in skip},
                "optimizer": copy.deepcopy(self.optimizer.state_dict())}

    def _restore_snapshot(self, snapshot: Mapping[str, Any]) -> None:
        lr = self.current_lr
        live = self.supernet.state_dict()
        with torch.no_grad():
            for k, v in snapshot["supernet"].items():
                live[k].copy_(v)
        self.optimizer.load_state_dict(copy.deepcopy(snapshot["optimizer"]))
        self.set_lr(lr)

    def _window_grad(self, batch: Batch, val_batch: Batch | None) -> tuple[float, float | None]:
        """One unrolled step on ``batch``; adds its architecture gradient to the window's sum."""
        loss, grads = self._sgd_step(batch, self.mixed_weights())
        assert grads is not None
        self._accumulate(grads)
        return loss, None

    def _accumulate(self, grads: list[torch.Tensor]) -> None:
        if self._acc is None:
            self._acc = [g.detach().clone() for g in grads]
        else:
            for a, g in zip(self._acc, grads, strict=True):
                a.add_(g)

    def close_window(self) -> None:
        """End the open window now (even if it holds fewer than ``inner_steps`` minibatches):
        the architecture update (and, with ``retrain``, the reset and re-training); nothing
        happens when the window is empty."""
        if not self._buffer:
            return
        assert self._acc is not None
        if self.retrain and self._snapshot is not None:
            self._restore_snapshot(self._snapshot)
        self.arch_update(self._acc)
        self.arch_updates += 1
        batches = self._buffer
        self._buffer, self._snapshot, self._acc = [], None, None
        if self.retrain:
            for b in batches:
                self._sgd_step(b)

    def begin_epoch(self, epoch: int, epochs: int) -> None:
        """Close the window left open by the previous epoch (windows do not cross epochs)."""
        self.close_window()

    def _window_step(self, batch: Batch, val_batch: Batch | None) -> dict[str, Any]:
        if not self._buffer and self.retrain:
            self._snapshot = self._take_snapshot()
        loss, val_loss = self._window_grad(batch, val_batch)
        self._buffer.append((_canonical(batch[0]), _canonical(batch[1])))
        self.steps += 1
        if len(self._buffer) >= self.inner_steps:
            self.close_window()
        return self._out(loss, val_loss)

    def step(self, batch: Batch, val_batch: Batch | None = None) -> dict[str, Any]:
        """One unrolled step on ``batch`` (``val_batch`` is ignored); every ``inner_steps``-th
        step also updates ``alpha`` (and re-trains the window's weights).

        Returns:
            ``{"loss": training loss of the unrolled step (before its update), "arch": None,
            "archs": []}``.
        """
        return self._window_step(batch, None)

    # --- state --------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "window": {
            "batches": [tuple(b) for b in self._buffer],
            "snapshot": self._snapshot,
            "grad": self._acc,
            "arch_updates": self.arch_updates,
        }}

    def _load_state(self, state: Mapping[str, Any]) -> None:
        super()._load_state(state)
        window = state["window"]
        params = self.arch_parameters
        device = params[0].device if params else torch.device("cpu")
        self._buffer = [(_canonical(x.to(device)), _canonical(y.to(device)))
                        for x, y in window["batches"]]
        snap = window["snapshot"]
        if snap is not None:
            live = self.supernet.state_dict()
            snap = {"supernet": {k: v.to(device=live[k].device, dtype=live[k].dtype)
                                 for k, v in snap["supernet"].items()},
                    "optimizer": snap["optimizer"]}
        self._snapshot = snap
        grad = window["grad"]
        self._acc = (None if grad is None
                     else [g.to(device=p.device, dtype=p.dtype) for g, p in zip(grad, params,
                                                                                strict=True)])
        self.arch_updates = int(window["arch_updates"])

    def config(self) -> dict[str, Any]:
        return {**super().config(), "inner_steps": self.inner_steps, "retrain": self.retrain}


@SUPERNET_METHODS.register("darts-tse")
class DARTSTSE(SoTLDARTS):
    """DARTS-TSE: the name of :class:`SoTLDARTS` in the TSE paper (Ru et al., 2021) and its
    reference code (``algorithms.md`` §4.6); identical method and defaults.

    Example:
        >>> from nasrank.oneshot import create_supernet_method
        >>> m = create_supernet_method("darts-tse", "nb201", supernet_config={"C": 2, "N": 1})
        >>> m.name, m.inner_steps, m.needs_validation
        ('darts-tse', 100, False)
    """

    name: ClassVar[str] = "darts-tse"


@SUPERNET_METHODS.register("sovl-darts")
class SoVLDARTS(SoTLDARTS):
    """SoVL-DARTS (seed 002 §4.3.1, Tab. 4.6: 54.30 % on NAS-Bench-201 CIFAR-10): the window of
    :class:`SoTLDARTS`, but the summed architecture gradient is that of the *validation* losses
    ``sum_k grad_alpha L_val(w_k, alpha)`` on the k-th validation minibatch, at the unrolled
    weights ``w_k`` before the k-th training step; the weights are still unrolled (and
    re-trained) on the training minibatches.

    Args:
        inner_steps, retrain, **kwargs: see :class:`SoTLDARTS`.

    Example:
        >>> import torch
        >>> from nasrank.oneshot import create_supernet_method
        >>> m = create_supernet_method("sovl-darts", "nb201", supernet_config={"C": 2, "N": 1},
        ...                            inner_steps=2)
        >>> b = (torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,)))
        >>> out = m.step(b, b)
        >>> sorted(out), m.window_size
        (['arch', 'archs', 'loss', 'val_loss'], 1)
    """

    name: ClassVar[str] = "sovl-darts"
    needs_validation: ClassVar[bool] = True

    def _window_grad(self, batch: Batch, val_batch: Batch | None) -> tuple[float, float | None]:
        assert val_batch is not None
        val_loss, grads = self._arch_grad(val_batch)
        self._accumulate(grads)
        loss, _ = self._sgd_step(batch)
        return loss, val_loss

    def step(self, batch: Batch, val_batch: Batch | None = None) -> dict[str, Any]:
        """One unrolled step: the validation gradient at the current weights on ``val_batch``,
        then an SGD step on ``batch``; every ``inner_steps``-th step updates ``alpha``.

        Returns:
            ``{"loss", "val_loss" (at the weights before the step), "arch": None, "archs": []}``.
        """
        return self._window_step(batch, self._need_val(val_batch))
