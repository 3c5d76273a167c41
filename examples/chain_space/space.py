"""The chain space: ``length`` layers in sequence, each one of 5 operations; registered as
``"chain"``."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from nasrank.exceptions import ConfigError, InvalidArchitectureError
from nasrank.spaces import SPACES, SearchSpace

from .network import ChainNetwork
from .ops import OPS, SKIP
from .supernet import ChainSupernet

__all__ = ["ChainSpace"]

Arch = tuple[int, ...]


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int >= ``minimum`` (one-line ``ConfigError`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"`{name}` must be an int >= {minimum}, got {value!r}")
    return int(value)


@SPACES.register("chain")
class ChainSpace(SearchSpace):
    """A chain of ``length`` layers, each choosing one of ``skip_connect``, ``conv_3x3``,
    ``conv_1x1``, ``avg_pool_3x3``, ``max_pool_3x3`` (``5 ** length`` architectures).

    Encoding: a tuple of ``length`` op indices; string form: the op names joined by ``>``
    (``"conv_3x3>skip_connect>avg_pool_3x3>conv_1x1"``). Skip connections are identities, so two
    chains with the same non-skip operations in the same order compute the same function family
    (:meth:`canonical` moves the skips to the end).

    Args:
        length: Number of layers.

    Example:
        >>> import nasrank, chain_space  # the import registers "chain"
        >>> space = nasrank.create_space("chain")
        >>> space.to_str((1, 0, 3, 2))
        'conv_3x3>skip_connect>avg_pool_3x3>conv_1x1'
        >>> space.size
        625
    """

    name = "chain"
    tiny_build_config = {"C": 4}
    build_configs = {"search": {"C": 8}, "standard": {"C": 16}, "supernet": {"C": 8}}
    tiny_input_shape = (3, 8, 8)
    width_option = "C"
    depth_option = None  # the depth is the encoding's length: a space parameter, not a build option
    ops = OPS

    def __init__(self, length: int = 4) -> None:
        self.length = check_int("length", length, 1)

    # --- encoding -------------------------------------------------------------------------------
    def validate(self, arch: Any) -> Arch:
        """``arch`` as a tuple of ``length`` op indices in 0..4."""
        if isinstance(arch, str):
            raise InvalidArchitectureError("expected a tuple of op indices, got a string; use from_str()")
        try:
            t = tuple(arch)
        except TypeError:
            t = None
        if t is None or len(t) != self.length or not all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) and 0 <= a < len(OPS) for a in t
        ):
            raise InvalidArchitectureError(
                f"chain architecture must be {self.length} op indices in 0..{len(OPS) - 1}, got {arch!r}"
            )
        return tuple(int(a) for a in t)

    def to_str(self, arch: Sequence[int]) -> str:
        return ">".join(OPS[o] for o in self.validate(arch))

    def from_str(self, text: str) -> Arch:
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"expected an architecture string, got {type(text).__name__}")
        names = [n.strip() for n in text.split(">")]
        unknown = [n for n in names if n not in OPS]
        if unknown or len(names) != self.length:
            raise InvalidArchitectureError(
                f"malformed chain architecture {text!r}; expected {self.length} of "
                f"{', '.join(OPS)} joined by '>'"
            )
        return tuple(OPS.index(n) for n in names)

    def encode(self, arch: Sequence[int]) -> np.ndarray:
        """One-hot per layer, ``length * 5`` floats."""
        out = np.zeros((self.length, len(OPS)), dtype=np.float32)
        out[np.arange(self.length), self.validate(arch)] = 1.0
        return out.reshape(-1)

    # --- sampling -------------------------------------------------------------------------------
    def choices(self) -> tuple[tuple[int, ...], ...]:
        return (tuple(range(len(OPS))),) * self.length

    def sample(self, rng: int | np.random.Generator | None = None) -> Arch:
        gen = np.random.default_rng(rng)  # an int seed, a Generator (used as is) or None
        return tuple(int(v) for v in gen.integers(0, len(OPS), size=self.length))

    def neighbours(self, arch: Sequence[int]) -> list[Arch]:
        """Every chain that differs in one layer (``4 * length``)."""
        a = self.validate(arch)
        return [a[:i] + (o,) + a[i + 1 :] for i in range(self.length) for o in range(len(OPS)) if o != a[i]]

    def all_archs(self) -> Iterator[Arch]:
        return iter(itertools.product(range(len(OPS)), repeat=self.length))

    @property
    def size(self) -> int:
        return len(OPS) ** self.length

    # --- structure ------------------------------------------------------------------------------
    def canonical_key(self, arch: Sequence[int]) -> Arch:
        """The non-skip operations in order (skips are identities)."""
        return tuple(o for o in self.validate(arch) if o != SKIP)

    def canonical(self, arch: Sequence[int]) -> Arch:
        """The non-skip operations first, then the skips."""
        key = self.canonical_key(arch)
        return key + (SKIP,) * (self.length - len(key))

    # --- models ---------------------------------------------------------------------------------
    def build(self, arch: Sequence[int] | str, num_classes: int = 10, C: int = 16,
              in_channels: int = 3, **config: Any) -> ChainNetwork:
        """The network of ``arch`` (``C`` channels throughout)."""
        if config:
            raise ConfigError(f"unknown chain build option(s) {sorted(config)}; valid: num_classes, C, in_channels")
        a = self.from_str(arch) if isinstance(arch, str) else self.validate(arch)
        return ChainNetwork(a, C=check_int("C", C, 1), num_classes=check_int("num_classes", num_classes, 1),
                            in_channels=check_int("in_channels", in_channels, 1))

    def supernet(self, C: int = 8, num_classes: int = 10, in_channels: int = 3) -> ChainSupernet:
        """The weight-sharing supernet of this space."""
        return ChainSupernet(self.length, C=check_int("C", C, 1),
                             num_classes=check_int("num_classes", num_classes, 1),
                             in_channels=check_int("in_channels", in_channels, 1))

    def __repr__(self) -> str:
        return f"ChainSpace(length={self.length})"
