"""``jacob_cov``: correlation of the input Jacobians across the batch (NASWOT v1)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ...exceptions import ConfigError
from .._registries import PROXIES
from ._core import Proxy, ProxyContext

__all__ = ["JacobCov"]


@PROXIES.register("jacob_cov")
class JacobCov(Proxy):
    """-sum_i [log(v_i + k) + 1/(v_i + k)] over the eigenvalues v of the Jacobian correlation matrix.

    J holds, per sample, the gradient of the summed logits w.r.t. the input; the N x N matrix is
    ``corrcoef(J)`` and k = 1e-5 (Mellor et al., 2020, v1; as in ``foresight``). NaN when a row of
    J has zero variance (e.g. a network whose output ignores its input) or the solver fails.

    Args:
        solver: ``"eigh"`` (default) uses the symmetric eigen-solver; ``"eig"`` the general one
            that the reference code calls (real parts kept), for comparison.

    BatchNorm in train mode; published batch size 64 (128 in NASWOT v1); higher is better.

    Example:
        >>> import torch, nasrank
        >>> net = torch.nn.Sequential(torch.nn.Linear(3, 2))
        >>> _ = torch.nn.init.zeros_(net[0].weight)  # the output ignores the input: undefined
        >>> x, y = torch.randn(4, 3), torch.randint(0, 2, (4,))
        >>> import math; math.isnan(nasrank.compute_proxies(net, (x, y), ["jacob_cov"])["jacob_cov"])
        True
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 64
    needs = frozenset({"input_grad"})

    def __init__(self, solver: str = "eigh", k: float = 1e-5) -> None:
        if solver not in ("eigh", "eig"):
            raise ConfigError(f"`solver` must be 'eigh' or 'eig', got {solver!r}")
        self.solver = solver
        self.k = k

    def compute(self, ctx: ProxyContext) -> float:
        g = ctx.shared().input_grad
        assert g is not None
        jac = g.flatten(1).double().cpu().numpy()
        return jacobian_score(jac, self.k, self.solver)


def jacobian_score(jac: np.ndarray, k: float = 1e-5, solver: str = "eigh") -> float:
    """The jacob_cov score of a (N, D) Jacobian matrix (NaN when undefined).

    Example:
        >>> round(jacobian_score(np.eye(3)), 3)  # corrcoef of eye(3) has eigenvalues 1.5, 1.5, 0
        -99990.631
    """
    if jac.shape[0] < 2:
        return float("nan")
    with np.errstate(all="ignore"):
        corr = np.corrcoef(jac)
    if not np.all(np.isfinite(corr)):
        return float("nan")
    try:
        v = np.linalg.eigvalsh(corr) if solver == "eigh" else np.linalg.eig(corr)[0].real
    except np.linalg.LinAlgError:
        return float("nan")
    with np.errstate(all="ignore"):
        return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))
