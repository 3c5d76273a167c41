"""The NAS-Bench-201 (NATS-Bench topology) search space.

An architecture is a tuple of 6 operation indices, one per cell edge, in the benchmark's official
string order: edges ``1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2``. Operation indices follow the
benchmark's order: ``0 none, 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3, 4 avg_pool_3x3``.
The official string of ``(3, 3, 0, 1, 3, 4)`` is
``|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|``.

:meth:`NB201Space.build` returns the benchmark's network (C=16, N=5 by default) with the exact
parameter set of the reference implementation: bias-free convolutions, affine BatchNorm with
running statistics, average pooling that ignores padded zeros. Its cells run a plan compiled from
the architecture that computes only what can affect the output:

* ``none`` edges are left out of the node sums instead of adding ``x * 0``;
* nodes whose every outgoing edge is ``none`` (or leads only to such nodes) are not computed;
* a node that is identically zero (all its inputs are ``none``, or skip/pool of a zero node) is
  not materialised; a convolution applied to it reduces to BatchNorm of zeros, which is computed
  exactly on a two-element tensor and broadcast (in train mode it equals the BN shift ``beta``);
* ReLUs applied to the same node by several convolutions are computed once;
* when the whole cell output is identically zero the network skips every layer before the head.

The logits equal the reference network's in train and eval mode. What differs, and cannot affect
any output: BatchNorm running statistics of skipped (dead) operations are not updated, and their
parameters receive no gradient (``.grad`` stays ``None`` rather than zero).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from functools import cache, lru_cache
from typing import Any

import numpy as np
import torch
from torch import nn

from .._rng import as_generator
from .._validate import check_int as _check_int
from ..exceptions import ConfigError, InvalidArchitectureError
from ..nn.networks import NB201Network
from ..nn.ops import AvgPool3x3, Identity, ReLUConvBN, Zero, avg_pool_3x3
from . import SPACES
from .base import Arch, SearchSpace

__all__ = ["NB201Space", "NB201Cell", "OPS", "EDGES"]

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
NONE, SKIP, CONV1, CONV3, POOL = range(5)
#: (destination, source) of each edge, in official string order.
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
NUM_NODES = 4
_FORMAT = "|op~0|+|op~0|op~1|+|op~0|op~1|op~2| with op one of " + ", ".join(OPS)
_NODE_RE = re.compile(r"^\|(?:[a-z0-9_]+~\d+\|)+$")

# kinds of terms in a compiled cell plan
_IDENT, _POOL, _CONV, _BN_OF_ZERO = range(4)


def _analyse(arch: Arch) -> tuple[list[bool], list[bool]]:
    """(zero, live) flags per node: ``zero`` = identically zero, ``live`` = can reach the output."""
    zero = [False] * NUM_NODES
    for k in range(1, NUM_NODES):
        zero[k] = all(
            arch[e] == NONE or (zero[j] and arch[e] in (SKIP, POOL))
            for e, (d, j) in enumerate(EDGES)
            if d == k
        )
    live = [False] * NUM_NODES
    live[NUM_NODES - 1] = True
    for j in range(NUM_NODES - 2, -1, -1):
        live[j] = any(arch[e] != NONE and live[d] for e, (d, s) in enumerate(EDGES) if s == j)
    return zero, live


@cache
def _compile_plan(arch: Arch) -> tuple[tuple[tuple[int, tuple[tuple[int, int, int], ...]], ...], bool]:
    """Compile the cell's forward plan: per computed node, its (edge, source, kind) terms."""
    zero, live = _analyse(arch)
    plan = []
    for k in range(1, NUM_NODES):
        if not live[k] or zero[k]:
            continue
        terms = []
        for e, (d, j) in enumerate(EDGES):
            op = arch[e]
            if d != k or op == NONE:
                continue
            if zero[j]:
                if op in (CONV1, CONV3):
                    terms.append((e, j, _BN_OF_ZERO))
                continue  # skip / pool of zeros is zero
            kind = {SKIP: _IDENT, POOL: _POOL}.get(op, _CONV)
            terms.append((e, j, kind))
        plan.append((k, tuple(terms)))
    return tuple(plan), zero[NUM_NODES - 1]


class NB201Cell(nn.Module):
    """One NAS-Bench-201 cell (4 nodes, 6 edges) with ``C`` channels at stride 1.

    ``layers[e]`` is the operation on edge ``e`` (official order), as in the reference.

    Args:
        arch: Six operation indices.
        C: Channels.
        affine: BatchNorm affine parameters (the benchmark uses True).
        track_running_stats: BatchNorm running statistics (the benchmark uses True).

    Example:
        >>> cell = NB201Cell((3, 0, 0, 1, 0, 0), C=4)
        >>> cell(torch.randn(2, 4, 8, 8)).shape
        torch.Size([2, 4, 8, 8])
    """

    def __init__(
        self, arch: Sequence[int], C: int, affine: bool = True, track_running_stats: bool = True
    ) -> None:
        super().__init__()
        self.arch: Arch = tuple(int(a) for a in arch)
        self.layers = nn.ModuleList(
            _make_op(op, C, affine, track_running_stats) for op in self.arch
        )
        self._plan, self.output_is_zero = _compile_plan(self.arch)
        self.in_dim = self.out_dim = C

    def extra_repr(self) -> str:
        return f"arch={NB201Space().to_str(self.arch)!r}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.output_is_zero:
            return torch.zeros_like(x)
        nodes: list[torch.Tensor | None] = [x, None, None, None]
        relu: dict[int, torch.Tensor] = {}
        for k, terms in self._plan:
            acc: torch.Tensor | None = None
            for e, j, kind in terms:
                if kind == _CONV:
                    r = relu.get(j)
                    if r is None:
                        r = relu[j] = torch.relu(nodes[j])
                    t = self.layers[e].forward_after_relu(r)
                elif kind == _IDENT:
                    t = nodes[j]
                elif kind == _POOL:
                    t = avg_pool_3x3(nodes[j])
                else:  # conv of an all-zero node: ReLU(0) = 0, conv(0) = 0 (no bias), then BN
                    bn = self.layers[e].bn
                    t = bn(x.new_zeros(1, x.shape[1], 1, 2))[:, :, :, :1].expand_as(x)
                acc = t if acc is None else acc + t
            nodes[k] = acc
        out = nodes[NUM_NODES - 1]
        assert out is not None
        if out.stride(-1) == 0:  # only a broadcast BN shift reached the output
            out = out.contiguous()
        return out


def _make_op(op: int, C: int, affine: bool, track_running_stats: bool) -> nn.Module:
    if op == NONE:
        return Zero()
    if op == SKIP:
        return Identity()
    if op == CONV1:
        return ReLUConvBN(C, C, 1, 1, 0, 1, affine, track_running_stats)
    if op == CONV3:
        return ReLUConvBN(C, C, 3, 1, 1, 1, affine, track_running_stats)
    return AvgPool3x3()




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
    build_configs = {"search": {"C": 8, "N": 1}, "standard": {"C": 16, "N": 5}}
    tiny_input_shape = (3, 16, 16)
    ops = OPS
    edges = EDGES

    # --- encoding ---------------------------------------------------------------------------
    def validate(self, arch: Any) -> Arch:
        if isinstance(arch, str):
            raise InvalidArchitectureError(
                "expected a tuple of 6 op indices, got a string; use space.from_str() to parse "
                + _FORMAT
            )
        try:
            t = tuple(arch)
        except TypeError:
            raise InvalidArchitectureError(
                f"NB201 architecture must be a sequence of 6 op indices in 0..4, got {arch!r}"
            ) from None
        if len(t) != len(EDGES) or not all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) and 0 <= a < len(OPS)
            for a in t
        ):
            raise InvalidArchitectureError(
                f"NB201 architecture must be a sequence of 6 op indices in 0..4, got {arch!r}"
            )
        return tuple(int(a) for a in t)

    def to_str(self, arch: Sequence[int]) -> str:
        a = self.validate(arch)
        nodes = []
        for k in range(1, NUM_NODES):
            terms = [f"{OPS[a[e]]}~{j}" for e, (d, j) in enumerate(EDGES) if d == k]
            nodes.append("|" + "|".join(terms) + "|")
        return "+".join(nodes)

    def from_str(self, text: str) -> Arch:
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"expected an architecture string, got {type(text).__name__}")
        s = "".join(text.split())
        node_strs = s.split("+")
        if len(node_strs) != NUM_NODES - 1 or not all(_NODE_RE.match(n) for n in node_strs):
            raise InvalidArchitectureError(
                f"malformed NB201 architecture string {text!r}; expected {_FORMAT}"
            )
        arch = []
        for k, node in enumerate(node_strs, start=1):
            terms = [t for t in node.split("|") if t]
            if len(terms) != k:
                raise InvalidArchitectureError(
                    f"node {k} of {text!r} has {len(terms)} inputs, expected {k}; expected {_FORMAT}"
                )
            for j, term in enumerate(terms):
                op, src = term.split("~")
                if int(src) != j:
                    raise InvalidArchitectureError(
                        f"node {k} input {j} of {text!r} reads node {src}, expected ~{j}; "
                        f"expected {_FORMAT}"
                    )
                if op not in OPS:
                    raise InvalidArchitectureError(
                        f"unknown NB201 operation {op!r} in {text!r}; valid: {', '.join(OPS)}"
                    )
                arch.append(OPS.index(op))
        # string order is node-major, which is exactly EDGES order
        return tuple(arch)

    def encode(self, arch: Sequence[int]) -> np.ndarray:
        """One-hot encoding, shape ``(30,)``: edge-major blocks of 5 ops.

        Example:
            >>> NB201Space().encode((0, 1, 2, 3, 4, 0)).reshape(6, 5).argmax(1).tolist()
            [0, 1, 2, 3, 4, 0]
        """
        a = self.validate(arch)
        out = np.zeros((len(EDGES), len(OPS)), dtype=np.float32)
        out[np.arange(len(EDGES)), a] = 1.0
        return out.reshape(-1)

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
        """Whether a path of non-``none`` edges leads from the cell input to its output."""
        a = self.validate(arch)
        reach = [True, False, False, False]
        for e, (d, j) in enumerate(EDGES):
            if a[e] != NONE and reach[j]:
                reach[d] = True
        return reach[NUM_NODES - 1]

    def canonical_key(self, arch: Sequence[int]) -> str:
        """The benchmark's isomorphism key (``to_unique_str(consider_zero=True)``).

        ``none`` edges and edges from zero nodes become ``#``; ``skip_connect`` passes its source's
        string through; any other op wraps it as ``(src)@op``; a node is the sorted ``+``-join
        of its terms. Two architectures are equivalent iff the keys of node 3 agree.
        """
        a = self.validate(arch)
        node = ["0"]
        for k in range(1, NUM_NODES):
            terms = []
            for e, (d, j) in enumerate(EDGES):
                if d != k:
                    continue
                if a[e] == NONE or node[j] == "#":
                    terms.append("#")
                elif a[e] == SKIP:
                    terms.append(node[j])
                else:
                    terms.append(f"({node[j]})@{OPS[a[e]]}")
            node.append("+".join(sorted(terms)))
        return node[NUM_NODES - 1]

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
                (faster there), unchanged elsewhere. See :class:`~nasrank.nn.NB201Network`.

        Returns:
            An :class:`~nasrank.nn.NB201Network` whose ``forward`` returns logits.

        Example:
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
        a = self.validate(arch)
        per_c2 = sum({CONV1: 1, CONV3: 9}.get(op, 0) for op in a)  # conv weights / C^2
        n_bn = sum(op in (CONV1, CONV3) for op in a)
        total = in_channels * C * 9 + 2 * C  # stem
        for stage in range(3):
            c = C * 2**stage
            total += N * (per_c2 * c * c + n_bn * 2 * c)
            if stage > 0:
                cp = c // 2
                total += 9 * cp * c + 2 * c + 9 * c * c + 2 * c + cp * c  # conv_a, conv_b, shortcut
        c = 4 * C
        return total + 2 * c + c * num_classes + num_classes

    def flops(
        self,
        arch: Sequence[int],
        input_size: tuple[int, int, int] = (3, 32, 32),
        num_classes: int = 10,
        C: int = 16,
        N: int = 5,
        convention: str = "benchmark",
    ) -> int:
        """Multiply-accumulate count of one forward pass for one image.

        Conventions:

        * ``"benchmark"`` (default) — the counter behind NAS-Bench-201's published ``flops``
          (``xautodl``'s ``get_model_infos``): one per multiply-accumulate of every convolution
          and linear layer, plus one per bias element per output position (only the classifier
          has a bias). Every cell operation counts, including those that cannot affect the
          output. Pooling, BatchNorm, ReLU and additions are free.
        * ``"macs"`` — multiply-accumulates of convolutions and linear layers only (no bias).

        Divide by 1e6 for the benchmark's MFLOPs figure.

        Example:
            >>> NB201Space().flops((0, 0, 0, 0, 0, 0)) / 1e6  # the benchmark's smallest cell
            7.78305
        """
        a = self.validate(arch)
        if convention not in ("benchmark", "macs"):
            raise ConfigError(f"`convention` must be 'benchmark' or 'macs', got {convention!r}")
        if len(input_size) != 3:
            raise ConfigError(f"`input_size` must be (channels, height, width), got {input_size!r}")
        cin, h, w = (_check_int("input_size", v, 1) for v in input_size)
        num_classes = _check_int("num_classes", num_classes, 1)
        k2 = sum({CONV1: 1, CONV3: 9}.get(op, 0) for op in a)  # cell conv MACs / (h * w * c^2)
        total = h * w * C * cin * 9  # stem
        for stage in range(3):
            c = C * 2**stage
            if stage > 0:
                cp = c // 2
                h2, w2 = (h - 1) // 2 + 1, (w - 1) // 2 + 1
                total += h2 * w2 * c * cp * 9 + h2 * w2 * c * c * 9  # conv_a, conv_b
                total += (h // 2) * (w // 2) * c * cp  # 1x1 conv of the shortcut
                h, w = h2, w2
            total += N * k2 * h * w * c * c
        c = 4 * C
        total += c * num_classes + (num_classes if convention == "benchmark" else 0)
        return total


@lru_cache(maxsize=1)
def _representatives() -> dict[str, Arch]:
    space = NB201Space()
    reps: dict[str, Arch] = {}
    for a in space.all_archs():  # lexicographic order: the first seen is the smallest
        reps.setdefault(space.canonical_key(a), a)
    return reps
