"""The NAS-Bench-101 cell search space (Ying et al., 2019), as one package.

* :mod:`~nasrank.spaces.nb101.encoding` — specs ``(matrix, ops)``, pruning, the official graph
  hash, the 26-int architecture encoding, the spec string format and NASLib's tuple keys;
* :mod:`~nasrank.spaces.nb101.network` — the benchmark network (:class:`NB101Network`) and its
  cell (:class:`NB101Cell`);
* :mod:`~nasrank.spaces.nb101.profile` — parameter and FLOP counts in closed form;
* :mod:`~nasrank.spaces.nb101.enumeration` — the enumeration of the 423,624 unique cells;
* :mod:`~nasrank.spaces.nb101.space` — :class:`NB101Space`, registered as ``"nb101"``.

The space has no weight-sharing supernet (the NAS-Bench-1Shot1 spaces provide those).

Example:
    >>> from nasrank.spaces.nb101 import NB101Space, graph_hash
    >>> s = NB101Space()
    >>> m, ops = s.to_spec(s.sample(0))
    >>> graph_hash(m, ops) == s.canonical_key(s.sample(0))
    True
"""

from __future__ import annotations

from .encoding import INPUT, NASLIB_OPS, OPS, OUTPUT, graph_hash, prune
from .network import NB101Cell, NB101Network
from .space import NB101Space

__all__ = ["NB101Space", "NB101Cell", "NB101Network", "prune", "graph_hash", "OPS", "INPUT",
           "OUTPUT", "NASLIB_OPS"]
