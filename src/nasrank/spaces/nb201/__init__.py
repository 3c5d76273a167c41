"""The NAS-Bench-201 (NATS-Bench topology) search space, as one package.

* :mod:`~nasrank.spaces.nb201.encoding` — operations, edges, the official string format,
  validation and the isomorphism key;
* :mod:`~nasrank.spaces.nb201.network` — the benchmark's macro skeleton (:class:`NB201Network`)
  and the cell compiled from an architecture (:class:`NB201Cell`);
* :mod:`~nasrank.spaces.nb201.supernet` — the weight-sharing supernet (:class:`NB201Supernet`);
* :mod:`~nasrank.spaces.nb201.profile` — parameter and FLOP counts in closed form;
* :mod:`~nasrank.spaces.nb201.space` — :class:`NB201Space`, registered as ``"nb201"``.

An architecture is a tuple of 6 operation indices, one per cell edge, in the benchmark's official
string order: edges ``1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2``. Operation indices follow the
benchmark's order: ``0 none, 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3, 4 avg_pool_3x3``.

Example:
    >>> from nasrank.spaces.nb201 import NB201Space
    >>> NB201Space().to_str((3, 3, 0, 1, 3, 4))
    '|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|'
"""

from __future__ import annotations

from .encoding import EDGES, OPS
from .network import NB201Cell, NB201Network
from .space import NB201Space
from .supernet import NB201SearchCell, NB201Supernet

__all__ = ["NB201Space", "NB201Cell", "NB201Network", "NB201Supernet", "NB201SearchCell", "OPS",
           "EDGES"]
