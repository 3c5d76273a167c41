"""Encoding of the NDS ResNet / ResNeXt design spaces: value grids, validation, string format.

An architecture is a fixed-length tuple of grid indices, parameter-major and stage by stage:
``(d1, d2, d3, w1, w2, w3)`` for ResNet and ``(d1, d2, d3, w1, w2, w3, r1, r2, r3, g1, g2, g3)``
for ResNeXt, where each entry indexes the family's grid of that parameter (:class:`NDSFamily`).
The string form lists the values themselves: ``"d=1,2,4|w=16,32,64|r=1,2,4|g=1,2,4"``.

Grids (seed 000 Tab. 3 gives the ranges and the total counts N_total; the grids below are chosen
so that every count is reproduced exactly):

* ResNeXt-A: ``d in {1,2,4,8,16}``, ``w in {16,...,256}`` (powers of two), ``r in {1,2,4}``,
  ``g in {1,2,4}``: ``(5*5*3*3)^3 = 11,390,625`` networks (Tab. 3: 11,390,625).
* ResNeXt-B: ``d in {1,2,4,8,16}``, ``w in {64,...,1024}`` (powers of two), ``r in {1,2,4}``,
  ``g in {1,2,4,8,16}``: ``(5*5*3*5)^3 = 52,734,375`` (Tab. 3: 52,734,375).
* ResNet: Tab. 3 gives the ranges ``d in [1,24]``, ``w in [16,256]`` and ``N_total = 1,259,712 =
  108^3``, but not the grid. We use the roughly log-spaced ``d in {1,2,3,4,5,6,8,10,12,16,20,24}``
  (12 values) and the half-octave ``w in {16,24,32,48,64,96,128,192,256}`` (9 values), whose
  ``(12*9)^3`` equals the table's count; this grid is our choice, not a published one.

Every combination of the grids is a network (the bottleneck width ``w / r`` is always divisible by
the number of groups ``g`` at full width), so the spaces are unconstrained products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...exceptions import InvalidArchitectureError

__all__ = ["NDSFamily", "RESNET", "RESNEXT_A", "RESNEXT_B", "FAMILIES", "STAGES", "Arch"]

Arch = tuple[int, ...]

#: Number of stages of every NDS CIFAR network.
STAGES = 3

_PARAM_NAMES = {"d": "depth", "w": "width", "r": "bottleneck ratio", "g": "groups"}


@dataclass(frozen=True)
class NDSFamily:
    """One NDS design space: its block type and the value grid of each per-stage parameter.

    Attributes:
        name: The registry name (``"nds-resnet"``, ...).
        block: ``"basic"`` (ResNet: two 3x3 convolutions) or ``"bottleneck"`` (ResNeXt: 1x1, grouped
            3x3, 1x1).
        depths: Allowed blocks per stage ``d_i``.
        widths: Allowed output channels per stage ``w_i``.
        ratios: Allowed bottleneck ratios ``r_i`` (bottleneck width ``w_i / r_i``); empty for ResNet.
        groups: Allowed numbers of groups ``g_i`` of the 3x3 convolution; empty for ResNet.

    Example:
        >>> RESNEXT_A.params, RESNEXT_A.length, RESNEXT_A.size
        (('d', 'w', 'r', 'g'), 12, 11390625)
    """

    name: str
    block: str
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    ratios: tuple[int, ...] = ()
    groups: tuple[int, ...] = ()

    @property
    def params(self) -> tuple[str, ...]:
        """Parameter letters in encoding order (``d``, ``w``[, ``r``, ``g``]).

        Example:
            >>> RESNET.params
            ('d', 'w')
        """
        return ("d", "w", "r", "g") if self.block == "bottleneck" else ("d", "w")

    def grid(self, param: str) -> tuple[int, ...]:
        """The value grid of parameter ``param`` (a letter of :attr:`params`).

        Example:
            >>> RESNEXT_B.grid("g")
            (1, 2, 4, 8, 16)
        """
        return {"d": self.depths, "w": self.widths, "r": self.ratios, "g": self.groups}[param]

    @property
    def length(self) -> int:
        """Positions of an encoding (3 per parameter).

        Example:
            >>> RESNET.length
            6
        """
        return STAGES * len(self.params)

    @property
    def position_grids(self) -> tuple[tuple[int, ...], ...]:
        """The value grid of each encoding position.

        Example:
            >>> RESNET.position_grids[3]
            (16, 24, 32, 48, 64, 96, 128, 192, 256)
        """
        return tuple(self.grid(p) for p in self.params for _ in range(STAGES))

    @property
    def size(self) -> int:
        """Number of architectures (the product of all grid sizes).

        Example:
            >>> RESNET.size == (12 * 9) ** 3
            True
        """
        return int(np.prod([len(g) for g in self.position_grids], dtype=np.int64))

    # --- conversions --------------------------------------------------------------------------
    def validate(self, arch: Any) -> Arch:
        """``arch`` as a tuple of in-range grid indices (one-line ``InvalidArchitectureError``).

        Example:
            >>> RESNET.validate([0, 1, 2, 3, 4, 5])
            (0, 1, 2, 3, 4, 5)
        """
        if isinstance(arch, str):
            raise InvalidArchitectureError(
                f"expected a tuple of {self.length} grid indices, got a string; use from_str()"
            )
        try:
            t = tuple(arch)
        except TypeError:
            t = None
        grids = self.position_grids
        ok = t is not None and len(t) == len(grids) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v < len(g)
            for v, g in zip(t, grids, strict=True)
        )
        if not ok:
            raise InvalidArchitectureError(
                f"{self.name} architecture must be {self.length} grid indices "
                f"({', '.join(f'{p}1..{p}3 in 0..{len(self.grid(p)) - 1}' for p in self.params)}), got {arch!r}"
            )
        return tuple(int(v) for v in t)  # type: ignore[union-attr]

    def values(self, arch: Sequence[int]) -> dict[str, tuple[int, ...]]:
        """The per-stage values of each parameter, e.g. ``{"d": (1, 2, 4), "w": (16, 32, 64)}``.

        Example:
            >>> RESNET.values((0, 1, 2, 0, 2, 4))
            {'d': (1, 2, 3), 'w': (16, 32, 64)}
        """
        a = self.validate(arch)
        out = {}
        for k, p in enumerate(self.params):
            g = self.grid(p)
            out[p] = tuple(g[i] for i in a[STAGES * k : STAGES * (k + 1)])
        return out

    def to_str(self, arch: Sequence[int]) -> str:
        """``"d=...|w=...[|r=...|g=...]"`` with the per-stage values.

        Example:
            >>> RESNET.to_str((0, 1, 2, 3, 4, 5))
            'd=1,2,3|w=48,64,96'
        """
        return "|".join(f"{p}=" + ",".join(str(v) for v in vs) for p, vs in self.values(arch).items())

    def from_str(self, text: str) -> Arch:
        """Parse :meth:`to_str`'s format (one-line ``InvalidArchitectureError`` on any mistake).

        Example:
            >>> RESNET.from_str("d=1,2,3|w=48,64,96")
            (0, 1, 2, 3, 4, 5)
        """
        expected = "|".join(f"{p}=v1,v2,v3" for p in self.params)
        if not isinstance(text, str):
            raise InvalidArchitectureError(f"expected an architecture string, got {type(text).__name__}")
        parts = [s.strip() for s in text.strip().split("|")]
        keys = [s.partition("=")[0].strip() for s in parts]
        if keys != list(self.params) or any("=" not in s for s in parts):
            raise InvalidArchitectureError(
                f"malformed {self.name} architecture {text!r}; expected '{expected}', "
                f"e.g. '{self.to_str((0,) * self.length)}'"
            )
        arch: list[int] = []
        for p, s in zip(self.params, parts, strict=True):
            grid = self.grid(p)
            raw = [v.strip() for v in s.partition("=")[2].split(",")]
            try:
                vals = [int(v) for v in raw]
            except ValueError:
                vals = []
            if len(vals) != STAGES or any(v not in grid for v in vals):
                raise InvalidArchitectureError(
                    f"{self.name}: {_PARAM_NAMES[p]} '{p}' must be {STAGES} comma-separated values from "
                    f"{{{','.join(map(str, grid))}}}, got {s.partition('=')[2]!r}"
                )
            arch.extend(grid.index(v) for v in vals)
        return tuple(arch)


RESNET = NDSFamily(
    "nds-resnet", "basic",
    depths=(1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24),
    widths=(16, 24, 32, 48, 64, 96, 128, 192, 256),
)
RESNEXT_A = NDSFamily(
    "nds-resnext-a", "bottleneck",
    depths=(1, 2, 4, 8, 16), widths=(16, 32, 64, 128, 256), ratios=(1, 2, 4), groups=(1, 2, 4),
)
RESNEXT_B = NDSFamily(
    "nds-resnext-b", "bottleneck",
    depths=(1, 2, 4, 8, 16), widths=(64, 128, 256, 512, 1024), ratios=(1, 2, 4), groups=(1, 2, 4, 8, 16),
)

#: The three families by registry name.
FAMILIES: dict[str, NDSFamily] = {f.name: f for f in (RESNET, RESNEXT_A, RESNEXT_B)}
