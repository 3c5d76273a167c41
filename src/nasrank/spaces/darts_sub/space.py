"""The space classes of the RobustDARTS sub-spaces S1-S4 (registered as ``darts-s1`` ...
``darts-s4``); see :mod:`nasrank.spaces.darts_sub`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..._rng import as_generator
from ...exceptions import ConfigError
from .._registries import SPACES
from ..base import SearchSpace
from ..darts import (
    STEPS,
    DARTSNetwork,
    build_network,
    edge_index,
    genotype_neighbours,
    repair_inputs,
    sort_node_pairs,
)
from . import encoding as _enc
from .encoding import SUBSPACES, Arch, SubspaceSpec
from .network import SubspaceNetwork
from .supernet import DARTSSubSupernet

__all__ = ["DARTSSubspace", "DARTSS1Space", "DARTSS2Space", "DARTSS3Space", "DARTSS4Space"]

_SLOTS = 2 * 2 * STEPS  # (op, input) slots of an architecture


class DARTSSubspace(SearchSpace):
    """Base class of the four sub-spaces: a DARTS genotype whose every operation is one of its
    edge's candidates (:attr:`spec`). Not registered itself.

    Example:
        >>> import nasrank
        >>> sp = nasrank.create_space("darts-s2")
        >>> a = sp.sample(0)
        >>> sp.from_str(sp.to_str(a)) == a, sp.size
        (True, 2123366400)
    """

    spec: ClassVar[SubspaceSpec]
    tiny_build_config = {"C": 4, "layers": 3}
    build_configs = {"search": {"C": 8, "layers": 5}, "standard": {"C": 36, "layers": 20},
                     "supernet": {"C": 16, "layers": 8}}
    tiny_input_shape = (3, 8, 8)
    width_option = "C"
    depth_option = "layers"
    #: What :meth:`flops` counts (shown by ``nasrank spaces show``).
    flops_convention = ("multiply-accumulates per image of every convolution and linear layer, "
                        "plus the classifier bias (the NAS-Bench-201 counter)")

    # --- encoding ---------------------------------------------------------------------------
    def validate(self, arch: Any) -> Arch:
        """``arch`` as a 32-int tuple of the space (``InvalidArchitectureError`` if it is not).

        Example:
            >>> len(DARTSS2Space().validate([0, 0, 1, 1] * 8))
            32
        """
        return _enc.validate(self.spec, arch)

    def to_str(self, arch: Sequence[int]) -> str:
        """The DARTS ``Genotype`` repr.

        Example:
            >>> DARTSS2Space().to_str((1, 0, 0, 1) * 8)[:56]
            "Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1"
        """
        return _enc.to_str(self.spec, arch)

    def from_str(self, text: str) -> Arch:
        """Parse a ``Genotype(...)`` string (without ``eval``); operations outside an edge's
        candidates are rejected with a one-line error.

        Example:
            >>> from nasrank.spaces.darts import DARTS_V2
            >>> DARTSS2Space().from_str(DARTS_V2)  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ...
            nasrank.exceptions.InvalidArchitectureError: 'dil_conv_3x3' on edge (node 3, input 2) of the normal cell in ... is not a candidate of darts-s2 (S2); candidates there: skip_connect, sep_conv_3x3
        """
        return _enc.from_str(self.spec, text)

    def cells(self, arch: Sequence[int]) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """The normal and reduction cells as DARTS-style lists of ``(op name, input)`` pairs.

        Example:
            >>> DARTSS4Space().cells((0, 0, 1, 1) * 8)[1][:2]
            [('noise', 0), ('sep_conv_3x3', 1)]
        """
        return _enc.cells(self.spec, arch)

    def from_cells(self, normal: Sequence[tuple[str, int]], reduce: Sequence[tuple[str, int]]
                   ) -> Arch:
        """The architecture of two DARTS-style cells (8 ``(op name, input)`` pairs each).

        Example:
            >>> sp = DARTSS1Space()
            >>> a = sp.sample(3)
            >>> sp.from_cells(*sp.cells(a)) == a
            True
        """
        return _enc.from_cells(self.spec, normal, reduce)

    def to_darts(self, arch: Sequence[int]) -> Arch:
        """The same genotype in the encoding of the full DARTS space (``nasrank.spaces.darts``;
        S1-S3 only: ``noise`` is not a DARTS operation).

        Example:
            >>> from nasrank.spaces import DARTSSpace
            >>> sp = DARTSS2Space()
            >>> a = sp.sample(0)
            >>> DARTSSpace().to_str(sp.to_darts(a)) == sp.to_str(a)
            True
        """
        from ..darts import from_str as darts_from_str

        normal, reduce = self.cells(arch)
        if any(op == "noise" for op, _ in (*normal, *reduce)):
            raise ConfigError(f"{self.name}: 'noise' is not an operation of the DARTS space")
        return darts_from_str(self.to_str(arch))

    def encode(self, arch: Sequence[int]) -> np.ndarray:
        """One-hot (operation name, input) per operation slot: 16 slots x (operations of the
        space's genotypes + 5 inputs) floats.

        Example:
            >>> DARTSS2Space().encode((0, 0, 1, 1) * 8).shape  # 16 x (2 + 5)
            (112,)
        """
        vocab = self.spec.vocabulary
        out = np.zeros((_SLOTS, len(vocab) + STEPS + 1), dtype=np.float32)
        normal, reduce = self.cells(arch)
        for s, (op, inp) in enumerate([*normal, *reduce]):
            out[s, vocab.index(op)] = 1.0
            out[s, len(vocab) + inp] = 1.0
        return out.reshape(-1)

    # --- sampling ---------------------------------------------------------------------------
    def choices(self) -> tuple[tuple[int, ...], ...]:
        """Per position: an operation index ``(0, 1)`` (the edge's two genotype candidates) or,
        for node ``k``'s input slots, ``0..k+1``. The two inputs of a node must differ: see
        :meth:`project`.

        Example:
            >>> c = DARTSS1Space().choices()
            >>> len(c), c[0], c[1], c[7]
            (32, (0, 1), (0, 1), (0, 1, 2))
        """
        out: list[tuple[int, ...]] = []
        for _cell in range(2):
            for k in range(STEPS):
                out += [(0, 1), tuple(range(k + 2))] * 2
        return tuple(out)

    def project(self, arch: Sequence[int], rng: int | np.random.Generator | None = None) -> Arch:
        """Repair a position-wise draw: a node that reads one input twice gets its second input
        redrawn (seeded) from the others.

        Example:
            >>> sp = DARTSS2Space()
            >>> a = list(sp.sample(0)); a[3] = a[1]
            >>> fixed = sp.project(a, 0)
            >>> fixed[3] != fixed[1] and fixed[:3] == tuple(a[:3])
            True
        """
        return self.validate(repair_inputs(arch, rng))

    def sample(self, rng: int | np.random.Generator | None = None) -> Arch:
        """Uniform over architectures: per node two distinct inputs, an operation on each.

        Example:
            >>> sp = DARTSS1Space()
            >>> sp.sample(0) == sp.sample(0), len(sp.sample(1))
            (True, 32)
        """
        gen = as_generator(rng)
        arch: list[int] = []
        for cell in range(2):
            for k in range(STEPS):
                inputs = gen.choice(k + 2, size=2, replace=False)
                for inp in inputs:
                    n_ops = len(self.spec.genotype_ops(cell, edge_index(k, int(inp))))
                    arch += [int(gen.integers(n_ops)), int(inp)]
        return tuple(arch)

    def neighbours(self, arch: Sequence[int]) -> list[Arch]:
        """Every architecture that differs in one operation or in one input (40 in all); an
        input change keeps the operation index (in S1 it may name another operation there).

        Example:
            >>> len(DARTSS3Space().neighbours((0, 0, 1, 1) * 8))
            40
        """
        def op_values(cell: int, node: int, inp: int) -> range:
            return range(len(self.spec.genotype_ops(cell, edge_index(node, inp))))

        return genotype_neighbours(self.validate(arch), op_values)

    @property
    def size(self) -> int:
        """Number of architectures, a node's two (operation, input) pairs unordered (the count
        of :meth:`canonical` forms; every one has ``2 ** 8`` encodings). Exact: computed from the
        candidate tables (S1-S4: ``46,080 ** 2``)."""
        return self.spec.num_unique

    def canonical(self, arch: Sequence[int]) -> Arch:
        """The encoding with each node's two (op, input) pairs in input order.

        Example:
            >>> sp = DARTSS2Space()
            >>> a = sp.sample(0)
            >>> sp.canonical(a[2:4] + a[0:2] + a[4:]) == sp.canonical(a)
            True
        """
        return sort_node_pairs(self.validate(arch))

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
    ) -> nn.Module:
        """The DARTS CIFAR evaluation network of the genotype (S1-S3:
        :class:`~nasrank.spaces.darts.DARTSNetwork`; S4: :class:`~nasrank.spaces.darts_sub.
        SubspaceNetwork`, whose cells may hold ``noise``).

        Args:
            arch: 32-int encoding or genotype string.
            num_classes: Classifier outputs.
            C: Initial channels (evaluation: 36; search: 16).
            layers: Number of cells (evaluation: 20; search: 8).
            auxiliary: Add the auxiliary head (``forward`` returns the main logits only).
            drop_path_prob: Drop-path probability used in training mode.
            in_channels: Image channels.

        Example:
            >>> sp = DARTSS4Space()
            >>> type(sp.build(sp.sample(0), C=2, layers=3)).__name__
            'SubspaceNetwork'
        """
        if config:
            raise ConfigError(
                f"unknown {self.name} build option(s) {sorted(config)}; valid: num_classes, C, "
                "layers, auxiliary, drop_path_prob, in_channels")
        a = self.from_str(arch) if isinstance(arch, str) else self.validate(arch)
        net = build_network(*self.cells(a), num_classes=num_classes, C=C, layers=layers,
                            auxiliary=auxiliary, drop_path_prob=drop_path_prob,
                            in_channels=in_channels, min_C=2,
                            network=SubspaceNetwork if "noise" in self.spec.vocabulary
                            else DARTSNetwork)
        net.arch = a
        return net

    def num_params(self, arch: Sequence[int], num_classes: int = 10, include_auxiliary: bool = True,
                   **config: Any) -> int:
        """Parameters of :meth:`build`; ``include_auxiliary=False`` leaves the auxiliary head
        out (the DARTS papers' convention).

        Example:
            >>> sp = DARTSS2Space()
            >>> sp.num_params((1, 0, 1, 1) * 8, C=36, layers=20)  # sep_conv_3x3 everywhere
            4701718
        """
        net = self.build(arch, num_classes=num_classes, **config)
        return sum(p.numel() for n, p in net.named_parameters()
                   if include_auxiliary or not n.startswith("auxiliary_head."))

    def flops(self, arch: Sequence[int], input_size: tuple[int, int, int] = (3, 32, 32),
              num_classes: int = 10, **config: Any) -> int:
        """Multiply-accumulates of one forward pass for one image, counted like the NAS-Bench-201
        counter (every convolution and linear layer, plus the classifier's bias; pooling,
        BatchNorm, ReLU, additions and ``noise`` are free); ``config``: :meth:`build` options.

        Example:
            >>> sp = DARTSS2Space()
            >>> sp.flops((0, 0, 0, 1) * 8, C=2, layers=3, input_size=(3, 8, 8))  # all skips
            22986
        """
        if len(input_size) != 3:
            raise ConfigError(f"`input_size` must be (channels, height, width), got {input_size!r}")
        net = self.build(arch, num_classes=num_classes, in_channels=int(input_size[0]), **config)
        total = 0

        def count(mod: nn.Module, _inp: Any, out: torch.Tensor) -> None:
            nonlocal total
            if isinstance(mod, nn.Conv2d):
                k = mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups
                total += out.numel() * (k + (1 if mod.bias is not None else 0))
            elif isinstance(mod, nn.Linear):
                total += out.numel() * (mod.in_features + (1 if mod.bias is not None else 0))

        hooks = [m.register_forward_hook(count) for m in net.modules()
                 if isinstance(m, (nn.Conv2d, nn.Linear))]
        try:
            with torch.no_grad():
                net.eval()(torch.zeros(1, *input_size))
        finally:
            for h in hooks:
                h.remove()
        return int(total)

    # --- weight sharing -----------------------------------------------------------------------
    def supernet(self, C: int = 16, layers: int = 8, num_classes: int = 10, in_channels: int = 3
                 ) -> DARTSSubSupernet:
        """The RobustDARTS search supernet of the space (C=16, 8 cells by default); see
        :class:`~nasrank.spaces.darts_sub.DARTSSubSupernet`.

        Example:
            >>> DARTSS1Space().supernet(C=2, layers=3).arch_weights().shape
            (28, 2)
        """
        return DARTSSubSupernet(self.spec, C=C, layers=layers, num_classes=num_classes,
                                in_channels=in_channels)


@SPACES.register("darts-s1")
class DARTSS1Space(DARTSSubspace):
    """RobustDARTS S1: the DARTS space with two preselected operations per edge (per cell type).

    Example:
        >>> DARTSS1Space().cells((0, 0, 1, 1) * 8)[0][:2]
        [('skip_connect', 0), ('dil_conv_5x5', 1)]
    """

    name = "darts-s1"
    spec = SUBSPACES["darts-s1"]


@SPACES.register("darts-s2")
class DARTSS2Space(DARTSSubspace):
    """RobustDARTS S2: the DARTS space with {skip_connect, sep_conv_3x3} on every edge.

    Example:
        >>> DARTSS2Space().supernet(C=2, layers=3).ops
        ('skip_connect', 'sep_conv_3x3')
    """

    name = "darts-s2"
    spec = SUBSPACES["darts-s2"]


@SPACES.register("darts-s3")
class DARTSS3Space(DARTSSubspace):
    """RobustDARTS S3: {none, skip_connect, sep_conv_3x3} per edge (genotypes as S2's).

    Example:
        >>> DARTSS3Space().supernet(C=2, layers=3).ops
        ('none', 'skip_connect', 'sep_conv_3x3')
    """

    name = "darts-s3"
    spec = SUBSPACES["darts-s3"]


@SPACES.register("darts-s4")
class DARTSS4Space(DARTSSubspace):
    """RobustDARTS S4: {noise, sep_conv_3x3} on every edge (noise: Gaussian N(0, 1) output).

    Example:
        >>> DARTSS4Space().supernet(C=2, layers=3).ops
        ('noise', 'sep_conv_3x3')
    """

    name = "darts-s4"
    spec = SUBSPACES["darts-s4"]
