"""Random graph generators of RandWiredNN (Xie et al., 2019), written for stable determinism.

The three classic random graph models, each producing an *undirected* graph on nodes
``0 .. n-1``:

* :func:`erdos_renyi` — ER(P): every pair of nodes is joined independently with probability P;
* :func:`barabasi_albert` — BA(M): M initial nodes without edges, then every further node is
  joined to M distinct existing nodes, each drawn with probability proportional to its degree
  (the first added node therefore joins all M initial nodes);
* :func:`watts_strogatz` — WS(K, P): a ring lattice where each node is joined to its K/2
  neighbours on either side; then, for ``i = 1 .. K/2`` and each node ``v`` in ring order, the
  edge from ``v`` to its ``i``-th clockwise neighbour is rewired with probability P to a target
  drawn uniformly among the nodes that are not ``v`` and not yet joined to ``v``.

:func:`to_dag` turns a graph into the DAG a RandWiredNN cell computes: every edge points from
the lower to the higher node index (ER nodes in index order, BA nodes in order of addition, WS
nodes in ring order, as in Xie et al. §3.2).

Determinism that does not depend on library versions: the generators draw only from
:class:`Stream`, which turns the raw 64-bit output of NumPy's PCG64 bit generator seeded through
:class:`numpy.random.SeedSequence` into uniforms and bounded integers with its own arithmetic.
Both PCG64's output and SeedSequence's mixing are fixed by their published algorithms, unlike
the distribution methods of :class:`numpy.random.Generator` (which NumPy may change between
versions) and networkx's generators (which use Python's ``random``). The same seed therefore
gives the same graph on every machine and version.

Example:
    >>> edges = watts_strogatz(8, 2, 0.0, Stream([1, 2]))  # P=0: the ring itself
    >>> edges
    [(0, 1), (0, 7), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7)]
    >>> to_dag(8, edges)[:2]
    [(0, 1), (0, 7)]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...exceptions import ConfigError

__all__ = ["Stream", "erdos_renyi", "barabasi_albert", "watts_strogatz", "to_dag", "Edges"]

#: A graph as a sorted list of ``(i, j)`` pairs with ``i < j``.
Edges = list[tuple[int, int]]

_TWO53 = float(2**53)


class Stream:
    """A reproducible stream of uniforms and integers, fixed across NumPy versions.

    Args:
        entropy: Non-negative ints fed to :class:`numpy.random.SeedSequence`.

    Example:
        >>> s, t = Stream([7, 1]), Stream([7, 1])
        >>> [s.uniform() for _ in range(3)] == [t.uniform() for _ in range(3)]
        True
        >>> 0 <= Stream([3]).integer(5) < 5
        True
    """

    def __init__(self, entropy: Sequence[int]) -> None:
        self._bits = np.random.PCG64(np.random.SeedSequence([int(e) for e in entropy]))
        self._buffer: list[int] = []
        self._next = 0

    def _raw(self) -> int:
        # raw draws fetched in blocks (the same sequence as one at a time, much faster)
        if self._next == len(self._buffer):
            self._buffer = [int(v) for v in self._bits.random_raw(256)]
            self._next = 0
        self._next += 1
        return self._buffer[self._next - 1]

    def uniform(self) -> float:
        """A float in [0, 1) from the top 53 bits of one raw draw."""
        return (self._raw() >> 11) / _TWO53

    def uniforms(self, n: int) -> np.ndarray:
        """``n`` uniforms at once (the same values as ``n`` calls of :meth:`uniform`)."""
        take = min(n, len(self._buffer) - self._next)
        head = self._buffer[self._next : self._next + take]
        self._next += take
        raw = np.concatenate([np.array(head, dtype=np.uint64), self._bits.random_raw(n - take).astype(np.uint64)])
        return (raw >> np.uint64(11)).astype(np.float64) / _TWO53

    def integer(self, n: int) -> int:
        """An int uniform in ``0 .. n-1`` (rejection sampling on 64-bit draws, no modulo bias)."""
        if n < 1:
            raise ValueError(f"integer(n) needs n >= 1, got {n}")
        limit = (2**64 // n) * n
        while True:
            r = self._raw()
            if r < limit:
                return r % n


def _check_nodes(n: int, minimum: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < minimum:
        raise ConfigError(f"random graphs need an int number of nodes >= {minimum}, got {n!r}")


def erdos_renyi(n: int, p: float, stream: Stream) -> Edges:
    """ER(P): each of the ``n (n - 1) / 2`` node pairs (row-major order ``(0,1), (0,2), ...``) is
    an edge when its uniform draw is below ``p``.

    Example:
        >>> len(erdos_renyi(6, 1.0, Stream([0])))
        15
    """
    _check_nodes(n, 2)
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"ER probability P must be in [0, 1], got {p!r}")
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    u = stream.uniforms(len(pairs))
    return [e for e, x in zip(pairs, u, strict=True) if x < p]


def barabasi_albert(n: int, m: int, stream: Stream) -> Edges:
    """BA(M): preferential attachment from M isolated initial nodes.

    Nodes ``m .. n-1`` are added in order; each picks ``m`` distinct targets one at a time among
    the existing nodes, with probability proportional to their degree before the new node was
    added (uniform while every degree is zero), excluding targets already picked.

    Example:
        >>> e = barabasi_albert(10, 2, Stream([0]))
        >>> len(e), e[:2]
        (16, [(0, 2), (0, 3)])
    """
    _check_nodes(n, 2)
    if isinstance(m, bool) or not isinstance(m, int) or not 1 <= m < n:
        raise ConfigError(f"BA parameter M must be an int in [1, {n - 1}], got {m!r}")
    degree = [0] * n
    edges: set[tuple[int, int]] = set()
    for v in range(m, n):
        weights = [float(degree[u]) for u in range(v)]
        if sum(weights) == 0.0:
            weights = [1.0] * v
        picked: list[int] = []
        for _ in range(m):
            avail = [(u, w) for u, w in enumerate(weights) if u not in picked and w > 0.0]
            if not avail:  # fewer positive-degree nodes than M: fall back to the rest uniformly
                avail = [(u, 1.0) for u in range(v) if u not in picked]
            total = sum(w for _, w in avail)
            x = stream.uniform() * total
            acc = 0.0
            choice = avail[-1][0]
            for u, w in avail:
                acc += w
                if x < acc:
                    choice = u
                    break
            picked.append(choice)
        for u in picked:
            edges.add((u, v))
            degree[u] += 1
            degree[v] += 1
    return sorted(edges)


def watts_strogatz(n: int, k: int, p: float, stream: Stream) -> Edges:
    """WS(K, P): ring lattice of degree K, then clockwise rewiring with probability P.

    Example:
        >>> len(watts_strogatz(10, 4, 0.5, Stream([0])))  # rewiring keeps the edge count
        20
    """
    _check_nodes(n, 3)
    if isinstance(k, bool) or not isinstance(k, int) or k < 2 or k % 2 or k >= n:
        raise ConfigError(f"WS parameter K must be an even int in [2, {n - 1}], got {k!r}")
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"WS probability P must be in [0, 1], got {p!r}")
    adj: list[set[int]] = [set() for _ in range(n)]
    for v in range(n):
        for i in range(1, k // 2 + 1):
            w = (v + i) % n
            adj[v].add(w)
            adj[w].add(v)
    for i in range(1, k // 2 + 1):
        for v in range(n):
            w = (v + i) % n
            if w not in adj[v] or stream.uniform() >= p:
                continue
            options = [u for u in range(n) if u != v and u not in adj[v]]
            if not options:
                continue
            new = options[stream.integer(len(options))]
            adj[v].discard(w)
            adj[w].discard(v)
            adj[v].add(new)
            adj[new].add(v)
    return sorted((v, w) for v in range(n) for w in adj[v] if v < w)


def to_dag(n: int, edges: Sequence[tuple[int, int]]) -> Edges:
    """The DAG of an undirected graph: each edge from its lower to its higher node index.

    Example:
        >>> to_dag(3, [(2, 0), (1, 2)])
        [(0, 2), (1, 2)]
    """
    out = sorted({(min(int(a), int(b)), max(int(a), int(b))) for a, b in edges})
    if any(a == b or a < 0 or b >= n for a, b in out):
        raise ConfigError(f"edges must join distinct nodes in 0..{n - 1}")
    return out
