"""The weight-sharing (one-shot) layer: supernets, architecture parameterisations, supernet
training methods, operation scoring and Zero-Cost-PT.

* **Protocols** — :class:`Supernet` (``forward(x, weights)`` with a single path, a multi-hot set
  of paths or a weighted mixture; every space with ``space.supernet()`` provides one) and
  :class:`ArchParameterization` (how a step's weight matrices are produced):
  :class:`SoftmaxAlpha`, :class:`DirichletConcentration`, :class:`UniformPath`,
  :class:`FairPath`;
* **Methods** — :data:`SUPERNET_METHODS`: one-shot path training (``spos``, ``multipath``,
  ``fairnas``, ``reptile``, ``metaprox``, ``multipath+metaprox``: :class:`SupernetMethod`, the
  SGD path-training base :class:`PathMethod`, :class:`SPOS`, :class:`MultiPath`,
  :class:`FairNAS`, :class:`Reptile`, :class:`Metaprox`, :class:`MultiPathMetaprox`) and
  differentiable search (``darts``, ``darts2``, ``sotl-darts`` / ``darts-tse``, ``sovl-darts``,
  ``drnas``, ``drnas-tse``, ``pdarts``, ``pdarts-sotl``: :class:`DifferentiableMethod`,
  :class:`DARTS`, :class:`DARTSSecondOrder`, :class:`SoTLDARTS`, :class:`SoVLDARTS`,
  :class:`DrNAS`, :class:`DrNASTSE`, :class:`PDARTS`, :class:`PDARTSSoTL`);
  :func:`create_supernet_method`; conformance:
  :func:`nasrank.testing.supernets.check_supernet_method`;
* **Training** — :func:`train_supernet` (:class:`SupernetTrainConfig`: epochs, batch size, cosine
  learning rate; a safetensors checkpoint after every epoch, resumed bit-identically, progress bar)
  and the checkpoint functions :func:`save_checkpoint`, :func:`load_checkpoint`,
  :func:`read_checkpoint_info` (:class:`CheckpointError` for a missing, foreign or damaged file);
* **Subnet estimators** — :func:`finetune_subnet` (seed 000 App. G.2: inherited weights, then B
  fine-tuning minibatches; TSE, TSE-EMA, SoVL, validation accuracy, TLmini, ...:
  :data:`SUBNET_ESTIMATORS`), :func:`rank_subnets` (many subnets, parallel, resumable) and
  :func:`ranking_table` (rank correlation and top-10 ground truth per estimator and B);
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
from ._checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_FORMAT_VERSION,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    read_checkpoint_info,
    save_checkpoint,
)
from ._darts import DARTS, DARTSTSE, DARTSSecondOrder, DifferentiableMethod, SoTLDARTS, SoVLDARTS
from ._drnas import DrNAS, DrNASTSE
from ._meta import Metaprox, MultiPathMetaprox, Reptile
from ._methods import (
    SPOS,
    SUPERNET_METHODS,
    PathMethod,
    SupernetMethod,
    create_supernet_method,
    list_supernet_methods,
)
from ._multipath import FairNAS, MultiPath
from ._params import DirichletConcentration, FairPath, UniformPath
from ._pdarts import PDARTS, PDARTSSoTL
from ._protocols import ArchParameterization, Supernet
from ._proxy import INACTIVE_RELUS, RELU_HOOKS, check_relu_hooks, proxy_sign, supernet_score
from ._rank import rank_subnets, ranking_table
from ._scoring import (
    OP_SCORES,
    OperationScores,
    ground_truth_grid,
    list_op_scores,
    per_edge_spearman,
    perturbation_values,
    score_operations,
)
from ._subnet import (
    SUBNET_ESTIMATORS,
    FinetuneConfig,
    SubnetResult,
    finetune_subnet,
    parse_subnet_estimator,
)
from ._train import SCHEDULES, SupernetTrainConfig, SupernetTrainResult, train_supernet
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
    "PathMethod",
    "SPOS",
    "MultiPath",
    "FairNAS",
    "Reptile",
    "Metaprox",
    "MultiPathMetaprox",
    "DifferentiableMethod",
    "DARTS",
    "DARTSSecondOrder",
    "SoTLDARTS",
    "DARTSTSE",
    "SoVLDARTS",
    "DrNAS",
    "DrNASTSE",
    "PDARTS",
    "PDARTSSoTL",
    "create_supernet_method",
    "list_supernet_methods",
    "SupernetTrainConfig",
    "SupernetTrainResult",
    "SCHEDULES",
    "train_supernet",
    "Checkpoint",
    "CheckpointError",
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_FORMAT_VERSION",
    "save_checkpoint",
    "load_checkpoint",
    "read_checkpoint_info",
    "FinetuneConfig",
    "SubnetResult",
    "SUBNET_ESTIMATORS",
    "finetune_subnet",
    "parse_subnet_estimator",
    "rank_subnets",
    "ranking_table",
    "naswot_score",
    "supernet_score",
    "proxy_sign",
    "INACTIVE_RELUS",
    "RELU_HOOKS",
    "check_relu_hooks",
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
