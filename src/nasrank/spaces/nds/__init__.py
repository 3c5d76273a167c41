"""The NDS ResNet / ResNeXt design spaces of seed 000 Tab. 3 (Radosavovic et al. 2019, "On Network
Design Spaces for Visual Recognition"), as one package registering three spaces:
``nds-resnet``, ``nds-resnext-a`` and ``nds-resnext-b``.

* :mod:`~nasrank.spaces.nds.encoding` — the families' value grids, validation, string format;
* :mod:`~nasrank.spaces.nds.network` — the CIFAR network (:class:`NDSNetwork`) and its blocks;
* :mod:`~nasrank.spaces.nds.profile` — parameter and FLOP counts in closed form;
* :mod:`~nasrank.spaces.nds.space` — the :class:`~nasrank.spaces.SearchSpace` classes.

An architecture is a tuple of grid indices, parameter-major (``d1 d2 d3 w1 w2 w3 [r1 r2 r3 g1 g2
g3]``); its string form lists the values: ``"d=1,2,4|w=16,32,64|r=1,2,4|g=1,2,4"``.

Example:
    >>> from nasrank.spaces.nds import NDSResNetSpace
    >>> sp = NDSResNetSpace()
    >>> sp.to_str(sp.sample(0)), sp.size
    ('d=20,10,8|w=32,32,16', 1259712)
"""

from __future__ import annotations

from .encoding import FAMILIES, RESNET, RESNEXT_A, RESNEXT_B, NDSFamily
from .network import NDSNetwork, ResidualBlock
from .space import NDSResNetSpace, NDSResNeXtASpace, NDSResNeXtBSpace, NDSSpace

__all__ = ["NDSSpace", "NDSResNetSpace", "NDSResNeXtASpace", "NDSResNeXtBSpace", "NDSNetwork",
           "ResidualBlock", "NDSFamily", "FAMILIES", "RESNET", "RESNEXT_A", "RESNEXT_B"]
