"""The DARTS CNN search space (Liu et al., 2019), as one package.

* :mod:`~nasrank.spaces.darts.encoding` — the 32-int genotype encoding, the ``Genotype`` string
  format, :data:`PRIMITIVES`, the published genotypes :data:`DARTS_V1` / :data:`DARTS_V2`;
* :mod:`~nasrank.spaces.darts.ops` — what each operation name builds (:func:`darts_op`);
* :mod:`~nasrank.spaces.darts.network` — the evaluation network (:class:`DARTSNetwork`);
* :mod:`~nasrank.spaces.darts.supernet` — the search supernet (:class:`DARTSSupernet`);
* :mod:`~nasrank.spaces.darts.space` — :class:`DARTSSpace`, registered as ``"darts"``.

Example:
    >>> from nasrank.spaces.darts import DARTS_V2, DARTSSpace
    >>> DARTSSpace().from_str(DARTS_V2)[:4]
    (4, 0, 4, 1)
"""

from __future__ import annotations

from .encoding import (
    DARTS_V1,
    DARTS_V2,
    NUM_CELL_EDGES,
    PRIMITIVES,
    STEPS,
    cell_edges,
    from_str,
    to_str,
)
from .network import AuxiliaryHead, DARTSCell, DARTSNetwork
from .ops import DARTS_PRIMITIVES, darts_op, darts_relu_conv_bn
from .space import DARTSSpace
from .supernet import DARTSSearchCell, DARTSSupernet

__all__ = ["DARTSSpace", "DARTSCell", "DARTSNetwork", "AuxiliaryHead", "DARTSSupernet",
           "DARTSSearchCell", "DARTS_V2", "DARTS_V1", "PRIMITIVES", "DARTS_PRIMITIVES", "STEPS",
           "NUM_CELL_EDGES", "cell_edges", "darts_op", "darts_relu_conv_bn", "from_str", "to_str"]
