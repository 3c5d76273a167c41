"""The DARTS CNN search space (Liu et al., 2019), as one package.

* :mod:`~nasrank.spaces.darts.encoding` — the 32-int genotype encoding, the ``Genotype`` string
  format, :data:`PRIMITIVES`, the published genotypes :data:`DARTS_V1` / :data:`DARTS_V2`;
  and the helpers every DARTS-style (32-int genotype) encoding shares (:func:`genotype_ints`,
  :func:`sort_node_pairs`, :func:`repair_inputs`, :func:`genotype_neighbours`, :func:`edge_index`);
* :mod:`~nasrank.spaces.darts.ops` — what each operation name builds (:func:`darts_op`, an
  :class:`OpFactory`);
* :mod:`~nasrank.spaces.darts.network` — the evaluation network (:class:`DARTSNetwork`; its
  operations come from an ``op_factory``);
* :mod:`~nasrank.spaces.darts.supernet` — the search supernet (:class:`DARTSSupernet`; per-edge
  candidate lists and an ``op_factory`` let restricted or extended spaces reuse it);
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
    edge_index,
    from_str,
    genotype_ints,
    genotype_neighbours,
    repair_inputs,
    sort_node_pairs,
    to_str,
)
from .network import AuxiliaryHead, DARTSCell, DARTSNetwork, build_network
from .ops import DARTS_PRIMITIVES, OpFactory, darts_op, darts_relu_conv_bn
from .space import DARTSSpace
from .supernet import DARTSSearchCell, DARTSSupernet

__all__ = ["DARTSSpace", "DARTSCell", "DARTSNetwork", "AuxiliaryHead", "DARTSSupernet",
           "DARTSSearchCell", "DARTS_V2", "DARTS_V1", "PRIMITIVES", "DARTS_PRIMITIVES", "STEPS",
           "NUM_CELL_EDGES", "cell_edges", "edge_index", "darts_op", "darts_relu_conv_bn",
           "OpFactory", "from_str", "to_str", "genotype_ints", "sort_node_pairs", "repair_inputs",
           "genotype_neighbours", "build_network"]
