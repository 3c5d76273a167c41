"""The NAS-Bench-101 cell encoding: graph specs, pruning, the official graph hash, string formats.

A cell is a DAG on at most 7 vertices: vertex 0 is the input, the last vertex the output and
every vertex in between (at most 5) applies one of :data:`OPS`. A *spec* is the pair
``(matrix, ops)`` of NAS-Bench-101's ``ModelSpec``: an upper-triangular 0/1 adjacency matrix
(``matrix[i, j] = 1``: an edge from vertex ``i`` to vertex ``j``) and the vertex labels
``["input", op, ..., op, "output"]``.

An architecture of the :class:`~nasrank.spaces.nb101.NB101Space` (``Arch``) is the 7-vertex spec
flattened into 26 ints: the 21 bits of the strict upper triangle in row-major order
(``(0,1), (0,2), ..., (0,6), (1,2), ..., (5,6)``, see :data:`TRIU`) followed by the op indices of
interior vertices 1..5 (``0 conv3x3-bn-relu, 1 conv1x1-bn-relu, 2 maxpool3x3``). Vertices that
lie on no input-to-output path are dropped before the network is built (:func:`prune`), exactly as
``ModelSpec`` does, so smaller cells are 7-vertex encodings with disconnected vertices. A spec
with fewer than 7 vertices is *embedded*: its vertices ``0..n-2`` keep their indices, its output
becomes vertex 6, and the unused interior vertices get no edges and op index 0.

String format (the spec written out, ``nasbench``-style; whitespace is ignored when parsing)::

    [[0,1,0,0,0,0,1],[0,0,1,0,0,0,0],...,[0,0,0,0,0,0,0]]|input,conv3x3-bn-relu,...,output

Validity is NAS-Bench-101's: after pruning, the input must reach the output and the cell may
have at most :data:`MAX_EDGES` edges.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ...exceptions import InvalidArchitectureError

__all__ = [
    "OPS", "INPUT", "OUTPUT", "NUM_VERTICES", "MAX_EDGES", "TRIU", "ARCH_LEN", "NASLIB_OPS",
    "prune", "graph_hash", "reach", "validate_form", "check_spec", "arch_to_spec", "spec_to_arch",
    "is_valid", "to_str", "from_str", "canonical", "canonical_key", "to_naslib_key",
    "from_naslib_key",
]

Arch = tuple[int, ...]

#: Interior operations, in NAS-Bench-101's ``available_ops`` order (the hash labels are indices
#: into this tuple).
OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
INPUT = "input"
OUTPUT = "output"
NUM_VERTICES = 7
MAX_EDGES = 9
#: The 21 (source, destination) vertex pairs of the strict upper triangle, row-major.
TRIU: tuple[tuple[int, int], ...] = tuple(
    (i, j) for i in range(NUM_VERTICES) for j in range(i + 1, NUM_VERTICES)
)
NUM_BITS = len(TRIU)
NUM_INTERIOR = NUM_VERTICES - 2
ARCH_LEN = NUM_BITS + NUM_INTERIOR
#: NASLib's op ids in the tuple keys of ``zc_nasbench101.json`` (``all_ops`` of NASLib's
#: ``nasbench101/conversions.py``; confirmed by the parameter counts of the file's 500 cells).
NASLIB_OPS: tuple[str, ...] = (INPUT, OUTPUT, "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")
FORMAT = ("[[row 0],...,[row n-1]]|input,op,...,op,output with a 0/1 upper-triangular matrix of "
          "n <= 7 vertices and op one of " + ", ".join(OPS))

_ROWS, _COLS = (np.array(v) for v in zip(*TRIU, strict=True))


# --- specs --------------------------------------------------------------------------------------
def _as_matrix(matrix: Any) -> np.ndarray:
    try:
        m = np.asarray(matrix)
    except Exception:  # noqa: BLE001  (ragged input and the like)
        m = None
    if m is None or m.ndim != 2 or m.shape[0] != m.shape[1] or not 2 <= m.shape[0] <= NUM_VERTICES:
        raise InvalidArchitectureError(
            f"NB101 matrix must be a square 0/1 array of 2..{NUM_VERTICES} vertices, got {matrix!r}"
        )
    if m.dtype.kind not in "biu" or not np.isin(m, (0, 1)).all():
        raise InvalidArchitectureError(f"NB101 matrix entries must be 0 or 1, got {matrix!r}")
    m = m.astype(np.int64)
    if np.tril(m).any():
        raise InvalidArchitectureError(
            "NB101 matrix must be strictly upper-triangular (edges only from lower to higher vertex)"
        )
    return m


def check_spec(matrix: Any, ops: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """``(matrix, ops)`` checked for form (not for connectivity): square 0/1 strictly upper-
    triangular matrix of 2..7 vertices, labels ``input, op..., output`` with ops from :data:`OPS`.

    Example:
        >>> m, o = check_spec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "maxpool3x3", "output"])
        >>> m.shape, o[1]
        ((3, 3), 'maxpool3x3')
    """
    m = _as_matrix(matrix)
    if isinstance(ops, str):
        raise InvalidArchitectureError(f"NB101 ops must be a list of labels, got the string {ops!r}")
    labels = [str(o) for o in ops]
    n = m.shape[0]
    if len(labels) != n:
        raise InvalidArchitectureError(
            f"NB101 spec has {n} vertices but {len(labels)} op labels; give one label per vertex"
        )
    if labels[0] != INPUT or labels[-1] != OUTPUT:
        raise InvalidArchitectureError(
            f"NB101 op labels must start with {INPUT!r} and end with {OUTPUT!r}, got {labels!r}"
        )
    bad = [o for o in labels[1:-1] if o not in OPS]
    if bad:
        raise InvalidArchitectureError(
            f"unknown NB101 operation {bad[0]!r}; valid: {', '.join(OPS)}"
        )
    return m, labels


def prune(matrix: Any, ops: Sequence[str]) -> tuple[np.ndarray | None, list[str] | None]:
    """Drop the vertices that lie on no input-to-output path (NAS-Bench-101's ``ModelSpec``).

    Returns ``(None, None)`` when the input does not reach the output (an invalid cell).

    Example:
        >>> m = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]  # vertex 2 is a dead end
        >>> pm, po = prune(m, ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
        >>> pm.tolist(), po
        ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ['input', 'conv3x3-bn-relu', 'output'])
    """
    m, labels = check_spec(matrix, ops)
    keep = _live_vertices(m)
    if keep is None:
        return None, None
    idx = np.flatnonzero(keep)
    return m[np.ix_(idx, idx)], [labels[i] for i in idx]


def reach(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(reachable from the input, reaching the output) boolean masks of an upper-triangular
    matrix.

    Example:
        >>> fwd, bwd = reach(np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]]))
        >>> fwd.tolist(), bwd.tolist()
        ([True, True, False], [False, False, True])
    """
    n = m.shape[0]
    fwd = np.zeros(n, dtype=bool)
    fwd[0] = True
    for j in range(1, n):  # upper-triangular: one pass in vertex order
        fwd[j] = bool((m[:j, j].astype(bool) & fwd[:j]).any())
    bwd = np.zeros(n, dtype=bool)
    bwd[n - 1] = True
    for i in range(n - 2, -1, -1):
        bwd[i] = bool((m[i, i + 1 :].astype(bool) & bwd[i + 1 :]).any())
    return fwd, bwd


def _live_vertices(m: np.ndarray) -> np.ndarray | None:
    """Boolean mask of the vertices on an input->output path; ``None`` if there is no path."""
    fwd, bwd = reach(m)
    if not fwd[-1]:
        return None
    return fwd & bwd


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324  (a fingerprint, not security)


def _hash_labelled(m: np.ndarray, labels: Sequence[int]) -> str:
    """NAS-Bench-101's iterated neighbourhood hash of a matrix with integer vertex labels."""
    n = m.shape[0]
    ins = [[w for w in range(n) if m[w, v]] for v in range(n)]
    outs = [[w for w in range(n) if m[v, w]] for v in range(n)]
    # initial label of a vertex: str((out-degree, in-degree, label)) as in the reference
    h = [_md5(str((len(outs[v]), len(ins[v]), int(labels[v])))) for v in range(n)]
    for _ in range(n):
        h = [
            _md5("".join(sorted(h[w] for w in ins[v])) + "|"
                 + "".join(sorted(h[w] for w in outs[v])) + "|" + h[v])
            for v in range(n)
        ]
    return _md5(str(sorted(h)))


def graph_hash(matrix: Any, ops: Sequence[str]) -> str:
    """The official NAS-Bench-101 graph hash of a spec (``ModelSpec.hash_spec``).

    The spec is pruned first; labels are ``-1`` (input), ``-2`` (output) and the op's index in
    :data:`OPS`. Isomorphic cells get the same hash; the 423,624 cells of the benchmark have
    distinct hashes.

    Raises:
        InvalidArchitectureError: if the input does not reach the output.

    Example:
        >>> m = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
        >>> a = graph_hash(m, ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
        >>> a == graph_hash(m, ["input", "maxpool3x3", "conv3x3-bn-relu", "output"])  # swapped
        True
        >>> len(a)
        32
    """
    pm, po = prune(matrix, ops)
    if pm is None or po is None:
        raise InvalidArchitectureError("NB101 cell has no path from input to output; it has no hash")
    labels = [-1] + [OPS.index(o) for o in po[1:-1]] + [-2]
    return _hash_labelled(pm, labels)


# --- architectures --------------------------------------------------------------------------------
def validate_form(arch: Any) -> Arch:
    """``arch`` as a 26-int tuple of 21 bits and 5 op indices (form only, not connectivity).

    Example:
        >>> validate_form([0] * 20 + [1] + [0] * 5)[-6:]
        (1, 0, 0, 0, 0, 0)
    """
    if isinstance(arch, str):
        raise InvalidArchitectureError(
            "expected a tuple of 26 ints, got a string; use space.from_str() to parse " + FORMAT
        )
    try:
        t = tuple(arch)
    except TypeError:
        t = None
    ok = t is not None and len(t) == ARCH_LEN and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in t
    )
    if ok:
        assert t is not None
        ok = all(0 <= v <= 1 for v in t[:NUM_BITS]) and all(0 <= v < len(OPS) for v in t[NUM_BITS:])
    if not ok:
        raise InvalidArchitectureError(
            f"NB101 architecture must be 21 edge bits (0/1) then 5 op indices (0..2), got {arch!r}"
        )
    assert t is not None
    return tuple(int(v) for v in t)


def arch_to_spec(arch: Sequence[int]) -> tuple[np.ndarray, list[str]]:
    """The unpruned 7-vertex ``(matrix, ops)`` of an architecture (form checked only).

    Example:
        >>> m, ops = arch_to_spec((1,) + (0,) * 4 + (1,) + (0,) * 14 + (1,) + (2, 0, 0, 0, 0))
        >>> int(m.sum()), ops[:2]
        (3, ['input', 'maxpool3x3'])
    """
    a = validate_form(arch)
    m = np.zeros((NUM_VERTICES, NUM_VERTICES), dtype=np.int64)
    m[_ROWS, _COLS] = a[:NUM_BITS]
    return m, [INPUT, *(OPS[o] for o in a[NUM_BITS:]), OUTPUT]


def _embed(m: np.ndarray, labels: Sequence[str]) -> Arch:
    """Embed a checked spec of n <= 7 vertices into the 7-vertex encoding."""
    n = m.shape[0]
    full = np.zeros((NUM_VERTICES, NUM_VERTICES), dtype=np.int64)
    pos = list(range(n - 1)) + [NUM_VERTICES - 1]
    full[np.ix_(pos, pos)] = m
    ops = [0] * NUM_INTERIOR
    for v in range(1, n - 1):
        ops[v - 1] = OPS.index(labels[v])
    return tuple(int(b) for b in full[_ROWS, _COLS]) + tuple(ops)


def spec_to_arch(matrix: Any, ops: Sequence[str]) -> Arch:
    """The architecture of a spec (form checked; a spec of fewer than 7 vertices is embedded).

    Example:
        >>> spec_to_arch([[0, 1], [0, 0]], ["input", "output"])[5]  # the edge input -> output
        1
    """
    m, labels = check_spec(matrix, ops)
    return _embed(m, labels)


def _pruned(arch: Sequence[int]) -> tuple[np.ndarray | None, list[str] | None]:
    m, ops = arch_to_spec(arch)
    return prune(m, ops)


@lru_cache(maxsize=1 << 17)
def _invalid_reason(a: Arch) -> str | None:
    """Why the (form-checked) encoding is not a valid cell, or ``None`` (pure Python: hot path)."""
    bits = a[:NUM_BITS]
    succ: list[list[int]] = [[] for _ in range(NUM_VERTICES)]
    for k, (i, j) in enumerate(TRIU):
        if bits[k]:
            succ[i].append(j)
    fwd = [False] * NUM_VERTICES
    fwd[0] = True
    for i in range(NUM_VERTICES):
        if fwd[i]:
            for j in succ[i]:
                fwd[j] = True
    if not fwd[-1]:
        return "the input does not reach the output"
    bwd = [False] * NUM_VERTICES
    bwd[-1] = True
    for i in range(NUM_VERTICES - 2, -1, -1):
        bwd[i] = any(bwd[j] for j in succ[i])
    live = [f and b for f, b in zip(fwd, bwd, strict=True)]
    e = sum(1 for i in range(NUM_VERTICES) if live[i] for j in succ[i] if live[j])
    if e > MAX_EDGES:
        return f"it has {e} edges after pruning, more than the {MAX_EDGES} allowed"
    return None


def is_valid(arch: Sequence[int]) -> bool:
    """NAS-Bench-101 validity: input reaches output and <= 9 edges after pruning.

    Example:
        >>> is_valid((0,) * 5 + (1,) + (0,) * 20)  # input -> output only
        True
        >>> is_valid((0,) * 26)
        False
    """
    return _invalid_reason(validate_form(arch)) is None


def validate(arch: Any) -> Arch:
    """``arch`` as a canonical 26-int tuple of a *valid* cell; ``InvalidArchitectureError``
    otherwise.

    Example:
        >>> validate([0] * 5 + [1] + [0] * 20)[5]
        1
    """
    a = validate_form(arch)
    why = _invalid_reason(a)
    if why is not None:
        raise InvalidArchitectureError(
            f"not a valid NB101 cell: {why}; an input->output path with at most {MAX_EDGES} edges is needed"
        )
    return a


def to_str(arch: Sequence[int]) -> str:
    """The spec string of ``arch`` (its unpruned 7-vertex matrix and labels).

    Example:
        >>> to_str((0,) * 5 + (1,) + (0,) * 15 + (1, 0, 2, 0, 0))
        '[[0,0,0,0,0,0,1],[0,0,0,0,0,0,0],[0,0,0,0,0,0,0],[0,0,0,0,0,0,0],[0,0,0,0,0,0,0],[0,0,0,0,0,0,0],[0,0,0,0,0,0,0]]|input,conv1x1-bn-relu,conv3x3-bn-relu,maxpool3x3,conv3x3-bn-relu,conv3x3-bn-relu,output'
    """
    m, ops = arch_to_spec(arch)
    rows = ",".join("[" + ",".join(str(int(v)) for v in row) + "]" for row in m)
    return f"[{rows}]|{','.join(ops)}"


_STR_RE = re.compile(r"^\[(\[[01](?:,[01])*\](?:,\[[01](?:,[01])*\])*)\]\|([a-z0-9\-]+(?:,[a-z0-9\-]+)*)$")


def from_str(text: str) -> Arch:
    """Parse a spec string (whitespace ignored; specs with fewer than 7 vertices are embedded).

    Raises:
        InvalidArchitectureError: for a malformed string or an invalid cell.

    Example:
        >>> from_str("[[0,1,0],[0,0,1],[0,0,0]]|input,maxpool3x3,output")[:6]
        (1, 0, 0, 0, 0, 0)
    """
    if not isinstance(text, str):
        raise InvalidArchitectureError(f"expected an architecture string, got {type(text).__name__}")
    s = "".join(text.split())
    match = _STR_RE.match(s)
    if match is None:
        raise InvalidArchitectureError(f"malformed NB101 architecture string {text!r}; expected {FORMAT}")
    rows = [[int(v) for v in r.split(",")] for r in match.group(1)[1:-1].split("],[")]
    if any(len(r) != len(rows) for r in rows):
        raise InvalidArchitectureError(
            f"NB101 matrix in {text!r} is not square ({len(rows)} rows); expected {FORMAT}"
        )
    return validate(spec_to_arch(rows, match.group(2).split(",")))


# --- isomorphism ----------------------------------------------------------------------------------
def canonical_key(arch: Sequence[int]) -> str:
    """The official graph hash of the (pruned) cell of ``arch``.

    Example:
        >>> k = canonical_key((0,) * 5 + (1,) + (0,) * 15 + (0,) * 5)
        >>> k == canonical_key((0,) * 5 + (1,) + (0,) * 15 + (2,) * 5)  # no interior vertex
        True
    """
    return _cached_hash(validate(arch))


@lru_cache(maxsize=1 << 16)
def _cached_hash(a: Arch) -> str:
    m, ops = arch_to_spec(a)
    return graph_hash(m, ops)


@lru_cache(maxsize=65536)
def canonical(arch: Arch) -> Arch:
    """The representative of ``arch``'s isomorphism class: the pruned cell relabelled by the
    topological order of its interior vertices that gives the lexicographically smallest
    ``(op indices, upper-triangle bits)``, then embedded (unused vertices: no edges, op 0).

    Example:
        >>> a = (1, 0, 0, 0, 0, 1) + (0,) * 15 + (2, 0, 0, 0, 0)  # edges 0->1, 0->6
        >>> canonical(a)  # vertex 1 (a pool) reaches nothing: pruned
        (0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    """
    pm, po = _pruned(validate(arch))
    assert pm is not None and po is not None
    n = pm.shape[0]
    interior = list(range(1, n - 1))
    labels = [OPS.index(o) for o in po[1:-1]]
    iu = np.triu_indices(n, 1)
    best: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    best_perm: list[int] = []
    for perm in itertools.permutations(interior):
        order = [0, *perm, n - 1]  # new vertex k is old vertex order[k]
        pmat = pm[np.ix_(order, order)]
        if np.tril(pmat).any():
            continue  # not a topological order
        key = (tuple(labels[v - 1] for v in perm), tuple(int(b) for b in pmat[iu]))
        if best is None or key < best:
            best, best_perm = key, order
    pmat = pm[np.ix_(best_perm, best_perm)]
    return _embed(pmat, [po[v] for v in best_perm])


# --- NASLib keys ----------------------------------------------------------------------------------
def to_naslib_key(arch: Sequence[int]) -> tuple[int, ...]:
    """NASLib's tuple key of ``arch``: the 49 entries of the unpruned 7x7 matrix (row-major)
    followed by 7 op ids (``0 input, 1 output, 2 maxpool3x3, 3 conv1x1-bn-relu,
    4 conv3x3-bn-relu``), as in the keys of ``zc_nasbench101.json``.

    Example:
        >>> key = to_naslib_key((0,) * 5 + (1,) + (0,) * 15 + (2, 0, 0, 0, 1))
        >>> key[6], key[49:]
        (1, (0, 2, 4, 4, 4, 3, 1))
    """
    m, ops = arch_to_spec(arch)
    return tuple(int(v) for v in m.reshape(-1)) + tuple(NASLIB_OPS.index(o) for o in ops)


def from_naslib_key(key: Sequence[int] | str) -> Arch:
    """The architecture of a NASLib tuple key (``n * n`` matrix entries then ``n`` op ids, n <= 7;
    a tuple of ints or its ``str``). Keys of fewer than 7 vertices are embedded.

    Example:
        >>> a = (0,) * 5 + (1,) + (0,) * 15 + (2, 0, 0, 0, 1)
        >>> from_naslib_key(str(to_naslib_key(a))) == a
        True
    """
    if isinstance(key, str):
        body = key.strip()
        if not (body.startswith("(") and body.endswith(")")):
            raise InvalidArchitectureError(f"malformed NASLib NB101 key {key!r}; expected '(0, 1, ...)'")
        try:
            vals = [int(v) for v in body[1:-1].split(",") if v.strip()]
        except ValueError:
            raise InvalidArchitectureError(f"malformed NASLib NB101 key {key!r}; expected ints") from None
    else:
        vals = [int(v) for v in key]
    n = next((k for k in range(2, NUM_VERTICES + 1) if k * k + k == len(vals)), None)
    if n is None or not all(0 <= v < len(NASLIB_OPS) for v in vals[n * n :]):
        raise InvalidArchitectureError(
            f"NASLib NB101 key must be n*n matrix entries then n op ids in 0..4 (n <= 7), "
            f"got {len(vals)} values"
        )
    m = np.array(vals[: n * n]).reshape(n, n)
    return validate(spec_to_arch(m, [NASLIB_OPS[v] for v in vals[n * n :]]))
