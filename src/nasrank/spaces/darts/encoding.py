"""The DARTS genotype encoding: operations, cell edges, the ``Genotype`` string format.

A genotype has a normal and a reduction cell. Each cell has 4 intermediate nodes; node ``k``
(0..3) sums two operations, each reading one of its ``k + 2`` possible inputs: ``0`` = the output
of the cell two back, ``1`` = the output of the previous cell, ``2..k+1`` = earlier intermediate
nodes. The cell output concatenates the 4 intermediate nodes along channels.

**Architecture encoding** (plain immutable data): a tuple of 32 ints, ``(op, input)`` for the 8
operations of the normal cell (node-major, two per node), then the same for the reduction cell.
Operation indices follow :data:`PRIMITIVES` (``0 none`` is not allowed in a genotype); the two
inputs of a node must differ, as in every genotype DARTS-style search derives.

**String form** is the DARTS code base's ``Genotype`` repr, parsed without ``eval``::

    Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5],
             reduce=[('max_pool_3x3', 0), ...], reduce_concat=[2, 3, 4, 5])

(``range(2, 6)`` is accepted for the concatenations.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..._rng import as_generator
from ...exceptions import InvalidArchitectureError

__all__ = ["PRIMITIVES", "STEPS", "NUM_CELL_EDGES", "PER_CELL", "DARTS_V1", "DARTS_V2",
           "cell_edges", "edge_index", "parse_genotype_str", "genotype_ints", "validate", "to_str",
           "from_str", "cells", "sort_node_pairs", "repair_inputs", "genotype_neighbours"]

Arch = tuple[int, ...]

#: The 8 DARTS operations, in the order of the DARTS code base.
PRIMITIVES: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
STEPS = 4  # intermediate nodes per cell
NUM_CELL_EDGES = 14  # 2 + 3 + 4 + 5 candidate edges of a supernet cell
PER_CELL = 4 * STEPS  # ints per cell in the encoding
FORMAT = ("Genotype(normal=[('op', input), ... 8 pairs], normal_concat=[2, 3, 4, 5], "
          "reduce=[... 8 pairs], reduce_concat=[2, 3, 4, 5]) with op one of "
          + ", ".join(PRIMITIVES[1:]) + " and input of node k in 0..k+1")
_GENOTYPE_RE = re.compile(
    r"^Genotype\(normal=\[(?P<normal>[^\]]*)\],normal_concat=(?P<nc>\[[^\]]*\]|range\(\d+,\d+\)),"
    r"reduce=\[(?P<reduce>[^\]]*)\],reduce_concat=(?P<rc>\[[^\]]*\]|range\(\d+,\d+\))\)$"
)
_PAIR_RE = re.compile(r"\('([a-z0-9_]+)',(\d+)\)")


def cell_edges() -> list[tuple[int, int]]:
    """(node, input) of the 14 supernet edges of a cell, in DARTS order (node-major).

    Example:
        >>> cell_edges()[:5]
        [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)]
    """
    return [(k, j) for k in range(STEPS) for j in range(k + 2)]


def edge_index(node: int, inp: int) -> int:
    """The cell edge (0..13, :func:`cell_edges` order) on which node ``node`` reads input ``inp``.

    Example:
        >>> edge_index(0, 0), edge_index(1, 2), edge_index(3, 4)
        (0, 4, 13)
    """
    return node * (node + 3) // 2 + inp


def parse_genotype_str(text: str) -> Arch:
    """The 32 ints of a ``Genotype(...)`` string (not yet validated; see :func:`from_str`).

    Example:
        >>> parse_genotype_str(DARTS_V2)[:4]
        (4, 0, 4, 1)
    """
    s = "".join(text.split()).replace('"', "'")
    m = _GENOTYPE_RE.match(s)
    if m is None:
        raise InvalidArchitectureError(f"malformed DARTS genotype string {text!r}; expected {FORMAT}")
    for key in ("nc", "rc"):
        concat = m.group(key)
        if concat not in ("[2,3,4,5]", "range(2,6)"):
            raise InvalidArchitectureError(
                f"unsupported concatenation {concat!r} in {text!r}: only nodes 2..5 are supported"
            )
    arch: list[int] = []
    for key in ("normal", "reduce"):
        body = m.group(key)
        pairs = _PAIR_RE.findall(body)
        if ",".join(f"('{o}',{i})" for o, i in pairs) != body:
            raise InvalidArchitectureError(
                f"malformed {key} cell in DARTS genotype {text!r}; expected {FORMAT}"
            )
        if len(pairs) != 2 * STEPS:
            raise InvalidArchitectureError(
                f"the {key} cell of {text!r} has {len(pairs)} (op, input) pairs, expected "
                f"{2 * STEPS}"
            )
        for op, idx in pairs:
            if op not in PRIMITIVES:
                raise InvalidArchitectureError(
                    f"unknown DARTS operation {op!r} in {text!r}; valid: {', '.join(PRIMITIVES[1:])}"
                )
            arch += [PRIMITIVES.index(op), int(idx)]
    return tuple(arch)


def genotype_ints(arch: Any, label: str = "DARTS", expected: str = FORMAT) -> Arch:
    """``arch`` as a tuple of 32 Python ints, the shape of a DARTS-style encoding (the values are
    not checked: that is the space's ``validate``).

    Args:
        arch: The candidate architecture.
        label: The space in error messages.
        expected: The string format, quoted when ``arch`` is a string.

    Example:
        >>> genotype_ints(np.arange(32))[-2:]
        (30, 31)
        >>> genotype_ints([1, 2], label="darts-s2")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nasrank.exceptions.InvalidArchitectureError: darts-s2 architecture must be a sequence of 32 ints ...
    """
    if isinstance(arch, str):
        raise InvalidArchitectureError(
            "expected a tuple of 32 ints, got a string; use space.from_str() to parse " + expected
        )
    try:
        t = tuple(arch)
    except TypeError:
        raise InvalidArchitectureError(
            f"{label} architecture must be a sequence of 32 ints (op, input pairs), got {arch!r}"
        ) from None
    if len(t) != 2 * PER_CELL or not all(
        isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in t
    ):
        raise InvalidArchitectureError(
            f"{label} architecture must be a sequence of 32 ints (op, input pairs), got {arch!r}"
        )
    return tuple(int(a) for a in t)


def validate(arch: Any) -> Arch:
    """``arch`` as a canonical 32-int tuple; ``InvalidArchitectureError`` if it is not a genotype.

    Example:
        >>> len(validate([4, 0, 4, 1] * 8))
        32
    """
    t = genotype_ints(arch)
    for cell in range(2):
        for k in range(STEPS):
            base = cell * PER_CELL + 4 * k
            op_a, in_a, op_b, in_b = t[base : base + 4]
            for op in (op_a, op_b):
                if not 1 <= op < len(PRIMITIVES):
                    raise InvalidArchitectureError(
                        f"DARTS op index must be in 1..{len(PRIMITIVES) - 1} (none is not "
                        f"allowed in a genotype), got {op} in {t!r}"
                    )
            for inp in (in_a, in_b):
                if not 0 <= inp < k + 2:
                    raise InvalidArchitectureError(
                        f"node {k} of the {('normal', 'reduce')[cell]} cell reads input {inp}; "
                        f"valid: 0..{k + 1}"
                    )
            if in_a == in_b:
                raise InvalidArchitectureError(
                    f"node {k} of the {('normal', 'reduce')[cell]} cell reads input {in_a} "
                    "twice; the two inputs of a node must differ"
                )
    return t


def to_str(arch: Sequence[int]) -> str:
    """The DARTS ``Genotype`` repr of ``arch``.

    Example:
        >>> to_str(from_str(DARTS_V2)) == DARTS_V2
        True
    """
    a = validate(arch)

    def cell(c: int) -> str:
        part = a[c * PER_CELL : (c + 1) * PER_CELL]
        return ", ".join(f"('{PRIMITIVES[part[i]]}', {part[i + 1]})" for i in range(0, PER_CELL, 2))

    return (f"Genotype(normal=[{cell(0)}], normal_concat=[2, 3, 4, 5], "
            f"reduce=[{cell(1)}], reduce_concat=[2, 3, 4, 5])")


def from_str(text: str) -> Arch:
    """Parse a ``Genotype(...)`` string (without ``eval``) into a validated architecture.

    Example:
        >>> from_str(DARTS_V1)[:4]
        (4, 1, 4, 0)
    """
    if not isinstance(text, str):
        raise InvalidArchitectureError(f"expected a genotype string, got {type(text).__name__}")
    return validate(parse_genotype_str(text))


def cells(arch: Sequence[int]) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """The normal and reduction cells as DARTS-style lists of ``(op name, input)`` pairs.

    Example:
        >>> cells(from_str(DARTS_V2))[1][:2]
        [('max_pool_3x3', 0), ('max_pool_3x3', 1)]
    """
    a = validate(arch)
    out = []
    for c in range(2):
        part = a[c * PER_CELL : (c + 1) * PER_CELL]
        out.append([(PRIMITIVES[part[i]], part[i + 1]) for i in range(0, PER_CELL, 2)])
    return out[0], out[1]


def sort_node_pairs(arch: Sequence[int]) -> Arch:
    """The encoding with each node's two ``(op, input)`` pairs sorted (input first, then op): the
    canonical form of a DARTS-style encoding (swapping a node's two operations does not change
    the network's function family). ``arch`` is not validated.

    Example:
        >>> sort_node_pairs((4, 1, 3, 0) + (1, 0, 2, 1) * 7)[:4]
        (3, 0, 4, 1)
    """
    a = tuple(arch)
    out: list[int] = []
    for node in range(2 * STEPS):
        p, q = (a[4 * node + 1], a[4 * node]), (a[4 * node + 3], a[4 * node + 2])
        for inp, op in sorted((p, q)):
            out += [op, inp]
    return tuple(out)


def repair_inputs(arch: Sequence[int], rng: int | np.random.Generator | None = None) -> Arch:
    """Repair a position-wise draw of a DARTS-style encoding: a node that reads one input twice
    gets its second input redrawn (seeded) from the others; the rest is kept (not validated).

    Example:
        >>> a = [4, 0, 4, 0] + [4, 0, 4, 1] * 7
        >>> fixed = repair_inputs(a, 0)
        >>> fixed[3] != fixed[1] and fixed[4:] == tuple(a[4:])
        True
    """
    t = [int(v) for v in arch]
    if len(t) == 2 * PER_CELL:
        gen = None
        for cell in range(2):
            for k in range(STEPS):
                base = cell * PER_CELL + 4 * k
                if t[base + 1] == t[base + 3] and 0 <= t[base + 1] < k + 2:
                    gen = gen if gen is not None else as_generator(rng)
                    others = [i for i in range(k + 2) if i != t[base + 1]]
                    t[base + 3] = int(others[int(gen.integers(len(others)))])
    return tuple(t)


def genotype_neighbours(arch: Sequence[int], op_values: Callable[[int, int, int], Iterable[int]]
                        ) -> list[Arch]:
    """Every encoding that differs from the (valid) ``arch`` in one operation or in one input;
    an input change keeps the operation index.

    Args:
        arch: A valid DARTS-style encoding.
        op_values: ``op_values(cell, node, input)``: the operation indices an ``(op, input)``
            pair of node ``node`` of cell ``cell`` (0 normal, 1 reduction) may hold.

    Example:
        >>> a = validate([4, 0, 4, 1] * 8)
        >>> len(genotype_neighbours(a, lambda cell, node, inp: range(1, len(PRIMITIVES))))
        120
    """
    a = tuple(arch)
    out: list[Arch] = []
    for slot in range(2 * 2 * STEPS):
        i = 2 * slot
        cell, k = slot // (2 * STEPS), (slot % (2 * STEPS)) // 2
        for op in op_values(cell, k, a[i + 1]):
            if op != a[i]:
                out.append(a[:i] + (op,) + a[i + 1 :])
        other = a[i + 1 + (2 if slot % 2 == 0 else -2)]
        for inp in range(k + 2):
            if inp not in (a[i + 1], other):
                out.append(a[: i + 1] + (inp,) + a[i + 2 :])
    return out


#: DARTS (second order), the published genotype of Liu et al. (2019), ``DARTS_V2``.
DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
    "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)
#: DARTS (first order), ``DARTS_V1`` of the same file.
DARTS_V1 = (
    "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
    "('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])"
)
