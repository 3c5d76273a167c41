"""The weight algebra of supernets (generic; each space defines its own supernet network).

A supernet superposes every architecture of a cell-based space: each of its ``num_edges`` edges
computes ``sum_o w[e, o] * op_o(x)`` over the candidate operations ``ops`` (the columns of the
``(num_edges, len(ops))`` weight matrix ``w``). One matrix expresses every way to run it:

* a **single path** (one architecture): one-hot rows on the edges the architecture uses, zero rows
  elsewhere (:meth:`SupernetBase.path_weights`);
* a **multi-hot set of paths**: the union of several paths' rows (:meth:`SupernetBase.paths_weights`);
* a **weighted mixture**: any real weights, e.g. ``softmax(alpha)`` per edge.

Operations with weight 0 are not executed.

:class:`SoftmaxAlpha` is the softmax-over-``alpha`` architecture parameterisation with the
projection state of perturbation-based selection (Zero-Cost-PT, DARTS-PT):

* **discretise** ``A + (e, o)``: edge ``e`` keeps only ``o`` (:meth:`SoftmaxAlpha.discretized`
  returns the weights, :meth:`SoftmaxAlpha.decide` makes it permanent);
* **perturb** ``A - (e, o)``: ``o`` is removed from edge ``e`` — its weight becomes 0, the other
  weights are not renormalised (:meth:`SoftmaxAlpha.perturbed`).

:class:`SupernetBase` is the base class of the spaces' supernets: it owns the ``alpha`` parameter
(a state-dict entry of the supernet) and a :class:`SoftmaxAlpha` over it (``arch_param``), and
keeps the projection methods of that parameterisation available on the supernet itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .._rng import as_generator
from ..exceptions import ConfigError

__all__ = ["SoftmaxAlpha", "SupernetBase", "weight_rows", "PARAM_FREE_OPS"]

#: Candidate operations without learnable weights (a differentiable search that "collapses"
#: chooses many of them; seed 002 Fig. 4.15).
PARAM_FREE_OPS = frozenset({"none", "skip_connect", "avg_pool_3x3", "max_pool_3x3", "maxpool3x3", "noise"})


def weight_rows(weights: Any, shape: tuple[int, int]) -> tuple[list[list[float]], Any]:
    """``(python float rows, coefficients)`` of a weight matrix of ``shape``.

    The float rows decide which operations run (a 0 skips the operation without a device
    synchronisation); the coefficients multiply their outputs: the same rows, or the tensor
    itself when it requires a gradient (so that the architecture weights get one).

    Example:
        >>> rows, coef = weight_rows([[0.5, 0.5]], (1, 2))
        >>> rows, coef is rows
        ([[0.5, 0.5]], True)
    """
    if isinstance(weights, torch.Tensor):
        if tuple(weights.shape) != shape:
            raise ConfigError(f"weights must have shape {shape}, got {tuple(weights.shape)}")
        rows = weights.detach().double().cpu().tolist()
        return rows, (weights if weights.requires_grad else rows)
    arr = np.asarray(weights, dtype=np.float64)
    if arr.shape != shape:
        raise ConfigError(f"weights must have shape {shape}, got {arr.shape}")
    rows = arr.tolist()
    return rows, rows


class SoftmaxAlpha:
    """Architecture weights ``softmax(alpha)`` per edge, with a projection state.

    Edges decided so far (:meth:`decide`) have one-hot rows, edges removed by topology selection
    (:meth:`remove_edge`) have zero rows. This is the parameterisation of DARTS and of
    Zero-Cost-PT's perturbation stage (seed 004 §3.1).

    Args:
        alpha: The ``(num_edges, num_ops)`` architecture parameters (used in place, not copied).

    Attributes:
        decided_: ``{edge: op column}`` of the discretised edges.
        removed_edges_: Edges removed by topology selection (their weights are all 0).

    Example:
        >>> p = SoftmaxAlpha(torch.nn.Parameter(torch.zeros(2, 4)))
        >>> p.weights()[0].tolist()
        [0.25, 0.25, 0.25, 0.25]
        >>> p.decide(1, 2)
        >>> p.weights()[1].tolist(), p.undecided()
        ([0.0, 0.0, 1.0, 0.0], [0])
    """

    def __init__(self, alpha: torch.Tensor) -> None:
        if alpha.dim() != 2:
            raise ConfigError(f"alpha must be a (num_edges, num_ops) matrix, got shape {tuple(alpha.shape)}")
        self.alpha = alpha
        self.decided_: dict[int, int] = {}
        self.removed_edges_: set[int] = set()

    @property
    def num_edges(self) -> int:
        """Rows of the weight matrix."""
        return int(self.alpha.shape[0])

    @property
    def num_ops(self) -> int:
        """Columns of the weight matrix."""
        return int(self.alpha.shape[1])

    def parameters(self) -> list[torch.Tensor]:
        """The learnable architecture parameters (``[alpha]``)."""
        return [self.alpha]

    # --- state --------------------------------------------------------------------------------
    def reset(self, rng: int | np.random.Generator | None = None) -> None:
        """New ``alpha ~ 1e-3 N(0, 1)`` and no decided or removed edges (a fresh proposal).

        Example:
            >>> p = SoftmaxAlpha(torch.nn.Parameter(torch.zeros(2, 3)))
            >>> p.decide(0, 1); p.reset(0)
            >>> p.undecided(), bool(p.alpha.abs().max() < 0.01)
            ([0, 1], True)
        """
        gen = as_generator(rng)
        a = 1e-3 * gen.standard_normal((self.num_edges, self.num_ops))
        with torch.no_grad():
            self.alpha.copy_(torch.as_tensor(a, dtype=self.alpha.dtype))
        self.decided_ = {}
        self.removed_edges_ = set()

    def state_dict(self) -> dict[str, Any]:
        """``alpha`` and the projection state (plain data and a tensor).

        Example:
            >>> p = SoftmaxAlpha(torch.nn.Parameter(torch.zeros(2, 3)))
            >>> p.decide(1, 0)
            >>> sorted(p.state_dict())
            ['alpha', 'decided', 'removed']
        """
        return {"alpha": self.alpha.detach().clone(), "decided": dict(self.decided_),
                "removed": sorted(self.removed_edges_)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`.

        Example:
            >>> p = SoftmaxAlpha(torch.nn.Parameter(torch.zeros(2, 3)))
            >>> q = SoftmaxAlpha(torch.nn.Parameter(torch.ones(2, 3)))
            >>> p.decide(1, 0); q.load_state_dict(p.state_dict())
            >>> q.decided_, float(q.alpha.detach().sum())
            ({1: 0}, 0.0)
        """
        with torch.no_grad():
            self.alpha.copy_(torch.as_tensor(state["alpha"], dtype=self.alpha.dtype))
        self.decided_ = {int(e): int(o) for e, o in dict(state["decided"]).items()}
        self.removed_edges_ = {int(e) for e in state["removed"]}

    # --- weights ------------------------------------------------------------------------------
    def weights(self) -> np.ndarray:
        """Current weights: ``softmax(alpha)`` rows, decided edges one-hot, removed edges 0
        (float64 numpy, no gradient).

        Example:
            >>> p = SoftmaxAlpha(torch.nn.Parameter(torch.zeros(3, 2)))
            >>> p.remove_edge(0)
            >>> p.weights().tolist()
            [[0.0, 0.0], [0.5, 0.5], [0.5, 0.5]]
        """
        a = self.alpha.detach().double().cpu().numpy()
        w = np.exp(a - a.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        for e, o in self.decided_.items():
            w[e] = 0.0
            w[e, o] = 1.0
        for e in self.removed_edges_:
            w[e] = 0.0
        return w

    def weights_tensor(self) -> torch.Tensor:
        """The weights of :meth:`weights` as a tensor differentiable in ``alpha``.

        Example:
            >>> p = SoftmaxAlpha(torch.nn.Parameter(torch.zeros(1, 2)))
            >>> p.weights_tensor().requires_grad
            True
        """
        w = torch.softmax(self.alpha, dim=-1)
        if self.decided_ or self.removed_edges_:
            keep = torch.ones_like(w)
            fixed = torch.zeros_like(w)
            for e, o in self.decided_.items():
                keep[e] = 0.0
                fixed[e, o] = 1.0
            for e in self.removed_edges_:
                keep[e] = 0.0
                fixed[e] = 0.0
            w = w * keep + fixed
        return w

    def draw(self, rng: np.random.Generator | None = None) -> list[torch.Tensor]:
        """The weight matrices of one training step: ``[softmax(alpha)]`` (deterministic).

        Example:
            >>> p = SoftmaxAlpha(torch.nn.Parameter(torch.zeros(1, 2)))
            >>> [w.shape for w in p.draw()]
            [torch.Size([1, 2])]
        """
        return [self.weights_tensor()]

    # --- projection ---------------------------------------------------------------------------
    def check_edge_op(self, e: int, o: int | None = None) -> None:
        """Raise ``ConfigError`` unless ``e`` is an edge (and ``o`` a column) of the matrix.

        Example:
            >>> SoftmaxAlpha(torch.nn.Parameter(torch.zeros(2, 3))).check_edge_op(2)
            Traceback (most recent call last):
            ...
            nasrank.exceptions.ConfigError: edge must be in 0..1, got 2
        """
        if not 0 <= e < self.num_edges:
            raise ConfigError(f"edge must be in 0..{self.num_edges - 1}, got {e}")
        if o is not None and not 0 <= o < self.num_ops:
            raise ConfigError(f"op must be in 0..{self.num_ops - 1}, got {o}")

    def undecided(self, group: Sequence[int] | None = None) -> list[int]:
        """Edges (of ``group``, default all) not discretised and not removed, in order.

        Example:
            >>> p = SoftmaxAlpha(torch.nn.Parameter(torch.zeros(3, 2)))
            >>> p.decide(0, 1); p.undecided([0, 2])
            [2]
        """
        edges = range(self.num_edges) if group is None else group
        return [e for e in edges if e not in self.decided_ and e not in self.removed_edges_]

    def decide(self, e: int, o: int) -> None:
        """``A <- A + (e, o)``: edge ``e`` keeps only candidate ``o`` from now on.

        Example:
            >>> p = SoftmaxAlpha(torch.nn.Parameter(torch.zeros(2, 2)))
            >>> p.decide(0, 1); p.decided_
            {0: 1}
        """
        self.check_edge_op(e, o)
        if e in self.removed_edges_:
            raise ConfigError(f"edge {e} was removed by topology selection")
        self.decided_[e] = int(o)

    def remove_edge(self, e: int) -> None:
        """Remove edge ``e`` entirely (topology selection).

        Example:
            >>> p = SoftmaxAlpha(torch.nn.Parameter(torch.zeros(2, 2)))
            >>> p.remove_edge(1); p.undecided()
            [0]
        """
        self.check_edge_op(e)
        self.removed_edges_.add(int(e))

    def perturbed(self, e: int, o: int, weights: np.ndarray | None = None) -> np.ndarray:
        """Weights of ``A - (e, o)``: candidate ``o`` of edge ``e`` removed (no renormalisation).

        Example:
            >>> p = SoftmaxAlpha(torch.nn.Parameter(torch.zeros(1, 2)))
            >>> p.perturbed(0, 0).tolist()
            [[0.0, 0.5]]
        """
        self.check_edge_op(e, o)
        w = (self.weights() if weights is None else weights).copy()
        w[e, o] = 0.0
        return w

    def discretized(self, e: int, o: int, weights: np.ndarray | None = None) -> np.ndarray:
        """Weights of ``A + (e, o)``: edge ``e`` reduced to candidate ``o``.

        Example:
            >>> p = SoftmaxAlpha(torch.nn.Parameter(torch.zeros(1, 2)))
            >>> p.discretized(0, 0).tolist()
            [[1.0, 0.0]]
        """
        self.check_edge_op(e, o)
        w = (self.weights() if weights is None else weights).copy()
        w[e] = 0.0
        w[e, o] = 1.0
        return w

    def without_edge(self, e: int, weights: np.ndarray | None = None) -> np.ndarray:
        """Weights with every candidate of edge ``e`` removed.

        Example:
            >>> p = SoftmaxAlpha(torch.nn.Parameter(torch.zeros(2, 2)))
            >>> p.without_edge(0).tolist()
            [[0.0, 0.0], [0.5, 0.5]]
        """
        self.check_edge_op(e)
        w = (self.weights() if weights is None else weights).copy()
        w[e] = 0.0
        return w

    def __repr__(self) -> str:
        return (f"SoftmaxAlpha(edges={self.num_edges}, ops={self.num_ops}, "
                f"decided={len(self.decided_)}, removed={len(self.removed_edges_)})")


class SupernetBase(nn.Module, ABC):
    """Base class of the spaces' supernets: the weight-matrix forward and its architecture
    parameters.

    A subclass builds its network, sets :attr:`ops` (the candidate operation names, i.e. the
    columns of the weight matrix) and :attr:`edge_groups` (edges decided together, e.g. the
    normal and the reduction cell of DARTS), calls :meth:`_init_arch` last (so the ``alpha``
    draw follows every module's initialisation), and implements ``forward(x, weights)``,
    :meth:`path_weights` (architecture -> one-hot matrix) and :meth:`arch_from_decisions`
    (decided columns -> architecture).

    The projection methods (:meth:`arch_weights`, :meth:`discretize`, :meth:`perturbed`, ...)
    act on :attr:`arch_param`, the :class:`SoftmaxAlpha` over :attr:`alpha`.

    Attributes:
        alpha: Architecture parameters, shape ``(num_edges, num_ops)``.
        arch_param: The softmax parameterisation over ``alpha`` (holds the projection state).
        inactive_relu_units_: Set by each forward: ReLU units of convolution candidates that
            were skipped because their weight is 0 (used to emulate released code that ran them).

    Example:
        >>> class Toy(SupernetBase):  # one edge, candidates "keep" and "double"
        ...     ops = ("keep", "double")
        ...     def __init__(self):
        ...         super().__init__()
        ...         self._init_arch(1)
        ...     def forward(self, x, weights=None):
        ...         (row,), _ = self._rows(weights)
        ...         return row[0] * x + row[1] * 2 * x
        ...     def path_weights(self, arch):
        ...         return np.eye(2)[list(arch)]
        ...     def arch_from_decisions(self, decided, removed=()):
        ...         return (decided[0],)
        >>> net = Toy()
        >>> net(torch.ones(1), net.path_weights((1,)))  # a single path
        tensor([2.])
        >>> net(torch.ones(1), net.paths_weights([(0,), (1,)]))  # both paths (multi-hot)
        tensor([3.])
        >>> net.discretize(0, 1)
        >>> net.arch_weights().tolist(), net.genotype()
        ([[0.0, 1.0]], (1,))
    """

    ops: tuple[str, ...] = ()
    edge_groups: tuple[tuple[int, ...], ...] = ()
    space_name: str = ""

    def _init_arch(self, num_edges: int) -> None:
        self.num_edges = num_edges
        self.alpha = nn.Parameter(1e-3 * torch.randn(num_edges, len(self.ops)))
        self.arch_param = SoftmaxAlpha(self.alpha)  # a plain object: not a second state-dict entry
        self.inactive_relu_units_ = 0

    # --- the space's part ---------------------------------------------------------------------
    @abstractmethod
    def forward(self, x: torch.Tensor, weights: Any = None) -> torch.Tensor:
        """Logits under ``weights`` (default :meth:`arch_weights`)."""

    @abstractmethod
    def path_weights(self, arch: Sequence[int]) -> np.ndarray:
        """The one-hot weight matrix of an architecture of the space (its single path)."""

    @abstractmethod
    def arch_from_decisions(self, decided: Mapping[int, int], removed: Collection[int] = ()
                            ) -> tuple[int, ...]:
        """The architecture of a fully decided matrix (``{edge: column}``, removed edges)."""

    def topology_nodes(self, removed: Collection[int] | None = None) -> list[list[int]]:
        """Per node that must keep a subset of its input edges, the candidate edges not in
        ``removed`` (default: the removed edges of :attr:`arch_param`); none by default."""
        return []

    def topology_keep(self) -> list[int]:
        """How many input edges each node of :meth:`topology_nodes` keeps; 2 per node by default
        (the DARTS cell). A space whose nodes keep other numbers of parents overrides it."""
        return [2] * len(self.topology_nodes(()))

    def candidate_mask(self) -> np.ndarray:
        """Which (edge, op) entries of the weight matrix are real candidates (boolean, ``(edges,
        ops)``); every entry by default. A supernet whose rows offer different candidates (a
        column that a row never runs) overrides it, so that operation scoring skips the others."""
        return np.ones((self.num_edges, len(self.ops)), dtype=bool)

    @property
    def space(self) -> Any:
        """The search space whose architectures the supernet superposes."""
        raise NotImplementedError(f"{type(self).__name__} does not name its space")

    # --- generic ------------------------------------------------------------------------------
    def run_weights(self, arch: Sequence[int]) -> np.ndarray:
        """The weights to *run* the path of ``arch`` with: :meth:`path_weights` without the
        operations that cannot change the output (a supernet may drop them to save work; the
        logits, and the gradients of every weight that affects them, are the same). Training
        and fine-tuning a single path use these; the default is :meth:`path_weights`."""
        return self.path_weights(arch)

    def paths_weights(self, archs: Sequence[Sequence[int]]) -> np.ndarray:
        """Multi-hot weights of a set of paths: an operation runs (weight 1) if any path uses it."""
        if not archs:
            raise ConfigError("paths_weights needs at least one architecture")
        return np.maximum.reduce([self.path_weights(a) for a in archs])

    def _rows(self, weights: Any) -> tuple[list[list[float]], Any]:
        return weight_rows(self.arch_weights() if weights is None else weights,
                           (self.num_edges, len(self.ops)))

    # --- projection state (delegated to the softmax parameterisation) --------------------------
    @property
    def decided_(self) -> dict[int, int]:
        """``{edge: op column}`` of the discretised edges."""
        return self.arch_param.decided_

    @property
    def removed_edges_(self) -> set[int]:
        """Edges removed by topology selection."""
        return self.arch_param.removed_edges_

    def reset_arch_parameters(self, rng: int | np.random.Generator | None = None) -> None:
        """New ``alpha ~ 1e-3 N(0, 1)`` and no decided or removed edges (a fresh proposal)."""
        self.arch_param.reset(rng)

    def undecided(self, group: Sequence[int] | None = None) -> list[int]:
        """Edges (of ``group``, default all) not discretised and not removed, in order."""
        return self.arch_param.undecided(group)

    def discretize(self, e: int, o: int) -> None:
        """``A <- A + (e, o)``: edge ``e`` keeps only candidate ``o`` from now on."""
        self.arch_param.decide(e, o)

    def remove_edge(self, e: int) -> None:
        """Remove edge ``e`` entirely (topology selection)."""
        self.arch_param.remove_edge(e)

    def arch_weights(self) -> np.ndarray:
        """Current weights: ``softmax(alpha)`` rows, decided edges one-hot, removed edges 0."""
        return self.arch_param.weights()

    def perturbed(self, e: int, o: int, weights: np.ndarray | None = None) -> np.ndarray:
        """Weights of ``A - (e, o)``: candidate ``o`` of edge ``e`` removed (no renormalisation)."""
        return self.arch_param.perturbed(e, o, weights)

    def discretized(self, e: int, o: int, weights: np.ndarray | None = None) -> np.ndarray:
        """Weights of ``A + (e, o)``: edge ``e`` reduced to candidate ``o``."""
        return self.arch_param.discretized(e, o, weights)

    def without_edge(self, e: int, weights: np.ndarray | None = None) -> np.ndarray:
        """Weights with every candidate of edge ``e`` removed."""
        return self.arch_param.without_edge(e, weights)

    def arch_from_weights(self, weights: Any) -> tuple[int, ...]:
        """The architecture a differentiable search derives from a weight matrix: on every edge
        the operation with the largest weight (NAS-Bench-201's DARTS genotype; ``none`` may win).
        Spaces whose cells keep only some input edges override it (DARTS). Masked operations
        (weight exactly 0) never win over a positive weight.

        Example:
            >>> class Toy(SupernetBase):
            ...     ops = ("a", "b")
            ...     def __init__(self):
            ...         super().__init__(); self._init_arch(2)
            ...     def forward(self, x, weights=None): return x
            ...     def path_weights(self, arch): return np.eye(2)[list(arch)]
            ...     def arch_from_decisions(self, decided, removed=()):
            ...         return tuple(decided[e] for e in range(2))
            >>> Toy().arch_from_weights([[0.2, 0.8], [0.6, 0.4]])
            (1, 0)
        """
        w = np.asarray(weights.detach().cpu().numpy() if isinstance(weights, torch.Tensor)
                       else weights, dtype=np.float64)
        if w.shape != (self.num_edges, len(self.ops)):
            raise ConfigError(f"weights must have shape {(self.num_edges, len(self.ops))}, "
                              f"got {w.shape}")
        return self.arch_from_decisions({e: int(np.argmax(row)) for e, row in enumerate(w)})

    def path_ops(self, arch: Sequence[int]) -> list[str]:
        """Names of the operations the single path of ``arch`` uses, one per used edge (the
        non-zero entries of :meth:`path_weights`)."""
        w = self.path_weights(arch)
        return [self.ops[int(o)] for e, o in zip(*np.nonzero(w), strict=True)]

    def param_free_count(self, arch: Sequence[int]) -> int:
        """Operations of the path of ``arch`` without learnable weights (:data:`PARAM_FREE_OPS`:
        none, skip, pooling) -- the measure of a collapsed differentiable search."""
        return sum(op in PARAM_FREE_OPS for op in self.path_ops(arch))

    def skip_count(self, arch: Sequence[int]) -> int:
        """``skip_connect`` operations on the path of ``arch``."""
        return sum(op == "skip_connect" for op in self.path_ops(arch))

    def genotype(self) -> tuple[int, ...]:
        """The architecture of the fully discretised supernet (raises if edges are undecided)."""
        return self.arch_from_decisions(self.arch_param.decided_, self.arch_param.removed_edges_)
