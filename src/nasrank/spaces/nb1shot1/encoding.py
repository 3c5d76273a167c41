"""The NAS-Bench-1Shot1 cell encodings: sub-space definitions, the string format, the NB101 mapping.

NAS-Bench-1Shot1 (Zela, Siems & Hutter, ICLR 2020) restricts NAS-Bench-101 cells to graphs in
which every interior node ("choice block") ``v`` reads a *fixed number* of parents among the
nodes before it (node 0 is the cell input) and applies one of the three NB101 operations; the
output node concatenates a fixed number of parents too. The three sub-spaces (the parent counts
of ``nasbench_analysis/search_spaces/search_space_{1,2,3}.py``):

===========  ===========  =================================  =======================
sub-space    interior     parents of nodes 1, 2, ... output  configurations
===========  ===========  =================================  =======================
1            4            1, 2, 2, 2, 2                      3 * 6 * 10 * 3^4 = 14,580
2            4            1, 1, 2, 2, 3                      2 * 3 * 6 * 10 * 3^4 = 29,160
3            5            1, 1, 1, 2, 2, 2                   2 * 3 * 6 * 10 * 15 * 3^5 = 1,312,200
===========  ===========  =================================  =======================

An architecture (``Arch``) is a configuration of the benchmark's ``ConfigSpace`` as a tuple of
ints: first the operation index of every interior node (``0 conv3x3-bn-relu, 1 conv1x1-bn-relu,
2 maxpool3x3``, NB101's order), then, for every node with more than one possible parent set (in
node order, the output last), the index of its parent set in the lexicographic list
``itertools.combinations(range(v), k_v)``. Nodes without a successor ("loose ends") are allowed:
NAS-Bench-101 prunes them, so several configurations map to one NB101 cell.

String format (whitespace ignored)::

    conv3x3-bn-relu(0)|conv1x1-bn-relu(0,1)|maxpool3x3(0,2)|conv3x3-bn-relu(1,3)|output(2,4)

one ``op(parents)`` term per interior node 1..N, then ``output(parents)``; parents ascending.

**Sizes.** The paper reports 6,240 / 29,160 / 363,648 architectures. For sub-spaces 1 and 3 these
are the configurations counted up to the operations of loose-end nodes (the sum over parent
configurations of ``3 ** (interior nodes with a successor)``, :func:`published_count`); for
sub-space 2 the paper's 29,160 is the number of configurations (the loose-end count is 16,632).
:attr:`~nasrank.spaces.nb1shot1.NB1Shot1Space.size` counts configurations (the elements of the
space as encoded here); :func:`published_count` and :attr:`PUBLISHED_SIZES` give the paper's
numbers. Up to NB101 isomorphism (the official graph hash) sub-spaces 1 and 2 hold 2,685 and
7,773 distinct cells (counted by enumeration; :meth:`SubspaceSpec.canonical` agrees with the hash
on every one of them).

**NB101 equivalent.** :func:`to_nb101` writes the configuration as NAS-Bench-101's ``(matrix,
ops)`` with loose ends, exactly as NAS-Bench-1Shot1's ``convert_config_to_nasbench_format``: the
7-vertex matrix of sub-space 3 directly; for sub-spaces 1 and 2 (4 interior nodes) an unconnected
vertex 5 (``conv1x1-bn-relu``) is inserted before the output (``upscale_to_nasbench_format``), which
NB101 pruning removes.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from ...exceptions import InvalidArchitectureError
from ..nb101 import INPUT, OPS, OUTPUT

__all__ = ["SubspaceSpec", "SUBSPACES", "PUBLISHED_SIZES", "OPS", "published_count"]

Arch = tuple[int, ...]

#: Architectures per sub-space as published (NAS-Bench-1Shot1 Tab. 1; seed 002 Tab. 3.1).
PUBLISHED_SIZES: dict[int, int] = {1: 6240, 2: 29160, 3: 363648}

_TERM_RE = re.compile(r"^([a-z0-9\-]+)\((\d+(?:,\d+)*)\)$")


@dataclass(frozen=True)
class SubspaceSpec:
    """One NAS-Bench-1Shot1 sub-space: the number of parents of every node.

    Args:
        number: The sub-space number (1, 2 or 3).
        num_parents: Parents of interior nodes ``1..N`` and, last, of the output node.

    Example:
        >>> s = SUBSPACES[1]
        >>> s.num_interior, s.choice_nodes, s.size
        (4, (3, 4, 5), 14580)
    """

    number: int
    num_parents: tuple[int, ...]

    # --- structure ------------------------------------------------------------------------------
    @property
    def num_interior(self) -> int:
        """Interior nodes (choice blocks) ``N``; nodes are ``0`` (input), ``1..N``, ``N + 1``."""
        return len(self.num_parents) - 1

    @property
    def output(self) -> int:
        """Index of the output node (``N + 1``)."""
        return self.num_interior + 1

    @cached_property
    def combos(self) -> dict[int, tuple[tuple[int, ...], ...]]:
        """``{node: its possible parent sets}`` in lexicographic order, nodes ``1..N + 1``."""
        return {v: tuple(itertools.combinations(range(v), k))
                for v, k in enumerate(self.num_parents, start=1)}

    @cached_property
    def choice_nodes(self) -> tuple[int, ...]:
        """Nodes with more than one possible parent set (one encoding position each)."""
        return tuple(v for v, c in self.combos.items() if len(c) > 1)

    @property
    def length(self) -> int:
        """Length of an architecture tuple."""
        return self.num_interior + len(self.choice_nodes)

    @cached_property
    def choices(self) -> tuple[tuple[int, ...], ...]:
        """Allowed values per position (ops, then parent-set indices)."""
        ops = tuple(range(len(OPS)))
        return tuple([ops] * self.num_interior
                     + [tuple(range(len(self.combos[v]))) for v in self.choice_nodes])

    @property
    def size(self) -> int:
        """Number of configurations (product of the choices)."""
        n = 1
        for c in self.choices:
            n *= len(c)
        return n

    @property
    def format(self) -> str:
        """The string format, for error messages."""
        terms = [f"op({','.join(['p'] * k)})" for k in self.num_parents[:-1]]
        return ("|".join(terms + [f"output({','.join(['p'] * self.num_parents[-1])})"])
                + f" with op one of {', '.join(OPS)} and parents p < node, ascending")

    # --- encoding -------------------------------------------------------------------------------
    def validate(self, arch: Any) -> Arch:
        """``arch`` as a tuple of ints inside :attr:`choices`; ``InvalidArchitectureError`` else.

        Example:
            >>> SUBSPACES[1].validate([0, 1, 2, 0, 1, 2, 3])
            (0, 1, 2, 0, 1, 2, 3)
        """
        if isinstance(arch, str):
            raise InvalidArchitectureError(
                f"expected a tuple of {self.length} ints, got a string; use space.from_str() to "
                f"parse {self.format}")
        try:
            t = tuple(arch)
        except TypeError:
            raise InvalidArchitectureError(
                f"NB-1Shot1 space {self.number} architecture must be a sequence of {self.length} "
                f"ints (per-node ops, then parent-set indices), got {arch!r}") from None
        if len(t) != self.length:
            raise InvalidArchitectureError(
                f"NB-1Shot1 space {self.number} architecture must have {self.length} ints "
                f"({self.num_interior} ops + {len(self.choice_nodes)} parent sets), got {len(t)}: "
                f"{arch!r}")
        for i, (v, c) in enumerate(zip(t, self.choices, strict=True)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) not in c:
                what = "op index" if i < self.num_interior else "parent-set index"
                raise InvalidArchitectureError(
                    f"position {i} of {arch!r} must be a {what} in 0..{len(c) - 1}, got {v!r}")
        return tuple(int(v) for v in t)

    def parents(self, arch: Sequence[int]) -> dict[int, tuple[int, ...]]:
        """``{node: parents}`` for nodes ``1..N + 1``.

        Example:
            >>> SUBSPACES[1].parents((0, 0, 0, 0, 2, 5, 9))[5]
            (3, 4)
        """
        a = self.validate(arch)
        idx = dict(zip(self.choice_nodes, a[self.num_interior:], strict=True))
        return {v: c[idx.get(v, 0)] for v, c in self.combos.items()}

    def ops(self, arch: Sequence[int]) -> tuple[int, ...]:
        """Operation indices of the interior nodes ``1..N``."""
        return self.validate(arch)[: self.num_interior]

    def from_parts(self, ops: Sequence[int], parents: dict[int, Sequence[int]]) -> Arch:
        """The architecture of per-node ops and ``{node: parents}`` (nodes with a single possible
        parent set may be omitted).

        Example:
            >>> s = SUBSPACES[1]
            >>> a = s.from_parts([0, 1, 2, 0], {3: (1, 2), 4: (0, 3), 5: (2, 4)})
            >>> s.parents(a)[4], a
            ((0, 3), (0, 1, 2, 0, 2, 2, 8))
        """
        out = [int(o) for o in ops]
        for v in self.choice_nodes:
            want = tuple(sorted(int(p) for p in parents[v]))
            try:
                out.append(self.combos[v].index(want))
            except ValueError:
                raise InvalidArchitectureError(
                    f"node {v} of NB-1Shot1 space {self.number} needs {self.num_parents[v - 1]} "
                    f"distinct parents among 0..{v - 1}, got {list(parents[v])}") from None
        return self.validate(tuple(out))

    def to_str(self, arch: Sequence[int]) -> str:
        """The string form ``op(parents)|...|output(parents)``.

        Example:
            >>> SUBSPACES[1].to_str((0, 1, 2, 0, 2, 2, 8))
            'conv3x3-bn-relu(0)|conv1x1-bn-relu(0,1)|maxpool3x3(1,2)|conv3x3-bn-relu(0,3)|output(2,4)'
        """
        ops = self.ops(arch)
        par = self.parents(arch)
        terms = [f"{OPS[o]}({','.join(map(str, par[v]))})" for v, o in enumerate(ops, start=1)]
        terms.append(f"{OUTPUT}({','.join(map(str, par[self.output]))})")
        return "|".join(terms)

    def from_str(self, text: str) -> Arch:
        """Parse :meth:`to_str`'s format (whitespace ignored).

        Example:
            >>> SUBSPACES[1].from_str("conv3x3-bn-relu(0)|conv1x1-bn-relu(0,1)|maxpool3x3(1,2)|"
            ...                       "conv3x3-bn-relu(0,3)|output(2,4)")
            (0, 1, 2, 0, 2, 2, 8)
        """
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"expected an architecture string, got {type(text).__name__}")
        s = "".join(text.split())
        parts = s.split("|")
        if len(parts) != self.num_interior + 1:
            raise InvalidArchitectureError(
                f"malformed NB-1Shot1 space {self.number} string {text!r}: expected "
                f"{self.num_interior + 1} '|'-separated terms, {self.format}")
        ops: list[int] = []
        parents: dict[int, tuple[int, ...]] = {}
        for v, term in enumerate(parts, start=1):
            m = _TERM_RE.match(term)
            if m is None:
                raise InvalidArchitectureError(
                    f"malformed term {term!r} of node {v} in {text!r}; expected op(parents), "
                    f"{self.format}")
            name, plist = m.group(1), tuple(int(p) for p in m.group(2).split(","))
            if v == self.output:
                if name != OUTPUT:
                    raise InvalidArchitectureError(
                        f"the last term of {text!r} must be output(parents), got {term!r}")
            elif name not in OPS:
                raise InvalidArchitectureError(
                    f"unknown operation {name!r} of node {v} in {text!r}; valid: {', '.join(OPS)}")
            else:
                ops.append(OPS.index(name))
            if plist not in self.combos[v]:
                who = "the output" if v == self.output else f"node {v}"
                raise InvalidArchitectureError(
                    f"{who} of {text!r} reads {list(plist)}; it needs {self.num_parents[v - 1]} "
                    f"distinct ascending parents among 0..{v - 1}")
            parents[v] = plist
        return self.from_parts(ops, parents)

    # --- NAS-Bench-101 ------------------------------------------------------------------------
    def to_nb101(self, arch: Sequence[int]) -> tuple[np.ndarray, list[str]]:
        """NAS-Bench-101's ``(matrix, ops)`` of ``arch`` (7 vertices, with loose ends, unpruned).

        Example:
            >>> m, ops = SUBSPACES[1].to_nb101((0, 1, 2, 0, 2, 2, 8))
            >>> m.shape, ops[5], int(m[:, 6].sum())   # vertex 5: NB-1Shot1's unused dummy
            ((7, 7), 'conv1x1-bn-relu', 2)
        """
        par = self.parents(arch)
        n = self.num_interior
        vertex = {v: v for v in range(n + 1)}
        vertex[self.output] = 6
        m = np.zeros((7, 7), dtype=np.int64)
        for v, ps in par.items():
            for p in ps:
                m[vertex[p], vertex[v]] = 1
        labels = [INPUT] + [OPS[o] for o in self.ops(arch)]
        if n == 4:
            labels.append("conv1x1-bn-relu")  # the dummy vertex of upscale_to_nasbench_format
        labels.append(OUTPUT)
        return m, labels

    def adjacency(self, arch: Sequence[int]) -> np.ndarray:
        """The ``(N + 2) x (N + 2)`` adjacency matrix with loose ends (no dummy vertex)."""
        n = self.output + 1
        m = np.zeros((n, n), dtype=np.int64)
        for v, ps in self.parents(arch).items():
            for p in ps:
                m[p, v] = 1
        return m

    def live_nodes(self, arch: Sequence[int]) -> set[int]:
        """Interior nodes on a path to the output (the others are pruned by NAS-Bench-101).

        Example:
            >>> sorted(SUBSPACES[1].live_nodes((0, 0, 0, 0, 0, 0, 0)))  # output reads 0 and 1
            [1]
        """
        par = self.parents(arch)
        live: set[int] = set()
        stack = [p for p in par[self.output] if p != 0]
        while stack:
            v = stack.pop()
            if v not in live:
                live.add(v)
                stack.extend(p for p in par[v] if p != 0)
        return live

    def canonical(self, arch: Sequence[int]) -> Arch:
        """The smallest configuration whose NB101 cell is isomorphic to that of ``arch``.

        Every relabelling of the pruned cell's interior nodes onto ``1..N`` that respects the
        sub-space's parent counts is tried; pruned nodes get op 0 and their first parent set.

        Example:
            >>> s = SUBSPACES[1]
            >>> a = s.from_parts([0, 0, 0, 1], {3: (0, 1), 4: (0, 2), 5: (3, 4)})
            >>> b = s.from_parts([0, 0, 1, 0], {3: (0, 2), 4: (0, 1), 5: (3, 4)})  # 3 <-> 4
            >>> s.canonical(a) == s.canonical(b)
            True
        """
        return _canonical(self, self.validate(arch))

    def encode(self, arch: Sequence[int]) -> np.ndarray:
        """One-hot ops of the interior nodes followed by the strict upper triangle (row-major) of
        :meth:`adjacency`: ``3 N + (N + 2)(N + 1) / 2`` floats.

        Example:
            >>> SUBSPACES[3].encode(SUBSPACES[3].validate([0] * 10)).shape
            (36,)
        """
        ops = self.ops(arch)
        onehot = np.zeros((self.num_interior, len(OPS)), dtype=np.float32)
        onehot[np.arange(self.num_interior), list(ops)] = 1.0
        m = self.adjacency(arch)
        iu = np.triu_indices(m.shape[0], k=1)
        return np.concatenate([onehot.reshape(-1), m[iu].astype(np.float32)])


@lru_cache(maxsize=65536)
def _canonical(spec: SubspaceSpec, a: Arch) -> Arch:
    par = spec.parents(a)
    ops = spec.ops(a)
    live = sorted(spec.live_nodes(a))
    out = spec.output
    best: Arch | None = None
    for image in itertools.permutations(range(1, spec.num_interior + 1), len(live)):
        phi = dict(zip(live, image, strict=True))
        phi[0] = 0
        ok = all(len(par[v]) == spec.num_parents[phi[v] - 1]
                 and all(phi[p] < phi[v] for p in par[v]) for v in live)
        if not ok:
            continue
        new_ops = [0] * spec.num_interior
        new_par: dict[int, tuple[int, ...]] = {}
        for v in live:
            new_ops[phi[v] - 1] = ops[v - 1]
            new_par[phi[v]] = tuple(sorted(phi[p] for p in par[v]))
        new_par[out] = tuple(sorted(phi[p] for p in par[out]))
        for v in spec.choice_nodes:
            new_par.setdefault(v, spec.combos[v][0])
        cand = spec.from_parts(new_ops, new_par)
        if best is None or cand < best:
            best = cand
    assert best is not None  # the identity relabelling always qualifies
    return best


def published_count(spec: SubspaceSpec) -> int:
    """Configurations counted up to the operations of loose-end nodes: the sum over parent
    configurations of ``3 ** (interior nodes with a successor)``. It reproduces the published
    sizes of sub-spaces 1 (6,240) and 3 (363,648); for sub-space 2 it is 16,632 (the paper's
    29,160 counts every configuration).

    Example:
        >>> [published_count(SUBSPACES[s]) for s in (1, 2, 3)]
        [6240, 16632, 363648]
    """
    total = 0
    nodes = list(spec.combos)
    for sets in itertools.product(*(spec.combos[v] for v in nodes)):
        has_successor = {p for ps in sets for p in ps}
        used = sum(1 for v in range(1, spec.output) if v in has_successor)
        total += len(OPS) ** used
    return total


#: The three sub-spaces (parent counts of nodes 1..N and the output).
SUBSPACES: dict[int, SubspaceSpec] = {
    1: SubspaceSpec(1, (1, 2, 2, 2, 2)),
    2: SubspaceSpec(2, (1, 1, 2, 2, 3)),
    3: SubspaceSpec(3, (1, 1, 1, 2, 2, 2)),
}
