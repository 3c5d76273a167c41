"""Encoding of the MobileNet-like (ProxylessNAS) space: block layout, operations, string format.

The network is the MobileNetV2 backbone of ProxylessNAS (Cai et al., ICLR 2019): a stride-2
3 x 3 stem convolution, a fixed MBConv block of expansion 1 (kernel 3), then six stages of
``(4, 4, 4, 4, 4, 1)`` searchable blocks with strides ``(2, 2, 2, 1, 2, 1)``, a 1 x 1
feature-mix convolution and a linear classifier. An architecture is a tuple of 21 operation
indices, one per searchable block, in network order:

* ``0`` ``skip_connect`` -- the block is the identity (ProxylessNAS's ``Zero`` candidate next to the
  block's identity shortcut). Allowed only where the block keeps resolution and width: every block
  except the first of a stage;
* ``1..6`` an MBConv (1 x 1 expansion, k x k depthwise, linear 1 x 1 projection; ReLU6), in
  ProxylessNAS's candidate order ``3x3_MBConv3, 3x3_MBConv6, 5x5_MBConv3, 5x5_MBConv6,
  7x7_MBConv3, 7x7_MBConv6`` (named ``MB<expansion>_<k>x<k>`` here, the paper's figure labels).

The string format lists the stages separated by ``|`` and the blocks of a stage separated by ``,``:
``"MB3_5x5,skip_connect,skip_connect,skip_connect|MB3_7x7,...|...|MB6_7x7"``.
:func:`from_str` also accepts the ProxylessNAS names (``3x3_MBConv6``), ``skip`` / ``zero`` /
``identity`` for the skip, and a flat comma-separated list of the 21 blocks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...exceptions import InvalidArchitectureError

__all__ = [
    "OPS",
    "SKIP",
    "KERNELS",
    "EXPANSIONS",
    "STAGE_BLOCKS",
    "STAGE_STRIDES",
    "NUM_BLOCKS",
    "FIRST_OF_STAGE",
    "STAGE_OF",
    "Arch",
    "validate",
    "to_str",
    "from_str",
    "one_hot",
    "canonical",
    "block_choices",
]

Arch = tuple[int, ...]

#: Operation names, in index order (0 = the identity; then ProxylessNAS's candidate order).
OPS: tuple[str, ...] = ("skip_connect", "MB3_3x3", "MB6_3x3", "MB3_5x5", "MB6_5x5", "MB3_7x7", "MB6_7x7")
#: Index of the identity (skip) block.
SKIP = 0
#: Depthwise kernel size of each operation (``0``: no convolution).
KERNELS: tuple[int, ...] = (0, 3, 3, 5, 5, 7, 7)
#: Expansion ratio of each operation (``0``: no convolution).
EXPANSIONS: tuple[int, ...] = (0, 3, 6, 3, 6, 3, 6)
#: Searchable blocks per stage (ProxylessNAS ``n_cell_stages``).
STAGE_BLOCKS: tuple[int, ...] = (4, 4, 4, 4, 4, 1)
#: Stride of the first block of each stage (ProxylessNAS ``stride_stages``).
STAGE_STRIDES: tuple[int, ...] = (2, 2, 2, 1, 2, 1)
#: Number of searchable blocks (positions of an architecture).
NUM_BLOCKS = sum(STAGE_BLOCKS)
#: Whether block ``i`` is the first of its stage (it changes width or resolution: no skip).
FIRST_OF_STAGE: tuple[bool, ...] = tuple(j == 0 for n in STAGE_BLOCKS for j in range(n))
#: Stage index of block ``i``.
STAGE_OF: tuple[int, ...] = tuple(s for s, n in enumerate(STAGE_BLOCKS) for _ in range(n))

_CONVS = tuple(range(1, len(OPS)))
_ALIASES: dict[str, int] = {name.lower(): i for i, name in enumerate(OPS)}
_ALIASES.update({"skip": SKIP, "zero": SKIP, "identity": SKIP, "id": SKIP, "none": SKIP})
for _i in _CONVS:  # ProxylessNAS module names: 3x3_MBConv6
    _ALIASES[f"{KERNELS[_i]}x{KERNELS[_i]}_mbconv{EXPANSIONS[_i]}"] = _i


def block_choices(i: int) -> tuple[int, ...]:
    """The operation indices block ``i`` may take (no skip for the first block of a stage).

    Example:
        >>> block_choices(0), block_choices(1)
        ((1, 2, 3, 4, 5, 6), (0, 1, 2, 3, 4, 5, 6))
    """
    return _CONVS if FIRST_OF_STAGE[i] else (SKIP, *_CONVS)


def _bad(arch: Any, why: str) -> InvalidArchitectureError:
    firsts = ", ".join(str(i) for i, f in enumerate(FIRST_OF_STAGE) if f)
    return InvalidArchitectureError(
        f"invalid mobilenet architecture {arch!r}: {why}; expected {NUM_BLOCKS} op indices in "
        f"0..{len(OPS) - 1} with no 0 (skip_connect) at the first block of a stage (positions {firsts})"
    )


def validate(arch: Any) -> Arch:
    """``arch`` as a tuple of 21 op indices (``InvalidArchitectureError`` otherwise).

    Example:
        >>> validate([1] * 21)[:3]
        (1, 1, 1)
        >>> validate([0] + [1] * 20)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        nasrank.exceptions.InvalidArchitectureError: invalid mobilenet architecture [0, 1, ...]: block 0 ...; ...
    """
    if isinstance(arch, str):
        raise InvalidArchitectureError("expected a tuple of op indices, got a string; use from_str()")
    try:
        t = tuple(arch)
    except TypeError:
        raise _bad(arch, "not a sequence") from None
    if len(t) != NUM_BLOCKS:
        raise _bad(arch, f"wrong length {len(t)}")
    out = []
    for i, v in enumerate(t):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v < len(OPS):
            raise _bad(arch, f"block {i} is {v!r}")
        if v == SKIP and FIRST_OF_STAGE[i]:
            raise _bad(arch, f"block {i} cannot be skip_connect")
        out.append(int(v))
    return tuple(out)


def to_str(arch: Sequence[int]) -> str:
    """The space's string: stages separated by ``|``, blocks by ``,``.

    Example:
        >>> to_str((2,) * 21).count("|"), to_str((2,) * 21)[:16]
        (5, 'MB6_3x3,MB6_3x3,')
    """
    a = validate(arch)
    parts, i = [], 0
    for n in STAGE_BLOCKS:
        parts.append(",".join(OPS[o] for o in a[i : i + n]))
        i += n
    return "|".join(parts)


def from_str(text: str) -> Arch:
    """Parse the string format (or a flat comma-separated list of the 21 block names).

    Example:
        >>> from_str("MB3_5x5,skip,skip,skip|" + "|".join(["3x3_MBConv6,MB3_3x3,zero,zero"] * 4) + "|MB6_7x7")[:8]
        (3, 0, 0, 0, 2, 1, 0, 0)
        >>> from_str(",".join(["MB6_3x3"] * 21)) == (2,) * 21
        True
    """
    if not isinstance(text, str):
        raise InvalidArchitectureError(f"expected an architecture string, got {type(text).__name__}")
    hint = (f"expected {len(STAGE_BLOCKS)} stages of {','.join(map(str, STAGE_BLOCKS))} blocks separated by "
            f"'|' (blocks by ','), each block one of {', '.join(OPS)}")

    def fail(why: str) -> InvalidArchitectureError:
        return InvalidArchitectureError(f"malformed mobilenet architecture {text!r}: {why}; {hint}")

    s = text.strip()
    if not s:
        raise fail("empty string")
    if "|" in s:
        stages = s.split("|")
        if len(stages) != len(STAGE_BLOCKS):
            raise fail(f"{len(stages)} stages")
        tokens: list[str] = []
        for k, (stage, n) in enumerate(zip(stages, STAGE_BLOCKS, strict=True)):
            toks = [t.strip() for t in stage.split(",")]
            if len(toks) != n:
                raise fail(f"stage {k + 1} has {len(toks)} blocks, expected {n}")
            tokens += toks
    else:
        tokens = [t.strip() for t in re.split(r"[,\s]+", s) if t.strip()]
        if len(tokens) != NUM_BLOCKS:
            raise fail(f"{len(tokens)} blocks, expected {NUM_BLOCKS}")
    ops = []
    for i, tok in enumerate(tokens):
        o = _ALIASES.get(tok.lower())
        if o is None:
            raise fail(f"unknown block {tok!r} at position {i}")
        ops.append(o)
    firsts = [i for i, o in enumerate(ops) if o == SKIP and FIRST_OF_STAGE[i]]
    if firsts:
        raise fail(f"block {firsts[0]} is the first of its stage and cannot be skip_connect")
    return validate(ops)


def one_hot(arch: Sequence[int]) -> np.ndarray:
    """One-hot matrix ``(21, 7)`` (float32).

    Example:
        >>> float(one_hot((1,) * 21).sum()), int(one_hot((1,) * 21)[0].argmax())
        (21.0, 1)
    """
    a = validate(arch)
    out = np.zeros((NUM_BLOCKS, len(OPS)), dtype=np.float32)
    out[np.arange(NUM_BLOCKS), a] = 1.0
    return out


def canonical(arch: Sequence[int]) -> Arch:
    """The skips of every stage moved behind its non-skip blocks.

    Inside a stage every block but the first maps ``C -> C`` at stride 1, so a skip (identity)
    block can sit anywhere among them without changing the function family: the network is
    the same sequence of MBConv blocks.

    Example:
        >>> a = (1, 0, 2, 0) + (1,) * 17
        >>> canonical(a)[:4]
        (1, 2, 0, 0)
    """
    a = validate(arch)
    out: list[int] = []
    i = 0
    for n in STAGE_BLOCKS:
        stage = a[i : i + n]
        rest = [o for o in stage[1:] if o != SKIP]
        out += [stage[0], *rest, *([SKIP] * (n - 1 - len(rest)))]
        i += n
    return tuple(out)
