"""The reduced DARTS spaces S1-S4 of RobustDARTS (Zela et al., 2020), as one package.

Registered as ``darts-s1`` ... ``darts-s4``: DARTS genotypes (2 inputs per node, the DARTS
``Genotype(...)`` string format) whose every operation is one of its edge's candidates.

* :mod:`~nasrank.spaces.darts_sub.encoding` — the candidate tables (:data:`SUBSPACES`,
  :data:`S1_NORMAL`, :data:`S1_REDUCE`), the 32-int encoding and the string format;
* :mod:`~nasrank.spaces.darts_sub.ops` — RobustDARTS' ``noise`` (:class:`NoiseOp`) and
  :func:`subspace_op`;
* :mod:`~nasrank.spaces.darts_sub.network` — the evaluation network of S4 genotypes
  (:class:`SubspaceNetwork`, the DARTS network with :func:`subspace_op`; S1-S3 build
  :class:`nasrank.spaces.darts.DARTSNetwork`);
* :mod:`~nasrank.spaces.darts_sub.supernet` — the search supernet (:class:`DARTSSubSupernet`,
  the DARTS supernet with per-edge candidates);
* :mod:`~nasrank.spaces.darts_sub.space` — the space classes.

Example:
    >>> import nasrank
    >>> sp = nasrank.create_space("darts-s4")
    >>> sp.to_str(sp.sample(0))[:47]
    "Genotype(normal=[('sep_conv_3x3', 0), ('noise',"
"""

from __future__ import annotations

from .encoding import OP_NAMES, S1_NORMAL, S1_REDUCE, SUBSPACES, SubspaceSpec, edge_index
from .network import SubspaceNetwork
from .ops import NoiseOp, subspace_op
from .space import DARTSS1Space, DARTSS2Space, DARTSS3Space, DARTSS4Space, DARTSSubspace
from .supernet import DARTSSubSupernet

__all__ = ["DARTSSubspace", "DARTSS1Space", "DARTSS2Space", "DARTSS3Space", "DARTSS4Space",
           "DARTSSubSupernet", "SubspaceNetwork",
           "NoiseOp", "subspace_op", "SubspaceSpec", "SUBSPACES", "S1_NORMAL", "S1_REDUCE",
           "OP_NAMES", "edge_index"]
