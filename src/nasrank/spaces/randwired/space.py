"""The RandWiredNN search space class; see :mod:`nasrank.spaces.randwired`."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ..._rng import as_generator
from ..._validate import check_int as _check_int
from ...exceptions import ConfigError
from .._registries import SPACES
from ..base import SearchSpace
from . import encoding as _enc
from .encoding import BA, ER, GRID, SETTINGS, WS, WS_P, Arch
from .graphs import Stream, barabasi_albert, erdos_renyi, to_dag, watts_strogatz
from .network import RandWiredNetwork

__all__ = ["RandWiredSpace", "cell_graphs"]

#: Cells (random stages) per network.
NUM_CELLS = 3

Cells = tuple[tuple[tuple[int, int], ...], ...]


@lru_cache(maxsize=8192)
def _cell_graphs(arch: Arch, nodes: int) -> Cells:
    f, i, j, _s = arch
    hp = _enc.hyperparameters(f, i, j)
    out = []
    for c in range(NUM_CELLS):
        stream = Stream(_enc.cell_entropy(arch, c))
        if f == ER:
            g = erdos_renyi(nodes, float(hp["P"]), stream)
        elif f == BA:
            g = barabasi_albert(nodes, int(hp["M"]), stream)
        else:
            g = watts_strogatz(nodes, int(hp["K"]), float(hp["P"]), stream)
        out.append(tuple(to_dag(nodes, g)))
    return tuple(out)


def cell_graphs(arch: Sequence[int], nodes: int = 32) -> Cells:
    """The three cell DAGs (edge tuples ``(u, v)``, ``u < v``) of a validated architecture.

    Example:
        >>> g = cell_graphs((2, 1, 0, 0), nodes=32)  # WS(K=4, P=0): the ring lattice, every cell
        >>> len(g), len(g[0]), g[0] == g[1] == g[2]
        (3, 64, True)
    """
    return _cell_graphs(tuple(int(v) for v in arch), int(nodes))


@SPACES.register("randwired")
class RandWiredSpace(SearchSpace):
    """RandWiredNN: 3 randomly wired cells from ER / BA / WS graph generators (Xie et al., 2019).

    An architecture is ``(family, hp1, hp2, seed)``: the generator family (0 ER, 1 BA, 2 WS), the
    grid indices of its hyperparameters (ER P, BA M, WS K and P; the unused ``hp2`` of ER and BA
    is 0) and a graph seed; 36 settings (see :mod:`~nasrank.spaces.randwired.encoding`) times
    ``graph_seeds`` seeds. String form ``"WS:K=4,P=0.75:seed=3"``. The seed fixes the three cell
    graphs (one independent draw per cell) on every machine and library version.

    :meth:`canonical_key` is the wiring itself (the sorted edge lists of the three cell DAGs),
    so architectures that wire identically are one: WS with P=0 is the ring lattice whatever the
    seed (its :meth:`canonical` form has seed 0). Distinct random draws are taken to be distinct
    graphs (a coincidence is astronomically unlikely at 32 nodes and is not searched for).

    Args:
        nodes: Nodes per cell graph (the paper's N; 32 in seed 000 and Xie et al.'s small
            regime). At least 10 (BA M=8 and WS K=8 need more nodes than that).
        graph_seeds: Graph seeds per hyperparameter setting.

    Example:
        >>> import nasrank
        >>> space = nasrank.create_space("randwired")
        >>> a = space.from_str("WS:K=4,P=0.75:seed=3")
        >>> a, space.size
        ((2, 1, 3, 3), 3600)
        >>> space.num_params(a, num_classes=1000)  # small regime (C=78, 1280-d head); paper: 5.6M
        5576117
    """

    name = "randwired"
    tiny_build_config = {"C": 4, "head_channels": 8, "stem_stride": 1}
    build_configs = {"search": {"C": 8, "head_channels": 64, "stem_stride": 1},
                     "standard": {"C": 78, "head_channels": 1280, "stem_stride": 2}}
    tiny_input_shape = (3, 8, 8)
    width_option = "C"
    depth_option = None  # the depth is the graph's node count: a space parameter
    flops_convention = ("multiply-accumulates per image of every convolution and the linear layer "
                        "(BatchNorm, ReLU, the weighted input sums, output averages and pooling not counted)")

    def __init__(self, nodes: int = 32, graph_seeds: int = 100) -> None:
        self.nodes = _check_int("nodes", nodes, 10)
        self.graph_seeds = _check_int("graph_seeds", graph_seeds, 1)

    # --- encoding -------------------------------------------------------------------------------
    def validate(self, arch: Any) -> Arch:
        """``arch`` as ``(family, hp1, hp2, seed)`` (``InvalidArchitectureError`` otherwise).

        Example:
            >>> RandWiredSpace().validate([0, 1, 0, 5])
            (0, 1, 0, 5)
        """
        return _enc.validate(arch, self.graph_seeds)

    def to_str(self, arch: Sequence[int]) -> str:
        """``FAMILY:HP=value[,HP=value]:seed=S``.

        Example:
            >>> RandWiredSpace().to_str((1, 4, 0, 2))
            'BA:M=5:seed=2'
        """
        return _enc.to_str(self.validate(arch))

    def from_str(self, text: str) -> Arch:
        """Parse ``FAMILY:HP=value[,HP=value]:seed=S`` (case-insensitive; values on the grid).

        Example:
            >>> RandWiredSpace().from_str("er:p=0.2:seed=7")
            (0, 1, 0, 7)
        """
        return self.validate(_enc.from_str(text, self.graph_seeds))

    def setting(self, arch: Sequence[int]) -> tuple[int, int, int]:
        """The hyperparameter setting ``(family, hp1, hp2)`` of ``arch`` (its generator).

        Example:
            >>> RandWiredSpace().setting((2, 1, 3, 9))
            (2, 1, 3)
        """
        return self.validate(arch)[:3]

    def setting_str(self, arch: Sequence[int]) -> str:
        """The generator part of the string form, e.g. ``"WS:K=4,P=0.75"``.

        Example:
            >>> RandWiredSpace().setting_str((2, 1, 3, 9))
            'WS:K=4,P=0.75'
        """
        return _enc.setting_str(*self.setting(arch))

    def encode(self, arch: Sequence[int]) -> np.ndarray:
        """Family one-hot (3), hyperparameter values (ER P, BA M/8, WS K/8, WS P; 0 when not the
        family's), setting one-hot (36), seed / graph_seeds: 44 floats.

        Example:
            >>> RandWiredSpace().encode((2, 1, 3, 0))[:7].tolist()
            [0.0, 0.0, 1.0, 0.0, 0.0, 0.5, 0.75]
        """
        f, i, j, s = self.validate(arch)
        out = np.zeros(3 + 4 + len(SETTINGS) + 1, dtype=np.float32)
        out[f] = 1.0
        hp = _enc.hyperparameters(f, i, j)
        if f == ER:
            out[3] = hp["P"]
        elif f == BA:
            out[4] = hp["M"] / 8
        else:
            out[5], out[6] = hp["K"] / 8, hp["P"]
        out[7 + SETTINGS.index((f, i, j))] = 1.0
        out[-1] = s / self.graph_seeds
        return out

    # --- sampling -------------------------------------------------------------------------------
    def choices(self) -> tuple[tuple[int, ...], ...]:
        """Family (3), hp1 (8: the largest grid), hp2 (5: WS's P grid), seed (``graph_seeds``);
        :meth:`project` maps draws outside a family's grid onto it.

        Example:
            >>> [len(c) for c in RandWiredSpace().choices()]
            [3, 8, 5, 100]
        """
        return ((ER, BA, WS), tuple(range(max(g[0] for g in GRID.values()))),
                tuple(range(len(WS_P))), tuple(range(self.graph_seeds)))

    def project(self, arch: Sequence[int], rng: int | np.random.Generator | None = None) -> Arch:
        """Map a draw from :meth:`choices` onto the space: ``hp2`` is set to 0 for ER and BA, and
        an ``hp1`` beyond WS's 4 K values wraps around (``hp1 mod 4``, so uniform draws stay
        uniform); deterministic, ``rng`` is not used.

        Example:
            >>> RandWiredSpace().project((2, 6, 3, 1)), RandWiredSpace().project((0, 6, 3, 1))
            ((2, 2, 3, 1), (0, 6, 0, 1))
        """
        vals = tuple(arch)
        if len(vals) == 4 and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
            f, i, j, s = (int(v) for v in vals)
            if 0 <= f < 3 and i >= 0 and j >= 0:
                n1, n2 = GRID[f]
                vals = (f, i % n1, j if n2 > 1 and j < n2 else 0, s)
        return self.validate(vals)

    def sample(self, rng: int | np.random.Generator | None = None) -> Arch:
        """A uniform draw: a uniform hyperparameter setting and a uniform graph seed.

        Example:
            >>> RandWiredSpace().sample(0) == RandWiredSpace().sample(0)
            True
        """
        gen = as_generator(rng)
        f, i, j = SETTINGS[int(gen.integers(len(SETTINGS)))]
        return (f, i, j, int(gen.integers(self.graph_seeds)))

    def neighbours(self, arch: Sequence[int]) -> list[Arch]:
        """One hyperparameter one grid step up or down; the next or previous graph seed
        (cyclically); or another family with the same ``hp1`` grid index (ER and BA take
        ``hp2 = 0``; moving to WS gives one neighbour per P value, and every WS setting has its
        ER / BA counterpart, so the relation is symmetric).

        Example:
            >>> RandWiredSpace().neighbours((0, 0, 0, 0))[:4]
            [(0, 1, 0, 0), (0, 0, 0, 1), (0, 0, 0, 99), (1, 0, 0, 0)]
        """
        f, i, j, s = a = self.validate(arch)
        n1, n2 = GRID[f]
        out: list[Arch] = []
        for di in (-1, 1):
            if 0 <= i + di < n1:
                out.append((f, i + di, j, s))
        for dj in (-1, 1):
            if 0 <= j + dj < n2:
                out.append((f, i, j + dj, s))
        for ds in (1, -1):
            out.append((f, i, j, (s + ds) % self.graph_seeds))
        for g in (ER, BA, WS):
            if g == f or i >= GRID[g][0]:
                continue
            for jj in range(GRID[g][1]):
                out.append((g, i, jj, s))
        return [b for b in dict.fromkeys(out) if b != a]

    def all_archs(self) -> Iterator[Arch]:
        """Every architecture, setting by setting (family-major), seeds innermost.

        Example:
            >>> next(iter(RandWiredSpace().all_archs()))
            (0, 0, 0, 0)
        """
        return ((f, i, j, s) for (f, i, j), s in itertools.product(SETTINGS, range(self.graph_seeds)))

    @property
    def size(self) -> int:
        """36 settings x ``graph_seeds`` (encodings; WS with P=0 has one wiring per K, so the
        wirings number ``32 x graph_seeds + 4``).

        Example:
            >>> RandWiredSpace(graph_seeds=8).size
            288
        """
        return len(SETTINGS) * self.graph_seeds

    # --- structure ------------------------------------------------------------------------------
    def cell_graphs(self, arch: Sequence[int]) -> Cells:
        """The three cell DAGs of ``arch`` (sorted ``(u, v)`` edge tuples, ``u < v``).

        Example:
            >>> s = RandWiredSpace()
            >>> [len(g) for g in s.cell_graphs(s.from_str("WS:K=4,P=0.75:seed=3"))]
            [64, 64, 64]
        """
        return cell_graphs(self.validate(arch), self.nodes)

    def _deterministic(self, arch: Arch) -> bool:
        return arch[0] == WS and WS_P[arch[2]] == 0.0

    def canonical_key(self, arch: Sequence[int]) -> Cells:
        """The wiring: the three cells' sorted DAG edge lists.

        Example:
            >>> s = RandWiredSpace()
            >>> s.canonical_key((2, 0, 0, 4)) == s.canonical_key((2, 0, 0, 5))  # WS P=0: no randomness
            True
        """
        return self.cell_graphs(arch)

    def canonical(self, arch: Sequence[int]) -> Arch:
        """``arch`` itself, except that WS settings with P=0 (the same ring lattice for every
        seed) take seed 0.

        Example:
            >>> RandWiredSpace().canonical((2, 3, 0, 17))
            (2, 3, 0, 0)
        """
        a = self.validate(arch)
        return a[:3] + (0,) if self._deterministic(a) else a

    # --- models ---------------------------------------------------------------------------------
    def _config(self, num_classes: int, C: int, head_channels: int, stem_stride: int, in_channels: int,
                config: dict[str, Any]) -> tuple[int, int, int, int, int]:
        if config:
            raise ConfigError(
                f"unknown randwired build option(s) {sorted(config)}; "
                "valid: num_classes, C, head_channels, stem_stride, in_channels"
            )
        return (_check_int("num_classes", num_classes, 1), _check_int("C", C, 1),
                _check_int("head_channels", head_channels, 1), _check_int("stem_stride", stem_stride, 1),
                _check_int("in_channels", in_channels, 1))

    def _arch(self, arch: Sequence[int] | str) -> Arch:
        return self.from_str(arch) if isinstance(arch, str) else self.validate(arch)

    def build(
        self, arch: Sequence[int] | str, num_classes: int = 10, C: int = 78, head_channels: int = 1280,
        stem_stride: int = 2, in_channels: int = 3, **config: Any,
    ) -> RandWiredNetwork:
        """The RandWiredNN network of ``arch`` (defaults: Xie et al.'s small regime for 224x224).

        Args:
            arch: 4-int encoding or string form.
            num_classes: Classifier outputs.
            C: Channels of the first random stage (``2C``, ``4C`` in the next two; paper: 78).
            head_channels: Channels of the 1x1 convolution before pooling (paper: 1280).
            stem_stride: Stride of each of the two stem convolutions (2 for 224x224 inputs,
                1 for CIFAR-size inputs).
            in_channels: Image channels.

        Example:
            >>> import torch
            >>> s = RandWiredSpace()
            >>> net = s.build("ER:P=0.2:seed=0", **s.default_config("tiny"))
            >>> net(torch.randn(2, 3, 8, 8)).shape
            torch.Size([2, 10])
        """
        a = self._arch(arch)
        num_classes, C, head_channels, stem_stride, in_channels = self._config(
            num_classes, C, head_channels, stem_stride, in_channels, config)
        net = RandWiredNetwork(self.nodes, self.cell_graphs(a), C=C, num_classes=num_classes,
                               head_channels=head_channels, stem_stride=stem_stride, in_channels=in_channels)
        net.arch = a
        return net

    def _profile(self, a: Arch, num_classes: int, C: int, head_channels: int, stem_stride: int,
                 in_channels: int, size: tuple[int, int]) -> tuple[int, int]:
        """(parameters, multiply-accumulates) of the network in closed form."""

        def out(h: int, s: int) -> int:
            return (h - 1) // s + 1

        h, w = size
        half = max(1, C // 2)
        params = macs = 0
        h, w = out(h, stem_stride), out(w, stem_stride)
        params += 9 * in_channels * half + 2 * half
        macs += 9 * in_channels * half * h * w
        h, w = out(h, stem_stride), out(w, stem_stride)
        params += 9 * half * C + 2 * C
        macs += 9 * half * C * h * w
        widths = (C, C, 2 * C, 4 * C)
        for k, edges in enumerate(self.cell_graphs(a)):
            c_in, c_out = widths[k], widths[k + 1]
            indeg = [0] * self.nodes
            for _u, v in edges:
                indeg[v] += 1
            h, w = out(h, 2), out(w, 2)
            for d in indeg:
                ci = c_in if d == 0 else c_out
                params += 9 * ci + ci * c_out + 2 * c_out + (d if d > 1 else 0)
                macs += (9 * ci + ci * c_out) * h * w
        params += widths[-1] * head_channels + 2 * head_channels + head_channels * num_classes + num_classes
        macs += widths[-1] * head_channels * h * w + head_channels * num_classes
        return params, macs

    def num_params(
        self, arch: Sequence[int] | str, num_classes: int = 10, C: int = 78, head_channels: int = 1280,
        stem_stride: int = 2, in_channels: int = 3, **config: Any,
    ) -> int:
        """Parameters of :meth:`build` in closed form (no model is built).

        Example:
            >>> RandWiredSpace().num_params("WS:K=4,P=0.75:seed=3", C=8, head_channels=64, stem_stride=1)
            60408
        """
        a = self._arch(arch)
        args = self._config(num_classes, C, head_channels, stem_stride, in_channels, config)
        return self._profile(a, *args, size=(224, 224))[0]

    def flops(
        self, arch: Sequence[int] | str, input_size: tuple[int, int, int] = (3, 224, 224), num_classes: int = 10,
        C: int = 78, head_channels: int = 1280, stem_stride: int = 2,
    ) -> int:
        """Multiply-accumulates of one forward pass for one image (see :attr:`flops_convention`).

        Example:
            >>> RandWiredSpace().flops("WS:K=4,P=0.75:seed=3", num_classes=1000) / 1e6  # paper: 583M
            571.21664
        """
        a = self._arch(arch)
        num_classes, C, head_channels, stem_stride, in_channels = self._config(
            num_classes, C, head_channels, stem_stride, input_size[0], {})
        return self._profile(a, num_classes, C, head_channels, stem_stride, in_channels,
                             (int(input_size[1]), int(input_size[2])))[1]

    def __repr__(self) -> str:
        return f"RandWiredSpace(nodes={self.nodes}, graph_seeds={self.graph_seeds})"

