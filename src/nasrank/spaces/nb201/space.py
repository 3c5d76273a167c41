"""The NAS-Bench-201 (NATS-Bench topology) search space class."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
from torch import nn

from ..._rng import as_generator
from ..._validate import check_int as _check_int
from ...exceptions import ConfigError
from .._registries import SPACES
from ..base import SearchSpace
from . import encoding as _enc
from . import profile as _profile
from .encoding import EDGES, OPS, Arch
from .network import NB201Cell, NB201Network
from .supernet import NB201Supernet

__all__ = ["NB201Space"]


@SPACES.register("nb201")
class NB201Space(SearchSpace):
    """NAS-Bench-201: 5 operations on the 6 edges of a 4-node cell, 15,625 architectures.

    Example:
        >>> import nasrank
        >>> space = nasrank.create_space("nb201")
        >>> arch = space.from_str("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
        ...                       "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
        >>> arch
        (3, 3, 4, 1, 3, 1)
        >>> space.num_params(arch)
        802426
    """

    name = "nb201"
    tiny_build_config = {"C": 4, "N": 1}
    build_configs = {"search": {"C": 8, "N": 1}, "standard": {"C": 16, "N": 5},
                     "supernet": {"C": 16, "N": 5}}
    tiny_input_shape = (3, 16, 16)
    width_option = "C"
    depth_option = "N"
    ops = OPS
    edges = EDGES

    # --- encoding ---------------------------------------------------------------------------
    def validate(self, arch: Any) -> Arch:
        """``arch`` as a tuple of 6 op indices in 0..4 (``InvalidArchitectureError`` otherwise).

        Example:
            >>> NB201Space().validate([3, 3, 0, 1, 3, 4])
            (3, 3, 0, 1, 3, 4)
        """
        return _enc.validate(arch)

    def to_str(self, arch: Sequence[int]) -> str:
        """The benchmark's official string.

        Example:
            >>> NB201Space().to_str((3, 0, 0, 0, 0, 1))
            '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|'
        """
        return _enc.to_str(arch)

    def from_str(self, text: str) -> Arch:
        """Parse the benchmark's official string.

        Example:
            >>> NB201Space().from_str("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|")
            (3, 0, 0, 0, 0, 1)
        """
        return _enc.from_str(text)

    def encode(self, arch: Sequence[int]) -> np.ndarray:
        """One-hot encoding, shape ``(30,)``: edge-major blocks of 5 ops.

        Example:
            >>> NB201Space().encode((0, 1, 2, 3, 4, 0)).reshape(6, 5).argmax(1).tolist()
            [0, 1, 2, 3, 4, 0]
        """
        return _enc.one_hot(arch).reshape(-1)

    # --- sampling ---------------------------------------------------------------------------
    def choices(self) -> tuple[tuple[int, ...], ...]:
        """Every edge takes any of the 5 operations.

        Example:
            >>> NB201Space().choices()[0]
            (0, 1, 2, 3, 4)
        """
        return (tuple(range(len(OPS))),) * len(EDGES)

    def sample(self, rng: int | np.random.Generator | None = None) -> Arch:
        gen = as_generator(rng)
        return tuple(int(v) for v in gen.integers(0, len(OPS), size=len(EDGES)))

    def neighbours(self, arch: Sequence[int]) -> list[Arch]:
        """The 24 architectures that differ from ``arch`` on exactly one edge."""
        a = self.validate(arch)
        return [a[:e] + (op,) + a[e + 1 :] for e in range(len(EDGES)) for op in range(len(OPS)) if op != a[e]]

    def mutate(self, arch: Sequence[int], rng: int | np.random.Generator | None = None) -> Arch:
        """Change one uniformly chosen edge to a uniformly chosen different op."""
        a = self.validate(arch)
        gen = as_generator(rng)
        e = int(gen.integers(len(EDGES)))
        op = int(gen.integers(len(OPS) - 1))
        op += op >= a[e]
        return a[:e] + (op,) + a[e + 1 :]

    def all_archs(self) -> Iterator[Arch]:
        """All 15,625 architectures, in lexicographic op-index order."""
        return iter(itertools.product(range(len(OPS)), repeat=len(EDGES)))

    @property
    def size(self) -> int:
        return len(OPS) ** len(EDGES)

    # --- structure --------------------------------------------------------------------------
    def is_valid(self, arch: Sequence[int]) -> bool:
        """Whether a path of non-``none`` edges leads from the cell input to its output.

        Example:
            >>> NB201Space().is_valid((3, 3, 3, 0, 0, 0))  # nothing enters node 3
            False
        """
        return _enc.reaches_output(arch)

    def canonical_key(self, arch: Sequence[int]) -> str:
        """The benchmark's isomorphism key (``to_unique_str(consider_zero=True)``); see
        :func:`nasrank.spaces.nb201.encoding.canonical_key`.

        Example:
            >>> s = NB201Space()
            >>> s.canonical_key((1, 0, 0, 0, 3, 0)) == s.canonical_key((0, 0, 0, 3, 0, 0))
            True
        """
        return _enc.canonical_key(arch)

    def canonical(self, arch: Sequence[int]) -> Arch:
        """The smallest (lexicographic op-index tuple) architecture of ``arch``'s class.

        Example:
            >>> NB201Space().canonical((3, 0, 0, 0, 0, 0))  # no path to the output
            (0, 0, 0, 0, 0, 0)
        """
        return _representatives()[self.canonical_key(arch)]

    # --- models -----------------------------------------------------------------------------
    def build(
        self,
        arch: Sequence[int],
        num_classes: int = 10,
        C: int = 16,
        N: int = 5,
        in_channels: int = 3,
        channels_last: bool | None = None,
        **config: Any,
    ) -> nn.Module:
        """The benchmark network of ``arch``.

        Args:
            arch: Six op indices (see module docstring) or an official architecture string.
            num_classes: Classifier outputs (10 CIFAR-10, 100 CIFAR-100, 120 ImageNet16-120).
            C: Channels of the first stage (benchmark: 16).
            N: Cells per stage (benchmark: 5).
            in_channels: Image channels.
            channels_last: Memory layout of the activations; ``None`` = channels-last on CPU
                (faster there), unchanged elsewhere. See :class:`~nasrank.spaces.nb201.NB201Network`.

        Returns:
            An :class:`~nasrank.spaces.nb201.NB201Network` whose ``forward`` returns logits.

        Example:
            >>> import torch
            >>> net = NB201Space().build((3, 3, 3, 3, 3, 3), C=8, N=1)
            >>> net(torch.randn(2, 3, 16, 16)).shape
            torch.Size([2, 10])
        """
        if config:
            raise ConfigError(
                f"unknown NB201 build option(s) {sorted(config)}; "
                "valid: num_classes, C, N, in_channels, channels_last"
            )
        a = self.from_str(arch) if isinstance(arch, str) else self.validate(arch)
        num_classes = _check_int("num_classes", num_classes, 1)
        C = _check_int("C", C, 1)
        N = _check_int("N", N, 1)
        in_channels = _check_int("in_channels", in_channels, 1)
        net = NB201Network(
            lambda c: NB201Cell(a, c), C=C, N=N, num_classes=num_classes, in_channels=in_channels,
            channels_last=channels_last,
        )
        net.arch = a
        return net

    def num_params(
        self, arch: Sequence[int], num_classes: int = 10, C: int = 16, N: int = 5, in_channels: int = 3
    ) -> int:
        """Parameter count of :meth:`build` computed in closed form (no model is built).

        Example:
            >>> s = NB201Space()
            >>> a = (3, 2, 4, 1, 0, 3)
            >>> s.num_params(a) == sum(p.numel() for p in s.build(a).parameters())
            True
        """
        return _profile.num_params(arch, num_classes=num_classes, C=C, N=N, in_channels=in_channels)

    #: What :meth:`flops` counts (shown by ``nasrank spaces show``).
    flops_convention = "multiply-accumulates per image, NAS-Bench-201 counter"

    def flops(
        self,
        arch: Sequence[int],
        input_size: tuple[int, int, int] = (3, 32, 32),
        num_classes: int = 10,
        C: int = 16,
        N: int = 5,
        convention: str = "benchmark",
    ) -> int:
        """Multiply-accumulate count of one forward pass for one image; see
        :func:`nasrank.spaces.nb201.profile.flops` for the ``"benchmark"`` / ``"macs"``
        conventions. Divide by 1e6 for the benchmark's MFLOPs figure.

        Example:
            >>> NB201Space().flops((0, 0, 0, 0, 0, 0)) / 1e6  # the benchmark's smallest cell
            7.78305
        """
        return _profile.flops(arch, input_size=input_size, num_classes=num_classes, C=C, N=N,
                              convention=convention)

    # --- weight sharing -----------------------------------------------------------------------
    def supernet(
        self, C: int = 16, N: int = 5, num_classes: int = 10, in_channels: int = 3,
        affine: bool = False,
    ) -> NB201Supernet:
        """The NB201 supernet (Zero-Cost-PT's / DARTS-PT's search model); see
        :class:`~nasrank.spaces.nb201.NB201Supernet`.

        Example:
            >>> NB201Space().supernet(C=2, N=1).ops[3]
            'nor_conv_3x3'
        """
        return NB201Supernet(C=C, N=N, num_classes=num_classes, in_channels=in_channels,
                             affine=affine)

    def derived_network(
        self, arch: Sequence[int], num_classes: int = 10, C: int = 16, N: int = 5,
        in_channels: int = 3, **config: Any,
    ) -> NB201Supernet:
        """The network weight-sharing methods score an architecture with: the supernet with
        affine BatchNorm reduced to the architecture's path. It computes the function of the
        benchmark network (:meth:`build`) with the same parameters in use, and runs the
        supernet's fused inference path (the unused candidates exist but never run).

        Example:
            >>> net = NB201Space().derived_network((3, 3, 0, 1, 3, 4), C=2, N=1)
            >>> net.genotype()
            (3, 3, 0, 1, 3, 4)
        """
        if config:
            raise ConfigError(
                f"unknown NB201 network option(s) {sorted(config)}; valid: num_classes, C, N, in_channels"
            )
        a = self.from_str(arch) if isinstance(arch, str) else self.validate(arch)
        net = NB201Supernet(num_classes=num_classes, in_channels=in_channels, affine=True, C=C, N=N)
        for e, o in enumerate(a):
            net.discretize(e, o)
        return net


@lru_cache(maxsize=1)
def _representatives() -> dict[str, Arch]:
    space = NB201Space()
    reps: dict[str, Arch] = {}
    for a in space.all_archs():  # lexicographic order: the first seen is the smallest
        reps.setdefault(space.canonical_key(a), a)
    return reps
