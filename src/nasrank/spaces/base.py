"""The :class:`SearchSpace` abstract base class.

A search space turns plain, immutable architecture encodings (``Arch``: a tuple of ints for the
cell-based spaces) into PyTorch models and offers the operations search strategies need. It is not
the model, not the sampler state and not a benchmark client (those are separate objects).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import numpy as np
from torch import nn

from .._rng import as_generator
from ..exceptions import InvalidArchitectureError

__all__ = ["SearchSpace", "Arch"]

Arch = tuple[int, ...]


class SearchSpace(ABC):
    """Abstract search space.

    Subclasses implement the abstract methods; the others have generic implementations that a
    space may override with faster ones. ``rng`` arguments accept an int seed, a
    :class:`numpy.random.Generator` or ``None``.

    Attributes:
        name: The registry name of the space.
    """

    name: str = ""
    #: ``build()`` keyword arguments of a small, fast network (conformance tests, smoke runs).
    tiny_build_config: dict[str, Any] = {}
    #: ``build()`` keyword arguments per purpose (see :meth:`default_config`); ``"tiny"`` falls
    #: back to :attr:`tiny_build_config`.
    build_configs: dict[str, dict[str, Any]] = {}
    #: Input shape (channels, height, width) the tiny network is exercised with.
    tiny_input_shape: tuple[int, int, int] = (3, 32, 32)
    #: Name of the ``build()`` / ``supernet()`` option setting the network's width (channels),
    #: or ``None``; generic code (the ``nasrank zcpt --C`` option) sets it through this name.
    width_option: str | None = None
    #: Name of the ``build()`` / ``supernet()`` option setting the network's depth (cells per
    #: stage, number of layers, ...), or ``None`` (``nasrank zcpt --depth``).
    depth_option: str | None = None

    # --- required ---------------------------------------------------------------------------
    @abstractmethod
    def from_str(self, text: str) -> Arch:
        """Parse the space's official string format into an architecture.

        Raises:
            InvalidArchitectureError: if the string is malformed or outside the space.
        """

    @abstractmethod
    def to_str(self, arch: Sequence[int]) -> str:
        """Official string form of ``arch``."""

    @abstractmethod
    def validate(self, arch: Any) -> Arch:
        """Return ``arch`` as a canonical tuple, raising ``InvalidArchitectureError`` if it is not
        an element of the space (wrong length, out-of-range op index, wrong type)."""

    @abstractmethod
    def sample(self, rng: int | np.random.Generator | None = None) -> Arch:
        """Draw an architecture uniformly at random."""

    @abstractmethod
    def build(self, arch: Sequence[int], num_classes: int = 10, **config: Any) -> nn.Module:
        """Build the network of ``arch``; its ``forward`` returns logits only."""

    # --- generic defaults -------------------------------------------------------------------
    def neighbours(self, arch: Sequence[int]) -> list[Arch]:
        """All architectures one mutation away from ``arch`` (not including ``arch``)."""
        raise NotImplementedError(f"{type(self).__name__} does not enumerate neighbours")

    def mutate(self, arch: Sequence[int], rng: int | np.random.Generator | None = None) -> Arch:
        """A uniformly chosen neighbour of ``arch``."""
        options = self.neighbours(arch)
        if not options:
            raise InvalidArchitectureError(f"architecture {arch!r} has no neighbours")
        gen = as_generator(rng)
        return options[int(gen.integers(len(options)))]

    def is_valid(self, arch: Sequence[int]) -> bool:
        """Whether ``arch`` yields a network whose output depends on its input."""
        self.validate(arch)
        return True

    def canonical_key(self, arch: Sequence[int]) -> Hashable:
        """A key that is equal for two architectures iff they compute the same function family."""
        return self.validate(arch)

    def canonical(self, arch: Sequence[int]) -> Arch:
        """A fixed representative of the isomorphism class of ``arch``."""
        return self.validate(arch)

    def choices(self) -> tuple[tuple[int, ...], ...]:
        """The values each position of an architecture may take, position by position.

        Generic model-based strategies (TPE, REINFORCE) and encoders draw one categorical value
        per position from these; constraints between positions are restored by :meth:`project`.
        A space whose encoding is not a fixed-length tuple of categorical ints does not define it.
        """
        raise NotImplementedError(f"{type(self).__name__} does not declare per-position choices")

    def project(self, arch: Sequence[int], rng: int | np.random.Generator | None = None) -> Arch:
        """Map a position-wise draw from :meth:`choices` onto an architecture of the space.

        The default accepts only valid architectures (every draw of an unconstrained space is
        one); spaces with constraints between positions override it with a seeded repair.
        """
        return self.validate(arch)

    def default_config(self, purpose: str = "search") -> dict[str, Any]:
        """``build()`` keyword arguments for a purpose.

        Purposes: ``"tiny"`` (tests and smoke runs: the smallest network that exercises every
        operation), ``"search"`` (live searches and benchmark builds on a CPU: small but
        trainable), ``"standard"`` (the network the space's paper evaluates) and, for a space
        with a supernet, ``"supernet"`` (the search supernet of the space's weight-sharing
        papers). Generic code asks the space for these instead of knowing its build options;
        every configuration is also accepted by :meth:`supernet` when the space has one.

        Example:
            >>> from nasrank.spaces import NB201Space
            >>> NB201Space().default_config("tiny")
            {'C': 4, 'N': 1}
        """
        configs = {"tiny": dict(self.tiny_build_config), **{k: dict(v) for k, v in self.build_configs.items()}}
        if purpose not in configs:
            from ..exceptions import ConfigError

            raise ConfigError(
                f"space {self.name!r} has no {purpose!r} build configuration; available: {', '.join(sorted(configs))}"
            )
        return configs[purpose]

    def supernet(self, **config: Any) -> nn.Module:
        """The space's weight-sharing supernet (every candidate operation on every edge).

        A space that has one returns a :class:`~nasrank.nn.SupernetBase` (it meets the
        :class:`nasrank.oneshot.Supernet` protocol): ``forward(x, weights)`` with a weight
        matrix (edges x candidate ops), ``path_weights(arch)`` for one architecture of the space,
        ``arch_from_decisions(...)`` back. ``config`` takes the options of :meth:`build` that
        shape the network (see :meth:`default_config`) plus ``num_classes`` / ``in_channels``.

        Example:
            >>> from nasrank.spaces import NB201Space
            >>> net = NB201Space().supernet(**NB201Space().default_config("tiny"))
            >>> net.path_weights((3, 3, 0, 1, 3, 4)).shape
            (6, 5)
        """
        raise NotImplementedError(f"space {self.name!r} has no weight-sharing supernet")

    @property
    def has_supernet(self) -> bool:
        """Whether the space implements :meth:`supernet`.

        Example:
            >>> from nasrank.spaces import NB201Space
            >>> NB201Space().has_supernet
            True
        """
        return type(self).supernet is not SearchSpace.supernet

    def derived_network(self, arch: Sequence[int], num_classes: int = 10, **config: Any) -> nn.Module:
        """The stand-alone network that weight-sharing methods score a derived architecture with.

        The default is :meth:`build`; a space may instead return its supernet reduced to the
        architecture's path (the same function and parameter set, e.g. to share its fast
        inference code), which changes the order of the initialisation draws.

        Example:
            >>> from nasrank.spaces import DARTSSpace
            >>> sp = DARTSSpace()
            >>> type(sp.derived_network(sp.sample(0), C=2, layers=3)).__name__
            'DARTSNetwork'
        """
        return self.build(arch, num_classes=num_classes, **config)

    def encode(self, arch: Sequence[int]) -> np.ndarray:
        """A fixed-length float32 feature vector for surrogate models."""
        raise NotImplementedError(f"{type(self).__name__} does not define an encoding")

    def all_archs(self) -> Iterator[Arch]:
        """Iterate over every architecture of a finite space."""
        raise NotImplementedError(f"{type(self).__name__} is not enumerable")

    @property
    def size(self) -> int | None:
        """Number of architectures, or ``None`` if the space is not enumerable."""
        return None

    @property
    def published_size(self) -> int | None:
        """The size the space's paper reports where it counts differently from :attr:`size`
        (e.g. ignoring operations that cannot affect the output), else ``None``."""
        return None

    def num_params(self, arch: Sequence[int], num_classes: int = 10, **config: Any) -> int:
        """Number of parameters of ``build(arch, num_classes, **config)``."""
        from ..nn import count_parameters

        return count_parameters(self.build(arch, num_classes=num_classes, **config))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
