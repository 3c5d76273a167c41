"""``epe-nas``: EPE-NAS, per-class correlation of the input Jacobians (Lopes et al., ICANN 2021)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ...exceptions import ConfigError
from .._registries import PROXIES
from ._core import Proxy, ProxyContext

__all__ = ["EpeNas", "epe_nas_score"]


def epe_nas_score(jac: np.ndarray, labels: np.ndarray, n_classes: int | None = None,
                  k: float = 1e-5) -> float:
    """The EPE-NAS score of a (N, D) Jacobian matrix with one label per row (NaN when undefined).

    Per class c present in ``labels``: ``s_c = sum_ij log(|R_ij| + k)`` over the entries of the
    correlation matrix R of that class's Jacobian rows (a class with one sample has R = [[1]]);
    with more than 100 classes ``s_c`` is divided by the number of that class's samples. The
    score is ``sum_c |s_c|`` for at most 100 classes, and
    ``sum_c sum_c' |s_c - s_c'| / (number of classes present)`` above. A row with zero variance
    makes R, and so the score, NaN.

    Args:
        jac: Jacobian rows, one per sample.
        labels: Integer labels of the rows.
        n_classes: Number of classes that selects the branch; ``None``: the number of distinct
            labels present.
        k: Offset inside the logarithm.

    Example:
        >>> jac = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [0.0, 1.0, 0.0]])
        >>> # class 0: R = [[1, -1], [-1, 1]], every |R_ij| = 1; class 1: one sample
        >>> round(epe_nas_score(jac, np.array([0, 0, 1]), k=0.0), 6)
        0.0
    """
    labels = np.asarray(labels).reshape(-1)
    if jac.shape[0] != labels.shape[0] or jac.shape[0] < 1:
        raise ConfigError(f"one label per Jacobian row needed, got {jac.shape[0]} rows and {labels.shape[0]} labels")
    classes = np.unique(labels)
    big = (len(classes) if n_classes is None else n_classes) > 100
    per_class: list[float] = []
    with np.errstate(all="ignore"):
        for c in classes:
            rows = jac[labels == c]
            corr = np.corrcoef(rows) if rows.shape[0] > 1 else np.ones((1, 1))
            s = float(np.sum(np.log(np.abs(corr) + k)))
            if big:
                s /= rows.shape[0]
            per_class.append(s)
        v = np.asarray(per_class)
        if big:
            return float(np.abs(v[:, None] - v[None, :]).sum() / len(v))
        return float(np.abs(v).sum())


@PROXIES.register("epe-nas")
class EpeNas(Proxy):
    """sum over classes of |sum log(|corr| + 1e-5)| of the per-class input-Jacobian correlations.

    J holds, per sample, the gradient of the summed logits w.r.t. the input (the shared pass of
    ``jacob_cov``, BatchNorm in train mode); the samples are grouped by their label and
    :func:`epe_nas_score` is applied (the authors' ``eval_score_perclass``, VascoLopes/EPE-NAS
    ``search.py``): per class the sum of ``log(|R_ij| + 1e-5)`` over its correlation matrix,
    absolute values summed over classes (above 100 classes: per-class sums divided by the class
    size, then the mean pairwise absolute difference). NaN when a Jacobian row has zero variance
    (e.g. a network whose output ignores its input), as the reference's ``np.corrcoef`` gives.

    Args:
        n_classes: Number of classes selecting the branch; ``None`` (default) counts the
            distinct labels in the batch (as NASLib's port does; the authors' script passes the
            dataset's class count, which selects the same branch for CIFAR-10/100 batches of 256).

    Published batch size 256; higher is better.

    Example:
        >>> import torch, nasrank
        >>> _ = torch.manual_seed(0)
        >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
        >>> x, y = torch.randn(6, 3), torch.tensor([0, 0, 0, 1, 1, 1])
        >>> nasrank.compute_proxies(net, (x, y), ["epe-nas"])["epe-nas"] >= 0
        True
    """

    higher_is_better: ClassVar[bool] = True
    bn_mode: ClassVar[str] = "train"
    batch_size: ClassVar[int | None] = 256
    needs = frozenset({"input_grad"})

    def __init__(self, n_classes: int | None = None) -> None:
        if n_classes is not None and (not isinstance(n_classes, int) or isinstance(n_classes, bool)
                                      or n_classes < 1):
            raise ConfigError(f"`n_classes` must be None or an int >= 1, got {n_classes!r}")
        self.n_classes = n_classes

    def compute(self, ctx: ProxyContext) -> float:
        g = ctx.shared().input_grad
        assert g is not None
        jac = g.flatten(1).double().cpu().numpy()
        labels = ctx.targets.detach().cpu().numpy()
        if labels.ndim != 1:
            raise ConfigError("epe-nas needs integer class labels (one per sample) as targets")
        return epe_nas_score(jac, labels, self.n_classes)
