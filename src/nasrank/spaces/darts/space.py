"""The DARTS CNN search space class (Liu et al., 2019); see :mod:`nasrank.spaces.darts`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..._rng import as_generator
from ...exceptions import ConfigError
from .._registries import SPACES
from ..base import SearchSpace
from . import encoding as _enc
from .encoding import DARTS_V1, DARTS_V2, PER_CELL, PRIMITIVES, STEPS, Arch  # noqa: F401  (doctests)
from .network import DARTSNetwork, build_network
from .supernet import DARTSSupernet

__all__ = ["DARTSSpace"]


@SPACES.register("darts")
class DARTSSpace(SearchSpace):
    """The DARTS CNN space: normal + reduction cell, 4 nodes x 2 inputs, 8 operations.

    Example:
        >>> import nasrank
        >>> from nasrank.spaces.darts import DARTS_V2
        >>> space = nasrank.create_space("darts")
        >>> arch = space.from_str(DARTS_V2)
        >>> space.to_str(arch) == DARTS_V2
        True
        >>> space.num_params(arch, C=36, layers=20)  # the published 3.3 M
        3349342
    """

    name = "darts"
    tiny_build_config = {"C": 4, "layers": 3}
    build_configs = {"search": {"C": 8, "layers": 5}, "standard": {"C": 36, "layers": 20},
                     "supernet": {"C": 16, "layers": 8}}
    tiny_input_shape = (3, 16, 16)
    width_option = "C"
    depth_option = "layers"
    ops = PRIMITIVES

    # --- encoding ---------------------------------------------------------------------------
    def validate(self, arch: Any) -> Arch:
        """``arch`` as a 32-int tuple (``InvalidArchitectureError`` if it is not a genotype).

        Example:
            >>> len(DARTSSpace().validate([4, 0, 4, 1] * 8))
            32
        """
        return _enc.validate(arch)

    def to_str(self, arch: Sequence[int]) -> str:
        """The DARTS ``Genotype`` repr.

        Example:
            >>> s = DARTSSpace()
            >>> s.to_str(s.from_str(DARTS_V2)) == DARTS_V2
            True
        """
        return _enc.to_str(arch)

    def from_str(self, text: str) -> Arch:
        """Parse a ``Genotype(...)`` string (without ``eval``).

        Example:
            >>> DARTSSpace().from_str(DARTS_V1)[:4]
            (4, 1, 4, 0)
        """
        return _enc.from_str(text)

    def cells(self, arch: Sequence[int]) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """The normal and reduction cells as DARTS-style lists of ``(op name, input)`` pairs.

        Example:
            >>> DARTSSpace().cells(DARTSSpace().from_str(DARTS_V2))[1][:2]
            [('max_pool_3x3', 0), ('max_pool_3x3', 1)]
        """
        return _enc.cells(arch)

    def encode(self, arch: Sequence[int]) -> np.ndarray:
        """One-hot (op, input) per operation slot: 16 slots x (8 ops + 5 inputs) = 208 floats.

        Example:
            >>> DARTSSpace().encode(DARTSSpace().from_str(DARTS_V2)).shape
            (208,)
        """
        a = self.validate(arch)
        out = np.zeros((2 * 2 * STEPS, len(PRIMITIVES) + STEPS + 1), dtype=np.float32)
        for s in range(2 * 2 * STEPS):
            out[s, a[2 * s]] = 1.0
            out[s, len(PRIMITIVES) + a[2 * s + 1]] = 1.0
        return out.reshape(-1)

    # --- sampling ---------------------------------------------------------------------------
    def choices(self) -> tuple[tuple[int, ...], ...]:
        """Per position: an operation in 1..7 (``none`` is not in a genotype) or, for the k-th
        node's input slots, 0..k+1. Two inputs of a node must differ: see :meth:`project`.

        Example:
            >>> c = DARTSSpace().choices()
            >>> len(c), c[0], c[1], c[7]
            (32, (1, 2, 3, 4, 5, 6, 7), (0, 1), (0, 1, 2))
        """
        out: list[tuple[int, ...]] = []
        for _cell in range(2):
            for k in range(STEPS):
                out += [tuple(range(1, len(PRIMITIVES))), tuple(range(k + 2))] * 2
        return tuple(out)

    def project(self, arch: Sequence[int], rng: int | np.random.Generator | None = None) -> Arch:
        """Repair a position-wise draw: a node that reads one input twice gets its second input
        redrawn (seeded) from the others.

        Example:
            >>> sp = DARTSSpace()
            >>> a = list(sp.sample(0)); a[3] = a[1]
            >>> fixed = sp.project(a, 0)
            >>> fixed[3] != fixed[1] and fixed[:3] == tuple(a[:3])
            True
        """
        return self.validate(_enc.repair_inputs(arch, rng))

    def sample(self, rng: int | np.random.Generator | None = None) -> Arch:
        gen = as_generator(rng)
        arch: list[int] = []
        for _cell in range(2):
            for k in range(STEPS):
                inputs = gen.choice(k + 2, size=2, replace=False)
                ops = gen.integers(1, len(PRIMITIVES), size=2)
                arch += [int(ops[0]), int(inputs[0]), int(ops[1]), int(inputs[1])]
        return tuple(arch)

    def neighbours(self, arch: Sequence[int]) -> list[Arch]:
        """Every genotype that differs in one operation or in one input (120 in all)."""
        ops = range(1, len(PRIMITIVES))
        return _enc.genotype_neighbours(self.validate(arch), lambda _cell, _node, _inp: ops)

    @property
    def size(self) -> int:
        """Number of encodings (ordered input pairs): (prod_k 49 (k+2)(k+1))^2, about 1e25."""
        per_cell = 1
        for k in range(STEPS):
            per_cell *= (k + 2) * (k + 1) * (len(PRIMITIVES) - 1) ** 2
        return per_cell**2

    def canonical(self, arch: Sequence[int]) -> Arch:
        """The encoding with each node's two (op, input) pairs sorted (input first, then op).

        Swapping the two operations of a node does not change the network's function family.

        Example:
            >>> s = DARTSSpace()
            >>> a = s.sample(0)
            >>> swapped = a[2:4] + a[0:2] + a[4:]
            >>> s.canonical(swapped) == s.canonical(a)
            True
        """
        return _enc.sort_node_pairs(self.validate(arch))

    def canonical_key(self, arch: Sequence[int]) -> Arch:
        return self.canonical(arch)

    # --- models -----------------------------------------------------------------------------
    def build(
        self,
        arch: Sequence[int] | str,
        num_classes: int = 10,
        C: int = 36,
        layers: int = 20,
        auxiliary: bool = False,
        drop_path_prob: float = 0.0,
        in_channels: int = 3,
        **config: Any,
    ) -> DARTSNetwork:
        """The CIFAR network of a genotype (DARTS' evaluation network).

        Args:
            arch: 32-int encoding or genotype string.
            num_classes: Classifier outputs.
            C: Initial channels (DARTS CIFAR-10 evaluation: 36; search supernet: 16).
            layers: Number of cells (evaluation: 20; search: 8).
            auxiliary: Add the auxiliary head after the second reduction (its logits come from
                :meth:`DARTSNetwork.forward_with_aux`; ``forward`` returns the main logits only).
            drop_path_prob: Drop-path probability used in training mode (not on identities).
            in_channels: Image channels.

        Example:
            >>> s = DARTSSpace()
            >>> net = s.build(s.sample(0), C=2, layers=3)
            >>> net.classifier.in_features  # 4 nodes x (2 x 2 x C) channels after 2 reductions
            32
        """
        if config:
            raise ConfigError(
                f"unknown DARTS build option(s) {sorted(config)}; valid: num_classes, C, layers, "
                "auxiliary, drop_path_prob, in_channels"
            )
        a = self.from_str(arch) if isinstance(arch, str) else self.validate(arch)
        net = build_network(*self.cells(a), num_classes=num_classes, C=C, layers=layers,
                            auxiliary=auxiliary, drop_path_prob=drop_path_prob,
                            in_channels=in_channels)
        net.arch = a
        return net

    def num_params(
        self, arch: Sequence[int], num_classes: int = 10, include_auxiliary: bool = True,
        **config: Any,
    ) -> int:
        """Parameters of :meth:`build`; ``include_auxiliary=False`` leaves the auxiliary head out
        (the convention of the DARTS papers' "params" column).

        Example:
            >>> s = DARTSSpace()
            >>> a = s.from_str(DARTS_V2)
            >>> s.num_params(a, C=36, layers=20, auxiliary=True) - s.num_params(
            ...     a, C=36, layers=20, auxiliary=True, include_auxiliary=False)
            476426
        """
        net = self.build(arch, num_classes=num_classes, **config)
        return sum(p.numel() for n, p in net.named_parameters()
                   if include_auxiliary or not n.startswith("auxiliary_head."))

    # --- weight sharing -----------------------------------------------------------------------
    def supernet(
        self, C: int = 16, layers: int = 8, num_classes: int = 10, in_channels: int = 3,
        include_none: bool = False,
    ) -> DARTSSupernet:
        """The DARTS search supernet (C=16, 8 cells by default); see
        :class:`~nasrank.spaces.darts.DARTSSupernet`.

        Example:
            >>> DARTSSpace().supernet(C=2, layers=3).arch_weights().shape
            (28, 7)
        """
        return DARTSSupernet(C=C, layers=layers, num_classes=num_classes, in_channels=in_channels,
                             include_none=include_none)

