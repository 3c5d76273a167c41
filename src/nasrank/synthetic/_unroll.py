"""Unrolled differentiation through SGD: exact SoTL hypergradients (seed 002 §3.3.2, Eq. 3.20).

The weights are trained for ``T`` SGD steps with the graph kept (``create_graph=True``), so the sum
of the ``T`` training losses (SoTL) can be differentiated exactly with respect to an architecture or
hyperparameter tensor ``alpha`` -- through the direct terms and through every earlier weight update.
The validation baseline (DARTS' second-order step, seed 002 Algorithm 1) differentiates the loss of
one validation batch after one unrolled training step instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

__all__ = ["sotl_hypergradient", "unroll"]

#: ``loss(weights, batch) -> scalar tensor``; it closes over the architecture tensor.
StepLoss = Callable[[list[torch.Tensor], Any], torch.Tensor]


def unroll(loss: StepLoss, weights: Sequence[torch.Tensor], batches: Sequence[Any],
           lr: float | torch.Tensor, *, create_graph: bool = True) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """``len(batches)`` SGD steps from ``weights``; returns the per-step losses and the final weights.

    Each loss is taken before its step (the training loss of SoTL). With ``create_graph`` the
    losses and weights stay differentiable with respect to everything ``loss`` and ``lr`` depend on.

    Example:
        >>> a = torch.tensor(2.0, requires_grad=True)
        >>> losses, w = unroll(lambda w, b: ((a * w[0] - b) ** 2).mean(), [torch.zeros(1)], [1.0, 1.0], 0.1)
        >>> [round(float(v.detach()), 4) for v in losses]
        [1.0, 0.04]
    """
    ws = [w.detach().clone().requires_grad_(True) for w in weights]
    out: list[torch.Tensor] = []
    for batch in batches:
        value = loss(ws, batch)
        grads = torch.autograd.grad(value, ws, create_graph=create_graph)
        ws = [w - lr * g for w, g in zip(ws, grads, strict=True)]
        if not create_graph:
            ws = [w.detach().requires_grad_(True) for w in ws]
            value = value.detach()
        out.append(value)
    return out, ws


def sotl_hypergradient(loss: StepLoss, weights: Sequence[torch.Tensor], batches: Sequence[Any],
                       lr: float | torch.Tensor, alpha: torch.Tensor) -> tuple[float, torch.Tensor]:
    """Exact ``d SoTL / d alpha`` over ``len(batches)`` unrolled SGD steps (seed 002 Eq. 3.20).

    Args:
        loss: ``loss(weights, batch)``, the training loss; it may use ``alpha``.
        weights: Initial weights (not modified).
        batches: One minibatch per step (``T = len(batches)``).
        lr: Weight learning rate (a tensor may be ``alpha`` itself: learning-rate hypergradients).
        alpha: The leaf tensor (``requires_grad=True``) to differentiate with respect to.

    Returns:
        ``(SoTL, gradient)`` with the gradient shaped like ``alpha``.

    Example:
        >>> a = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
        >>> sotl, g = sotl_hypergradient(lambda w, b: (a * w[0] - b) ** 2, [torch.zeros((), dtype=torch.float64)],
        ...                              [1.0, 1.0], 0.1, a)
        >>> round(sotl, 4), round(float(g), 4)  # SoTL(a) = 1 + (1 - 0.2 a^2)^2
        (1.64, -0.64)
    """
    losses, _ = unroll(loss, weights, batches, lr)
    total = torch.stack(losses).sum()
    return float(total.detach()), _grad(total, alpha)


def _grad(obj: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``d obj / d alpha``; zero where ``obj`` does not depend on ``alpha`` (e.g. SoTL over one step
    when ``alpha`` is the learning rate)."""
    (grad,) = torch.autograd.grad(obj, alpha, allow_unused=True)
    return torch.zeros_like(alpha) if grad is None else grad


def hyper_step(loss: StepLoss, weights: list[torch.Tensor], batches: Sequence[Any], lr: float | torch.Tensor,
               alpha: torch.Tensor, *, objective: str = "sotl", val_loss: StepLoss | None = None,
               val_batch: Any = None, penalty: Callable[[torch.Tensor], torch.Tensor] | None = None,
               ) -> tuple[torch.Tensor, float]:
    """The architecture gradient of one outer iteration: SoTL over ``batches`` or the one-step
    validation loss (``objective="val"``: one unrolled step on ``batches[0]``, loss on ``val_batch``),
    plus ``penalty(alpha)``. Returns ``(gradient, objective value)``."""
    if objective == "sotl":
        losses, _ = unroll(loss, weights, batches, lr)
        obj = torch.stack(losses).sum()
    else:
        assert val_loss is not None
        _, ws = unroll(loss, weights, batches[:1], lr)
        obj = val_loss(ws, val_batch)
    value = float(obj.detach())
    if penalty is not None:
        obj = obj + penalty(alpha)
    return _grad(obj, alpha), value


def sgd_steps(loss: StepLoss, weights: list[torch.Tensor], batches: Sequence[Any],
              lr: float | torch.Tensor) -> tuple[list[torch.Tensor], list[float]]:
    """Plain SGD (no graph kept) over ``batches``; returns the new weights and the step losses."""
    lr_value = float(lr.detach()) if isinstance(lr, torch.Tensor) else lr
    ws = [w.detach() for w in weights]
    vals: list[float] = []
    for batch in batches:
        ws = [w.requires_grad_(True) for w in ws]
        value = loss(ws, batch)
        grads = torch.autograd.grad(value, ws)
        ws = [(w - lr_value * g).detach() for w, g in zip(ws, grads, strict=True)]
        vals.append(float(value.detach()))
    return ws, vals
