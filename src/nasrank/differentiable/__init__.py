"""Supernets, operation scoring and Zero-Cost-PT.

* :class:`NB201Supernet`, :class:`DARTSSupernet` — mixed operations with architecture weights,
  discretisation ``A + (e, o)`` and perturbation ``A - (e, o)`` of edges;
* :func:`supernet_score` — a zero-cost proxy of a (perturbed) supernet;
* :func:`score_operations` — the operation scoring functions of seed 004 §3 (``darts``,
  ``disc-acc``, ``darts-pt``, ``disc-zc``, ``zc-pt``, oracles ``best-acc`` / ``avg-acc``);
* :class:`ZeroCostPT` — the Zero-Cost-PT search (and Zero-Cost-DISC with ``mode="discretize"``).
"""

from __future__ import annotations

from ._proxy import naswot_score, supernet_score
from ._scoring import (
    OP_SCORES,
    OperationScores,
    ground_truth_grid,
    list_op_scores,
    per_edge_spearman,
    score_operations,
)
from ._supernet import DARTSSupernet, NB201Supernet, Supernet, build_supernet
from ._zcpt import (
    MODES,
    ORDERS,
    ZeroCostPT,
    ZeroCostPTResult,
    expected_perturbations,
    propose,
    validation_score,
)

__all__ = [
    "Supernet",
    "NB201Supernet",
    "DARTSSupernet",
    "build_supernet",
    "naswot_score",
    "supernet_score",
    "OP_SCORES",
    "OperationScores",
    "score_operations",
    "list_op_scores",
    "ground_truth_grid",
    "per_edge_spearman",
    "ZeroCostPT",
    "ZeroCostPTResult",
    "ORDERS",
    "MODES",
    "expected_perturbations",
    "propose",
    "validation_score",
]
