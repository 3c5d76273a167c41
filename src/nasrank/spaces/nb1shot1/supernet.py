"""The NAS-Bench-1Shot1 weight-sharing supernet (the one-shot model of Zela et al., 2020).

Every cell holds, for each interior node ("choice block"), the mixture of the three NB101
operations applied to the weighted sum of its candidate inputs (the cell input through a per-node
1x1 conv-BN-ReLU projection, and every earlier node); the output concatenates the ``N`` node
outputs, each weighted by its output edge, and adds the projected cell input weighted by its edge.
Each node has ``C`` channels in the first stack, so a cell maps to ``N * C`` channels whatever the
architecture; stacks are separated by 2x2 max pooling and double the channels, as in NB101.

**Weight matrix.** Columns (:attr:`NB1Shot1Supernet.ops`): the three operations and ``"edge"``.

* rows ``0..N-1``: the operation of interior node ``1..N`` (columns 0-2);
* then one row per *candidate input edge* ``j -> v`` of every node ``v`` that chooses its parents
  (in node order, sources ascending; column 3 = "the edge is there"). Nodes with a single possible
  parent set (node 1; node 2 of sub-space 1) have fixed edges and no rows.

A path (an architecture) is a one-hot row per node and a one-hot row (column 3) per chosen parent
edge; the edges a node does not read are zero rows (:meth:`~NB1Shot1Supernet.path_weights`), so
topology selection removes them like DARTS edges. Entries of a row outside its own columns are
never run: in a softmax mixture they act as ``none`` (mass on nothing). A differentiable search's
architecture is read per node (:meth:`~NB1Shot1Supernet.arch_from_weights`): the strongest
operation, and the ``k`` candidate edges with the largest weight (NAS-Bench-1Shot1's top-k of the
input weights); :meth:`~NB1Shot1Supernet.candidate_mask` says which entries each row may take.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..._validate import check_int as _check_int
from ...exceptions import ConfigError, InvalidArchitectureError
from ...nn.supernet import SupernetBase
from .._registries import SPACES
from ..nb101 import OPS
from .encoding import SUBSPACES, Arch, SubspaceSpec

__all__ = ["NB1Shot1Supernet", "NB1Shot1SearchCell", "SUPERNET_OPS", "EDGE"]

#: Columns of the weight matrix: the three node operations, then the input-edge column.
SUPERNET_OPS: tuple[str, ...] = (*OPS, "edge")
#: Column of an input edge's weight.
EDGE = len(OPS)
_BN_MOMENTUM = 1.0 - 0.997  # NB101's TensorFlow momentum 0.997 in PyTorch's convention
_BN_EPS = 1e-5


class _ConvBNReLU(nn.Module):
    """Bias-free ``k x k`` convolution (stride 1, same padding) -> BatchNorm -> ReLU."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(C_in, C_out, kernel_size, padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(C_out, eps=_BN_EPS, momentum=_BN_MOMENTUM)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


class _NodeOps(nn.Module):
    """The three candidate operations of one choice block (``ops[o]``, NB101 order)."""

    def __init__(self, C: int) -> None:
        super().__init__()
        self.ops = nn.ModuleList([_ConvBNReLU(C, C, 3), _ConvBNReLU(C, C, 1),
                                  nn.MaxPool2d(3, stride=1, padding=1)])


class NB1Shot1SearchCell(nn.Module):
    """One supernet cell of a sub-space: ``C_in`` channels in, ``N * C`` out.

    ``forward(x, rows, coef, layout)`` takes the float rows of the weight matrix (which decide
    what runs), the coefficients multiplying the results (the rows, or a tensor that carries the
    architecture gradient) and the supernet's row layout.

    Example:
        >>> net = NB1Shot1Supernet(1, C=2, stacks=1, cells_per_stack=1)
        >>> cell = net.cells[0]
        >>> w = net.path_weights(net.space.sample(0)).tolist()
        >>> cell(torch.randn(1, 2, 4, 4), w, w, net.layout).shape
        torch.Size([1, 8, 4, 4])
    """

    def __init__(self, spec: SubspaceSpec, C_in: int, C: int) -> None:
        super().__init__()
        self.spec = spec
        self.C = C
        n = spec.num_interior
        # 1x1 projections of the cell input: one per interior node, one (to N * C) for the output
        self.projections = nn.ModuleList([_ConvBNReLU(C_in, C, 1) for _ in range(n)]
                                         + [_ConvBNReLU(C_in, n * C, 1)])
        self.nodes = nn.ModuleList([_NodeOps(C) for _ in range(n)])

    def forward(self, x: torch.Tensor, rows: Sequence[Sequence[float]], coef: Any,
                layout: _Layout) -> torch.Tensor:
        spec = self.spec
        n = spec.num_interior
        states: list[torch.Tensor | None] = [None] * (n + 1)
        projected: dict[int, torch.Tensor] = {}

        def source(j: int, v: int) -> torch.Tensor | None:
            if j == 0:
                if v not in projected:
                    projected[v] = self.projections[v - 1](x)
                return projected[v]
            return states[j]

        def gated_inputs(v: int) -> list[torch.Tensor]:
            terms = []
            for j, r in layout.inputs[v]:
                if r is not None and rows[r][EDGE] == 0:
                    continue
                t = source(j, v)
                if t is None:
                    continue
                if r is not None:
                    c = coef[r][EDGE]
                    t = t if (not isinstance(c, torch.Tensor) and c == 1) else t * c
                terms.append(t)
            return terms

        for v in range(1, n + 1):
            row = rows[v - 1]
            if not any(row[o] != 0 for o in range(EDGE)):
                continue  # the node does not run
            terms = gated_inputs(v)
            if not terms:
                continue  # no input reaches the node: it is absent
            h = terms[0]
            for t in terms[1:]:
                h = h + t
            out: torch.Tensor | None = None
            for o in range(EDGE):
                if row[o] == 0:
                    continue
                y = self.nodes[v - 1].ops[o](h)
                c = coef[v - 1][o]
                y = y if (not isinstance(c, torch.Tensor) and c == 1) else y * c
                out = y if out is None else out + y
            states[v] = out
        # output: weighted concatenation of the node outputs + weighted projected input
        slots = []
        any_slot = False
        zeros: torch.Tensor | None = None
        gates = dict(layout.inputs[spec.output])
        for j in range(1, n + 1):
            t = states[j] if j in gates else None
            r = gates.get(j)
            if t is not None and r is not None:
                if rows[r][EDGE] == 0:
                    t = None
                else:
                    c = coef[r][EDGE]
                    t = t if (not isinstance(c, torch.Tensor) and c == 1) else t * c
            if t is None:
                if zeros is None:
                    zeros = x.new_zeros(x.shape[0], self.C, x.shape[2], x.shape[3])
                t = zeros
            else:
                any_slot = True
            slots.append(t)
        out_cat = torch.cat(slots, dim=1) if any_slot else None
        if 0 in gates:
            r = gates[0]
            if r is None or rows[r][EDGE] != 0:
                p = self.projections[n](x)
                if r is not None:
                    c = coef[r][EDGE]
                    p = p if (not isinstance(c, torch.Tensor) and c == 1) else p * c
                out_cat = p if out_cat is None else out_cat + p
        if out_cat is None:
            out_cat = x.new_zeros(x.shape[0], n * self.C, x.shape[2], x.shape[3])
        return out_cat


class _Layout:
    """Row layout of a sub-space's weight matrix."""

    def __init__(self, spec: SubspaceSpec) -> None:
        self.spec = spec
        n = spec.num_interior
        self.edge_rows: list[tuple[int, int]] = []  # row n + i: edge (source, node)
        self.row_of: dict[tuple[int, int], int] = {}
        #: per node: (source, row or None for a fixed edge) of every candidate input
        self.inputs: dict[int, list[tuple[int, int | None]]] = {}
        for v, sets in spec.combos.items():
            if len(sets) > 1:
                cands = sorted({p for s in sets for p in s})
                lst: list[tuple[int, int | None]] = []
                for j in cands:
                    r = n + len(self.edge_rows)
                    self.edge_rows.append((j, v))
                    self.row_of[(j, v)] = r
                    lst.append((j, r))
                self.inputs[v] = lst
            else:
                self.inputs[v] = [(j, None) for j in sets[0]]
        self.num_rows = n + len(self.edge_rows)


class NB1Shot1Supernet(SupernetBase):
    """The one-shot model of a NAS-Bench-1Shot1 sub-space (see the module docstring).

    Args:
        subspace: 1, 2 or 3.
        C: Channels of every choice block in the first stack (NAS-Bench-1Shot1: 16); the stem
            has ``C`` channels, stack ``s`` uses ``C * 2**s``.
        stacks: Stacks of cells, separated by 2x2 max pooling (NB101: 3).
        cells_per_stack: Cells per stack (NB101: 3; NAS-Bench-1Shot1's 9 layers).
        num_classes: Classifier outputs.
        in_channels: Image channels.

    Example:
        >>> net = NB1Shot1Supernet(1, C=2, stacks=2, cells_per_stack=1)
        >>> net.arch_weights().shape, net.ops[-1]
        ((16, 4), 'edge')
        >>> a = net.space.sample(0)
        >>> net(torch.randn(2, 3, 8, 8), net.path_weights(a)).shape
        torch.Size([2, 10])
    """

    ops = SUPERNET_OPS

    def __init__(self, subspace: int = 1, C: int = 16, stacks: int = 3, cells_per_stack: int = 3,
                 num_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        if subspace not in SUBSPACES:
            raise ConfigError(f"`subspace` must be one of 1, 2, 3, got {subspace!r}")
        C = _check_int("C", C, 1)
        stacks = _check_int("stacks", stacks, 1)
        cells_per_stack = _check_int("cells_per_stack", cells_per_stack, 1)
        num_classes = _check_int("num_classes", num_classes, 1)
        in_channels = _check_int("in_channels", in_channels, 1)
        self.subspace = int(subspace)
        self.spec = SUBSPACES[self.subspace]
        self.space_name = f"nb1shot1-{self.subspace}"
        self.layout = _Layout(self.spec)
        self.C, self.num_stacks, self.cells_per_stack = C, stacks, cells_per_stack
        n = self.spec.num_interior
        self.edge_groups = (tuple(range(n)),)
        self.stem = _ConvBNReLU(in_channels, C, 3)
        self.downsample = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.cells = nn.ModuleList()
        self._stack_starts: set[int] = set()
        c_in = C
        for s in range(stacks):
            c = C * 2**s
            if s > 0:
                self._stack_starts.add(len(self.cells))
            for _ in range(cells_per_stack):
                self.cells.append(NB1Shot1SearchCell(self.spec, c_in, c))
                c_in = n * c
        self.classifier = nn.Linear(c_in, num_classes)
        self._init_arch(self.layout.num_rows)

    def forward(self, x: torch.Tensor, weights: Any = None) -> torch.Tensor:
        """Logits under ``weights`` (default :meth:`arch_weights`)."""
        rows, coef = self._rows(weights)
        h = self.stem(x)
        for i, cell in enumerate(self.cells):
            if i in self._stack_starts:
                h = self.downsample(h)
            h = cell(h, rows, coef, self.layout)
        self.inactive_relu_units_ = 0
        return self.classifier(h.mean(dim=(2, 3)))

    @property
    def space(self) -> Any:
        """The sub-space's :class:`~nasrank.spaces.nb1shot1.NB1Shot1Space`."""
        return SPACES.get(self.space_name)()

    # --- paths ----------------------------------------------------------------------------------
    def path_weights(self, arch: Sequence[int]) -> np.ndarray:
        """One-hot node rows (the operation) and one-hot edge rows (column ``"edge"``) for the
        chosen parents; the candidate edges a node does not read are zero rows.

        Example:
            >>> net = NB1Shot1Supernet(1, C=2, stacks=1, cells_per_stack=1)
            >>> w = net.path_weights((0, 1, 2, 0, 2, 2, 8))
            >>> w[:4].argmax(1).tolist(), int(w[4:, 3].sum())   # 3 choosing nodes x 2 parents
            ([0, 1, 2, 0], 6)
        """
        spec, lay = self.spec, self.layout
        par = spec.parents(arch)
        w = np.zeros((lay.num_rows, len(self.ops)))
        for v, o in enumerate(spec.ops(arch), start=1):
            w[v - 1, o] = 1.0
        for (j, v), r in lay.row_of.items():
            if j in par[v]:
                w[r, EDGE] = 1.0
        return w

    def run_weights(self, arch: Sequence[int]) -> np.ndarray:
        """:meth:`path_weights` without the nodes that NAS-Bench-101 prunes (no path to the
        output) and their input edges: they cannot change the logits, so they are not run.

        Example:
            >>> net = NB1Shot1Supernet(1, C=2, stacks=1, cells_per_stack=1)
            >>> a = (0, 0, 0, 0, 0, 0, 0)        # the output reads the input and node 1 only
            >>> net.run_weights(a)[:4].sum(1).tolist()
            [1.0, 0.0, 0.0, 0.0]
        """
        w = self.path_weights(arch)
        live = self.spec.live_nodes(arch)
        for v in range(1, self.spec.num_interior + 1):
            if v not in live:
                w[v - 1] = 0.0
                for _j, r in self.layout.inputs[v]:
                    if r is not None:
                        w[r] = 0.0
        return w

    def candidate_mask(self) -> np.ndarray:
        """Which entries each row may take: node rows the three operations, edge rows the
        ``"edge"`` column (boolean, ``(num_edges, 4)``).

        Example:
            >>> NB1Shot1Supernet(1, C=2, stacks=1, cells_per_stack=1).candidate_mask()[[0, 4]].tolist()
            [[True, True, True, False], [False, False, False, True]]
        """
        m = np.zeros((self.layout.num_rows, len(self.ops)), dtype=bool)
        m[: self.spec.num_interior, :EDGE] = True
        m[self.spec.num_interior:, EDGE] = True
        return m

    def topology_nodes(self, removed: Collection[int] | None = None) -> list[list[int]]:
        """Per node that chooses its parents, its candidate edge rows not in ``removed`` (default
        the removed edges of :attr:`arch_param`); :meth:`topology_keep` gives how many to keep.

        Example:
            >>> NB1Shot1Supernet(1, C=2, stacks=1, cells_per_stack=1).topology_nodes()
            [[4, 5, 6], [7, 8, 9, 10], [11, 12, 13, 14, 15]]
        """
        gone = self.removed_edges_ if removed is None else set(removed)
        return [[r for _j, r in self.layout.inputs[v] if r is not None and r not in gone]
                for v in self.spec.choice_nodes]

    def topology_keep(self) -> list[int]:
        """Edges each node of :meth:`topology_nodes` keeps (its number of parents).

        Example:
            >>> NB1Shot1Supernet(2, C=2, stacks=1, cells_per_stack=1).topology_keep()
            [1, 2, 2, 3]
        """
        return [self.spec.num_parents[v - 1] for v in self.spec.choice_nodes]

    def arch_from_weights(self, weights: Any) -> Arch:
        """The architecture of a weight matrix: per node the operation with the largest weight,
        and the ``k`` candidate edges with the largest ``"edge"`` weight (ties: earlier source).

        Example:
            >>> net = NB1Shot1Supernet(1, C=2, stacks=1, cells_per_stack=1)
            >>> w = np.full((16, 4), 0.25); w[:4, 2] = 0.4
            >>> w[[5, 6, 9, 10, 14, 15], 3] = 0.5    # prefer the latest sources
            >>> net.space.to_str(net.arch_from_weights(w))
            'maxpool3x3(0)|maxpool3x3(0,1)|maxpool3x3(1,2)|maxpool3x3(2,3)|output(3,4)'
        """
        w = np.asarray(weights.detach().cpu().numpy() if isinstance(weights, torch.Tensor)
                       else weights, dtype=np.float64)
        if w.shape != (self.num_edges, len(self.ops)):
            raise ConfigError(f"weights must have shape {(self.num_edges, len(self.ops))}, "
                              f"got {w.shape}")
        spec = self.spec
        ops = [int(np.argmax(w[v, :EDGE])) for v in range(spec.num_interior)]
        parents: dict[int, tuple[int, ...]] = {}
        for v in spec.choice_nodes:
            cands = [(j, r) for j, r in self.layout.inputs[v] if r is not None]
            ranked = sorted(cands, key=lambda jr: (-w[jr[1], EDGE], jr[0]))
            parents[v] = tuple(sorted(j for j, _r in ranked[: spec.num_parents[v - 1]]))
        return spec.from_parts(ops, parents)

    def arch_from_decisions(self, decided: Mapping[int, int], removed: Collection[int] = ()
                            ) -> Arch:
        """The architecture of a decided matrix: node rows decided to an operation; an edge row
        is an input unless it is removed or decided to another column than ``"edge"``.

        Example:
            >>> net = NB1Shot1Supernet(1, C=2, stacks=1, cells_per_stack=1)
            >>> a = (0, 1, 2, 0, 2, 2, 8)
            >>> w = net.path_weights(a)
            >>> net.arch_from_decisions({e: int(r.argmax()) for e, r in enumerate(w) if r.any()},
            ...                         [e for e, r in enumerate(w) if not r.any()]) == a
            True
        """
        spec = self.spec
        gone = set(removed)
        ops = []
        for e in range(spec.num_interior):
            if e not in decided or e in gone:
                raise InvalidArchitectureError(f"the operation of node {e + 1} (row {e}) is not "
                                               "discretised yet")
            o = int(decided[e])
            if not 0 <= o < EDGE:
                raise InvalidArchitectureError(
                    f"row {e} (node {e + 1}) was discretised to column {o} ({self.ops[o]!r}); "
                    f"a node takes one of {', '.join(OPS)}")
            ops.append(o)
        parents: dict[int, tuple[int, ...]] = {}
        for v in spec.choice_nodes:
            kept = tuple(j for j, r in self.layout.inputs[v]
                         if r is not None and r not in gone and decided.get(r, EDGE) == EDGE)
            k = spec.num_parents[v - 1]
            if len(kept) != k:
                raise InvalidArchitectureError(
                    f"node {v} keeps {len(kept)} input edges {list(kept)}; it reads exactly {k}")
            parents[v] = kept
        return spec.from_parts(ops, parents)
