"""RandWiredNN architectures: generator family, hyperparameter indices, graph seed.

An architecture is four ints ``(family, hp1, hp2, seed)``:

* ``family``: 0 = ER (Erdős–Rényi), 1 = BA (Barabási–Albert), 2 = WS (Watts–Strogatz);
* ``hp1``: index into the family's first hyperparameter grid (ER: P, BA: M, WS: K);
* ``hp2``: index into WS's rewiring probability grid P; fixed to 0 for ER and BA (one
  hyperparameter only);
* ``seed``: the graph seed, ``0 .. graph_seeds-1``.

The grids follow the generator settings Xie et al. (2019, §4 and Fig. 3) compare in the small
computation regime, as we read them: ER P in {0.1, ..., 0.8}, BA M in {1, ..., 8}, WS K in
{2, 4, 6, 8} x P in {0, 0.25, 0.5, 0.75, 1} — 36 hyperparameter settings. (Seed 000, App. B,
samples 69 settings uniformly at random from the generators' hyperparameter ranges and does not
list them, so its exact 69 cannot be reconstructed; :data:`SETTINGS` is the grid used here.)

String format ``FAMILY:HP=value[,HP=value]:seed=S``, e.g. ``"WS:K=4,P=0.75:seed=3"``,
``"ER:P=0.2:seed=0"``, ``"BA:M=5:seed=11"`` (case-insensitive on input).

Each of the 3 cells of a network is its own random graph from the same generator: cell ``c``
draws from :class:`~nasrank.spaces.randwired.graphs.Stream` seeded with
``(ENTROPY_TAG, family, hp values x 1000, seed, c)`` (see :func:`cell_entropy`), so the graphs
of two settings or two cells are independent draws, and identical forever for the same values.

Example:
    >>> from_str("ws:k=4,p=0.75:seed=3")
    (2, 1, 3, 3)
    >>> to_str((0, 1, 0, 5))
    'ER:P=0.2:seed=5'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...exceptions import InvalidArchitectureError

__all__ = ["FAMILIES", "ER", "BA", "WS", "ER_P", "BA_M", "WS_K", "WS_P", "SETTINGS", "Arch",
           "hyperparameters", "setting_str", "to_str", "from_str", "cell_entropy", "ENTROPY_TAG"]

Arch = tuple[int, ...]

FAMILIES = ("ER", "BA", "WS")
ER, BA, WS = range(3)

#: ER edge probabilities.
ER_P = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
#: BA edges per added node.
BA_M = (1, 2, 3, 4, 5, 6, 7, 8)
#: WS ring degrees (even).
WS_K = (2, 4, 6, 8)
#: WS rewiring probabilities.
WS_P = (0.0, 0.25, 0.5, 0.75, 1.0)

#: Grid sizes per family: (hp1 values, hp2 values).
GRID = {ER: (len(ER_P), 1), BA: (len(BA_M), 1), WS: (len(WS_K), len(WS_P))}

#: Every hyperparameter setting ``(family, hp1, hp2)``, family-major (36).
SETTINGS: tuple[tuple[int, int, int], ...] = tuple(
    (f, i, j) for f in (ER, BA, WS) for i in range(GRID[f][0]) for j in range(GRID[f][1])
)

#: First entropy word of every cell graph's random stream (fixes the stream family forever).
ENTROPY_TAG = 0x52574E4E  # "RWNN"


def hyperparameters(family: int, hp1: int, hp2: int) -> dict[str, float | int]:
    """The named hyperparameter values of a setting.

    Example:
        >>> hyperparameters(WS, 1, 3)
        {'K': 4, 'P': 0.75}
    """
    if family == ER:
        return {"P": ER_P[hp1]}
    if family == BA:
        return {"M": BA_M[hp1]}
    return {"K": WS_K[hp1], "P": WS_P[hp2]}


def _fmt(v: float | int) -> str:
    return str(v) if isinstance(v, int) else f"{v:g}" if v not in (0.0, 1.0) else f"{v:.1f}"


def setting_str(family: int, hp1: int, hp2: int) -> str:
    """``"WS:K=4,P=0.75"``: the setting part of the string format.

    Example:
        >>> setting_str(BA, 4, 0)
        'BA:M=5'
    """
    hps = ",".join(f"{k}={_fmt(v)}" for k, v in hyperparameters(family, hp1, hp2).items())
    return f"{FAMILIES[family]}:{hps}"


def validate(arch: Any, graph_seeds: int) -> Arch:
    """``arch`` as a 4-int tuple of the space (``InvalidArchitectureError`` otherwise)."""
    if isinstance(arch, str):
        raise InvalidArchitectureError("expected a tuple (family, hp1, hp2, seed), got a string; use from_str()")
    try:
        t = tuple(arch)
    except TypeError:
        t = None
    ok = t is not None and len(t) == 4 and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in t
    )
    if ok:
        f, i, j, s = (int(v) for v in t)
        ok = 0 <= f < 3 and 0 <= i < GRID[f][0] and 0 <= j < GRID[f][1] and 0 <= s < graph_seeds
    if not ok:
        raise InvalidArchitectureError(
            f"randwired architecture must be (family 0-2, hp1, hp2, seed 0-{graph_seeds - 1}) within the "
            f"family's grid (ER: hp1<{len(ER_P)}, hp2=0; BA: hp1<{len(BA_M)}, hp2=0; WS: hp1<{len(WS_K)}, "
            f"hp2<{len(WS_P)}), got {arch!r}"
        )
    return (f, i, j, s)


def to_str(arch: Sequence[int]) -> str:
    """The string form ``FAMILY:HP=value[,HP=value]:seed=S``."""
    f, i, j, s = arch
    return f"{setting_str(f, i, j)}:seed={s}"


_PATTERN = re.compile(r"^\s*([A-Za-z]{2})\s*:\s*([^:]+?)\s*:\s*seed\s*=\s*(\d+)\s*$", re.IGNORECASE)
_NAMES = {ER: ("P",), BA: ("M",), WS: ("K", "P")}
_GRIDS = {(ER, "P"): ER_P, (BA, "M"): BA_M, (WS, "K"): WS_K, (WS, "P"): WS_P}
_FORMAT_HINT = ("expected FAMILY:HP=value[,HP=value]:seed=S, e.g. 'ER:P=0.2:seed=0', 'BA:M=5:seed=1', "
                "'WS:K=4,P=0.75:seed=2'")


def from_str(text: str, graph_seeds: int | None = None) -> Arch:
    """Parse the string format; hyperparameter values must lie on the family's grid."""
    if not isinstance(text, str):
        raise InvalidArchitectureError(f"expected an architecture string, got {type(text).__name__}")
    m = _PATTERN.match(text)
    if m is None:
        raise InvalidArchitectureError(f"malformed randwired architecture {text!r}; {_FORMAT_HINT}")
    fam_name, hps, seed = m.group(1).upper(), m.group(2), int(m.group(3))
    if fam_name not in FAMILIES:
        raise InvalidArchitectureError(f"unknown random graph family {fam_name!r} in {text!r}; use ER, BA or WS")
    family = FAMILIES.index(fam_name)
    values: dict[str, str] = {}
    for part in hps.split(","):
        key, eq, val = part.partition("=")
        key = key.strip().upper()
        if not eq or key in values:
            raise InvalidArchitectureError(f"malformed randwired architecture {text!r}; {_FORMAT_HINT}")
        values[key] = val.strip()
    if sorted(values) != sorted(_NAMES[family]):
        raise InvalidArchitectureError(
            f"{fam_name} takes hyperparameter(s) {', '.join(_NAMES[family])}, got {', '.join(values)} in {text!r}"
        )
    idx = []
    for name in _NAMES[family]:
        grid = _GRIDS[(family, name)]
        try:
            v = float(values[name])
        except ValueError:
            v = float("nan")
        hits = [k for k, g in enumerate(grid) if abs(g - v) < 1e-9]
        if not hits:
            raise InvalidArchitectureError(
                f"{fam_name} {name}={values[name]} is not on the grid {', '.join(_fmt(g) for g in grid)} ({text!r})"
            )
        idx.append(hits[0])
    arch = (family, idx[0], idx[1] if len(idx) > 1 else 0, seed)
    if graph_seeds is not None and seed >= graph_seeds:
        raise InvalidArchitectureError(f"graph seed {seed} out of range 0..{graph_seeds - 1} in {text!r}")
    return arch


def cell_entropy(arch: Sequence[int], cell: int) -> list[int]:
    """The SeedSequence entropy of cell ``cell``'s graph: ``[ENTROPY_TAG, family, value1 x 1000,
    value2 x 1000, seed, cell]`` (hyperparameter *values*, not grid indices, so that extending a
    grid never changes existing graphs; value2 is 0 for ER and BA).

    Example:
        >>> cell_entropy((2, 1, 3, 7), 0)[1:]
        [2, 4000, 750, 7, 0]
    """
    f, i, j, s = arch
    vals = list(hyperparameters(f, i, j).values()) + [0]
    return [ENTROPY_TAG, f, int(round(vals[0] * 1000)), int(round(vals[1] * 1000)), s, cell]
