"""The RandWiredNN search space (Xie et al., 2019; seed 000 App. B), as one package.

* :mod:`~nasrank.spaces.randwired.graphs` — the ER / BA / WS random graph generators on a
  version-stable random stream, and the graph-to-DAG conversion;
* :mod:`~nasrank.spaces.randwired.encoding` — the ``(family, hp1, hp2, seed)`` encoding, the
  hyperparameter grids (36 settings) and the string format ``"WS:K=4,P=0.75:seed=3"``;
* :mod:`~nasrank.spaces.randwired.network` — :class:`RandWiredNetwork` (stem, three randomly
  wired stages of separable-convolution nodes, classifier head);
* :mod:`~nasrank.spaces.randwired.space` — :class:`RandWiredSpace`, registered as ``"randwired"``.

The space has no weight-sharing supernet (each architecture is its own wiring).

Example:
    >>> from nasrank.spaces.randwired import RandWiredSpace
    >>> s = RandWiredSpace()
    >>> a = s.sample(0)
    >>> s.from_str(s.to_str(a)) == a
    True
"""

from __future__ import annotations

from .encoding import FAMILIES, SETTINGS
from .graphs import Stream, barabasi_albert, erdos_renyi, to_dag, watts_strogatz
from .network import RandWiredNetwork, RandWiredNode, RandWiredStage
from .space import RandWiredSpace, cell_graphs

__all__ = ["RandWiredSpace", "RandWiredNetwork", "RandWiredStage", "RandWiredNode", "FAMILIES", "SETTINGS",
           "cell_graphs", "Stream", "erdos_renyi", "barabasi_albert", "watts_strogatz", "to_dag"]
