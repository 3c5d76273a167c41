"""NASLib's published zero-cost scores of NAS-Bench-301 (DARTS-space) cells.

The file ``zc_nasbench301.json`` maps ``cifar10 -> arch_key -> {proxy: {"score", "time"},
"val_accuracy", "idx", "arch"}`` (a top-level ``"nasbench301"`` wrapper is accepted too). A key is
NASLib's *compact* representation of a genotype::

    "[[(input, op), ... 8 pairs of the normal cell], [... 8 pairs of the reduction cell]]"

with the pairs node-major (two per intermediate node, as in a DARTS ``Genotype``), ``input`` the
DARTS input index (0, 1 = the two cell inputs, 2.. = earlier nodes) and ``op`` an index into
NASLib's list :data:`NASLIB_NB301_OPS` (``max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3,
sep_conv_5x5, dil_conv_3x3, dil_conv_5x5``; NASLib's
``naslib/search_spaces/nasbench301/conversions.py``). That is the DARTS primitive list without
``none``, so NASLib's op ``j`` is :data:`~nasrank.spaces.darts.PRIMITIVES` index ``j + 1``;
:func:`naslib_to_darts` turns a key into the 32-int :class:`~nasrank.spaces.DARTSSpace`
encoding (``(op, input)`` pairs).

**Checked against the published parameter counts**: every one of the 725 cells' ``params``
equals :func:`naslib_nb301_params` exactly: nasrank's DARTS network with NAS-Bench-301's training
size (``C=32``, 8 cells, 10 classes, no auxiliary head), minus the affine BatchNorm parameters
*inside the cell operations* — NASLib's NB301 model builds its cell operations with non-affine
BatchNorm (as in the DARTS search model) while the stem and the cell preprocessing keep theirs.
Any other op order or network size misses (``tests/test_benchmarks_naslib_101_301.py``,
``validation/zero_cost_nb301.py``).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Sequence
from typing import Any

import torch

from ..exceptions import BenchmarkDataError
from ..spaces.darts import PRIMITIVES, STEPS, DARTSSpace
from .naslib_zc import NASLibZCTable

__all__ = ["NASLibNB301Benchmark", "NASLIB_NB301_OPS", "NB301_BUILD", "naslib_to_darts",
           "darts_to_naslib", "naslib_nb301_params"]

ZC_FILE_301 = "zc_nasbench301.json"

#: NASLib's op order of the compact NB301 encoding (op index -> DARTS primitive name).
#: NASLib's list is the DARTS code base's without ``none``, so NASLib's op j is our op j + 1.
NASLIB_NB301_OPS: tuple[str, ...] = PRIMITIVES[1:]
#: :meth:`DARTSSpace.build` options of the network NAS-Bench-301 trained (and NASLib scored).
NB301_BUILD: dict[str, Any] = {"C": 32, "layers": 8, "auxiliary": False}

_PAIRS = 2 * STEPS  # (input, op) pairs per cell


def _parse_compact(key: str | Sequence[Any]) -> list[list[tuple[int, int]]]:
    if isinstance(key, str):
        try:
            key = ast.literal_eval(key.strip())
        except (ValueError, SyntaxError):
            raise BenchmarkDataError(
                f"malformed NASLib NB301 key {key!r}; expected '[[(input, op), ... 8 pairs], [... 8 pairs]]'"
            ) from None
    try:
        cells = [[(p[0], p[1]) for p in cell] for cell in key]
    except (TypeError, IndexError):
        raise BenchmarkDataError(
            f"malformed NASLib NB301 key {key!r}; expected two cells of 8 (input, op) pairs"
        ) from None
    ok_int = all(isinstance(v, int) and not isinstance(v, bool) for cell in cells for p in cell for v in p)
    if len(cells) != 2 or any(len(c) != _PAIRS for c in cells) or not ok_int:
        raise BenchmarkDataError(
            f"a NASLib NB301 key is two cells of {_PAIRS} (input, op) int pairs, got {key!r}"
        )
    return cells


def naslib_to_darts(key: str | Sequence[Any]) -> tuple[int, ...]:
    """The :class:`~nasrank.spaces.DARTSSpace` encoding of a NASLib compact NB301 key.

    Args:
        key: The file's key string, or the nested ``((input, op), ...)`` sequences.

    Raises:
        BenchmarkDataError: if the key is not two cells of 8 ``(input, op)`` int pairs with
            op indices in 0..6 and valid DARTS inputs (distinct, ``0..k+1`` for node ``k``).

    Example:
        >>> a = naslib_to_darts("[[(0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 2), (0, 2), (2, 5)], "
        ...                     "[(0, 0), (1, 0), (2, 2), (1, 0), (0, 0), (2, 2), (2, 2), (1, 0)]]")
        >>> from nasrank.spaces.darts import DARTS_V2
        >>> DARTSSpace().to_str(a) == DARTS_V2
        True
    """
    cells = _parse_compact(key)
    arch: list[int] = []
    for cell in cells:
        for inp, op in cell:
            if not 0 <= op < len(NASLIB_NB301_OPS):
                raise BenchmarkDataError(
                    f"NASLib NB301 op index must be in 0..{len(NASLIB_NB301_OPS) - 1}, got {op} in {key!r}"
                )
            arch += [op + 1, inp]  # DARTS PRIMITIVES = ("none",) + NASLIB_NB301_OPS
    try:
        return DARTSSpace().validate(arch)
    except Exception as exc:  # InvalidArchitectureError: say which key
        raise BenchmarkDataError(f"NASLib NB301 key {key!r} is not a DARTS genotype: {exc}") from None


def darts_to_naslib(arch: Sequence[int] | str) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """Inverse of :func:`naslib_to_darts`: NASLib's compact tuple of a DARTS architecture.

    ``str()`` of the result is the file's key format.

    Example:
        >>> key = "[[(0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 2), (0, 2), (2, 5)], " \\
        ...       "[(0, 0), (1, 0), (2, 2), (1, 0), (0, 0), (2, 2), (2, 2), (1, 0)]]"
        >>> str([list(c) for c in darts_to_naslib(naslib_to_darts(key))]) == key
        True
    """
    space = DARTSSpace()
    a = space.from_str(arch) if isinstance(arch, str) else space.validate(arch)
    cells = []
    for c in range(2):
        part = a[c * 2 * _PAIRS : (c + 1) * 2 * _PAIRS]
        cells.append(tuple((part[i + 1], part[i] - 1) for i in range(0, 2 * _PAIRS, 2)))
    return cells[0], cells[1]


def naslib_nb301_params(arch: Sequence[int] | str, num_classes: int = 10) -> int:
    """Parameter count NASLib publishes for an NB301 cell (its ``params`` x 1e6).

    nasrank's DARTS network at :data:`NB301_BUILD` (C=32, 8 cells, no auxiliary head) minus the
    affine BatchNorm parameters inside the cells' operations (NASLib's NB301 cell operations use
    non-affine BatchNorm; the stem and the cell preprocessing are affine in both).

    Example:
        >>> from nasrank.spaces.darts import DARTS_V2
        >>> naslib_nb301_params(DARTS_V2) < DARTSSpace().num_params(DARTSSpace().from_str(DARTS_V2), **NB301_BUILD)
        True
    """
    space = DARTSSpace()
    a = space.from_str(arch) if isinstance(arch, str) else space.validate(arch)
    with torch.device("meta"):  # shapes only: no memory, no random init
        net = space.build(a, num_classes=num_classes, **NB301_BUILD)
    total = sum(p.numel() for p in net.parameters())
    for cell in net.cells:
        pre = {id(m) for part in (cell.preprocess0, cell.preprocess1) for m in part.modules()}
        for m in cell.modules():
            if isinstance(m, torch.nn.BatchNorm2d) and m.affine and id(m) not in pre:
                total -= m.weight.numel() + m.bias.numel()
    return int(total)


class NASLibNB301Benchmark(NASLibZCTable):
    """NASLib's published zero-cost scores and validation accuracies of 725 NB301 (DARTS) cells.

    One dataset, ``cifar10``; one final metric ``val_acc`` (NAS-Bench-301's ``val_accuracy`` /
    100). Architectures are :class:`~nasrank.spaces.DARTSSpace` 32-int encodings; a query finds a
    cell by its encoding or by the DARTS canonical key (the two operations of a node in either
    order). :meth:`scores` gives NASLib's per-cell proxy scores (``flops``, ``params``,
    ``synflow``, ``grasp``, ``fisher``, ``grad_norm``, ``l2_norm``, ``plain``, ``nwot``,
    ``epe_nas``, ``jacob_cov``, ``snip``). Registered as ``naslib-zc-nb301``.

    Args:
        root: ``zc_nasbench301.json``, its folder, or a data dir holding ``naslib_zc/``
            (default ``$NASRANK_DATA``).

    Example:
        >>> bench = NASLibNB301Benchmark("../shared/data")  # doctest: +SKIP
        >>> len(bench), bench.space.name  # doctest: +SKIP
        (725, 'darts')
    """

    name = "naslib-zc-nb301"
    datasets = ("cifar10",)
    zc_file = ZC_FILE_301
    wrapper = "nasbench301"
    label = "NB301"
    file_datasets = {"cifar10": "cifar10"}
    _match_isomorphic = True

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        super().__init__(root)

    @property
    def space(self) -> DARTSSpace:
        return self._space

    def _make_space(self) -> DARTSSpace:
        return DARTSSpace()

    def _parse_key(self, key: str) -> tuple[int, ...]:
        return naslib_to_darts(key)
