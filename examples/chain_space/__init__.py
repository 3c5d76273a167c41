"""A worked example: a new search space as ONE package, registered by importing it.

``chain``: a chain of ``length`` layers (default 4), each choosing one of five operations
(``skip_connect``, ``conv_3x3``, ``conv_1x1``, ``avg_pool_3x3``, ``max_pool_3x3``), between a
stem and a classifier head. The package has everything nasrank's generic code asks a space for:

* ``ops.py`` — what each operation name builds (from :mod:`nasrank.nn`'s generic blocks);
* ``network.py`` — the network of an architecture;
* ``supernet.py`` — the weight-sharing supernet (a :class:`nasrank.nn.SupernetBase`);
* ``space.py`` — the :class:`~nasrank.spaces.SearchSpace` subclass, registered as ``"chain"``.

Nothing outside this folder changes: ``import chain_space`` (with ``examples/`` on the path)
registers the space, after which ``nasrank.create_space("chain")``, the conformance suite, the
proxies, live training, every search strategy, Zero-Cost-PT and the supernet methods work on it.

Example:
    >>> import nasrank, chain_space
    >>> nasrank.create_space("chain").sample(0)
    (4, 3, 2, 1)
"""

from __future__ import annotations

from .network import ChainNetwork
from .ops import OPS, make_op
from .space import ChainSpace
from .supernet import ChainSupernet

__all__ = ["ChainSpace", "ChainNetwork", "ChainSupernet", "OPS", "make_op"]
