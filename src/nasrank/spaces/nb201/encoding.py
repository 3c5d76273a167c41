"""The NAS-Bench-201 cell encoding: operations, edges, the official string format.

An architecture is a tuple of 6 operation indices, one per cell edge, in the benchmark's official
string order: edges ``1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2``. Operation indices follow the
benchmark's order: ``0 none, 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3, 4 avg_pool_3x3``.
The official string of ``(3, 3, 0, 1, 3, 4)`` is
``|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...exceptions import InvalidArchitectureError

__all__ = ["OPS", "EDGES", "NUM_NODES", "validate", "to_str", "from_str", "one_hot",
           "canonical_key", "reaches_output"]

Arch = tuple[int, ...]

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NONE, SKIP, CONV1, CONV3, POOL = range(5)
#: (destination, source) of each edge, in official string order.
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
NUM_NODES = 4
FORMAT = "|op~0|+|op~0|op~1|+|op~0|op~1|op~2| with op one of " + ", ".join(OPS)
_NODE_RE = re.compile(r"^\|(?:[a-z0-9_]+~\d+\|)+$")


def validate(arch: Any) -> Arch:
    """``arch`` as a canonical tuple of 6 op indices; ``InvalidArchitectureError`` otherwise.

    Example:
        >>> validate([3, 3, 0, 1, 3, 4])
        (3, 3, 0, 1, 3, 4)
    """
    if isinstance(arch, str):
        raise InvalidArchitectureError(
            "expected a tuple of 6 op indices, got a string; use space.from_str() to parse "
            + FORMAT
        )
    try:
        t = tuple(arch)
    except TypeError:
        raise InvalidArchitectureError(
            f"NB201 architecture must be a sequence of 6 op indices in 0..4, got {arch!r}"
        ) from None
    if len(t) != len(EDGES) or not all(
        isinstance(a, (int, np.integer)) and not isinstance(a, bool) and 0 <= a < len(OPS)
        for a in t
    ):
        raise InvalidArchitectureError(
            f"NB201 architecture must be a sequence of 6 op indices in 0..4, got {arch!r}"
        )
    return tuple(int(a) for a in t)


def to_str(arch: Sequence[int]) -> str:
    """The benchmark's official string of ``arch``.

    Example:
        >>> to_str((3, 3, 0, 1, 3, 4))
        '|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|'
    """
    a = validate(arch)
    nodes = []
    for k in range(1, NUM_NODES):
        terms = [f"{OPS[a[e]]}~{j}" for e, (d, j) in enumerate(EDGES) if d == k]
        nodes.append("|" + "|".join(terms) + "|")
    return "+".join(nodes)


def from_str(text: str) -> Arch:
    """Parse an official string (whitespace ignored).

    Example:
        >>> from_str("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|")
        (3, 0, 0, 0, 0, 1)
    """
    if not isinstance(text, str):
        raise InvalidArchitectureError(f"expected an architecture string, got {type(text).__name__}")
    s = "".join(text.split())
    node_strs = s.split("+")
    if len(node_strs) != NUM_NODES - 1 or not all(_NODE_RE.match(n) for n in node_strs):
        raise InvalidArchitectureError(
            f"malformed NB201 architecture string {text!r}; expected {FORMAT}"
        )
    arch = []
    for k, node in enumerate(node_strs, start=1):
        terms = [t for t in node.split("|") if t]
        if len(terms) != k:
            raise InvalidArchitectureError(
                f"node {k} of {text!r} has {len(terms)} inputs, expected {k}; expected {FORMAT}"
            )
        for j, term in enumerate(terms):
            op, src = term.split("~")
            if int(src) != j:
                raise InvalidArchitectureError(
                    f"node {k} input {j} of {text!r} reads node {src}, expected ~{j}; "
                    f"expected {FORMAT}"
                )
            if op not in OPS:
                raise InvalidArchitectureError(
                    f"unknown NB201 operation {op!r} in {text!r}; valid: {', '.join(OPS)}"
                )
            arch.append(OPS.index(op))
    # string order is node-major, which is exactly EDGES order
    return tuple(arch)


def one_hot(arch: Sequence[int]) -> np.ndarray:
    """One-hot encoding, shape ``(6, 5)`` float32 (edge-major rows).

    Example:
        >>> one_hot((0, 1, 2, 3, 4, 0)).argmax(1).tolist()
        [0, 1, 2, 3, 4, 0]
    """
    a = validate(arch)
    out = np.zeros((len(EDGES), len(OPS)), dtype=np.float32)
    out[np.arange(len(EDGES)), a] = 1.0
    return out


def reaches_output(arch: Sequence[int]) -> bool:
    """Whether a path of non-``none`` edges leads from the cell input to its output.

    Example:
        >>> reaches_output((3, 3, 3, 0, 0, 0))
        False
    """
    a = validate(arch)
    reach = [True, False, False, False]
    for e, (d, j) in enumerate(EDGES):
        if a[e] != NONE and reach[j]:
            reach[d] = True
    return reach[NUM_NODES - 1]


def canonical_key(arch: Sequence[int]) -> str:
    """The benchmark's isomorphism key (``to_unique_str(consider_zero=True)``).

    ``none`` edges and edges from zero nodes become ``#``; ``skip_connect`` passes its source's
    string through; any other op wraps it as ``(src)@op``; a node is the sorted ``+``-join
    of its terms. Two architectures are equivalent iff the keys of node 3 agree.

    Example:
        >>> canonical_key((1, 0, 0, 0, 3, 0)) == canonical_key((0, 0, 0, 3, 0, 0))
        True
    """
    a = validate(arch)
    node = ["0"]
    for k in range(1, NUM_NODES):
        terms = []
        for e, (d, j) in enumerate(EDGES):
            if d != k:
                continue
            if a[e] == NONE or node[j] == "#":
                terms.append("#")
            elif a[e] == SKIP:
                terms.append(node[j])
            else:
                terms.append(f"({node[j]})@{OPS[a[e]]}")
        node.append("+".join(sorted(terms)))
    return node[NUM_NODES - 1]
