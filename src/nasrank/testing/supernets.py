"""Conformance suite for supernet training methods (:data:`nasrank.oneshot.SUPERNET_METHODS`).

Every registered method is checked by the tests, on every space with a supernet; third-party
methods can use it too once registered::

    from nasrank.testing.supernets import check_supernet_method
    check_supernet_method("my-method", "nb201")

Each check builds the method on the space's ``"tiny"`` configuration and raises
``AssertionError`` naming the broken invariant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["SUPERNET_METHOD_CHECKS", "check_supernet_method", "supernet_method_factory"]

_CLASSES = 5


def supernet_method_factory(name: str, space: Any = "nb201", **params: Any) -> Callable[[int], Any]:
    """``seed -> method`` on the space's tiny supernet configuration.

    Example:
        >>> make = supernet_method_factory("spos", "nb201")
        >>> make(0).supernet.C
        4
    """
    from ..oneshot import create_supernet_method
    from ..spaces import SPACES

    sp = SPACES.get(space)() if isinstance(space, str) else space
    kw = {"supernet_config": sp.default_config("tiny"), "num_classes": _CLASSES,
          "in_channels": sp.tiny_input_shape[0], **params}
    return lambda seed: create_supernet_method(name, sp, seed=seed, **kw)


def _batches(method: Any, n: int = 4, size: int = 6) -> list[tuple[torch.Tensor, torch.Tensor]]:
    shape = method.space.tiny_input_shape
    g = torch.Generator().manual_seed(1234)
    return [(torch.randn(size, *shape, generator=g), torch.randint(0, _CLASSES, (size,), generator=g))
            for _ in range(n)]


def _weights(method: Any) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in method.supernet.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def check_step_changes_weights(make: Callable[[int], Any]) -> None:
    """A training step returns a finite ``loss`` and changes the supernet's weights."""
    m = make(0)
    b = _batches(m, 1)[0]
    before = _weights(m)
    out = m.step(b)
    assert isinstance(out, dict) and "loss" in out, "step() must return a dict with 'loss'"
    assert torch.isfinite(torch.tensor(float(out["loss"]))), f"non-finite loss {out['loss']}"
    assert not _same(before, _weights(m)), "a training step left every supernet weight unchanged"
    assert m.steps == 1, "steps does not count the training steps"


def check_deterministic(make: Callable[[int], Any]) -> None:
    """The same seed and batches give the same losses and weights; another seed differs."""
    runs = []
    for seed in (3, 3, 4):
        m = make(seed)
        losses = [float(m.step(b)["loss"]) for b in _batches(m, 3)]
        runs.append((losses, _weights(m)))
    assert runs[0][0] == runs[1][0], "losses differ between two runs with the same seed"
    assert _same(runs[0][1], runs[1][1]), "weights differ between two runs with the same seed"
    assert not _same(runs[0][1], runs[2][1]), "two seeds gave identical supernets"


def check_state_roundtrip(make: Callable[[int], Any]) -> None:
    """A method restored from ``state_dict()`` continues exactly like the original (losses,
    weights, architecture draws), and the saved state is not changed by later steps."""
    m = make(5)
    bs = _batches(m, 4)
    for b in bs[:2]:
        m.step(b)
    state = m.state_dict()
    saved = {k: v.clone() for k, v in state["supernet"].items()} if "supernet" in state else None
    cont = [m.step(b) for b in bs[2:]]
    if saved is not None:
        assert _same(saved, state["supernet"]), "state_dict() shares tensors with the live method"
    r = make(6)  # another seed: everything must come from the state
    r.load_state_dict(state)
    assert r.steps == 2, "load_state_dict did not restore the step count"
    again = [r.step(b) for b in bs[2:]]
    assert [float(o["loss"]) for o in cont] == [float(o["loss"]) for o in again], \
        "a restored method's losses differ from the original's"
    assert [o.get("arch") for o in cont] == [o.get("arch") for o in again], \
        "a restored method draws other architectures"
    assert _same(_weights(m), _weights(r)), "a restored method's weights diverge"


def check_derive(make: Callable[[int], Any]) -> None:
    """``derive`` returns a valid architecture of the space, reproducibly, without changing the
    supernet; a given score callable decides between candidates."""
    m = make(0)
    bs = _batches(m, 2)
    m.step(bs[0])
    before = _weights(m)
    a1 = m.derive(batch=bs[1])
    a2 = m.derive(batch=bs[1])
    assert m.space.validate(a1) == a1, f"derive() returned {a1!r}, not an architecture of the space"
    assert a1 == a2, "derive() is not reproducible"
    assert _same(before, _weights(m)), "derive() changed the supernet"
    best = m.derive(score=lambda a: float(sum(a)))
    assert m.space.validate(best) == best
    worst = m.derive(score=lambda a: -float(sum(a)))
    assert sum(best) >= sum(worst), "derive(score=...) does not prefer higher scores"


SUPERNET_METHOD_CHECKS: dict[str, Callable[[Callable[[int], Any]], None]] = {
    "step_changes_weights": check_step_changes_weights,
    "deterministic": check_deterministic,
    "state_roundtrip": check_state_roundtrip,
    "derive": check_derive,
}


def check_supernet_method(name: str, space: Any = "nb201", **params: Any) -> None:
    """Run every conformance check on the registered supernet method ``name``.

    Args:
        name: Registry name (see :func:`nasrank.oneshot.list_supernet_methods`).
        space: A space (or its name) with a supernet.
        **params: Method parameters.

    Example:
        >>> check_supernet_method("spos", "nb201")
    """
    make = supernet_method_factory(name, space, **params)
    for check in SUPERNET_METHOD_CHECKS.values():
        check(make)
