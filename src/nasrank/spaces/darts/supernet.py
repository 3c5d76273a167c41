"""The DARTS CIFAR search supernet: 14 mixed edges per cell, normal and reduction weights.

Each edge mixes its own list of candidates (default: the same operations on every edge), built
by an op factory (default :func:`~nasrank.spaces.darts.darts_op`), so that a space restricted to
per-edge candidates or with further operations (the RobustDARTS sub-spaces) reuses the supernet.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..._validate import check_int as _check_int
from ...exceptions import ConfigError, InvalidArchitectureError
from ...nn.mixed import MixedOp
from ...nn.ops import FactorizedReduce
from ...nn.supernet import SupernetBase
from .._registries import SPACES
from .encoding import NUM_CELL_EDGES, PER_CELL, PRIMITIVES, STEPS, Arch, cell_edges, edge_index
from .ops import OpFactory, darts_op, darts_relu_conv_bn

__all__ = ["DARTSSupernet", "DARTSSearchCell"]

#: Candidates per cell type (normal, reduction): one tuple of operation names per cell edge.
Candidates = tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]


class DARTSSearchCell(nn.Module):
    """A DARTS supernet cell: 14 mixed edges (node ``k`` reads the 2 cell inputs and nodes < k).

    Args:
        C_prev_prev: Channels of the cell two back.
        C_prev: Channels of the previous cell.
        C: Channels of each intermediate node.
        reduction: Whether this cell halves the resolution.
        reduction_prev: Whether the previous cell did.
        ops: The candidates of every edge (default: all of
            :data:`~nasrank.spaces.darts.PRIMITIVES`); not with ``edge_ops``.
        edge_ops: Instead, 14 tuples of candidate names, one per edge
            (:func:`~nasrank.spaces.darts.cell_edges` order).
        op_factory: Builds each candidate (default :func:`~nasrank.spaces.darts.darts_op`),
            called with ``affine=False, pool_bn=True``.

    Example:
        >>> cell = DARTSSearchCell(4, 4, 2, reduction=True, reduction_prev=False,
        ...                        ops=["skip_connect", "max_pool_3x3"])
        >>> w = [[0.5, 0.5]] * 14
        >>> cell(torch.randn(1, 4, 4, 4), torch.randn(1, 4, 4, 4), w, w).shape
        torch.Size([1, 8, 2, 2])
        >>> per_edge = DARTSSearchCell(4, 4, 2, True, False, edge_ops=[("skip_connect",)] * 14)
        >>> per_edge(torch.randn(1, 4, 4, 4), torch.randn(1, 4, 4, 4), [[1.0]] * 14, [[1.0]] * 14).shape
        torch.Size([1, 8, 2, 2])
    """

    def __init__(
        self, C_prev_prev: int, C_prev: int, C: int, reduction: bool, reduction_prev: bool,
        ops: Sequence[str] | None = None, *, edge_ops: Sequence[Sequence[str]] | None = None,
        op_factory: OpFactory = darts_op,
    ) -> None:
        super().__init__()
        if edge_ops is None:
            edge_ops = [tuple(PRIMITIVES if ops is None else ops)] * NUM_CELL_EDGES
        elif ops is not None:
            raise ConfigError("give the candidates of a search cell as `ops` (every edge) or "
                              "`edge_ops` (per edge), not both")
        if len(edge_ops) != NUM_CELL_EDGES:
            raise ConfigError(f"`edge_ops` must list the candidates of {NUM_CELL_EDGES} edges, "
                              f"got {len(edge_ops)}")
        self.reduction = reduction
        self.C = C
        self.preprocess0: nn.Module = (
            FactorizedReduce(C_prev_prev, C, affine=False) if reduction_prev
            else darts_relu_conv_bn(C_prev_prev, C, 1, 1, 0, affine=False)
        )
        self.preprocess1 = darts_relu_conv_bn(C_prev, C, 1, 1, 0, affine=False)
        self.edges = cell_edges()
        self._ops = nn.ModuleList(
            MixedOp([op_factory(name, C, 2 if reduction and j < 2 else 1, affine=False,
                                pool_bn=True) for name in names], names=tuple(names))
            for (_k, j), names in zip(self.edges, edge_ops, strict=True)
        )
        self.multiplier = STEPS

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, rows: Sequence[Sequence[float]],
                coef: Any) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        n, _, h, w = states[1].shape
        if self.reduction:
            h, w = -(-h // 2), -(-w // 2)
        e = 0
        for k in range(STEPS):
            total: torch.Tensor | None = None
            for j in range(k + 2):
                row = rows[e]
                if any(v != 0 for v in row):
                    ce = coef[e]
                    out = self._ops[e](states[j], ce if isinstance(ce, torch.Tensor) else row)
                    if out is not None:
                        total = out if total is None else total + out
                e += 1
            states.append(total if total is not None else states[1].new_zeros(n, self.C, h, w))
        return torch.cat(states[2:], dim=1)


class DARTSSupernet(SupernetBase):
    """The DARTS CIFAR search supernet (C=16, 8 cells by default), normal + reduction weights.

    Weight rows ``0..13`` belong to the normal cells, ``14..27`` to the reduction cells (edge
    order of :func:`~nasrank.spaces.darts.cell_edges`). Candidates: by default the 7 operations
    other than ``none`` on every edge, as in DARTS-PT's default space (``include_none=True`` adds
    it back; it can be removed by perturbation but is never chosen for a genotype).

    With ``candidates`` every edge mixes its own candidates (all edges as many): column ``o`` of
    row ``e`` is the ``o``-th candidate of that edge, :attr:`edge_ops` names them, and :attr:`ops`
    are the common names if every edge has the same candidates, else ``("candidate_0", ...)``.
    A subclass whose genotypes index per-edge operation lists overrides :meth:`genotype_ops`
    (and sets ``space_name``).

    Args:
        C: Initial channels.
        layers: Cells; reductions at ``layers // 3`` and ``2 * layers // 3``.
        num_classes: Classifier outputs.
        in_channels: Image channels.
        include_none: Include ``none`` among the default candidates.
        candidates: Per cell type (normal, reduction), 14 tuples of candidate names, one per edge.
        op_factory: Builds each candidate (default :func:`~nasrank.spaces.darts.darts_op`).

    Attributes:
        ops: The column names of the weight matrix.
        edge_ops: Per weight row, the candidate names of its columns.

    Example:
        >>> net = DARTSSupernet(C=2, layers=3)
        >>> net.arch_weights().shape, net.ops[0]
        ((28, 7), 'max_pool_3x3')
        >>> pair = (("skip_connect", "sep_conv_3x3"),) * 14
        >>> DARTSSupernet(C=2, layers=3, candidates=(pair, pair)).ops
        ('skip_connect', 'sep_conv_3x3')
    """

    space_name = "darts"
    edge_groups = (tuple(range(NUM_CELL_EDGES)), tuple(range(NUM_CELL_EDGES, 2 * NUM_CELL_EDGES)))

    def __init__(
        self, C: int = 16, layers: int = 8, num_classes: int = 10, in_channels: int = 3,
        include_none: bool = False, *, candidates: Candidates | None = None,
        op_factory: OpFactory = darts_op,
    ) -> None:
        super().__init__()
        C = _check_int("C", C, 2)
        layers = _check_int("layers", layers, 3)
        num_classes = _check_int("num_classes", num_classes, 1)
        in_channels = _check_int("in_channels", in_channels, 1)
        if candidates is None:
            self.ops = PRIMITIVES if include_none else PRIMITIVES[1:]
            candidates = ((self.ops,) * NUM_CELL_EDGES,) * 2
        else:
            if include_none:
                raise ConfigError("`include_none` applies to the default candidates; list 'none' "
                                  "in `candidates` instead")
            candidates = _check_candidates(candidates)
            first = candidates[0][0]
            uniform = all(c == first for cell in candidates for c in cell)
            self.ops = first if uniform else tuple(f"candidate_{i}" for i in range(len(first)))
        self.edge_ops = tuple(ops for cell in candidates for ops in cell)
        self.C, self.layers = C, layers
        stem_c = 3 * C
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem_c, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(stem_c))
        c_pp, c_p, c_cur = stem_c, stem_c, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_cur *= 2
            cell = DARTSSearchCell(c_pp, c_p, c_cur, reduction, reduction_prev,
                                   edge_ops=candidates[int(reduction)], op_factory=op_factory)
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_cur
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)
        self._init_arch(2 * NUM_CELL_EDGES)

    def forward(self, x: torch.Tensor, weights: Any = None) -> torch.Tensor:
        """Logits of the supernet under ``weights`` (default :meth:`arch_weights`)."""
        rows, coef = self._rows(weights)
        n_e = NUM_CELL_EDGES
        normal = (rows[:n_e], coef[:n_e])
        reduce = (rows[n_e:], coef[n_e:])
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            r, c = reduce if cell.reduction else normal
            s0, s1 = s1, cell(s0, s1, r, c)
        self.inactive_relu_units_ = 0
        return self.classifier(self.global_pooling(s1).flatten(1))

    @property
    def space(self) -> Any:
        """The space whose architectures the supernet superposes (:class:`~nasrank.spaces.DARTSSpace`
        for ``space_name == "darts"``)."""
        return SPACES.get(self.space_name)()

    def genotype_ops(self, cell: int, edge: int) -> tuple[str, ...]:
        """The operation names that an architecture's op index on ``edge`` of ``cell`` (0 normal,
        1 reduction) refers to: :data:`~nasrank.spaces.darts.PRIMITIVES` in the DARTS encoding.

        Example:
            >>> DARTSSupernet(C=2, layers=3).genotype_ops(0, 0)[4]
            'sep_conv_3x3'
        """
        return PRIMITIVES

    def path_weights(self, arch: Sequence[int]) -> np.ndarray:
        """The single path of a genotype: per node, its two input edges one-hot on their ops,
        every other edge 0 (rows 0..13 normal cell, 14..27 reduction cell).

        Example:
            >>> from nasrank.spaces.darts import DARTS_V2, from_str
            >>> w = DARTSSupernet(C=2, layers=3).path_weights(from_str(DARTS_V2))
            >>> w.shape, int(w.sum()), w[0].tolist()  # edge (node 0, input 0): sep_conv_3x3
            ((28, 7), 16, [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
        """
        a = self.space.validate(arch)
        w = np.zeros((self.num_edges, len(self.ops)))
        for c in range(2):
            for slot in range(2 * STEPS):
                op, inp = a[c * PER_CELL + 2 * slot], a[c * PER_CELL + 2 * slot + 1]
                e = edge_index(slot // 2, inp)
                row = c * NUM_CELL_EDGES + e
                w[row, self.edge_ops[row].index(self.genotype_ops(c, e)[op])] = 1.0
        return w

    def path_ops(self, arch: Sequence[int]) -> list[str]:
        """Names of the operations on the path of ``arch`` (real names also when :attr:`ops` are
        ``candidate_i``).

        Example:
            >>> from nasrank.spaces.darts import DARTS_V2, from_str
            >>> DARTSSupernet(C=2, layers=3).path_ops(from_str(DARTS_V2))[:2]
            ['sep_conv_3x3', 'sep_conv_3x3']
        """
        w = self.path_weights(arch)
        return [self.edge_ops[int(e)][int(o)] for e, o in zip(*np.nonzero(w), strict=True)]

    def topology_nodes(self, removed: Collection[int] | None = None) -> list[list[int]]:
        """Candidate input edges (not in ``removed``, default the removed edges of
        :attr:`arch_param`) of the nodes with more than 2 inputs, normal then reduction.

        Example:
            >>> DARTSSupernet(C=2, layers=3).topology_nodes()[:3]
            [[2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12, 13]]
        """
        gone = self.removed_edges_ if removed is None else set(removed)
        out = []
        for base in (0, NUM_CELL_EDGES):
            for k in range(STEPS):
                edges = [base + edge_index(k, j) for j in range(k + 2)]
                if len(edges) > 2:
                    out.append([e for e in edges if e not in gone])
        return out

    def arch_from_weights(self, weights: Any) -> Arch:
        """The DARTS genotype of a weight matrix: per node the 2 input edges with the largest
        weight of a candidate other than ``none``, each with that candidate (Liu et al., 2019).

        Example:
            >>> net = DARTSSupernet(C=2, layers=3)
            >>> w = np.full((28, 7), 0.1); w[:, 3] = 0.4          # sep_conv_3x3 everywhere
            >>> a = net.arch_from_weights(w)
            >>> net.space.to_str(a).startswith("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)")
            True
        """
        w = np.asarray(weights.detach().cpu().numpy() if isinstance(weights, torch.Tensor)
                       else weights, dtype=np.float64)
        if w.shape != (self.num_edges, len(self.ops)):
            raise ConfigError(f"weights must have shape {(self.num_edges, len(self.ops))}, "
                              f"got {w.shape}")
        decided: dict[int, int] = {}
        removed: list[int] = []
        for base in (0, NUM_CELL_EDGES):
            for k in range(STEPS):
                edges = [base + edge_index(k, j) for j in range(k + 2)]
                cols = {e: [o for o, name in enumerate(self.edge_ops[e]) if name != "none"]
                        for e in edges}
                strength = {e: float(w[e, cols[e]].max()) for e in edges}
                keep = sorted(edges, key=lambda e: -strength[e])[:2]
                for e in edges:
                    if e in keep:
                        decided[e] = cols[e][int(np.argmax(w[e, cols[e]]))]
                    else:
                        removed.append(e)
        return self.arch_from_decisions(decided, removed)

    def arch_from_decisions(self, decided: Mapping[int, int], removed: Collection[int] = ()
                            ) -> Arch:
        """The genotype: per node its 2 kept input edges (input order) with their decided ops.

        Example:
            >>> from nasrank.spaces.darts import DARTS_V2, DARTSSpace
            >>> net, space = DARTSSupernet(C=2, layers=3), DARTSSpace()
            >>> w = net.path_weights(space.from_str(DARTS_V2))
            >>> decided = {e: int(r.argmax()) for e, r in enumerate(w) if r.any()}
            >>> removed = [e for e, r in enumerate(w) if not r.any()]
            >>> a = net.arch_from_decisions(decided, removed)  # each node's inputs in order
            >>> a == space.canonical(space.from_str(DARTS_V2))
            True
        """
        gone = set(removed)
        arch: list[int] = []
        for c, base in enumerate((0, NUM_CELL_EDGES)):
            for k in range(STEPS):
                kept = [(j, base + edge_index(k, j)) for j in range(k + 2)
                        if base + edge_index(k, j) not in gone]
                if len(kept) != 2:
                    raise InvalidArchitectureError(
                        f"node {k} keeps {len(kept)} input edges; topology selection must leave 2"
                    )
                for j, e in kept:
                    if e not in decided:
                        raise InvalidArchitectureError(f"edge {e} is not discretised yet")
                    col = int(decided[e])
                    if not 0 <= col < len(self.ops):
                        raise InvalidArchitectureError(f"edge {e}: column {col} is not a candidate")
                    name = self.edge_ops[e][col]
                    if name == "none":
                        raise InvalidArchitectureError(f"edge {e} was discretised to 'none'")
                    arch += [self.genotype_ops(c, e - base).index(name), j]
        return self.space.validate(tuple(arch))


def _check_candidates(candidates: Any) -> Candidates:
    """``candidates`` as (normal, reduction) tuples of 14 non-empty name tuples of one width."""
    try:
        cells = tuple(tuple(tuple(str(o) for o in ops) for ops in cell) for cell in candidates)
    except TypeError:
        raise ConfigError("`candidates` must be (normal, reduction) lists of 14 tuples of "
                          f"operation names, got {candidates!r}") from None
    if len(cells) != 2 or any(len(cell) != NUM_CELL_EDGES for cell in cells):
        raise ConfigError(f"`candidates` must be (normal, reduction) lists of {NUM_CELL_EDGES} "
                          "tuples of operation names, one per edge")
    widths = {len(ops) for cell in cells for ops in cell}
    if len(widths) != 1 or 0 in widths:
        raise ConfigError("every edge must have as many candidates (at least one), got "
                          f"{sorted(widths)}")
    return cells[0], cells[1]
