"""Conformance checks for :class:`~nasrank.spaces.SearchSpace` implementations.

Each check takes a space instance and raises ``AssertionError`` naming the broken invariant.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..exceptions import InvalidArchitectureError
from ..nn.profile import count_parameters
from ..spaces.base import SearchSpace

__all__ = ["SPACE_CHECKS", "check_search_space"]

_N = 25  # architectures sampled per check


def _samples(space: SearchSpace, n: int = _N, seed: int = 0) -> list[tuple[int, ...]]:
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


def check_string_roundtrip(space: SearchSpace) -> None:
    """``from_str(to_str(a)) == a`` and ``to_str(from_str(s)) == s``."""
    for a in _samples(space):
        s = space.to_str(a)
        assert isinstance(s, str), f"to_str returned {type(s).__name__}"
        assert space.from_str(s) == a, f"round trip changed {a} -> {s} -> {space.from_str(s)}"
        assert space.to_str(space.from_str(s)) == s
        assert space.validate(a) == a and isinstance(space.validate(list(a)), tuple)


def check_rejects_malformed(space: SearchSpace) -> None:
    """Malformed strings and out-of-space encodings raise ``InvalidArchitectureError``."""
    for bad in ["", "garbage", "|x~0|", "+++"]:
        try:
            space.from_str(bad)
        except InvalidArchitectureError:
            pass
        else:
            raise AssertionError(f"from_str({bad!r}) did not raise InvalidArchitectureError")
    good = space.sample(0)
    for bad in [(), good + (0,), tuple(-1 for _ in good), "garbage", None, 3.5]:
        try:
            space.validate(bad)
        except InvalidArchitectureError:
            pass
        else:
            raise AssertionError(f"validate({bad!r}) did not raise InvalidArchitectureError")


def check_sample_determinism(space: SearchSpace) -> None:
    """Same seed -> same architectures; a stream of samples is not constant."""
    assert _samples(space, seed=1) == _samples(space, seed=1)
    assert len(set(_samples(space, seed=1))) > 1, "sample() returned a single architecture"
    for a in _samples(space):
        assert space.validate(a) == a


def check_neighbours(space: SearchSpace) -> None:
    """Neighbours are distinct, in-space, different from the architecture, and symmetric."""
    for a in _samples(space, n=10):
        nb = space.neighbours(a)
        assert len(nb) == len(set(nb)), "neighbours() has duplicates"
        assert a not in nb, "an architecture is its own neighbour"
        for b in nb:
            assert space.validate(b) == b
            assert a in space.neighbours(b), f"neighbour relation not symmetric for {a}, {b}"


def check_mutate(space: SearchSpace) -> None:
    """``mutate`` returns a neighbour, is reproducible per seed, and reaches many neighbours."""
    for a in _samples(space, n=10):
        nb = set(space.neighbours(a))
        rng1, rng2 = np.random.default_rng(7), np.random.default_rng(7)
        m1 = [space.mutate(a, rng1) for _ in range(60)]
        m2 = [space.mutate(a, rng2) for _ in range(60)]
        assert m1 == m2, "mutate is not reproducible for a fixed seed"
        assert all(m in nb for m in m1), "mutate returned a non-neighbour"
        assert len(set(m1)) >= min(len(nb), 10), "mutate explores too few neighbours"


def check_canonical(space: SearchSpace) -> None:
    """``canonical`` is idempotent, key-preserving and validity-preserving."""
    archs = _samples(space, n=50)
    for a in archs:
        c = space.canonical(a)
        assert space.validate(c) == c
        assert space.canonical(c) == c, "canonical is not idempotent"
        assert space.canonical_key(c) == space.canonical_key(a)
        assert space.is_valid(c) == space.is_valid(a)
    for a in archs:
        for b in archs:
            same_key = space.canonical_key(a) == space.canonical_key(b)
            assert same_key == (space.canonical(a) == space.canonical(b))


def check_encode(space: SearchSpace) -> None:
    """Encodings are fixed-length finite float vectors, deterministic and injective on samples."""
    archs = list(dict.fromkeys(_samples(space, n=50)))
    codes = [space.encode(a) for a in archs]
    lengths = {c.shape for c in codes}
    assert len(lengths) == 1 and len(next(iter(lengths))) == 1, f"encodings vary in shape: {lengths}"
    assert all(np.isfinite(c).all() for c in codes)
    assert np.array_equal(space.encode(archs[0]), codes[0])
    assert len({c.tobytes() for c in codes}) == len(archs), "two architectures share an encoding"


def check_build_forward(space: SearchSpace) -> None:
    """Built networks map a batch to logits of shape (batch, classes), in train and eval mode,
    are reproducible under a torch seed, and have ``num_params`` parameters."""
    cfg = dict(space.tiny_build_config)
    shape = space.tiny_input_shape
    x = torch.randn(3, *shape, generator=torch.Generator().manual_seed(0))
    for a in _samples(space, n=4):
        torch.manual_seed(123)
        net = space.build(a, num_classes=7, in_channels=shape[0], **cfg)
        torch.manual_seed(123)
        twin = space.build(a, num_classes=7, in_channels=shape[0], **cfg)
        for (k1, v1), (k2, v2) in zip(net.state_dict().items(), twin.state_dict().items(), strict=True):
            assert k1 == k2 and torch.equal(v1, v2), f"build is not reproducible ({k1})"
        assert count_parameters(net) == space.num_params(
            a, num_classes=7, in_channels=shape[0], **cfg
        ), "num_params disagrees with the built network"
        for train in (True, False):
            net.train(train)
            out = net(x)
            assert isinstance(out, torch.Tensor), f"forward returned {type(out).__name__}, not logits"
            assert out.shape == (3, 7), f"logits shape {tuple(out.shape)} != (3, 7)"
            assert torch.isfinite(out).all()


def check_enumeration(space: SearchSpace) -> None:
    """A finite space enumerates ``size`` distinct, valid encodings."""
    if space.size is None:
        return
    if space.size > 200_000:
        return  # too large to enumerate in a unit test
    archs = list(space.all_archs())
    assert len(archs) == space.size
    assert len(set(archs)) == space.size
    for a in archs[:: max(1, len(archs) // 100)]:
        assert space.validate(a) == a


SPACE_CHECKS: dict[str, Callable[[SearchSpace], None]] = {
    "string_roundtrip": check_string_roundtrip,
    "rejects_malformed": check_rejects_malformed,
    "sample_determinism": check_sample_determinism,
    "neighbours": check_neighbours,
    "mutate": check_mutate,
    "canonical": check_canonical,
    "encode": check_encode,
    "build_forward": check_build_forward,
    "enumeration": check_enumeration,
}


def check_search_space(space: SearchSpace) -> None:
    """Run every conformance check on ``space``.

    Example:
        >>> from nasrank.spaces import NB201Space
        >>> check_search_space(NB201Space())
    """
    for check in SPACE_CHECKS.values():
        check(space)
