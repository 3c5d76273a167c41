"""The DARTS CNN search space (Liu et al., 2019).

A genotype has a normal and a reduction cell. Each cell has 4 intermediate nodes; node ``k``
(0..3) sums two operations, each reading one of its ``k + 2`` possible inputs: ``0`` = the output
of the cell two back, ``1`` = the output of the previous cell, ``2..k+1`` = earlier intermediate
nodes. The cell output concatenates the 4 intermediate nodes along channels.

**Architecture encoding** (plain immutable data): a tuple of 32 ints,
``(op, input)`` for the 8 operations of the normal cell (node-major, two per node), then the same
for the reduction cell. Operation indices follow :data:`~nasrank.nn.darts_ops.DARTS_PRIMITIVES`
(``0 none`` is not allowed in a genotype); the two inputs of a node must differ, as in every
genotype DARTS-style search derives.

**String form** is the DARTS code base's ``Genotype`` repr, which :meth:`DARTSSpace.from_str`
parses without ``eval``::

    Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=[2, 3, 4, 5],
             reduce=[('max_pool_3x3', 0), ...], reduce_concat=[2, 3, 4, 5])

(``range(2, 6)`` is accepted for the concatenations.)

:meth:`DARTSSpace.build` returns the CIFAR network: stem (3 x 3 conv to ``3C`` + BN), ``layers``
cells with reductions (channels x 2) at ``layers // 3`` and ``2 * layers // 3``, optional
auxiliary head after the second reduction, global average pooling, linear classifier.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .._rng import as_generator
from ..exceptions import ConfigError, InvalidArchitectureError
from ..nn.darts_ops import DARTS_PRIMITIVES, FactorizedReduce, darts_op, darts_relu_conv_bn
from ..nn.ops import Identity
from . import SPACES
from .base import Arch, SearchSpace

__all__ = ["DARTSSpace", "DARTSCell", "DARTSNetwork", "AuxiliaryHead", "DARTS_V2", "DARTS_V1",
           "PRIMITIVES", "STEPS", "NUM_CELL_EDGES", "cell_edges"]

PRIMITIVES = DARTS_PRIMITIVES
STEPS = 4  # intermediate nodes per cell
NUM_CELL_EDGES = 14  # 2 + 3 + 4 + 5 candidate edges of a supernet cell
_PER_CELL = 4 * STEPS  # ints per cell in the encoding
_FORMAT = ("Genotype(normal=[('op', input), ... 8 pairs], normal_concat=[2, 3, 4, 5], "
           "reduce=[... 8 pairs], reduce_concat=[2, 3, 4, 5]) with op one of "
           + ", ".join(PRIMITIVES[1:]) + " and input of node k in 0..k+1")
_GENOTYPE_RE = re.compile(
    r"^Genotype\(normal=\[(?P<normal>[^\]]*)\],normal_concat=(?P<nc>\[[^\]]*\]|range\(\d+,\d+\)),"
    r"reduce=\[(?P<reduce>[^\]]*)\],reduce_concat=(?P<rc>\[[^\]]*\]|range\(\d+,\d+\))\)$"
)
_PAIR_RE = re.compile(r"\('([a-z0-9_]+)',(\d+)\)")


def cell_edges() -> list[tuple[int, int]]:
    """(node, input) of the 14 supernet edges of a cell, in DARTS order (node-major).

    Example:
        >>> cell_edges()[:5]
        [(0, 0), (0, 1), (1, 0), (1, 1), (1, 2)]
    """
    return [(k, j) for k in range(STEPS) for j in range(k + 2)]


def _parse_genotype_str(text: str) -> Arch:
    s = "".join(text.split()).replace('"', "'")
    m = _GENOTYPE_RE.match(s)
    if m is None:
        raise InvalidArchitectureError(f"malformed DARTS genotype string {text!r}; expected {_FORMAT}")
    for key in ("nc", "rc"):
        concat = m.group(key)
        if concat not in ("[2,3,4,5]", "range(2,6)"):
            raise InvalidArchitectureError(
                f"unsupported concatenation {concat!r} in {text!r}: only nodes 2..5 are supported"
            )
    arch: list[int] = []
    for key in ("normal", "reduce"):
        body = m.group(key)
        pairs = _PAIR_RE.findall(body)
        if ",".join(f"('{o}',{i})" for o, i in pairs) != body:
            raise InvalidArchitectureError(
                f"malformed {key} cell in DARTS genotype {text!r}; expected {_FORMAT}"
            )
        if len(pairs) != 2 * STEPS:
            raise InvalidArchitectureError(
                f"the {key} cell of {text!r} has {len(pairs)} (op, input) pairs, expected "
                f"{2 * STEPS}"
            )
        for op, idx in pairs:
            if op not in PRIMITIVES:
                raise InvalidArchitectureError(
                    f"unknown DARTS operation {op!r} in {text!r}; valid: {', '.join(PRIMITIVES[1:])}"
                )
            arch += [PRIMITIVES.index(op), int(idx)]
    return tuple(arch)


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
    build_configs = {"search": {"C": 8, "layers": 5}, "standard": {"C": 36, "layers": 20}}
    tiny_input_shape = (3, 16, 16)
    ops = PRIMITIVES

    # --- encoding ---------------------------------------------------------------------------
    def validate(self, arch: Any) -> Arch:
        if isinstance(arch, str):
            raise InvalidArchitectureError(
                "expected a tuple of 32 ints, got a string; use space.from_str() to parse " + _FORMAT
            )
        try:
            t = tuple(arch)
        except TypeError:
            raise InvalidArchitectureError(
                f"DARTS architecture must be a sequence of 32 ints (op, input pairs), got {arch!r}"
            ) from None
        if len(t) != 2 * _PER_CELL or not all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in t
        ):
            raise InvalidArchitectureError(
                f"DARTS architecture must be a sequence of 32 ints (op, input pairs), got {arch!r}"
            )
        t = tuple(int(a) for a in t)
        for cell in range(2):
            for k in range(STEPS):
                base = cell * _PER_CELL + 4 * k
                op_a, in_a, op_b, in_b = t[base : base + 4]
                for op in (op_a, op_b):
                    if not 1 <= op < len(PRIMITIVES):
                        raise InvalidArchitectureError(
                            f"DARTS op index must be in 1..{len(PRIMITIVES) - 1} (none is not "
                            f"allowed in a genotype), got {op} in {t!r}"
                        )
                for inp in (in_a, in_b):
                    if not 0 <= inp < k + 2:
                        raise InvalidArchitectureError(
                            f"node {k} of the {('normal', 'reduce')[cell]} cell reads input {inp}; "
                            f"valid: 0..{k + 1}"
                        )
                if in_a == in_b:
                    raise InvalidArchitectureError(
                        f"node {k} of the {('normal', 'reduce')[cell]} cell reads input {in_a} "
                        "twice; the two inputs of a node must differ"
                    )
        return t

    def to_str(self, arch: Sequence[int]) -> str:
        a = self.validate(arch)

        def cell(c: int) -> str:
            part = a[c * _PER_CELL : (c + 1) * _PER_CELL]
            return ", ".join(f"('{PRIMITIVES[part[i]]}', {part[i + 1]})" for i in range(0, _PER_CELL, 2))

        return (f"Genotype(normal=[{cell(0)}], normal_concat=[2, 3, 4, 5], "
                f"reduce=[{cell(1)}], reduce_concat=[2, 3, 4, 5])")

    def from_str(self, text: str) -> Arch:
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"expected a genotype string, got {type(text).__name__}")
        return self.validate(_parse_genotype_str(text))

    def cells(self, arch: Sequence[int]) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
        """The normal and reduction cells as DARTS-style lists of ``(op name, input)`` pairs.

        Example:
            >>> from nasrank.spaces.darts import DARTS_V2
            >>> DARTSSpace().cells(DARTSSpace().from_str(DARTS_V2))[1][:2]
            [('max_pool_3x3', 0), ('max_pool_3x3', 1)]
        """
        a = self.validate(arch)
        out = []
        for c in range(2):
            part = a[c * _PER_CELL : (c + 1) * _PER_CELL]
            out.append([(PRIMITIVES[part[i]], part[i + 1]) for i in range(0, _PER_CELL, 2)])
        return out[0], out[1]

    def encode(self, arch: Sequence[int]) -> np.ndarray:
        """One-hot (op, input) per operation slot: 16 slots x (8 ops + 5 inputs) = 208 floats.

        Example:
            >>> from nasrank.spaces.darts import DARTS_V2
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
        t = [int(v) for v in arch]
        if len(t) == 2 * _PER_CELL:
            gen = None
            for cell in range(2):
                for k in range(STEPS):
                    base = cell * _PER_CELL + 4 * k
                    if t[base + 1] == t[base + 3] and 0 <= t[base + 1] < k + 2:
                        gen = gen if gen is not None else as_generator(rng)
                        others = [i for i in range(k + 2) if i != t[base + 1]]
                        t[base + 3] = int(others[int(gen.integers(len(others)))])
        return self.validate(tuple(t))

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
        a = self.validate(arch)
        out: list[Arch] = []
        for slot in range(2 * 2 * STEPS):
            i = 2 * slot
            for op in range(1, len(PRIMITIVES)):
                if op != a[i]:
                    out.append(a[:i] + (op,) + a[i + 1 :])
            k = (slot % (2 * STEPS)) // 2
            other = a[i + 1 + (2 if slot % 2 == 0 else -2)]
            for inp in range(k + 2):
                if inp not in (a[i + 1], other):
                    out.append(a[: i + 1] + (inp,) + a[i + 2 :])
        return out

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
        a = self.validate(arch)
        out: list[int] = []
        for node in range(2 * STEPS):
            p, q = (a[4 * node + 1], a[4 * node]), (a[4 * node + 3], a[4 * node + 2])
            for inp, op in sorted((p, q)):
                out += [op, inp]
        return tuple(out)

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
        for name, value, minimum in (("num_classes", num_classes, 1), ("C", C, 1),
                                     ("layers", layers, 3), ("in_channels", in_channels, 1)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
                raise ConfigError(f"`{name}` must be an int >= {minimum}, got {value!r}")
        if not 0.0 <= float(drop_path_prob) < 1.0:
            raise ConfigError(f"`drop_path_prob` must be in [0, 1), got {drop_path_prob!r}")
        normal, reduce = self.cells(a)
        net = DARTSNetwork(normal, reduce, C=int(C), layers=int(layers), num_classes=int(num_classes),
                           auxiliary=bool(auxiliary), in_channels=int(in_channels))
        net.drop_path_prob = float(drop_path_prob)
        net.arch = a
        return net

    def num_params(
        self, arch: Sequence[int], num_classes: int = 10, include_auxiliary: bool = True,
        **config: Any,
    ) -> int:
        """Parameters of :meth:`build`; ``include_auxiliary=False`` leaves the auxiliary head out
        (the convention of the DARTS papers' "params" column).

        Example:
            >>> from nasrank.spaces.darts import DARTS_V2
            >>> s = DARTSSpace()
            >>> a = s.from_str(DARTS_V2)
            >>> s.num_params(a, C=36, layers=20, auxiliary=True) - s.num_params(
            ...     a, C=36, layers=20, auxiliary=True, include_auxiliary=False)
            476426
        """
        net = self.build(arch, num_classes=num_classes, **config)
        return sum(p.numel() for n, p in net.named_parameters()
                   if include_auxiliary or not n.startswith("auxiliary_head."))


def _drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    keep = 1.0 - drop_prob
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x / keep * mask


class DARTSCell(nn.Module):
    """One cell of a DARTS evaluation network.

    Args:
        genotype: 8 ``(op name, input)`` pairs (node-major, two per node).
        C_prev_prev: Channels of the cell two back.
        C_prev: Channels of the previous cell.
        C: Channels of each intermediate node (output: ``4 C``).
        reduction: Whether this cell halves the resolution.
        reduction_prev: Whether the previous cell did (its input ``0`` is then twice as large).

    Example:
        >>> cell = DARTSCell([("skip_connect", 0), ("sep_conv_3x3", 1)] * 4, 4, 4, 2, False, False)
        >>> cell(torch.randn(1, 4, 4, 4), torch.randn(1, 4, 4, 4)).shape
        torch.Size([1, 8, 4, 4])
    """

    def __init__(
        self,
        genotype: Sequence[tuple[str, int]],
        C_prev_prev: int,
        C_prev: int,
        C: int,
        reduction: bool,
        reduction_prev: bool,
    ) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0: nn.Module = (
            FactorizedReduce(C_prev_prev, C) if reduction_prev
            else darts_relu_conv_bn(C_prev_prev, C, 1, 1, 0)
        )
        self.preprocess1 = darts_relu_conv_bn(C_prev, C, 1, 1, 0)
        self._ops = nn.ModuleList()
        self._indices: list[int] = []
        for name, index in genotype:
            stride = 2 if reduction and index < 2 else 1
            self._ops.append(darts_op(name, C, stride, affine=True))
            self._indices.append(int(index))
        self.multiplier = STEPS

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for k in range(STEPS):
            total: torch.Tensor | None = None
            for i in (2 * k, 2 * k + 1):
                op = self._ops[i]
                h = op(states[self._indices[i]])
                if self.training and drop_prob > 0 and not isinstance(op, Identity):
                    h = _drop_path(h, drop_prob)
                total = h if total is None else total + h
            assert total is not None
            states.append(total)
        return torch.cat(states[2:], dim=1)


class AuxiliaryHead(nn.Module):
    """DARTS' CIFAR auxiliary classifier for an 8 x 8 feature map.

    Example:
        >>> AuxiliaryHead(16, 10)(torch.randn(2, 16, 8, 8)).shape
        torch.Size([2, 10])
    """

    def __init__(self, C: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(C, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=False),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).flatten(1))


class DARTSNetwork(nn.Module):
    """DARTS' CIFAR evaluation network of a genotype; ``forward`` returns logits only.

    Args:
        normal: Normal cell, 8 ``(op name, input)`` pairs.
        reduce: Reduction cell, likewise.
        C: Initial channels.
        layers: Number of cells; reductions at ``layers // 3`` and ``2 * layers // 3``.
        num_classes: Classifier outputs.
        auxiliary: Build the auxiliary head (after cell ``2 * layers // 3``).
        in_channels: Image channels.

    Attributes:
        drop_path_prob: Drop-path probability applied in training mode (default 0).

    Example:
        >>> g = [("avg_pool_3x3", 0), ("skip_connect", 1)] * 4
        >>> net = DARTSNetwork(g, g, C=2, layers=3)
        >>> net(torch.randn(1, 3, 8, 8)).shape
        torch.Size([1, 10])
    """

    def __init__(
        self,
        normal: Sequence[tuple[str, int]],
        reduce: Sequence[tuple[str, int]],
        C: int = 36,
        layers: int = 20,
        num_classes: int = 10,
        auxiliary: bool = False,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.layers = layers
        self.drop_path_prob = 0.0
        stem_c = 3 * C
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_c, 3, padding=1, bias=False), nn.BatchNorm2d(stem_c)
        )
        c_pp, c_p, c_cur = stem_c, stem_c, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        self._aux_pos = 2 * layers // 3
        c_aux = None
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_cur *= 2
            cell = DARTSCell(reduce if reduction else normal, c_pp, c_p, c_cur, reduction,
                             reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_cur
            if i == self._aux_pos:
                c_aux = c_p
        self.auxiliary_head = AuxiliaryHead(c_aux, num_classes) if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(logits, auxiliary logits)``; the latter is ``None`` without a head or in eval mode."""
        aux = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self._aux_pos and self.auxiliary_head is not None and self.training:
                aux = self.auxiliary_head(s1)
        out = self.global_pooling(s1).flatten(1)
        return self.classifier(out), aux

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_with_aux(x)[0]


#: DARTS (second order), the published genotype of Liu et al. (2019), ``DARTS_V2``.
DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
    "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)
#: DARTS (first order), ``DARTS_V1`` of the same file.
DARTS_V1 = (
    "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
    "('skip_connect', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], reduce_concat=[2, 3, 4, 5])"
)
