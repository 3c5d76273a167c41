"""The NAS-Bench-101 search space class; see :mod:`nasrank.spaces.nb101`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..._rng import as_generator
from ..._validate import check_int as _check_int
from ...exceptions import ConfigError
from .._registries import SPACES
from ..base import SearchSpace
from . import encoding as _enc
from . import profile as _profile
from .encoding import ARCH_LEN, NUM_BITS, OPS, TRIU, Arch
from .network import NB101Network

__all__ = ["NB101Space"]

#: Number of unique valid cells (official graph-hash classes = labelled isomorphism classes).
NUM_UNIQUE_CELLS = 423_624


@SPACES.register("nb101")
class NB101Space(SearchSpace):
    """NAS-Bench-101: DAG cells of <= 7 vertices and <= 9 edges, 3 operations, 423,624 cells.

    Interior vertices apply ``conv3x3-bn-relu``, ``conv1x1-bn-relu`` or ``maxpool3x3``.

    An architecture is 26 ints: the 21 upper-triangle bits of the 7x7 adjacency matrix
    (row-major) and the op indices of vertices 1..5 (see :mod:`nasrank.spaces.nb101.encoding`).
    Vertices on no input->output path are pruned, so many encodings give the same cell:
    :meth:`canonical_key` is the official graph hash and :meth:`canonical` a fixed representative.
    Only valid cells (input reaches output, at most 9 edges after pruning) belong to the space:
    :meth:`validate` rejects the others, :meth:`is_valid` tells them apart.

    Example:
        >>> import nasrank
        >>> space = nasrank.create_space("nb101")
        >>> arch = space.from_spec([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
        ...                        ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
        >>> space.to_spec(arch)[1]
        ['input', 'conv3x3-bn-relu', 'maxpool3x3', 'conv3x3-bn-relu', 'conv3x3-bn-relu', 'conv3x3-bn-relu', 'output']
        >>> space.num_params(arch)  # the benchmark network: C=128, 3 stacks of 3 cells
        3207690
    """

    name = "nb101"
    tiny_build_config = {"C": 6, "stacks": 2, "cells_per_stack": 1}
    build_configs = {"search": {"C": 16, "stacks": 3, "cells_per_stack": 1},
                     "standard": {"C": 128, "stacks": 3, "cells_per_stack": 3}}
    tiny_input_shape = (3, 8, 8)
    width_option = "C"
    depth_option = "cells_per_stack"
    ops = OPS

    # --- encoding ---------------------------------------------------------------------------
    def validate(self, arch: Any) -> Arch:
        """``arch`` as a 26-int tuple of a valid cell (``InvalidArchitectureError`` otherwise).

        Example:
            >>> NB101Space().validate([0] * 5 + [1] + [0] * 20)[:6]
            (0, 0, 0, 0, 0, 1)
        """
        return _enc.validate(arch)

    def to_str(self, arch: Sequence[int]) -> str:
        """The spec string ``[[row],...]|input,op,...,output`` of the unpruned 7-vertex cell.

        Example:
            >>> NB101Space().to_str((0,) * 5 + (1,) + (0,) * 20).split("|")[1]
            'input,conv3x3-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,conv3x3-bn-relu,output'
        """
        return _enc.to_str(self.validate(arch))

    def from_str(self, text: str) -> Arch:
        """Parse a spec string (matrices of fewer than 7 vertices are embedded).

        Example:
            >>> NB101Space().from_str("[[0,1,0],[0,0,1],[0,0,0]]|input,maxpool3x3,output")[-5:]
            (2, 0, 0, 0, 0)
        """
        return _enc.from_str(text)

    def from_spec(self, matrix: Any, ops: Sequence[str]) -> Arch:
        """The architecture of a ``(matrix, ops)`` spec (NAS-Bench-101's ``ModelSpec`` inputs;
        fewer than 7 vertices are embedded, see :mod:`~nasrank.spaces.nb101.encoding`).

        Example:
            >>> NB101Space().from_spec([[0, 1], [0, 0]], ["input", "output"])[5]
            1
        """
        return _enc.validate(_enc.spec_to_arch(matrix, ops))

    def to_spec(self, arch: Sequence[int]) -> tuple[np.ndarray, list[str]]:
        """The unpruned 7-vertex ``(matrix, ops)`` of ``arch`` (prune it with
        :func:`~nasrank.spaces.nb101.prune`).

        Example:
            >>> m, ops = NB101Space().to_spec((0,) * 5 + (1,) + (0,) * 20)
            >>> m.shape, int(m[0, 6]), ops[0]
            ((7, 7), 1, 'input')
        """
        return _enc.arch_to_spec(self.validate(arch))

    def from_naslib(self, key: Sequence[int] | str) -> Arch:
        """The architecture of a NASLib tuple key (e.g. of ``zc_nasbench101.json``).

        Example:
            >>> s = NB101Space()
            >>> a = s.sample(0)
            >>> s.from_naslib(str(s.to_naslib(a))) == a
            True
        """
        return _enc.from_naslib_key(key)

    def to_naslib(self, arch: Sequence[int]) -> tuple[int, ...]:
        """NASLib's tuple key (49 matrix entries, 7 op ids) of ``arch``.

        Example:
            >>> len(NB101Space().to_naslib(NB101Space().sample(0)))
            56
        """
        return _enc.to_naslib_key(self.validate(arch))

    def encode(self, arch: Sequence[int]) -> np.ndarray:
        """21 adjacency bits then one-hot ops of vertices 1..5 (5 x 3): 36 floats.

        Example:
            >>> NB101Space().encode(NB101Space().sample(0)).shape
            (36,)
        """
        a = self.validate(arch)
        out = np.zeros(NUM_BITS + len(OPS) * (ARCH_LEN - NUM_BITS), dtype=np.float32)
        out[:NUM_BITS] = a[:NUM_BITS]
        for v, op in enumerate(a[NUM_BITS:]):
            out[NUM_BITS + len(OPS) * v + op] = 1.0
        return out

    # --- sampling ---------------------------------------------------------------------------
    def choices(self) -> tuple[tuple[int, ...], ...]:
        """21 edge bits (0, 1) then 5 op indices (0, 1, 2); invalid draws are repaired by
        :meth:`project`.

        Example:
            >>> c = NB101Space().choices()
            >>> len(c), c[0], c[-1]
            (26, (0, 1), (0, 1, 2))
        """
        return ((0, 1),) * NUM_BITS + (tuple(range(len(OPS))),) * (ARCH_LEN - NUM_BITS)

    def sample(self, rng: int | np.random.Generator | None = None) -> Arch:
        """A uniform draw over valid encodings: random bits and ops, rejected until valid
        (the benchmark's ``random_spec``). Cells with many encodings are drawn more often.

        Example:
            >>> NB101Space().is_valid(NB101Space().sample(3))
            True
        """
        gen = as_generator(rng)
        while True:
            bits = gen.integers(0, 2, size=NUM_BITS)
            ops = gen.integers(0, len(OPS), size=ARCH_LEN - NUM_BITS)
            a = tuple(int(v) for v in bits) + tuple(int(v) for v in ops)
            if _enc.is_valid(a):
                return a

    def neighbours(self, arch: Sequence[int]) -> list[Arch]:
        """Every valid encoding one edge flip or one op change away (at most 21 + 10).

        Example:
            >>> s = NB101Space()
            >>> a = (0,) * 5 + (1,) + (0,) * 20
            >>> len(s.neighbours(a))  # 20 edge additions (one to 6 vertices) + 10 op changes
            30
        """
        a = self.validate(arch)
        out: list[Arch] = []
        for k in range(NUM_BITS):
            b = a[:k] + (1 - a[k],) + a[k + 1 :]
            if _enc.is_valid(b):
                out.append(b)
        for k in range(NUM_BITS, ARCH_LEN):
            for op in range(len(OPS)):
                if op != a[k]:
                    out.append(a[:k] + (op,) + a[k + 1 :])
        return out

    def mutate(self, arch: Sequence[int], rng: int | np.random.Generator | None = None) -> Arch:
        """A uniformly chosen neighbour: uniform draws among the 31 moves (edge flips, op changes)
        until one gives a valid cell.

        Example:
            >>> s = NB101Space()
            >>> a = s.sample(0)
            >>> s.mutate(a, 1) in s.neighbours(a)
            True
        """
        a = self.validate(arch)
        gen = as_generator(rng)
        n_ops = ARCH_LEN - NUM_BITS
        while True:
            move = int(gen.integers(NUM_BITS + 2 * n_ops))
            if move < NUM_BITS:
                b = a[:move] + (1 - a[move],) + a[move + 1 :]
                if not _enc.is_valid(b):
                    continue
                return b
            k, alt = NUM_BITS + (move - NUM_BITS) // 2, (move - NUM_BITS) % 2
            op = alt + (alt >= a[k])
            return a[:k] + (op,) + a[k + 1 :]

    def project(self, arch: Sequence[int], rng: int | np.random.Generator | None = None) -> Arch:
        """Repair a draw from :meth:`choices` into a valid cell (a valid draw is kept): when the
        input does not reach the output an edge is added from a vertex the input reaches to a
        vertex that reaches the output; then, while the pruned cell has more than 9 edges, edges
        off one (seeded, random) input->output path are removed at random.

        Example:
            >>> s = NB101Space()
            >>> s.is_valid(s.project((0,) * 26, 0)) and s.is_valid(s.project((1,) * 21 + (0,) * 5, 0))
            True
        """
        a = _enc.validate_form(arch)
        if _enc.is_valid(a):
            return a
        gen = as_generator(rng)
        bits = list(a[:NUM_BITS])
        index = {p: k for k, p in enumerate(TRIU)}

        def matrix() -> np.ndarray:
            return _enc.arch_to_spec(tuple(bits) + a[NUM_BITS:])[0]

        m = matrix()
        fwd, bwd = _enc.reach(m)
        if not fwd[-1]:
            pairs = [(i, j) for i in np.flatnonzero(fwd) for j in np.flatnonzero(bwd) if i < j]
            i, j = pairs[int(gen.integers(len(pairs)))]
            bits[index[(int(i), int(j))]] = 1
            m = matrix()
        fwd, bwd = _enc.reach(m)
        live = fwd & bwd
        path, v = set(), 0
        while v != len(live) - 1:  # a random input->output path through live vertices
            succ = [w for w in range(v + 1, len(live)) if m[v, w] and live[w]]
            w = int(succ[int(gen.integers(len(succ)))])
            path.add((v, w))
            v = w
        while True:
            fwd, bwd = _enc.reach(m)
            live = fwd & bwd
            edges = [(i, j) for (i, j) in TRIU if m[i, j] and live[i] and live[j]]
            if len(edges) <= _enc.MAX_EDGES:
                break
            extra = [e for e in edges if e not in path]
            i, j = extra[int(gen.integers(len(extra)))]
            bits[index[(i, j)]] = 0
            m = matrix()
        return self.validate(tuple(bits) + a[NUM_BITS:])

    @property
    def size(self) -> int:
        """423,624: the number of unique valid cells (official graph-hash classes, equal to the
        labelled isomorphism classes), not the number of encodings.

        Example:
            >>> NB101Space().size
            423624
        """
        return NUM_UNIQUE_CELLS

    def all_archs(self) -> Iterator[Arch]:
        """The :meth:`canonical` representative of every unique cell (423,624; enumerating them
        all takes several minutes).

        Example:
            >>> next(iter(NB101Space().all_archs()))[:6]  # input -> output only
            (0, 0, 0, 0, 0, 1)
        """
        from .enumeration import enumerate_cells

        return (_enc.canonical(a) for a, _h in enumerate_cells())

    # --- structure --------------------------------------------------------------------------
    def is_valid(self, arch: Sequence[int]) -> bool:
        """Whether the input reaches the output with at most 9 edges after pruning
        (``InvalidArchitectureError`` only for a malformed encoding).

        Example:
            >>> NB101Space().is_valid((0,) * 26)
            False
        """
        return _enc.is_valid(arch)

    def canonical_key(self, arch: Sequence[int]) -> str:
        """The official NAS-Bench-101 graph hash of the pruned cell.

        Example:
            >>> s = NB101Space()
            >>> a = s.from_spec([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
            ...                 ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
            >>> b = s.from_spec([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
            ...                 ["input", "maxpool3x3", "conv3x3-bn-relu", "output"])
            >>> s.canonical_key(a) == s.canonical_key(b)
            True
        """
        return _enc.canonical_key(arch)

    def canonical(self, arch: Sequence[int]) -> Arch:
        """A fixed representative of the cell's isomorphism class; see
        :func:`nasrank.spaces.nb101.encoding.canonical`.

        Example:
            >>> s = NB101Space()
            >>> a = s.sample(0)
            >>> s.canonical(s.canonical(a)) == s.canonical(a)
            True
        """
        return _enc.canonical(self.validate(arch))

    # --- models -----------------------------------------------------------------------------
    def _config(self, num_classes: int, C: int, stacks: int, cells_per_stack: int, in_channels: int,
                config: dict[str, Any]) -> tuple[int, int, int, int, int]:
        if config:
            raise ConfigError(
                f"unknown NB101 build option(s) {sorted(config)}; "
                "valid: num_classes, C, stacks, cells_per_stack, in_channels"
            )
        return (_check_int("num_classes", num_classes, 1), _check_int("C", C, 5),
                _check_int("stacks", stacks, 1), _check_int("cells_per_stack", cells_per_stack, 1),
                _check_int("in_channels", in_channels, 1))

    def build(
        self, arch: Sequence[int] | str, num_classes: int = 10, C: int = 128, stacks: int = 3,
        cells_per_stack: int = 3, in_channels: int = 3, **config: Any,
    ) -> NB101Network:
        """The NAS-Bench-101 network of ``arch``.

        Args:
            arch: 26-int encoding or spec string.
            num_classes: Classifier outputs.
            C: Stem channels (benchmark: 128; at least 5 so that the output can be split over
                up to 5 vertices).
            stacks: Stacks of cells, separated by 2x2 max-pool downsampling (benchmark: 3).
            cells_per_stack: Cells per stack (benchmark: 3).
            in_channels: Image channels.

        Example:
            >>> import torch
            >>> s = NB101Space()
            >>> net = s.build(s.sample(0), C=6, stacks=2, cells_per_stack=1)
            >>> net(torch.randn(2, 3, 8, 8)).shape
            torch.Size([2, 10])
        """
        a = self.from_str(arch) if isinstance(arch, str) else self.validate(arch)
        num_classes, C, stacks, cells_per_stack, in_channels = self._config(
            num_classes, C, stacks, cells_per_stack, in_channels, config)
        m, ops = _enc.arch_to_spec(a)
        net = NB101Network(m, ops, num_classes=num_classes, C=C, stacks=stacks,
                           cells_per_stack=cells_per_stack, in_channels=in_channels)
        net.arch = a
        return net

    def num_params(
        self, arch: Sequence[int] | str, num_classes: int = 10, C: int = 128, stacks: int = 3,
        cells_per_stack: int = 3, in_channels: int = 3, **config: Any,
    ) -> int:
        """Parameters of :meth:`build` in closed form (no model is built); at the defaults the
        benchmark's ``trainable_parameters``.

        Example:
            >>> NB101Space().num_params((0,) * 5 + (1,) + (0,) * 20)
            882570
        """
        a = self.from_str(arch) if isinstance(arch, str) else self.validate(arch)
        args = self._config(num_classes, C, stacks, cells_per_stack, in_channels, config)
        return _profile.num_params(a, num_classes=args[0], C=args[1], stacks=args[2],
                                   cells_per_stack=args[3], in_channels=args[4])

    def flops(
        self, arch: Sequence[int] | str, input_size: tuple[int, int, int] = (3, 32, 32),
        num_classes: int = 10, C: int = 128, stacks: int = 3, cells_per_stack: int = 3,
    ) -> int:
        """Multiply-accumulates of one forward pass for one image (convolutions and classifier);
        see :func:`nasrank.spaces.nb101.profile.flops`.

        Example:
            >>> NB101Space().flops((0,) * 5 + (1,) + (0,) * 20) / 1e6
            137.761792
        """
        a = self.from_str(arch) if isinstance(arch, str) else self.validate(arch)
        return _profile.flops(a, input_size=input_size, num_classes=num_classes, C=C, stacks=stacks,
                              cells_per_stack=cells_per_stack)
