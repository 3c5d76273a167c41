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

Every function works on a :class:`~nasrank.oneshot.Supernet` and the
:class:`~nasrank.nn.SoftmaxAlpha` parameterisation that holds ``A_t`` (default: the supernet's
own, ``supernet.arch_param``). :func:`perturbation_values` is the one implementation of the
perturbation / discretisation scores; Zero-Cost-PT's proposal stage uses it too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .._registry import Registry
from ..exceptions import ConfigError
from ..nn.supernet import SoftmaxAlpha
from ._protocols import Supernet
from ._proxy import check_relu_hooks, proxy_sign, supernet_score

__all__ = ["OP_SCORES", "OperationScores", "score_operations", "list_op_scores",
           "ground_truth_grid", "per_edge_spearman", "perturbation_values"]

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


def perturbation_values(
    param: SoftmaxAlpha,
    edges: Sequence[int],
    score: Callable[[np.ndarray], float],
    perturb: bool = True,
    none: int | None = None,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Raw scores of modifying the current state ``A`` of ``param`` on each ``(edge, op)``.

    ``values[i, o] = score(A - (edges[i], o))`` (``perturb``) or ``score(A + (edges[i], o))``
    (discretise). Removing the column ``none`` (an operation that is never executed) leaves the
    supernet unchanged, so ``score(A - (e, none)) = score(A)`` is computed once and reused.

    Args:
        param: The softmax parameterisation holding ``A`` (not modified).
        edges: The edges to modify.
        score: ``score(weights) -> S`` of the supernet under a weight matrix.
        perturb: Remove the op (``True``) or keep only it (``False``).
        none: Column of ``none`` among the candidates, if any.
        mask: Optional boolean ``(edges of the supernet, ops)`` matrix of the real candidates
            (:meth:`~nasrank.nn.SupernetBase.candidate_mask`); other entries are not scored
            and stay NaN.

    Example:
        >>> import torch
        >>> p = SoftmaxAlpha(torch.nn.Parameter(torch.zeros(2, 3)))
        >>> perturbation_values(p, [1], lambda w: float(w[:, 2].sum())).round(3).tolist()
        [[0.667, 0.667, 0.333]]
    """
    base = param.weights()
    out = np.full((len(edges), param.num_ops), np.nan)
    unchanged: float | None = None
    for i, e in enumerate(edges):
        for o in range(param.num_ops):
            if mask is not None and not mask[e, o]:
                continue
            if perturb and o == none:
                if unchanged is None:
                    unchanged = score(base)
                out[i, o] = unchanged
            else:
                w = param.perturbed(e, o, base) if perturb else param.discretized(e, o, base)
                out[i, o] = score(w)
    return out


def _accuracy(supernet: Supernet, weights: np.ndarray, batches: Sequence[Any]) -> float:
    correct = total = 0
    with torch.no_grad():
        for x, y in batches:
            pred = supernet(x, weights).argmax(1)
            correct += int((pred == y).sum())
            total += int(y.numel())
    return correct / max(total, 1)


def _grid(param: SoftmaxAlpha, values: np.ndarray | None = None) -> np.ndarray:
    """``(edges, ops)`` NaN matrix with ``values`` on the rows of the undecided edges."""
    out = np.full((param.num_edges, param.num_ops), np.nan)
    if values is not None:
        out[param.undecided()] = values
    return out


def _batches(batch: Any) -> list[Any]:
    if batch is None:
        raise ConfigError("this scoring function needs `batch` (a minibatch or a list of them)")
    if isinstance(batch, tuple) and len(batch) == 2 and isinstance(batch[0], torch.Tensor):
        return [batch]
    return list(batch)


def _param(supernet: Supernet, param: SoftmaxAlpha | None) -> SoftmaxAlpha:
    p = param if param is not None else getattr(supernet, "arch_param", None)
    if p is None:
        raise ConfigError("operation scores need the softmax parameterisation: pass `param=` "
                          "(a nasrank.nn.SoftmaxAlpha) or a supernet with `arch_param`")
    return p


def _none(supernet: Supernet) -> int | None:
    return supernet.ops.index("none") if "none" in supernet.ops else None


@OP_SCORES.register("darts")
def _darts(supernet: Supernet, param: SoftmaxAlpha | None = None, **_: Any) -> OperationScores:
    p = _param(supernet, param)
    v = p.alpha.detach().double().cpu().numpy().copy()
    for e in range(p.num_edges):
        if e not in p.undecided():
            v[e] = np.nan
    return OperationScores("darts", v, True)


def _acc(supernet: Supernet, param: SoftmaxAlpha | None, batch: Any, perturb: bool) -> np.ndarray:
    bs = _batches(batch)
    p = _param(supernet, param)
    supernet.eval()
    return _grid(p, perturbation_values(p, p.undecided(),
                                        lambda w: _accuracy(supernet, w, bs), perturb,
                                        mask=_mask(supernet)))


@OP_SCORES.register("disc-acc")
def _disc_acc(supernet: Supernet, batch: Any = None, param: SoftmaxAlpha | None = None,
              **_: Any) -> OperationScores:
    return OperationScores("disc-acc", _acc(supernet, param, batch, False), True)


@OP_SCORES.register("darts-pt")
def _darts_pt(supernet: Supernet, batch: Any = None, param: SoftmaxAlpha | None = None,
              **_: Any) -> OperationScores:
    return OperationScores("darts-pt", _acc(supernet, param, batch, True), False)


def _zc(supernet: Supernet, param: SoftmaxAlpha | None, batch: Any, proxy: str,
        inactive_relus: str, perturb: bool, seed: int, relu_hooks: str) -> np.ndarray:
    bs = _batches(batch)
    p = _param(supernet, param)
    check_relu_hooks(relu_hooks, proxy, supernet)
    supernet.eval()

    def score(w: np.ndarray) -> float:
        return float(sum(supernet_score(supernet, w, b, proxy, inactive_relus, seed, relu_hooks)
                         for b in bs))

    return _grid(p, perturbation_values(p, p.undecided(), score, perturb, _none(supernet),
                                        _mask(supernet)))


def _mask(supernet: Supernet) -> np.ndarray | None:
    """The supernet's candidate entries (:meth:`~nasrank.nn.SupernetBase.candidate_mask`)."""
    mask_of = getattr(supernet, "candidate_mask", None)
    return None if mask_of is None else np.asarray(mask_of(), dtype=bool)


@OP_SCORES.register("disc-zc")
def _disc_zc(supernet: Supernet, batch: Any = None, proxy: str = "nwot",
             inactive_relus: str = "skip", seed: int = 0, param: SoftmaxAlpha | None = None,
             relu_hooks: str = "relu", **_: Any) -> OperationScores:
    v = _zc(supernet, param, batch, proxy, inactive_relus, False, seed, relu_hooks)
    return OperationScores("disc-zc", v, proxy_sign(proxy) > 0)


@OP_SCORES.register("zc-pt")
def _zc_pt(supernet: Supernet, batch: Any = None, proxy: str = "nwot",
           inactive_relus: str = "skip", seed: int = 0, param: SoftmaxAlpha | None = None,
           relu_hooks: str = "relu", **_: Any) -> OperationScores:
    v = _zc(supernet, param, batch, proxy, inactive_relus, True, seed, relu_hooks)
    return OperationScores("zc-pt", v, proxy_sign(proxy) < 0)


def _oracle(supernet: Supernet, param: SoftmaxAlpha | None, table: np.ndarray | None,
            reduce: Callable) -> np.ndarray:
    if table is None:
        raise ConfigError("oracle scores need `table`: ground-truth accuracies indexed by op "
                          "tuple, e.g. ground_truth_grid(NB201Benchmark(root))")
    p = _param(supernet, param)
    grid = np.asarray(table, dtype=np.float64)
    if grid.shape != (p.num_ops,) * p.num_edges:
        raise ConfigError(f"`table` must have shape {(p.num_ops,) * p.num_edges}, "
                          f"got {grid.shape}")
    index: list[Any] = [slice(None)] * p.num_edges
    for e, o in p.decided_.items():
        index[e] = o
    out = np.full((p.num_edges, p.num_ops), np.nan)
    for e in p.undecided():
        for o in range(p.num_ops):
            idx = list(index)
            idx[e] = o
            out[e, o] = reduce(grid[tuple(idx)])
    return out


@OP_SCORES.register("best-acc")
def _best_acc(supernet: Supernet, table: np.ndarray | None = None,
              param: SoftmaxAlpha | None = None, **_: Any) -> OperationScores:
    return OperationScores("best-acc", _oracle(supernet, param, table, np.nanmax), True)


@OP_SCORES.register("avg-acc")
def _avg_acc(supernet: Supernet, table: np.ndarray | None = None,
             param: SoftmaxAlpha | None = None, **_: Any) -> OperationScores:
    return OperationScores("avg-acc", _oracle(supernet, param, table, np.nanmean), True)


def score_operations(name: str, supernet: Supernet, **kwargs: Any) -> OperationScores:
    """Score every (undecided edge, op) of ``supernet`` with the scoring function ``name``.

    Args:
        name: One of :func:`list_op_scores`.
        supernet: A :class:`~nasrank.oneshot.Supernet`.
        **kwargs: ``param`` (the :class:`~nasrank.nn.SoftmaxAlpha` holding the projection
            state ``A_t``, not modified; default ``supernet.arch_param``), ``batch`` (a
            minibatch or a list of them) for the data-based scores, ``proxy`` /
            ``inactive_relus`` / ``seed`` / ``relu_hooks`` (see
            :func:`~nasrank.oneshot.supernet_score`) for ``disc-zc`` and ``zc-pt``, ``table``
            (see :func:`ground_truth_grid`) for the oracles.

    Example:
        >>> import nasrank
        >>> net = nasrank.create_space("nb201").supernet(C=2, N=1)
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


def ground_truth_grid(benchmark: Any, metric: str | Sequence[str] = "test_acc",
                      dataset: str = "cifar10") -> np.ndarray:
    """A benchmark's ground truth as an array indexed by architecture (one axis per position,
    of ``len(space.choices()[i])`` entries; NaN where the benchmark has no value).

    For NAS-Bench-201 this is the ``(5,) * 6`` grid the oracle scores read.

    Several metrics are combined by their elementwise maximum (NaN where all are NaN). With the
    per-seed accuracies (NB201: ``test_acc_seed0`` .. ``test_acc_seed2``) ``best-acc`` on that
    grid is the maximum over completions *and* seeds: the oracle of Zero-Cost-PT's Fig. 2
    (seed 004), whereas ``test_acc`` (mean over seeds) gives the maximum of the seed means.

    Args:
        benchmark: A benchmark of a finite space, e.g. :class:`~nasrank.benchmarks.NB201Benchmark`.
        metric: Benchmark metric, or several (their elementwise maximum).
        dataset: Benchmark dataset.

    Example:
        >>> class Toy:  # a stand-in benchmark: score = sum of op indices
        ...     space = __import__("nasrank").create_space("nb201")
        ...     def query_many(self, archs, metric, dataset):
        ...         return [sum(a) for a in archs]
        >>> g = ground_truth_grid(Toy())
        >>> g.shape, float(g[1, 2, 0, 0, 0, 4])
        ((5, 5, 5, 5, 5, 5), 7.0)
    """
    space = benchmark.space
    choices = [tuple(c) for c in space.choices()]
    archs = list(space.all_archs())
    metrics = [metric] if isinstance(metric, str) else list(metric)
    if not metrics:
        raise ConfigError("ground_truth_grid needs at least one metric")
    values = np.fmax.reduce([np.asarray(benchmark.query_many(archs, m, dataset), dtype=np.float64)
                             for m in metrics])
    grid = np.full(tuple(len(c) for c in choices), np.nan)
    index = [{v: i for i, v in enumerate(c)} for c in choices]
    for a, v in zip(archs, values, strict=True):
        grid[tuple(ix[x] for ix, x in zip(index, a, strict=True))] = v
    return grid


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
