"""Search spaces: plain architecture encodings and the networks they build.

Each space is one package (``nasrank.spaces.<name>``: encoding, networks, supernet, profile, the
:class:`SearchSpace` subclass) that registers itself in :data:`SPACES` when imported.
"""

from __future__ import annotations

from ._registries import SPACES
from .base import Arch, SearchSpace

# isort: split
# (importing a space's package registers it)
from .darts import DARTSSpace, DARTSSupernet
from .darts_sub import DARTSSubspace, DARTSSubSupernet
from .mobilenet import MobileNetSpace, MobileNetSupernet
from .nb1shot1 import NB1Shot1Space, NB1Shot1Supernet
from .nb101 import NB101Space
from .nb201 import NB201Cell, NB201Space, NB201Supernet
from .nbmacro import NBMacroSpace, NBMacroSupernet
from .nds import NDSResNetSpace, NDSResNeXtASpace, NDSResNeXtBSpace
from .randwired import RandWiredSpace

__all__ = ["SPACES", "Arch", "SearchSpace", "NB201Space", "NB201Cell", "NB201Supernet",
           "DARTSSpace", "DARTSSupernet", "NB101Space", "NB1Shot1Space", "NB1Shot1Supernet",
           "DARTSSubspace", "DARTSSubSupernet", "NBMacroSpace", "NBMacroSupernet",
           "NDSResNetSpace", "NDSResNeXtASpace", "NDSResNeXtBSpace", "MobileNetSpace",
           "MobileNetSupernet", "RandWiredSpace"]
