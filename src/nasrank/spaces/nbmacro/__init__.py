"""The NAS-Bench-Macro search space (Su et al., CVPR 2021), as one package.

* :mod:`~nasrank.spaces.nbmacro.encoding` — candidates, the 8-digit string format, validation and
  the benchmark's canonical form (stride-1 identities moved to the end of their stage);
* :mod:`~nasrank.spaces.nbmacro.network` — the published CIFAR-10 network (:class:`NBMacroNetwork`)
  and its candidate blocks (:func:`make_block`, built on :class:`nasrank.nn.MBConv`);
* :mod:`~nasrank.spaces.nbmacro.supernet` — the weight-sharing supernet (:class:`NBMacroSupernet`);
* :mod:`~nasrank.spaces.nbmacro.profile` — parameter and FLOP counts in closed form, in the
  benchmark's conventions;
* :mod:`~nasrank.spaces.nbmacro.space` — :class:`NBMacroSpace`, registered as ``"nb-macro"``.

An architecture is a tuple of 8 candidate indices (``0`` identity, ``1`` MB3_K3, ``2`` MB6_K5), one
per searchable layer; stages of 2, 3 and 3 layers, the first of each with stride 2.

Example:
    >>> from nasrank.spaces.nbmacro import NBMacroSpace
    >>> NBMacroSpace().to_str((0, 2, 0, 1, 2, 1, 0, 0))
    '02012100'
"""

from __future__ import annotations

from .encoding import OPS, STAGES
from .network import NBMacroNetwork, make_block
from .space import NBMacroSpace
from .supernet import NBMacroSupernet

__all__ = ["NBMacroSpace", "NBMacroNetwork", "NBMacroSupernet", "make_block", "OPS", "STAGES"]
