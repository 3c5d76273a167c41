"""Operation scoring functions of differentiable NAS (seed 004 §3.1, Eqs. 1-7).

Each function scores every candidate op ``o`` on every undecided edge ``e`` of a (partially
discretised) supernet ``A_t`` and returns an :class:`OperationScores` (raw values plus the
direction that is better):

===============  ======================================================  ===================
name             value of (e, o)                                         better
===============  ======================================================  ===================
``darts``        architecture parameter ``alpha[e, o]``                  higher
``disc-acc``     accuracy of the supernet ``A_t + (e, o)``               higher
``darts-pt``     accuracy of the supernet ``A_t - (e, o)``               lower
``disc-zc``      proxy ``S(A_t + (e, o))``                               higher
``zc-pt``        proxy ``S(A_t - (e, o))``                               lower
``best-acc``     best ground-truth accuracy of the completions of        higher
                 ``A_t + (e, o)`` (oracle, NB201)
``avg-acc``      mean ground-truth accuracy of those completions         higher
===============  ======================================================  ===================

The accuracy-based scores use the supernet as given (seed 004 uses a trained DARTS supernet;
on an untrained one they measure chance-level accuracy). Decided edges get NaN rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._registry import Registry
from ..exceptions import ConfigError
from ._proxy import proxy_sign, supernet_score
from ._supernet import Supernet

__all__ = ["OP_SCORES", "OperationScores", "score_operations", "list_op_scores",
           "ground_truth_grid", "per_edge_spearman"]

OP_SCORES: Registry[Callable[..., OperationScores]] = Registry("operation scoring function")


@dataclass(frozen=True)
class OperationScores:
    """Scores of every (edge, op); NaN for decided or removed edges.

    Attributes:
        name: Scoring function.
        values: ``(edges, ops)`` raw values.
        higher_is_better: Whether a larger value means a better op.
    """

    name: str
    values: np.ndarray
    higher_is_better: bool

    def preference(self) -> np.ndarray:
        """Values oriented so that higher = better op.

        Example:
            >>> OperationScores("x", np.array([[1.0, 2.0]]), False).preference().tolist()
            [[-1.0, -2.0]]
        """
        return self.values if self.higher_is_better else -self.values

    def selected_ops(self) -> list[int | None]:
        """The best op of each edge chosen independently (None for edges without scores).

        Example:
            >>> OperationScores("x", np.array([[1.0, 2.0], [np.nan, np.nan]]), True).selected_ops()
            [1, None]
        """
        out: list[int | None] = []
        for row in self.preference():
            out.append(None if np.all(np.isnan(row)) else int(np.nanargmax(row)))
        return out


def _accuracy(supernet: Supernet, weights: np.ndarray, batches: Sequence[Any]) -> float:
    correct = total = 0
    with torch.no_grad():
        for x, y in batches:
            pred = supernet(x, weights).argmax(1)
            correct += int((pred == y).sum())
            total += int(y.numel())
    return correct / max(total, 1)


def _each(supernet: Supernet, fn: Callable[[int, int], float]) -> np.ndarray:
    out = np.full((supernet.num_edges, len(supernet.ops)), np.nan)
    for e in supernet.undecided():
        for o in range(len(supernet.ops)):
            out[e, o] = fn(e, o)
    return out


def _batches(batch: Any) -> list[Any]:
    if batch is None:
        raise ConfigError("this scoring function needs `batch` (a minibatch or a list of them)")
    if isinstance(batch, tuple) and len(batch) == 2 and isinstance(batch[0], torch.Tensor):
        return [batch]
    return list(batch)


@OP_SCORES.register("darts")
def _darts(supernet: Supernet, **_: Any) -> OperationScores:
    v = supernet.alpha.detach().double().cpu().numpy().copy()
    for e in range(supernet.num_edges):
        if e not in supernet.undecided():
            v[e] = np.nan
    return OperationScores("darts", v, True)


def _acc(supernet: Supernet, batch: Any, perturb: bool) -> np.ndarray:
    bs = _batches(batch)
    base = supernet.arch_weights()
    supernet.eval()
    weights = supernet.perturbed if perturb else supernet.discretized
    return _each(supernet, lambda e, o: _accuracy(supernet, weights(e, o, base), bs))


@OP_SCORES.register("disc-acc")
def _disc_acc(supernet: Supernet, batch: Any = None, **_: Any) -> OperationScores:
    return OperationScores("disc-acc", _acc(supernet, batch, False), True)


@OP_SCORES.register("darts-pt")
def _darts_pt(supernet: Supernet, batch: Any = None, **_: Any) -> OperationScores:
    return OperationScores("darts-pt", _acc(supernet, batch, True), False)


def _zc(supernet: Supernet, batch: Any, proxy: str, inactive_relus: str, perturb: bool,
        seed: int) -> np.ndarray:
    bs = _batches(batch)
    base = supernet.arch_weights()
    supernet.eval()

    def f(e: int, o: int) -> float:
        w = supernet.perturbed(e, o, base) if perturb else supernet.discretized(e, o, base)
        return float(sum(supernet_score(supernet, w, b, proxy, inactive_relus, seed) for b in bs))

    return _each(supernet, f)


@OP_SCORES.register("disc-zc")
def _disc_zc(supernet: Supernet, batch: Any = None, proxy: str = "nwot",
             inactive_relus: str = "skip", seed: int = 0, **_: Any) -> OperationScores:
    v = _zc(supernet, batch, proxy, inactive_relus, False, seed)
    return OperationScores("disc-zc", v, proxy_sign(proxy) > 0)


@OP_SCORES.register("zc-pt")
def _zc_pt(supernet: Supernet, batch: Any = None, proxy: str = "nwot",
           inactive_relus: str = "skip", seed: int = 0, **_: Any) -> OperationScores:
    v = _zc(supernet, batch, proxy, inactive_relus, True, seed)
    return OperationScores("zc-pt", v, proxy_sign(proxy) < 0)


def _oracle(supernet: Supernet, table: np.ndarray | None, reduce: Callable) -> np.ndarray:
    if table is None:
        raise ConfigError("oracle scores need `table`: ground-truth accuracies indexed by op "
                          "tuple, e.g. ground_truth_grid(NB201Benchmark(root))")
    grid = np.asarray(table, dtype=np.float64)
    if grid.shape != (len(supernet.ops),) * supernet.num_edges:
        raise ConfigError(f"`table` must have shape {(len(supernet.ops),) * supernet.num_edges}, "
                          f"got {grid.shape}")
    index: list[Any] = [slice(None)] * supernet.num_edges
    for e, o in supernet.decided_.items():
        index[e] = o
    out = np.full((supernet.num_edges, len(supernet.ops)), np.nan)
    for e in supernet.undecided():
        for o in range(len(supernet.ops)):
            idx = list(index)
            idx[e] = o
            out[e, o] = reduce(grid[tuple(idx)])
    return out


@OP_SCORES.register("best-acc")
def _best_acc(supernet: Supernet, table: np.ndarray | None = None, **_: Any) -> OperationScores:
    return OperationScores("best-acc", _oracle(supernet, table, np.nanmax), True)


@OP_SCORES.register("avg-acc")
def _avg_acc(supernet: Supernet, table: np.ndarray | None = None, **_: Any) -> OperationScores:
    return OperationScores("avg-acc", _oracle(supernet, table, np.nanmean), True)


def score_operations(name: str, supernet: Supernet, **kwargs: Any) -> OperationScores:
    """Score every (undecided edge, op) of ``supernet`` with the scoring function ``name``.

    Args:
        name: One of :func:`list_op_scores`.
        supernet: The supernet in its current projection state (not modified).
        **kwargs: ``batch`` (a minibatch or a list of them) for the data-based scores,
            ``proxy`` / ``inactive_relus`` / ``seed`` for ``disc-zc`` and ``zc-pt``, ``table``
            (see :func:`ground_truth_grid`) for the oracles.

    Example:
        >>> from nasrank.differentiable import NB201Supernet
        >>> net = NB201Supernet(C=2, N=1)
        >>> table = np.arange(5.0**6).reshape((5,) * 6)  # a fake ground truth
        >>> score_operations("best-acc", net, table=table).selected_ops()
        [4, 4, 4, 4, 4, 4]
    """
    return OP_SCORES.get(name)(supernet, **kwargs)


def list_op_scores() -> list[str]:
    """Names of the operation scoring functions.

    Example:
        >>> list_op_scores()
        ['avg-acc', 'best-acc', 'darts', 'darts-pt', 'disc-acc', 'disc-zc', 'zc-pt']
    """
    return OP_SCORES.list()


def ground_truth_grid(benchmark: Any, metric: str = "test_acc", dataset: str = "cifar10"
                      ) -> np.ndarray:
    """NB201 ground truth as a ``(5,) * 6`` array indexed by op tuple (edge order of the space).

    Args:
        benchmark: An :class:`~nasrank.benchmarks.NB201Benchmark`.
        metric: Benchmark metric.
        dataset: Benchmark dataset.
    """
    from ..spaces.nb201 import NB201Space

    archs = list(NB201Space().all_archs())  # lexicographic = C order of the grid
    values = np.asarray(benchmark.query_many(archs, metric, dataset), dtype=np.float64)
    return values.reshape((5,) * 6)


def per_edge_spearman(a: OperationScores, b: OperationScores) -> float:
    """Spearman rho between two scorings' preferences over the ops of each edge, averaged over
    edges (edges where either is constant or missing are left out; NaN if none remain).

    Example:
        >>> x = OperationScores("x", np.array([[1.0, 2.0, 3.0]]), True)
        >>> y = OperationScores("y", np.array([[3.0, 2.0, 1.0]]), False)
        >>> per_edge_spearman(x, y)
        1.0
    """
    from scipy.stats import spearmanr

    pa, pb = a.preference(), b.preference()
    rhos = []
    for ra, rb in zip(pa, pb, strict=True):
        ok = ~(np.isnan(ra) | np.isnan(rb))
        if ok.sum() < 2 or np.ptp(ra[ok]) == 0 or np.ptp(rb[ok]) == 0:
            continue
        rhos.append(float(spearmanr(ra[ok], rb[ok])[0]))
    return float(np.mean(rhos)) if rhos else float("nan")
