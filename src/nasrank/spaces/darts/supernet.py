"""The DARTS CIFAR search supernet: 14 mixed edges per cell, normal and reduction weights."""

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
from .encoding import PER_CELL, PRIMITIVES, STEPS, Arch, cell_edges, validate
from .ops import darts_op, darts_relu_conv_bn

__all__ = ["DARTSSupernet", "DARTSSearchCell"]


class DARTSSearchCell(nn.Module):
    """A DARTS supernet cell: 14 mixed edges (node ``k`` reads the 2 cell inputs and nodes < k).

    Example:
        >>> cell = DARTSSearchCell(4, 4, 2, reduction=True, reduction_prev=False,
        ...                        ops=["skip_connect", "max_pool_3x3"])
        >>> w = [[0.5, 0.5]] * 14
        >>> cell(torch.randn(1, 4, 4, 4), torch.randn(1, 4, 4, 4), w, w).shape
        torch.Size([1, 8, 2, 2])
    """

    def __init__(
        self, C_prev_prev: int, C_prev: int, C: int, reduction: bool, reduction_prev: bool,
        ops: Sequence[str],
    ) -> None:
        super().__init__()
        self.reduction = reduction
        self.C = C
        self.preprocess0: nn.Module = (
            FactorizedReduce(C_prev_prev, C, affine=False) if reduction_prev
            else darts_relu_conv_bn(C_prev_prev, C, 1, 1, 0, affine=False)
        )
        self.preprocess1 = darts_relu_conv_bn(C_prev, C, 1, 1, 0, affine=False)
        self.edges = cell_edges()
        self._ops = nn.ModuleList(
            MixedOp([darts_op(name, C, 2 if reduction and j < 2 else 1, affine=False, pool_bn=True)
                     for name in ops], names=ops)
            for _k, j in self.edges
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
    other than ``none``, as in DARTS-PT's default space (``include_none=True`` adds it back; it
    can be removed by perturbation but is never chosen for a genotype).

    Args:
        C: Initial channels.
        layers: Cells; reductions at ``layers // 3`` and ``2 * layers // 3``.
        num_classes: Classifier outputs.
        in_channels: Image channels.
        include_none: Include ``none`` among the candidates.

    Example:
        >>> net = DARTSSupernet(C=2, layers=3)
        >>> net.arch_weights().shape, net.ops[0]
        ((28, 7), 'max_pool_3x3')
    """

    space_name = "darts"
    edge_groups = (tuple(range(14)), tuple(range(14, 28)))

    def __init__(
        self, C: int = 16, layers: int = 8, num_classes: int = 10, in_channels: int = 3,
        include_none: bool = False,
    ) -> None:
        super().__init__()
        C = _check_int("C", C, 2)
        layers = _check_int("layers", layers, 3)
        num_classes = _check_int("num_classes", num_classes, 1)
        in_channels = _check_int("in_channels", in_channels, 1)
        self.ops = PRIMITIVES if include_none else PRIMITIVES[1:]
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
            cell = DARTSSearchCell(c_pp, c_p, c_cur, reduction, reduction_prev, self.ops)
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_cur
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)
        self._init_arch(2 * len(cell_edges()))

    def forward(self, x: torch.Tensor, weights: Any = None) -> torch.Tensor:
        """Logits of the supernet under ``weights`` (default :meth:`arch_weights`)."""
        rows, coef = self._rows(weights)
        n_e = len(cell_edges())
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
        """The :class:`~nasrank.spaces.DARTSSpace`."""
        return SPACES.get(self.space_name)()

    def path_weights(self, arch: Sequence[int]) -> np.ndarray:
        """The single path of a genotype: per node, its two input edges one-hot on their ops,
        every other edge 0 (rows 0..13 normal cell, 14..27 reduction cell).

        Example:
            >>> from nasrank.spaces.darts import DARTS_V2, from_str
            >>> w = DARTSSupernet(C=2, layers=3).path_weights(from_str(DARTS_V2))
            >>> w.shape, int(w.sum()), w[0].tolist()  # edge (node 0, input 0): sep_conv_3x3
            ((28, 7), 16, [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
        """
        a = validate(arch)
        w = np.zeros((self.num_edges, len(self.ops)))
        n_e = len(cell_edges())
        for c in range(2):
            start = 0
            for k in range(STEPS):
                base = c * PER_CELL + 4 * k
                for op, inp in ((a[base], a[base + 1]), (a[base + 2], a[base + 3])):
                    w[c * n_e + start + inp, self.ops.index(PRIMITIVES[op])] = 1.0
                start += k + 2
        return w

    def topology_nodes(self, removed: Collection[int] | None = None) -> list[list[int]]:
        """Candidate input edges (not in ``removed``, default the removed edges of
        :attr:`arch_param`) of the nodes with more than 2 inputs, normal then reduction.

        Example:
            >>> DARTSSupernet(C=2, layers=3).topology_nodes()[:3]
            [[2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12, 13]]
        """
        gone = self.removed_edges_ if removed is None else set(removed)
        out = []
        n_e = len(cell_edges())
        for base in (0, n_e):
            start = 0
            for k in range(STEPS):
                edges = list(range(base + start, base + start + k + 2))
                if len(edges) > 2:
                    out.append([e for e in edges if e not in gone])
                start += k + 2
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
        cols = [i for i, name in enumerate(self.ops) if name != "none"]
        n_e = len(cell_edges())
        decided: dict[int, int] = {}
        removed: list[int] = []
        for base in (0, n_e):
            start = 0
            for k in range(STEPS):
                edges = list(range(base + start, base + start + k + 2))
                strength = {e: float(w[e, cols].max()) for e in edges}
                keep = sorted(sorted(edges, key=lambda e: -strength[e])[:2])
                for e in edges:
                    if e in keep:
                        decided[e] = cols[int(np.argmax(w[e, cols]))]
                    else:
                        removed.append(e)
                start += k + 2
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
        edges = cell_edges()
        gone = set(removed)
        arch: list[int] = []
        for base in (0, len(edges)):
            for k in range(STEPS):
                kept = [(j, base + i) for i, (kk, j) in enumerate(edges)
                        if kk == k and base + i not in gone]
                if len(kept) != 2:
                    raise InvalidArchitectureError(
                        f"node {k} keeps {len(kept)} input edges; topology selection must leave 2"
                    )
                for j, e in kept:
                    if e not in decided:
                        raise InvalidArchitectureError(f"edge {e} is not discretised yet")
                    name = self.ops[decided[e]]
                    if name == "none":
                        raise InvalidArchitectureError(f"edge {e} was discretised to 'none'")
                    arch += [PRIMITIVES.index(name), j]
        return validate(tuple(arch))
