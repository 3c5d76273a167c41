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
    cfg = space.default_config("tiny")
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


def _choices(space: SearchSpace) -> tuple[tuple[int, ...], ...] | None:
    try:
        return space.choices()
    except NotImplementedError:
        return None  # not a fixed-length categorical encoding: nothing to check


def check_choices(space: SearchSpace) -> None:
    """``choices()`` is one non-empty tuple of distinct ints per position, and every sample
    (and every neighbour of a sample) takes an allowed value at every position."""
    choices = _choices(space)
    if choices is None:
        return
    assert isinstance(choices, tuple) and choices, "choices() must be a non-empty tuple"
    for i, c in enumerate(choices):
        assert isinstance(c, tuple) and c, f"choices()[{i}] must be a non-empty tuple"
        assert all(isinstance(v, int) and not isinstance(v, bool) for v in c), \
            f"choices()[{i}] holds non-ints: {c!r}"
        assert len(set(c)) == len(c), f"choices()[{i}] repeats a value: {c!r}"
    assert space.choices() == choices, "choices() is not deterministic"
    for a in _samples(space):
        assert len(a) == len(choices), f"sample has {len(a)} positions, choices() {len(choices)}"
        bad = [i for i, v in enumerate(a) if v not in choices[i]]
        assert not bad, f"sample {a} lies outside choices() at positions {bad}"
    for a in _samples(space, n=3):
        try:
            nb = space.neighbours(a)
        except NotImplementedError:
            break
        for b in nb:
            assert all(v in choices[i] for i, v in enumerate(b)), f"neighbour {b} outside choices()"


def check_project(space: SearchSpace) -> None:
    """``project`` fixes architectures of the space (``project(a) == a``) and repairs any
    position-wise draw from ``choices()`` into a valid architecture, reproducibly per seed."""
    choices = _choices(space)
    for a in _samples(space):
        assert space.project(a, 0) == a, f"project changed the valid architecture {a}"
        assert space.project(list(a), 1) == a, "project must accept lists"
    if choices is None:
        return
    rng = np.random.default_rng(0)
    for _ in range(50):
        draw = tuple(int(c[int(rng.integers(len(c)))]) for c in choices)
        p1, p2 = space.project(draw, 7), space.project(draw, 7)
        assert p1 == p2, f"project({draw}) is not reproducible for a fixed seed"
        assert space.validate(p1) == p1, f"project({draw}) returned an invalid {p1}"
        assert all(v in choices[i] for i, v in enumerate(p1)), f"project({draw}) left choices()"
        try:
            space.validate(draw)
        except InvalidArchitectureError:
            continue  # a draw that needed a repair
        assert p1 == draw, f"project changed the valid draw {draw} into {p1}"


def _purposes(space: SearchSpace) -> list[str]:
    names = ["tiny", *space.build_configs]
    return list(dict.fromkeys(names))


def check_default_configs(space: SearchSpace) -> None:
    """Every ``default_config`` purpose (``tiny``, ``search``, ...) builds a network that maps a
    batch to logits, ``default_config`` returns a fresh copy, and an unknown purpose is a
    ``ConfigError``; a space with a supernet builds it from the ``tiny``, ``search`` and
    ``supernet`` configurations too and runs the path of a sample."""
    from ..exceptions import ConfigError

    assert "search" in _purposes(space), "default_config('search') is missing (generic searches use it)"
    cfg = space.default_config("tiny")
    cfg["__probe__"] = 1
    assert "__probe__" not in space.default_config("tiny"), "default_config returned shared state"
    try:
        space.default_config("no-such-purpose")
    except ConfigError:
        pass
    else:
        raise AssertionError("default_config('no-such-purpose') did not raise ConfigError")
    shape = space.tiny_input_shape
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(0))
    a = space.sample(0)
    for purpose in _purposes(space):
        cfg = space.default_config(purpose)
        net = space.build(a, num_classes=3, in_channels=shape[0], **cfg).eval()
        with torch.no_grad():
            out = net(x)
        assert out.shape == (2, 3) and torch.isfinite(out).all(), \
            f"build(**default_config({purpose!r})) does not map a batch to finite logits"
        if space.has_supernet and purpose in ("tiny", "search", "supernet"):
            sn = space.supernet(num_classes=3, in_channels=shape[0], **cfg).eval()
            with torch.no_grad():
                out = sn(x, sn.path_weights(a))
            assert out.shape == (2, 3) and torch.isfinite(out).all(), \
                f"supernet(**default_config({purpose!r})) does not run the path of a sample"


def check_supernet(space: SearchSpace) -> None:
    """For a space with a supernet: the path of an architecture is a one-hot weight matrix
    whose decisions give the architecture back, and the supernet runs single paths, multi-hot
    path sets and weighted mixtures."""
    if not space.has_supernet:
        return
    shape = space.tiny_input_shape
    net = space.supernet(num_classes=5, in_channels=shape[0], **space.default_config("tiny")).eval()
    shape_w = (net.num_edges, len(net.ops))
    x = torch.randn(2, *shape, generator=torch.Generator().manual_seed(0))
    archs = _samples(space, n=5)
    for a in archs:
        w = net.path_weights(a)
        assert w.shape == shape_w, f"path_weights shape {w.shape} != {shape_w}"
        assert set(np.unique(w)) <= {0.0, 1.0} and (w.sum(1) <= 1).all(), \
            "path_weights must be one-hot rows (or zero rows for unused edges)"
        decided = {e: int(r.argmax()) for e, r in enumerate(w) if r.any()}
        removed = [e for e, r in enumerate(w) if not r.any()]
        back = net.arch_from_decisions(decided, removed)
        assert space.canonical_key(back) == space.canonical_key(a), \
            f"arch_from_decisions(path_weights({a})) = {back}"
    multi = net.paths_weights(archs[:2])
    assert (multi == np.maximum(net.path_weights(archs[0]), net.path_weights(archs[1]))).all()
    mix = np.full(shape_w, 1.0 / shape_w[1])
    with torch.no_grad():
        for w in (net.path_weights(archs[0]), multi, mix):
            out = net(x, w)
            assert out.shape == (2, 5) and torch.isfinite(out).all()


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
    "choices": check_choices,
    "project": check_project,
    "default_configs": check_default_configs,
    "supernet": check_supernet,
}


def check_search_space(space: SearchSpace) -> None:
    """Run every conformance check on ``space``.

    Example:
        >>> from nasrank.spaces import NB201Space
        >>> check_search_space(NB201Space())
    """
    for check in SPACE_CHECKS.values():
        check(space)
