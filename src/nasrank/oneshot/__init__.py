"""The weight-sharing (one-shot) layer: supernets, architecture parameterisations, supernet
training methods, operation scoring and Zero-Cost-PT.

* **Protocols** — :class:`Supernet` (``forward(x, weights)`` with a single path, a multi-hot set
  of paths or a weighted mixture; every space with ``space.supernet()`` provides one) and
  :class:`ArchParameterization` (how a step's weight matrices are produced):
  :class:`SoftmaxAlpha`, :class:`DirichletConcentration`, :class:`UniformPath`,
  :class:`FairPath`;
* **Methods** — :data:`SUPERNET_METHODS` (``spos``), :class:`SupernetMethod`,
  :func:`create_supernet_method`; conformance: :func:`nasrank.testing.supernets.check_supernet_method`;
* **Scores** — :func:`supernet_score` (a zero-cost proxy of a supernet under given weights),
  :func:`score_operations` (seed 004 §3: ``darts``, ``disc-acc``, ``darts-pt``, ``disc-zc``,
  ``zc-pt``, oracles ``best-acc`` / ``avg-acc``), :func:`perturbation_values`;
* **Zero-Cost-PT** — :class:`ZeroCostPT` (and Zero-Cost-DISC with ``mode="discretize"``).

Example:
    >>> import numpy as np, torch, nasrank
    >>> from nasrank.oneshot import UniformPath
    >>> net = nasrank.create_space("nb201").supernet(C=2, N=1)
    >>> w, = UniformPath(net).draw(np.random.default_rng(0))
    >>> net(torch.randn(2, 3, 8, 8), w).shape
    torch.Size([2, 10])
"""

from __future__ import annotations

from ..estimators.zero_cost.nwot import naswot_score
from ..nn.supernet import SoftmaxAlpha, SupernetBase
from ._methods import (
    SPOS,
    SUPERNET_METHODS,
    SupernetMethod,
    create_supernet_method,
    list_supernet_methods,
)
from ._params import DirichletConcentration, FairPath, UniformPath
from ._protocols import ArchParameterization, Supernet
from ._proxy import INACTIVE_RELUS, proxy_sign, supernet_score
from ._scoring import (
    OP_SCORES,
    OperationScores,
    ground_truth_grid,
    list_op_scores,
    per_edge_spearman,
    perturbation_values,
    score_operations,
)
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
    "SupernetBase",
    "ArchParameterization",
    "SoftmaxAlpha",
    "DirichletConcentration",
    "UniformPath",
    "FairPath",
    "SUPERNET_METHODS",
    "SupernetMethod",
    "SPOS",
    "create_supernet_method",
    "list_supernet_methods",
    "naswot_score",
    "supernet_score",
    "proxy_sign",
    "INACTIVE_RELUS",
    "OP_SCORES",
    "OperationScores",
    "score_operations",
    "list_op_scores",
    "ground_truth_grid",
    "per_edge_spearman",
    "perturbation_values",
    "ZeroCostPT",
    "ZeroCostPTResult",
    "ORDERS",
    "MODES",
    "expected_perturbations",
    "propose",
    "validation_score",
]
