"""NAS-Bench-Macro architectures: 8 layer choices, the published 8-digit string, the benchmark's key.

An architecture is a tuple of 8 candidate indices, one per searchable layer in network order
(stages of 2, 3 and 3 layers); the benchmark writes it as 8 digits, e.g. ``"02012100"``:

* ``0`` ``identity`` — the identity; on the first layer of a stage (stride 2, channels doubled)
  a 1x1 convolution + BatchNorm that downsamples;
* ``1`` ``mb3_k3`` — MobileNetV2 inverted residual, expansion 3, 3x3 depthwise kernel (``MB3_K3``);
* ``2`` ``mb6_k5`` — MobileNetV2 inverted residual, expansion 6, 5x5 depthwise kernel (``MB6_K5``).

**Canonical form.** A stride-1 identity layer (any layer but a stage's first) is exactly the
identity: moving it within its stage changes neither the function nor the parameters. The
benchmark itself trained one network per class and copied its results to the others (its
``get_real_arch``: per stage, the first layer, then the non-identity layers in order, then the
identities). :func:`canonical` is that map; 6,561 encodings fall into 3,969 classes
(9 x 21 x 21: stage 1 has 3 x 3 forms, stages 2 and 3 have 3 x (1 + 2 + 4) each).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...exceptions import InvalidArchitectureError

__all__ = ["OPS", "OP_LABELS", "STAGES", "NUM_LAYERS", "IDENTITY", "Arch", "validate", "to_str", "from_str",
           "canonical", "one_hot", "stage_of", "first_of_stage"]

Arch = tuple[int, ...]

#: Candidate names, in index order (the digit of the string format).
OPS: tuple[str, ...] = ("identity", "mb3_k3", "mb6_k5")
#: The benchmark README's names of the candidates.
OP_LABELS: tuple[str, ...] = ("Identity", "MB3_K3", "MB6_K5")
#: (expansion ratio, depthwise kernel) of the MBConv candidates.
MB_PARAMS: dict[int, tuple[int, int]] = {1: (3, 3), 2: (6, 5)}
#: Searchable layers per stage (each stage starts with a stride-2 layer that doubles the channels).
STAGES: tuple[int, ...] = (2, 3, 3)
NUM_LAYERS = sum(STAGES)
IDENTITY = 0


def _layer_stage() -> tuple[tuple[int, bool], ...]:
    out = []
    for s, n in enumerate(STAGES):
        out.extend((s, i == 0) for i in range(n))
    return tuple(out)


_LAYERS = _layer_stage()


def stage_of(layer: int) -> int:
    """The stage (0, 1, 2) of searchable layer ``layer``.

    Example:
        >>> [stage_of(i) for i in range(8)]
        [0, 0, 1, 1, 1, 2, 2, 2]
    """
    return _LAYERS[layer][0]


def first_of_stage(layer: int) -> bool:
    """Whether ``layer`` is the first (stride-2) layer of its stage.

    Example:
        >>> [i for i in range(8) if first_of_stage(i)]
        [0, 2, 5]
    """
    return _LAYERS[layer][1]


def validate(arch: Any) -> Arch:
    """``arch`` as a tuple of 8 ints in 0..2 (``InvalidArchitectureError`` otherwise).

    Example:
        >>> validate([0, 2, 0, 1, 2, 1, 0, 0])
        (0, 2, 0, 1, 2, 1, 0, 0)
    """
    if isinstance(arch, str):
        raise InvalidArchitectureError(
            f"expected a tuple of {NUM_LAYERS} candidate indices, got the string {arch!r}; use from_str()"
        )
    try:
        t = tuple(arch)
    except TypeError:
        t = None
    if t is None or len(t) != NUM_LAYERS or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v < len(OPS) for v in t
    ):
        raise InvalidArchitectureError(
            f"a NAS-Bench-Macro architecture is {NUM_LAYERS} candidate indices in 0..{len(OPS) - 1} "
            f"({', '.join(f'{i} {o}' for i, o in enumerate(OPS))}), got {arch!r}"
        )
    return tuple(int(v) for v in t)


def to_str(arch: Any) -> str:
    """The benchmark's 8-digit string.

    Example:
        >>> to_str((0, 2, 0, 1, 2, 1, 0, 0))
        '02012100'
    """
    return "".join(str(v) for v in validate(arch))


def from_str(text: Any) -> Arch:
    """Parse the benchmark's 8-digit string (surrounding whitespace ignored).

    Example:
        >>> from_str("02012100")
        (0, 2, 0, 1, 2, 1, 0, 0)
    """
    if not isinstance(text, str):
        raise InvalidArchitectureError(f"expected an architecture string, got {type(text).__name__}")
    body = text.strip()
    if len(body) != NUM_LAYERS or any(ch not in "012" for ch in body):
        raise InvalidArchitectureError(
            f"malformed NAS-Bench-Macro architecture {text!r}; expected {NUM_LAYERS} digits in 0-2, "
            "one per layer (0 identity, 1 MB3_K3, 2 MB6_K5), e.g. '02012100'"
        )
    return tuple(int(ch) for ch in body)


def canonical(arch: Any) -> Arch:
    """The benchmark's representative of ``arch``: per stage, the first layer, then the
    non-identity layers in order, then the (stride-1) identities.

    Example:
        >>> to_str(canonical(from_str("01001010")))
        '01010010'
    """
    a = validate(arch)
    out: list[int] = []
    start = 0
    for n in STAGES:
        stage = a[start : start + n]
        rest = [v for v in stage[1:] if v != IDENTITY]
        out.extend([stage[0], *rest] + [IDENTITY] * (n - 1 - len(rest)))
        start += n
    return tuple(out)


def one_hot(arch: Any) -> np.ndarray:
    """``(8, 3)`` float32 one-hot matrix, one row per layer.

    Example:
        >>> one_hot((0, 1, 2, 0, 0, 0, 0, 0))[:3].argmax(1).tolist()
        [0, 1, 2]
    """
    a = validate(arch)
    out = np.zeros((NUM_LAYERS, len(OPS)), dtype=np.float32)
    out[np.arange(NUM_LAYERS), a] = 1.0
    return out
