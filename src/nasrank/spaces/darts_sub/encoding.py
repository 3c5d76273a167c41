"""The RobustDARTS sub-spaces S1-S4 of the DARTS space: candidate tables, encoding, string format.

Zela et al. (2020, "Understanding and Robustifying Differentiable Architecture Search") restrict
every edge of the DARTS cell to a small candidate set (``src/spaces.py`` of automl/RobustDARTS):

* **S1**: two operations per edge, preselected per edge and differently for the normal and the
  reduction cell (:data:`S1_NORMAL`, :data:`S1_REDUCE`);
* **S2**: ``skip_connect``, ``sep_conv_3x3`` on every edge;
* **S3**: ``none``, ``skip_connect``, ``sep_conv_3x3`` on every edge;
* **S4**: ``noise``, ``sep_conv_3x3`` on every edge (``noise`` replaces its input by standard
  Gaussian noise, see :class:`~nasrank.spaces.darts_sub.NoiseOp`).

The cell is DARTS': 4 intermediate nodes, node ``k`` sums two operations on two different
inputs among its ``k + 2`` candidates (edge order of :func:`nasrank.spaces.darts.cell_edges`).
The candidate tables list each edge's **supernet** candidates; a derived architecture (a
genotype) never holds ``none`` (RobustDARTS' genotype, like DARTS', takes the best operation other
than ``none``), so the architectures of S3 are those of S2 -- S3 differs only in its supernet.

**Architecture encoding** (plain immutable data): 32 ints laid out like the DARTS encoding,
``(op, input)`` for the 8 operations of the normal cell (node-major, two per node), then the
reduction cell; ``op`` is the index of the operation among the **genotype candidates of the edge
it sits on** (the edge's candidates without ``none``: always 2 here), so every op position takes
the values ``(0, 1)`` and the same int may name different operations on different edges of S1.

**String form**: the DARTS ``Genotype(...)`` repr (the format of
:func:`nasrank.spaces.darts.to_str`, so DARTS / NAS-Bench-301 tools read S1-S3 genotypes):
``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=[2, 3, 4, 5], reduce=[...],
reduce_concat=[2, 3, 4, 5])``. Operations outside the edge's candidates are rejected.

Example:
    >>> spec = SUBSPACES["darts-s2"]
    >>> a = (1, 0, 0, 1) * 8
    >>> to_str(spec, a)[:56]
    "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1"
    >>> from_str(spec, to_str(spec, a)) == a
    True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...exceptions import InvalidArchitectureError
from ..darts import NUM_CELL_EDGES, PRIMITIVES, STEPS, edge_index, genotype_ints

__all__ = ["SubspaceSpec", "SUBSPACES", "S1_NORMAL", "S1_REDUCE", "OP_NAMES", "edge_index",
           "validate", "to_str", "from_str", "cells", "from_cells"]

Arch = tuple[int, ...]
PER_CELL = 4 * STEPS  # ints per cell in the encoding
CELLS = ("normal", "reduce")

#: Every operation name the sub-spaces use: the DARTS primitives, then RobustDARTS' ``noise``.
OP_NAMES: tuple[str, ...] = (*PRIMITIVES, "noise")

_SKIP, _SEP3, _DIL3, _DIL5 = "skip_connect", "sep_conv_3x3", "dil_conv_3x3", "dil_conv_5x5"
_MAX, _AVG = "max_pool_3x3", "avg_pool_3x3"

#: S1's normal-cell candidates per edge (14 edges, :func:`~nasrank.spaces.darts.cell_edges`
#: order), as listed in RobustDARTS ``src/spaces.py`` (``primitives_1``).
S1_NORMAL: tuple[tuple[str, ...], ...] = (
    (_SKIP, _DIL3), (_SKIP, _DIL5),
    (_SKIP, _DIL5), (_SKIP, _SEP3), (_SKIP, _DIL3),
    (_MAX, _SKIP), (_SKIP, _SEP3), (_SKIP, _SEP3), (_SKIP, _DIL3),
    (_SKIP, _SEP3), (_MAX, _SKIP), (_SKIP, _DIL3), (_DIL3, _DIL5), (_DIL3, _DIL5),
)
#: S1's reduction-cell candidates per edge (same source and order).
S1_REDUCE: tuple[tuple[str, ...], ...] = (
    (_MAX, _AVG), (_MAX, _DIL3),
    (_MAX, _AVG), (_MAX, _AVG), (_SKIP, _DIL5),
    (_MAX, _AVG), (_MAX, _SEP3), (_SKIP, _DIL3), (_SKIP, _DIL5),
    (_MAX, _AVG), (_MAX, _AVG), (_SKIP, _DIL5), (_SKIP, _DIL5), (_SKIP, _DIL5),
)

_GENOTYPE_RE = re.compile(
    r"^Genotype\(normal=\[(?P<normal>[^\]]*)\],normal_concat=(?P<nc>\[[^\]]*\]|range\(\d+,\d+\)),"
    r"reduce=\[(?P<reduce>[^\]]*)\],reduce_concat=(?P<rc>\[[^\]]*\]|range\(\d+,\d+\))\)$"
)
_PAIR_RE = re.compile(r"\('([a-z0-9_]+)',(\d+)\)")


@dataclass(frozen=True)
class SubspaceSpec:
    """The candidate operations of one sub-space, per cell (normal, reduction) and edge.

    Attributes:
        name: Registry name of the space (``"darts-s1"`` ...).
        label: The paper's name (``"S1"`` ...).
        candidates: ``candidates[cell][edge]``: the supernet candidates of the edge, in
            RobustDARTS' order (cell 0 normal, 1 reduction; 14 edges each).

    Example:
        >>> SUBSPACES["darts-s3"].genotype_ops(0, 5)
        ('skip_connect', 'sep_conv_3x3')
    """

    name: str
    label: str
    candidates: tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]

    def genotype_ops(self, cell: int, edge: int) -> tuple[str, ...]:
        """The operations a genotype may place on the edge: its candidates other than ``none``.

        Example:
            >>> SUBSPACES["darts-s1"].genotype_ops(1, 6)
            ('max_pool_3x3', 'sep_conv_3x3')
        """
        return tuple(o for o in self.candidates[cell][edge] if o != "none")

    @property
    def uniform(self) -> bool:
        """Whether every edge of both cells has the same candidates (S2, S3, S4).

        Example:
            >>> SUBSPACES["darts-s1"].uniform, SUBSPACES["darts-s4"].uniform
            (False, True)
        """
        first = self.candidates[0][0]
        return all(c == first for cell in self.candidates for c in cell)

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """The operation names genotypes of the space can hold, in :data:`OP_NAMES` order.

        Example:
            >>> SUBSPACES["darts-s1"].vocabulary
            ('max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'dil_conv_3x3', 'dil_conv_5x5')
        """
        used = {o for c in range(2) for e in range(NUM_CELL_EDGES) for o in self.genotype_ops(c, e)}
        return tuple(o for o in OP_NAMES if o in used)

    @property
    def num_unique(self) -> int:
        """Architectures up to the order of a node's two operations (each node: an unordered
        pair of distinct inputs, an operation on each): exact, computed from the tables.

        Example:
            >>> SUBSPACES["darts-s2"].num_unique == (1 * 3 * 6 * 10 * 2**8) ** 2
            True
        """
        total = 1
        for cell in range(2):
            for k in range(STEPS):
                total *= sum(len(self.genotype_ops(cell, edge_index(k, i)))
                             * len(self.genotype_ops(cell, edge_index(k, j)))
                             for i in range(k + 2) for j in range(i + 1, k + 2))
        return total

    @property
    def num_encodings(self) -> int:
        """Encodings (ordered input pairs): every architecture has ``2 ** 8`` of them.

        Example:
            >>> SUBSPACES["darts-s3"].num_encodings // SUBSPACES["darts-s3"].num_unique
            256
        """
        return self.num_unique * 2 ** (2 * STEPS)


def _uniform(ops: tuple[str, ...]) -> tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]:
    cell = (ops,) * NUM_CELL_EDGES
    return (cell, cell)


#: The four sub-spaces by registry name.
SUBSPACES: dict[str, SubspaceSpec] = {
    "darts-s1": SubspaceSpec("darts-s1", "S1", (S1_NORMAL, S1_REDUCE)),
    "darts-s2": SubspaceSpec("darts-s2", "S2", _uniform((_SKIP, _SEP3))),
    "darts-s3": SubspaceSpec("darts-s3", "S3", _uniform(("none", _SKIP, _SEP3))),
    "darts-s4": SubspaceSpec("darts-s4", "S4", _uniform(("noise", _SEP3))),
}

def _format(spec: SubspaceSpec) -> str:
    if spec.uniform:
        ops = "one of " + ", ".join(spec.genotype_ops(0, 0))
    else:
        ops = "one of the edge's two candidates (see nasrank.spaces.darts_sub.S1_NORMAL / S1_REDUCE)"
    return ("Genotype(normal=[('op', input), ... 8 pairs], normal_concat=[2, 3, 4, 5], "
            f"reduce=[... 8 pairs], reduce_concat=[2, 3, 4, 5]) with op {ops} and input of node "
            "k in 0..k+1")


def validate(spec: SubspaceSpec, arch: Any) -> Arch:
    """``arch`` as a canonical 32-int tuple of the sub-space (``InvalidArchitectureError`` if not).

    Example:
        >>> len(validate(SUBSPACES["darts-s4"], [0, 0, 1, 1] * 8))
        32
    """
    t = genotype_ints(arch, label=spec.name, expected=_format(spec))
    for cell in range(2):
        for k in range(STEPS):
            base = cell * PER_CELL + 4 * k
            op_a, in_a, op_b, in_b = t[base : base + 4]
            for op, inp in ((op_a, in_a), (op_b, in_b)):
                if not 0 <= inp < k + 2:
                    raise InvalidArchitectureError(
                        f"node {k} of the {CELLS[cell]} cell reads input {inp}; valid: 0..{k + 1}")
                n_ops = len(spec.genotype_ops(cell, edge_index(k, inp)))
                if not 0 <= op < n_ops:
                    raise InvalidArchitectureError(
                        f"{spec.name} op index must be in 0..{n_ops - 1} (a candidate of the edge), "
                        f"got {op} in {t!r}")
            if in_a == in_b:
                raise InvalidArchitectureError(
                    f"node {k} of the {CELLS[cell]} cell reads input {in_a} twice; the two inputs "
                    "of a node must differ")
    return t


def cells(spec: SubspaceSpec, arch: Sequence[int]) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The normal and reduction cells as DARTS-style lists of ``(op name, input)`` pairs.

    Example:
        >>> cells(SUBSPACES["darts-s1"], (0, 0, 1, 1) * 8)[0][:2]
        [('skip_connect', 0), ('dil_conv_5x5', 1)]
    """
    a = validate(spec, arch)
    out = []
    for c in range(2):
        pairs = []
        for slot in range(2 * STEPS):
            op, inp = a[c * PER_CELL + 2 * slot], a[c * PER_CELL + 2 * slot + 1]
            pairs.append((spec.genotype_ops(c, edge_index(slot // 2, inp))[op], inp))
        out.append(pairs)
    return out[0], out[1]


def from_cells(spec: SubspaceSpec, normal: Sequence[tuple[str, int]],
               reduce: Sequence[tuple[str, int]], text: str | None = None) -> Arch:
    """The encoding of two DARTS-style cells (8 ``(op name, input)`` pairs each), validated.

    Args:
        spec: The sub-space.
        normal: Normal cell, node-major, two pairs per node.
        reduce: Reduction cell, likewise.
        text: The string the cells come from (quoted in error messages).

    Example:
        >>> from_cells(SUBSPACES["darts-s2"], [("skip_connect", 0), ("sep_conv_3x3", 1)] * 4,
        ...            [("sep_conv_3x3", 1), ("skip_connect", 0)] * 4)[:4]
        (0, 0, 1, 1)
    """
    where = f" in {text!r}" if text is not None else ""
    arch: list[int] = []
    for c, pairs in enumerate((normal, reduce)):
        if len(pairs) != 2 * STEPS:
            raise InvalidArchitectureError(
                f"the {CELLS[c]} cell{where} has {len(pairs)} (op, input) pairs, expected {2 * STEPS}")
        for slot, (op, inp) in enumerate(pairs):
            k = slot // 2
            inp = int(inp)
            if not 0 <= inp < k + 2:
                raise InvalidArchitectureError(
                    f"node {k} of the {CELLS[c]} cell{where} reads input {inp}; valid: 0..{k + 1}")
            ops = spec.genotype_ops(c, edge_index(k, inp))
            if op not in ops:
                what = "not an operation of" if op not in OP_NAMES else "not a candidate of"
                raise InvalidArchitectureError(
                    f"{op!r} on edge (node {k}, input {inp}) of the {CELLS[c]} cell{where} is {what} "
                    f"{spec.name} ({spec.label}); candidates there: {', '.join(ops)}")
            arch += [ops.index(op), inp]
    return validate(spec, arch)


def to_str(spec: SubspaceSpec, arch: Sequence[int]) -> str:
    """The DARTS ``Genotype`` repr of ``arch``.

    Example:
        >>> to_str(SUBSPACES["darts-s4"], (0, 0, 1, 1) * 8)[:50]
        "Genotype(normal=[('noise', 0), ('sep_conv_3x3', 1)"
    """
    normal, reduce = cells(spec, arch)

    def fmt(pairs: list[tuple[str, int]]) -> str:
        return ", ".join(f"('{op}', {inp})" for op, inp in pairs)

    return (f"Genotype(normal=[{fmt(normal)}], normal_concat=[2, 3, 4, 5], "
            f"reduce=[{fmt(reduce)}], reduce_concat=[2, 3, 4, 5])")


def from_str(spec: SubspaceSpec, text: str) -> Arch:
    """Parse a ``Genotype(...)`` string (without ``eval``) into an architecture of the sub-space.

    Whitespace and the quote style do not matter; the concatenations must be nodes 2..5
    (``[2, 3, 4, 5]`` or ``range(2, 6)``).

    Example:
        >>> s = "Genotype(normal=[('noise', 0), ('sep_conv_3x3', 1)] * 4, ..."  # not a genotype
        >>> from_str(SUBSPACES["darts-s4"], s)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nasrank.exceptions.InvalidArchitectureError: malformed darts-s4 genotype string ...
        >>> good = to_str(SUBSPACES["darts-s4"], (0, 0, 1, 1) * 8)
        >>> from_str(SUBSPACES["darts-s4"], good.replace("[2, 3, 4, 5]", "range(2, 6)"))[:4]
        (0, 0, 1, 1)
    """
    if not isinstance(text, str):
        raise InvalidArchitectureError(f"expected a genotype string, got {type(text).__name__}")
    s = "".join(text.split()).replace('"', "'")
    m = _GENOTYPE_RE.match(s)
    if m is None:
        raise InvalidArchitectureError(
            f"malformed {spec.name} genotype string {text!r}; expected {_format(spec)}")
    for key in ("nc", "rc"):
        if m.group(key) not in ("[2,3,4,5]", "range(2,6)"):
            raise InvalidArchitectureError(
                f"unsupported concatenation {m.group(key)!r} in {text!r}: only nodes 2..5 "
                "([2, 3, 4, 5]) are supported")
    parsed = []
    for key in CELLS:
        body = m.group(key)
        pairs = _PAIR_RE.findall(body)
        if ",".join(f"('{o}',{i})" for o, i in pairs) != body:
            raise InvalidArchitectureError(
                f"malformed {key} cell in {spec.name} genotype {text!r}; expected {_format(spec)}")
        parsed.append([(o, int(i)) for o, i in pairs])
    return from_cells(spec, parsed[0], parsed[1], text)

