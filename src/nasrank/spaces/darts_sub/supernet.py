"""The search supernet of a DARTS sub-space: every edge mixes that edge's candidates only.

As RobustDARTS' ``model_search.py``: the DARTS search network (stem to ``3C``, ``layers`` cells,
reductions at ``layers // 3`` and ``2 * layers // 3``, non-affine BatchNorm, pooling followed by
a non-affine BatchNorm, global pooling, classifier), whose edge ``e`` of the normal (reduction)
cells mixes the candidates ``spec.candidates[0][e]`` (``[1][e]``).

**Weight matrix.** 28 rows (edges 0..13 of the normal cells, 14..27 of the reduction cells,
:func:`~nasrank.spaces.darts.cell_edges` order) by ``k`` columns, column ``o`` of row ``e`` being
the ``o``-th candidate of that edge (RobustDARTS' ``alphas_normal`` / ``alphas_reduce`` layout).
In S2-S4 every edge has the same candidates and :attr:`DARTSSubSupernet.ops` are their names
(S3: ``none``, ``skip_connect``, ``sep_conv_3x3``). S1's edges have different pairs: its columns
are the edge's first and second candidate (``ops == ("candidate_0", "candidate_1")``);
:attr:`DARTSSubSupernet.edge_ops` names the operation of every (row, column), and
:meth:`~DARTSSubSupernet.path_ops` reports real operation names.
"""

from __future__ import annotations

from ...exceptions import ConfigError
from ..darts import DARTSSupernet
from .encoding import SubspaceSpec
from .ops import subspace_op

__all__ = ["DARTSSubSupernet"]


class DARTSSubSupernet(DARTSSupernet):
    """The search supernet of a RobustDARTS sub-space (C=16, 8 cells by default): the
    :class:`~nasrank.spaces.darts.DARTSSupernet` of the space's per-edge candidates, built with
    :func:`~nasrank.spaces.darts_sub.subspace_op`.

    Args:
        spec: The sub-space (:data:`~nasrank.spaces.darts_sub.SUBSPACES`).
        C: Initial channels.
        layers: Cells; reductions at ``layers // 3`` and ``2 * layers // 3``.
        num_classes: Classifier outputs.
        in_channels: Image channels.

    Attributes:
        edge_ops: Per weight row, the candidate names of its columns.

    Example:
        >>> from nasrank.spaces.darts_sub import SUBSPACES
        >>> net = DARTSSubSupernet(SUBSPACES["darts-s3"], C=2, layers=3)
        >>> net.arch_weights().shape, net.ops
        ((28, 3), ('none', 'skip_connect', 'sep_conv_3x3'))
        >>> w = net.path_weights((1, 0, 0, 1) * 8)
        >>> w.shape, int(w.sum()), w[0].tolist(), w[1].tolist()
        ((28, 3), 16, [0.0, 0.0, 1.0], [0.0, 1.0, 0.0])
        >>> DARTSSubSupernet(SUBSPACES["darts-s1"], C=2, layers=3).path_ops((0, 0, 0, 1) * 8)[:2]
        ['skip_connect', 'skip_connect']
    """

    def __init__(self, spec: SubspaceSpec, C: int = 16, layers: int = 8, num_classes: int = 10,
                 in_channels: int = 3) -> None:
        if not isinstance(spec, SubspaceSpec):
            raise ConfigError(f"`spec` must be a SubspaceSpec, got {type(spec).__name__}")
        super().__init__(C=C, layers=layers, num_classes=num_classes, in_channels=in_channels,
                         candidates=spec.candidates, op_factory=subspace_op)
        self.spec = spec
        self.space_name = spec.name

    def genotype_ops(self, cell: int, edge: int) -> tuple[str, ...]:
        """The operations an architecture's op index on the edge refers to: the edge's
        candidates other than ``none`` (:meth:`SubspaceSpec.genotype_ops`).

        Example:
            >>> from nasrank.spaces.darts_sub import SUBSPACES
            >>> DARTSSubSupernet(SUBSPACES["darts-s3"], C=2, layers=3).genotype_ops(0, 0)
            ('skip_connect', 'sep_conv_3x3')
        """
        return self.spec.genotype_ops(cell, edge)
