"""The NAS-Bench-1Shot1 sub-spaces of NAS-Bench-101 (Zela, Siems & Hutter, 2020), as one package.

Registers ``nb1shot1-1``, ``nb1shot1-2`` and ``nb1shot1-3`` (seed 002's NB101-1/2/3):

* :mod:`~nasrank.spaces.nb1shot1.encoding` — the sub-spaces (:data:`SUBSPACES`: parents per
  node), the configuration encoding, the string format, the NB101 ``(matrix, ops)`` mapping, the
  isomorphism representative and the published sizes;
* :mod:`~nasrank.spaces.nb1shot1.supernet` — the one-shot model (:class:`NB1Shot1Supernet`):
  per-node operation mixtures and per-edge input weights;
* :mod:`~nasrank.spaces.nb1shot1.space` — :class:`NB1Shot1Space` and its three registered
  subclasses. Built networks are the NAS-Bench-101 networks of the equivalent cells
  (:class:`~nasrank.spaces.nb101.NB101Network`).

Example:
    >>> import nasrank
    >>> space = nasrank.create_space("nb1shot1-3")
    >>> a = space.sample(0)
    >>> space.from_str(space.to_str(a)) == a, space.published_size
    (True, 363648)
"""

from __future__ import annotations

from .encoding import PUBLISHED_SIZES, SUBSPACES, SubspaceSpec, published_count
from .space import NB1Shot1Space, NB1Shot1Space1, NB1Shot1Space2, NB1Shot1Space3
from .supernet import EDGE, SUPERNET_OPS, NB1Shot1SearchCell, NB1Shot1Supernet

__all__ = ["NB1Shot1Space", "NB1Shot1Space1", "NB1Shot1Space2", "NB1Shot1Space3",
           "NB1Shot1Supernet", "NB1Shot1SearchCell", "SubspaceSpec", "SUBSPACES",
           "PUBLISHED_SIZES", "SUPERNET_OPS", "EDGE", "published_count"]
