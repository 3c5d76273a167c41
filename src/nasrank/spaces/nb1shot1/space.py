"""The NAS-Bench-1Shot1 search-space classes; see :mod:`nasrank.spaces.nb1shot1`."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
from torch import nn

from ..._rng import as_generator
from ...exceptions import ConfigError
from .._registries import SPACES
from ..base import SearchSpace
from ..nb101 import NB101Network, graph_hash
from .encoding import PUBLISHED_SIZES, SUBSPACES, Arch, SubspaceSpec, published_count
from .supernet import NB1Shot1Supernet

__all__ = ["NB1Shot1Space", "NB1Shot1Space1", "NB1Shot1Space2", "NB1Shot1Space3"]


@lru_cache(maxsize=65536)
def _hash(spec: SubspaceSpec, arch: Arch) -> str:
    return graph_hash(*spec.to_nb101(arch))

_BUILD_OPTIONS = ("C", "stacks", "cells_per_stack", "in_channels")


class NB1Shot1Space(SearchSpace):
    """A NAS-Bench-1Shot1 sub-space of NAS-Bench-101 (base class of ``nb1shot1-1/2/3``).

    Architectures are configurations (per-node operations, per-node parent-set indices; see
    :mod:`nasrank.spaces.nb1shot1.encoding`). :meth:`build` returns the NAS-Bench-101 network of
    the equivalent NB101 cell (:meth:`to_nb101`), :meth:`canonical_key` is that cell's official
    graph hash, and :meth:`supernet` the weight-sharing one-shot model
    (:class:`~nasrank.spaces.nb1shot1.NB1Shot1Supernet`).

    Example:
        >>> import nasrank
        >>> space = nasrank.create_space("nb1shot1-1")
        >>> a = space.from_str("conv3x3-bn-relu(0)|conv1x1-bn-relu(0,1)|maxpool3x3(1,2)|"
        ...                    "conv3x3-bn-relu(0,3)|output(2,4)")
        >>> space.size, space.published_size
        (14580, 6240)
        >>> space.num_params(a) > 0
        True
    """

    subspace: ClassVar[int] = 0
    tiny_build_config = {"C": 6, "stacks": 2, "cells_per_stack": 1}
    build_configs = {"search": {"C": 16, "stacks": 3, "cells_per_stack": 1},
                     "standard": {"C": 128, "stacks": 3, "cells_per_stack": 3},
                     "supernet": {"C": 16, "stacks": 3, "cells_per_stack": 3}}
    tiny_input_shape = (3, 8, 8)
    width_option = "C"
    depth_option = "cells_per_stack"

    @property
    def spec(self) -> SubspaceSpec:
        """The sub-space definition (parent counts, choices)."""
        return SUBSPACES[self.subspace]

    # --- encoding ---------------------------------------------------------------------------
    def validate(self, arch: Any) -> Arch:
        """``arch`` as a tuple of per-node op indices then parent-set indices.

        Example:
            >>> NB1Shot1Space1().validate([0, 1, 2, 0, 2, 2, 8])
            (0, 1, 2, 0, 2, 2, 8)
        """
        return self.spec.validate(arch)

    def to_str(self, arch: Sequence[int]) -> str:
        """``op(parents)|...|output(parents)``.

        Example:
            >>> NB1Shot1Space1().to_str((0, 1, 2, 0, 2, 2, 8))
            'conv3x3-bn-relu(0)|conv1x1-bn-relu(0,1)|maxpool3x3(1,2)|conv3x3-bn-relu(0,3)|output(2,4)'
        """
        return self.spec.to_str(arch)

    def from_str(self, text: str) -> Arch:
        """Parse :meth:`to_str`'s format.

        Example:
            >>> NB1Shot1Space2().from_str("conv3x3-bn-relu(0)|conv3x3-bn-relu(1)|maxpool3x3(0,2)|"
            ...                           "conv1x1-bn-relu(1,3)|output(2,3,4)")
            (0, 0, 2, 1, 1, 1, 4, 9)
        """
        return self.spec.from_str(text)

    def parents(self, arch: Sequence[int]) -> dict[int, tuple[int, ...]]:
        """``{node: parents}`` of nodes ``1..N`` and the output ``N + 1``.

        Example:
            >>> NB1Shot1Space1().parents((0, 1, 2, 0, 2, 2, 8))[5]
            (2, 4)
        """
        return self.spec.parents(arch)

    def to_nb101(self, arch: Sequence[int]) -> tuple[np.ndarray, list[str]]:
        """The NAS-Bench-101 ``(matrix, ops)`` of ``arch``: 7 vertices, loose ends kept (as
        NAS-Bench-1Shot1 queries the benchmark; NB101 prunes them).

        Example:
            >>> m, ops = NB1Shot1Space3().to_nb101(NB1Shot1Space3().sample(0))
            >>> m.shape, ops[0], ops[-1], int(m.sum())
            ((7, 7), 'input', 'output', 9)
        """
        return self.spec.to_nb101(arch)

    def to_nb101_arch(self, arch: Sequence[int]) -> tuple[int, ...]:
        """The architecture of the equivalent cell in the ``nb101`` space.

        Example:
            >>> import nasrank
            >>> s = NB1Shot1Space1()
            >>> a = s.sample(0)
            >>> nasrank.create_space("nb101").canonical_key(s.to_nb101_arch(a)) == s.canonical_key(a)
            True
        """
        return SPACES.get("nb101")().from_spec(*self.to_nb101(arch))

    def encode(self, arch: Sequence[int]) -> np.ndarray:
        """One-hot node ops then the upper triangle of the adjacency matrix with loose ends.

        Example:
            >>> NB1Shot1Space1().encode((0, 1, 2, 0, 2, 2, 8)).shape
            (27,)
        """
        return self.spec.encode(arch)

    def is_valid(self, arch: Sequence[int]) -> bool:
        """Every configuration is a valid NB101 cell (its output is reached from the input and
        it has at most 9 edges).

        Example:
            >>> NB1Shot1Space3().is_valid(NB1Shot1Space3().sample(1))
            True
        """
        self.validate(arch)
        return True

    def canonical_key(self, arch: Sequence[int]) -> str:
        """The NAS-Bench-101 graph hash of the equivalent cell.

        Example:
            >>> s = NB1Shot1Space1()
            >>> s.canonical_key((0, 0, 0, 0, 0, 0, 0)) == s.canonical_key((0, 0, 1, 2, 1, 1, 0))
            True
        """
        return _hash(self.spec, self.validate(arch))

    def canonical(self, arch: Sequence[int]) -> Arch:
        """The smallest configuration with the same NB101 cell up to isomorphism.

        Example:
            >>> NB1Shot1Space1().canonical((0, 0, 1, 2, 1, 1, 0))
            (0, 0, 0, 0, 0, 0, 0)
        """
        return self.spec.canonical(arch)

    # --- sampling ---------------------------------------------------------------------------
    def choices(self) -> tuple[tuple[int, ...], ...]:
        """Per position: an op index (3 choices) or a parent-set index; every draw is valid.

        Example:
            >>> [len(c) for c in NB1Shot1Space1().choices()]
            [3, 3, 3, 3, 3, 6, 10]
        """
        return self.spec.choices

    def sample(self, rng: int | np.random.Generator | None = None) -> Arch:
        """A configuration drawn uniformly (every position independently, as a random draw from
        NAS-Bench-1Shot1's ``ConfigSpace``).

        Example:
            >>> NB1Shot1Space1().sample(0) == NB1Shot1Space1().sample(0)
            True
        """
        gen = as_generator(rng)
        return tuple(int(c[int(gen.integers(len(c)))]) for c in self.spec.choices)

    def neighbours(self, arch: Sequence[int]) -> list[Arch]:
        """Every configuration differing in one node's operation or one node's parent set
        (NAS-Bench-1Shot1's regularised-evolution mutation resamples one hyperparameter).

        Example:
            >>> len(NB1Shot1Space1().neighbours((0, 1, 2, 0, 2, 2, 8)))
            24
        """
        a = self.validate(arch)
        out: list[Arch] = []
        for i, c in enumerate(self.spec.choices):
            out.extend(a[:i] + (v,) + a[i + 1 :] for v in c if v != a[i])
        return out

    def all_archs(self) -> Iterator[Arch]:
        """Every configuration, in lexicographic order.

        Example:
            >>> sum(1 for _ in NB1Shot1Space1().all_archs())
            14580
        """
        return (tuple(t) for t in itertools.product(*self.spec.choices))

    @property
    def size(self) -> int:
        """Number of configurations (14,580 / 29,160 / 1,312,200); see :attr:`published_size`
        for the paper's counts and :mod:`~nasrank.spaces.nb1shot1.encoding` for the relation."""
        return self.spec.size

    @property
    def published_size(self) -> int:
        """The size NAS-Bench-1Shot1 reports (6,240 / 29,160 / 363,648).

        Example:
            >>> NB1Shot1Space3().published_size == NB1Shot1Space3().loose_end_free_size()
            True
        """
        return PUBLISHED_SIZES[self.subspace]

    def loose_end_free_size(self) -> int:
        """Configurations counted up to the ops of loose-end nodes (6,240 / 16,632 / 363,648).

        Example:
            >>> NB1Shot1Space1().loose_end_free_size()
            6240
        """
        return published_count(self.spec)

    # --- models -----------------------------------------------------------------------------
    def build(self, arch: Sequence[int] | str, num_classes: int = 10, C: int = 128,
              stacks: int = 3, cells_per_stack: int = 3, in_channels: int = 3,
              **config: Any) -> nn.Module:
        """The NAS-Bench-101 network of the equivalent cell (:meth:`to_nb101`).

        Args:
            arch: Architecture tuple or string.
            num_classes: Classifier outputs.
            C: Stem channels (NB101: 128).
            stacks: Stacks (NB101: 3).
            cells_per_stack: Cells per stack (NB101: 3).
            in_channels: Image channels.

        Example:
            >>> s = NB1Shot1Space2()
            >>> type(s.build(s.sample(0), C=4, stacks=2, cells_per_stack=1)).__name__
            'NB101Network'
        """
        if config:
            raise ConfigError(f"unknown NB-1Shot1 build option(s) {sorted(config)}; valid: "
                              f"num_classes, {', '.join(_BUILD_OPTIONS)}")
        a = self.from_str(arch) if isinstance(arch, str) else self.validate(arch)
        m, ops = self.to_nb101(a)
        return NB101Network(m, ops, num_classes=num_classes, C=C, stacks=stacks,
                            cells_per_stack=cells_per_stack, in_channels=in_channels)

    def supernet(self, C: int = 16, stacks: int = 3, cells_per_stack: int = 3,
                 num_classes: int = 10, in_channels: int = 3) -> NB1Shot1Supernet:
        """The one-shot model (NAS-Bench-1Shot1: C=16, 9 cells in 3 stacks); see
        :class:`~nasrank.spaces.nb1shot1.NB1Shot1Supernet`.

        Example:
            >>> NB1Shot1Space3().supernet(C=2, stacks=1, cells_per_stack=1).arch_weights().shape
            (25, 4)
        """
        return NB1Shot1Supernet(self.subspace, C=C, stacks=stacks, cells_per_stack=cells_per_stack,
                                num_classes=num_classes, in_channels=in_channels)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


@SPACES.register("nb1shot1-1")
class NB1Shot1Space1(NB1Shot1Space):
    """NAS-Bench-1Shot1 space 1: 4 choice blocks (1, 2, 2, 2 parents, output 2); 6,240 published.

    Example:
        >>> NB1Shot1Space1().size
        14580
    """

    name = "nb1shot1-1"
    subspace = 1


@SPACES.register("nb1shot1-2")
class NB1Shot1Space2(NB1Shot1Space):
    """NAS-Bench-1Shot1 space 2: 4 choice blocks (1, 1, 2, 2 parents, output 3); 29,160 published.

    Example:
        >>> NB1Shot1Space2().size
        29160
    """

    name = "nb1shot1-2"
    subspace = 2


@SPACES.register("nb1shot1-3")
class NB1Shot1Space3(NB1Shot1Space):
    """NAS-Bench-1Shot1 space 3: 5 choice blocks (1, 1, 1, 2, 2 parents, output 2); 363,648
    published.

    Example:
        >>> NB1Shot1Space3().size
        1312200
    """

    name = "nb1shot1-3"
    subspace = 3
