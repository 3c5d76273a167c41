"""NASLib's published zero-cost scores of NAS-Bench-101 cells.

The file ``zc_nasbench101.json`` maps ``nasbench101 -> cifar10 -> arch_key -> {proxy: score,
"val_accuracy"}`` — unlike the NB201 and NB301 files, each proxy entry is a bare number (NASLib
recorded no times). A key is NASLib's tuple of a NAS-Bench-101 spec::

    "(m[0][0], m[0][1], ..., m[6][6], op_0, ..., op_6)"

the ``n x n`` adjacency matrix flattened row-major (49 entries for the 7-vertex cells of the file)
followed by ``n`` vertex op ids from NASLib's list :data:`NASLIB_NB101_OPS`
(``0 input, 1 output, 2 maxpool3x3, 3 conv1x1-bn-relu, 4 conv3x3-bn-relu``; NASLib's
``naslib/search_spaces/nasbench101/conversions.py``). :func:`naslib_nb101_spec` parses a key into
the ``(matrix, ops)`` spec; :func:`naslib_to_nb101` turns it into an architecture of the ``nb101``
space (via ``NB101Space().from_spec``).

**Checked against the published parameter counts**: with this op order the ``params`` of the
file's cells equal ``NB101Space().num_params(arch)`` (the published network: C=128, 3 stacks of
3 cells, 10 classes) exactly; swapping conv1x1 and conv3x3 misses almost every cell
(``tests/test_benchmarks_naslib_101_301.py``, ``validation/zero_cost_nb101.py``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import BenchmarkDataError, InvalidArchitectureError
from ..spaces.nb101 import NASLIB_OPS, NB101Space
from .naslib_zc import NASLibZCTable

__all__ = ["NASLibNB101Benchmark", "NASLIB_NB101_OPS", "naslib_nb101_spec", "naslib_to_nb101",
           "nb101_to_naslib"]

ZC_FILE_101 = "zc_nasbench101.json"

#: NASLib's vertex op ids in the NB101 tuple keys (id -> NAS-Bench-101 label).
NASLIB_NB101_OPS: tuple[str, ...] = NASLIB_OPS  # input, output, maxpool3x3, conv1x1, conv3x3


def naslib_nb101_spec(key: str | Sequence[int]) -> tuple[np.ndarray, list[str]]:
    """The NAS-Bench-101 spec ``(matrix, ops)`` of a NASLib NB101 key (string or int tuple).

    The key holds ``n * n + n`` ints for a cell of ``n`` vertices (2 <= n <= 7): the matrix
    row-major, then the op ids. Only the form is checked here (0/1 entries, op ids 0..4, input
    first and output last); graph validity is the space's business.

    Raises:
        BenchmarkDataError: naming the problem, for a malformed key.

    Example:
        >>> m, ops = naslib_nb101_spec("(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 4, 1)")
        >>> m.tolist(), ops
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ['input', 'conv3x3-bn-relu', 'output'])
    """
    if isinstance(key, str):
        body = key.strip()
        if not (body[:1] in "([" and body[-1:] in ")]"):
            raise BenchmarkDataError(f"malformed NASLib NB101 key {key!r}; expected '(0, 1, ..., 4, 1)'")
        try:
            vals = [int(v) for v in body[1:-1].split(",") if v.strip()]
        except ValueError:
            raise BenchmarkDataError(f"malformed NASLib NB101 key {key!r}: not all entries are ints") from None
    else:
        if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in key):
            raise BenchmarkDataError(f"a NASLib NB101 key is a tuple of ints, got {key!r}")
        vals = [int(v) for v in key]
    n = next((k for k in range(2, 8) if k * k + k == len(vals)), None)
    if n is None:
        raise BenchmarkDataError(
            f"a NASLib NB101 key holds n*n matrix entries then n op ids (2 <= n <= 7, e.g. 56 "
            f"values for 7 vertices), got {len(vals)} values"
        )
    matrix = np.array(vals[: n * n], dtype=np.int64).reshape(n, n)
    if not np.isin(matrix, (0, 1)).all():
        raise BenchmarkDataError(f"NASLib NB101 key {key!r}: matrix entries must be 0 or 1")
    ids = vals[n * n :]
    if not all(0 <= v < len(NASLIB_NB101_OPS) for v in ids):
        raise BenchmarkDataError(
            f"NASLib NB101 key {key!r}: op ids must be in 0..{len(NASLIB_NB101_OPS) - 1} "
            f"({', '.join(f'{i} {o}' for i, o in enumerate(NASLIB_NB101_OPS))})"
        )
    ops = [NASLIB_NB101_OPS[v] for v in ids]
    if ops[0] != "input" or ops[-1] != "output" or "input" in ops[1:] or "output" in ops[:-1]:
        raise BenchmarkDataError(
            f"NASLib NB101 key {key!r}: the first op id must be 0 (input), the last 1 (output), "
            "and only those"
        )
    return matrix, ops


def naslib_to_nb101(key: str | Sequence[int]) -> tuple[int, ...]:
    """The ``nb101`` architecture of a NASLib NB101 key (see :func:`naslib_nb101_spec`).

    Raises:
        BenchmarkDataError: for a malformed key or a spec the space rejects.

    Example:
        >>> a = naslib_to_nb101("(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 4, 1)")
        >>> NB101Space().to_spec(a)[1][:2]
        ['input', 'conv3x3-bn-relu']
    """
    naslib_nb101_spec(key)  # the form, with this module's error messages
    try:
        return NB101Space().from_naslib(key)
    except InvalidArchitectureError as exc:
        raise BenchmarkDataError(f"NASLib NB101 key {key!r} is not an NB101 cell: {exc}") from None


def nb101_to_naslib(arch: Sequence[int] | str) -> tuple[int, ...]:
    """NASLib's tuple key of an ``nb101`` architecture (its spec as ``NB101Space.to_spec`` gives it).

    ``str()`` of the result is the file's key format. An architecture and the key it came from
    give the same spec, hence the same key, when the key's spec is the space's own form of it.

    Example:
        >>> key = nb101_to_naslib(naslib_to_nb101("(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 4, 1)"))
        >>> naslib_to_nb101(key) == naslib_to_nb101("(0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 4, 1)")
        True
    """
    space = NB101Space()
    return space.to_naslib(space.from_str(arch) if isinstance(arch, str) else arch)


class NASLibNB101Benchmark(NASLibZCTable):
    """NASLib's published zero-cost scores and validation accuracies of 500 NB101 cells.

    One dataset, ``cifar10``; one final metric ``val_acc`` (NAS-Bench-101's validation accuracy
    / 100). Architectures are ``nb101`` encodings; a query finds a cell by its encoding or by the
    official graph hash (any isomorphic encoding finds it). :meth:`scores` gives NASLib's
    per-cell proxy scores (``flops``, ``params``, ``snip``, ``jacob_cov``, ``grad_norm``,
    ``plain``, ``epe_nas``, ``fisher``, ``grasp``, ``l2_norm``, ``synflow``; no ``nwot``);
    :meth:`score_times` is all NaN (the file records no times). Registered as ``naslib-zc-nb101``.

    Args:
        root: ``zc_nasbench101.json``, its folder, or a data dir holding ``naslib_zc/``
            (default ``$NASRANK_DATA``).

    Example:
        >>> bench = NASLibNB101Benchmark("../shared/data")  # doctest: +SKIP
        >>> len(bench), bench.space.name  # doctest: +SKIP
        (500, 'nb101')
    """

    name = "naslib-zc-nb101"
    datasets = ("cifar10",)
    zc_file = ZC_FILE_101
    wrapper = "nasbench101"
    label = "NB101"
    file_datasets = {"cifar10": "cifar10"}
    _match_isomorphic = True

    def __init__(self, root: str | os.PathLike | None = None) -> None:
        super().__init__(root)

    @property
    def space(self) -> Any:
        return self._space

    def _make_space(self) -> NB101Space:
        return NB101Space()

    def _parse_key(self, key: str) -> tuple[int, ...]:
        return naslib_to_nb101(key)
