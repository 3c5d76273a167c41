"""The MobileNet-like search space of ProxylessNAS (as used by Zero-Cost-PT), as one package.

* :mod:`~nasrank.spaces.mobilenet.encoding` -- block layout, operations, string format, canonical form;
* :mod:`~nasrank.spaces.mobilenet.network` -- the network of an architecture and its channel widths;
* :mod:`~nasrank.spaces.mobilenet.supernet` -- the weight-sharing supernet (:class:`MobileNetSupernet`);
* :mod:`~nasrank.spaces.mobilenet.profile` -- parameter and FLOP counts in closed form;
* :mod:`~nasrank.spaces.mobilenet.published` -- ProxylessNAS-GPU/-CPU/-Mobile and MobileNetV2 in the space;
* :mod:`~nasrank.spaces.mobilenet.space` -- :class:`MobileNetSpace`, registered as ``"mobilenet"``.

An architecture is a tuple of 21 operation indices, one per searchable block: ``0 skip_connect``
(not at the first block of a stage), ``1 MB3_3x3, 2 MB6_3x3, 3 MB3_5x5, 4 MB6_5x5, 5 MB3_7x7,
6 MB6_7x7`` (``MB<expansion>_<kernel>``).

Example:
    >>> from nasrank.spaces.mobilenet import MobileNetSpace, PUBLISHED
    >>> MobileNetSpace().to_str(PUBLISHED["proxylessnas-gpu"].arch).split("|")[0]
    'MB3_5x5,skip_connect,skip_connect,skip_connect'
"""

from __future__ import annotations

from .encoding import OPS, STAGE_BLOCKS, STAGE_STRIDES
from .network import WIDTH_PRESETS, MobileNetNetwork, resolve_widths
from .published import PUBLISHED, PublishedNet
from .space import MobileNetSpace
from .supernet import MobileNetSupernet

__all__ = ["MobileNetSpace", "MobileNetNetwork", "MobileNetSupernet", "PUBLISHED", "PublishedNet",
           "WIDTH_PRESETS", "resolve_widths", "OPS", "STAGE_BLOCKS", "STAGE_STRIDES"]
