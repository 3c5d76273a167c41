"""Conformance suite for supernet training methods (:data:`nasrank.oneshot.SUPERNET_METHODS`).

Every registered method is checked by the tests, on every space with a supernet; third-party
methods can use it too once registered::

    from nasrank.testing.supernets import check_supernet_method
    check_supernet_method("my-method", "nb201")

Each check builds the method on the space's ``"tiny"`` configuration and raises
``AssertionError`` naming the broken invariant. Methods that train the mixture of all paths
(differentiable searches: a step reports ``archs == []``) are held to the same invariants with
their architecture parameters (``method.arch.parameters()``) exempt from "only used weights
change" and from ``set_lr`` (they have their own optimiser); methods that
:attr:`~nasrank.oneshot.SupernetMethod.needs_validation` get validation minibatches.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

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


def _batches(method: Any, n: int = 4, size: int = 6, seed: int = 1234
             ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    shape = method.space.tiny_input_shape
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(size, *shape, generator=g), torch.randint(0, _CLASSES, (size,), generator=g))
            for _ in range(n)]


def _val(method: Any, i: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``i``-th validation minibatch of the checks (fixed, independent of the training ones)."""
    return _batches(method, i + 1, seed=4321)[i]


def _step(method: Any, batch: tuple[torch.Tensor, torch.Tensor], i: int = 0) -> Any:
    """``method.step(batch)``, with the ``i``-th validation minibatch when the method needs one."""
    if getattr(method, "needs_validation", False):
        return method.step(batch, _val(method, i))
    return method.step(batch)


def _arch_names(method: Any) -> set[str]:
    """Names of the supernet parameters that are architecture parameters of a differentiable
    method (exempt from the path checks; they have their own optimiser)."""
    arch = getattr(method, "arch", None)
    params = arch.parameters() if arch is not None and hasattr(arch, "parameters") else []
    ids = {id(p) for p in params}
    return {k for k, p in method.supernet.named_parameters() if id(p) in ids}


def _weights(method: Any) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in method.supernet.state_dict().items()}


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _check_output(m: Any, out: Any) -> None:
    assert isinstance(out, dict) and {"loss", "arch", "archs"} <= set(out), \
        "step() must return a dict with 'loss', 'arch' and 'archs'"
    assert torch.isfinite(torch.tensor(float(out["loss"]))), f"non-finite loss {out['loss']}"
    archs = out["archs"]
    assert isinstance(archs, list), "step()['archs'] must be a list of paths ([]: the mixture)"
    assert archs or _arch_names(m) or getattr(m, "arch", None) is not None, \
        "step()['archs'] may be empty only for a method that trains architecture parameters"
    for a in archs:
        assert m.space.validate(a) == tuple(a), f"step() reported {a!r}, not an architecture of the space"
    expected = tuple(archs[0]) if len(archs) == 1 else None
    assert out["arch"] == expected, "step()['arch'] must be the path when there is one, else None"


def check_step_changes_weights(make: Callable[[int], Any]) -> None:
    """A training step returns a finite ``loss`` and the paths it trained (``arch``, ``archs``),
    and changes the supernet's weights."""
    m = make(0)
    b = _batches(m, 1)[0]
    before = _weights(m)
    out = _step(m, b)
    _check_output(m, out)
    assert not _same(before, _weights(m)), "a training step left every supernet weight unchanged"
    assert m.steps == 1, "steps does not count the training steps"


def _used_parameters(supernet: Any, archs: list[Any], batch: tuple[torch.Tensor, torch.Tensor],
                     mixture: Any = None) -> set[str]:
    """Names of the parameters that get a gradient when (a copy of) ``supernet`` runs the
    multi-hot weights of ``archs`` (or, for ``archs == []``, the weight matrix ``mixture``) on
    ``batch``."""
    net = copy.deepcopy(supernet)
    net.train()
    for p in net.parameters():
        p.grad = None
    x, y = batch
    w = net.paths_weights(archs) if archs else mixture
    F.cross_entropy(net(x, w), y).backward()
    return {k for k, p in net.named_parameters() if p.grad is not None}


def check_step_changes_only_used_paths(make: Callable[[int], Any]) -> None:
    """A step (after three others, so that momentum buffers exist) changes only the parameters
    that receive a gradient when the supernet runs ``paths_weights(archs)`` of the step's
    reported paths: the weights of unused operations stay bit-identical (no update from
    momentum or weight decay either). For a mixture step (``archs == []``) the used operations
    are those with a non-zero weight in ``method.arch_weights()`` before the step (masked
    operations must stay untouched)."""
    m = make(1)
    bs = _batches(m, 4)
    for i, b in enumerate(bs[:3]):
        _step(m, b, i)
    snapshot = copy.deepcopy(m.supernet)
    mixture = m.arch_weights() if hasattr(m, "arch_weights") else None
    before = {k: v.detach().clone() for k, v in m.supernet.named_parameters()}
    out = _step(m, bs[3], 3)
    _check_output(m, out)
    archs = [tuple(a) for a in out["archs"]]
    assert archs or mixture is not None, \
        "a method whose step trains the mixture (archs == []) must have arch_weights()"
    used = _used_parameters(snapshot, archs, bs[3], mixture) | _arch_names(m)
    changed = {k for k, v in m.supernet.named_parameters() if not torch.equal(v, before[k])}
    extra = sorted(changed - used)
    assert not extra, (f"a step changed {len(extra)} parameters its paths do not use, "
                       f"e.g. {extra[:3]} (paths {out['archs']})")
    assert changed, "a training step changed no parameter"


def check_config_roundtrip(make: Callable[[int], Any]) -> None:
    """``config()`` is JSON-able and rebuilds an identical method: ``create_supernet_method(
    cfg["name"], cfg["space"], seed=cfg["seed"], **rest)`` has the same configuration, the same
    initial weights and takes the same steps."""
    from ..oneshot import create_supernet_method
    from ..spaces import SPACES

    m = make(2)
    cfg = m.config()
    assert {"name", "space", "seed"} <= set(cfg), "config() must name the method, space and seed"
    assert cfg["name"] == m.name and cfg["space"] == m.space.name and cfg["seed"] == m.seed
    cfg = json.loads(json.dumps(cfg))  # raises if it is not JSON-able
    space = cfg["space"] if cfg["space"] in SPACES else m.space
    r = create_supernet_method(cfg["name"], space, seed=cfg["seed"],
                               **{k: v for k, v in cfg.items() if k not in ("name", "space", "seed")})
    assert type(r) is type(m), f"config() rebuilt a {type(r).__name__}, not a {type(m).__name__}"
    assert r.config() == m.config(), "the rebuilt method's config() differs"
    assert _same(_weights(m), _weights(r)), "the rebuilt method's initial weights differ"
    for i, b in enumerate(_batches(m, 2)):
        o1, o2 = _step(m, b, i), _step(r, b, i)
        assert float(o1["loss"]) == float(o2["loss"]) and o1["archs"] == o2["archs"], \
            "the rebuilt method trains differently"
    assert _same(_weights(m), _weights(r)), "the rebuilt method's weights diverge"


def check_set_lr(make: Callable[[int], Any]) -> None:
    """``set_lr`` sets the learning rate of the next steps: at 0 a step changes no parameter
    (architecture parameters excepted: they have their own optimiser); the configured base
    ``lr`` (if any) is not changed by it."""
    m = make(0)
    b = _batches(m, 1)[0]
    base = getattr(m, "lr", None)
    m.set_lr(0.0)
    before = {k: v.detach().clone() for k, v in m.supernet.named_parameters()}
    _step(m, b)
    arch = _arch_names(m)
    moved = [k for k, v in m.supernet.named_parameters()
             if k not in arch and not torch.equal(v, before[k])]
    assert not moved, f"after set_lr(0.0) a step changed {moved[:3]}"
    assert getattr(m, "lr", None) == base, "set_lr changed the configured base `lr`"


def check_deterministic(make: Callable[[int], Any]) -> None:
    """The same seed and batches give the same losses and weights; another seed differs."""
    runs = []
    for seed in (3, 3, 4):
        m = make(seed)
        losses = [float(_step(m, b, i)["loss"]) for i, b in enumerate(_batches(m, 3))]
        runs.append((losses, _weights(m)))
    assert runs[0][0] == runs[1][0], "losses differ between two runs with the same seed"
    assert _same(runs[0][1], runs[1][1]), "weights differ between two runs with the same seed"
    assert not _same(runs[0][1], runs[2][1]), "two seeds gave identical supernets"


def check_state_roundtrip(make: Callable[[int], Any]) -> None:
    """A method restored from ``state_dict()`` continues exactly like the original (losses,
    weights, architecture draws), and the saved state is not changed by later steps."""
    m = make(5)
    bs = _batches(m, 4)
    for i, b in enumerate(bs[:2]):
        _step(m, b, i)
    m.set_lr(0.5 * float(getattr(m, "lr", 0.01)))  # the current learning rate is state too
    state = m.state_dict()
    saved = {k: v.clone() for k, v in state["supernet"].items()} if "supernet" in state else None
    cont = [_step(m, b, i + 2) for i, b in enumerate(bs[2:])]
    if saved is not None:
        assert _same(saved, state["supernet"]), "state_dict() shares tensors with the live method"
    r = make(6)  # another seed: everything must come from the state
    r.load_state_dict(state)
    assert r.steps == 2, "load_state_dict did not restore the step count"
    again = [_step(r, b, i + 2) for i, b in enumerate(bs[2:])]
    assert [float(o["loss"]) for o in cont] == [float(o["loss"]) for o in again], \
        "a restored method's losses differ from the original's"
    assert [o.get("archs") for o in cont] == [o.get("archs") for o in again], \
        "a restored method draws other architectures"
    assert _same(_weights(m), _weights(r)), "a restored method's weights diverge"


def check_derive(make: Callable[[int], Any]) -> None:
    """``derive`` returns a valid architecture of the space, reproducibly, without changing the
    supernet; a given score callable decides between candidates."""
    m = make(0)
    bs = _batches(m, 2)
    _step(m, bs[0])
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


def check_epoch_info(make: Callable[[int], Any]) -> None:
    """The trainer's hooks work: ``begin_epoch`` accepts an epoch, ``epoch_info`` returns a
    JSON-able dict, and an ``"arch"`` it reports is an architecture string of the space."""
    m = make(0)
    b = _batches(m, 1)[0]
    m.begin_epoch(0, 2)
    _step(m, b)
    info = m.epoch_info(b)
    assert isinstance(info, dict), "epoch_info() must return a dict"
    json.dumps(info)  # raises if it is not JSON-able
    if "arch" in info:
        a = m.space.from_str(info["arch"])
        assert m.space.validate(a) == tuple(a), f"epoch_info() reported {info['arch']!r}"


def check_mixed_precision(make: Callable[[int], Any]) -> None:
    """A step in ``bf16`` (every method) and, where the method
    :meth:`~nasrank.oneshot.SupernetMethod.supports_precision` it, in ``"16"`` returns a finite
    float loss and keeps the weights float32 and finite; ``"16"`` is otherwise refused with a
    one-line :class:`~nasrank.exceptions.ConfigError`."""
    from ..exceptions import ConfigError

    for precision in ("bf16", "16"):
        m = make(0)
        if not m.supports_precision(precision):
            try:
                m.set_precision(precision)
            except ConfigError as e:
                assert "\n" not in str(e) and "bf16" in str(e), f"unhelpful precision error: {e}"
                continue
            raise AssertionError(f"set_precision({precision!r}) accepted a precision the method does not support")
        m.set_precision(precision)
        assert m.precision == precision, "set_precision() did not set `precision`"
        out = _step(m, _batches(m, 1)[0])
        loss = out["loss"]
        assert isinstance(loss, float) and loss == loss and abs(loss) < float("inf"), \
            f"step() in precision {precision} returned the loss {loss!r}"
        for k, v in _weights(m).items():
            if v.is_floating_point():
                assert v.dtype == torch.float32, f"precision {precision} left {k} in {v.dtype}"
                assert bool(torch.isfinite(v).all()), f"precision {precision} made {k} non-finite"


SUPERNET_METHOD_CHECKS: dict[str, Callable[[Callable[[int], Any]], None]] = {
    "step_changes_weights": check_step_changes_weights,
    "step_changes_only_used_paths": check_step_changes_only_used_paths,
    "config_roundtrip": check_config_roundtrip,
    "set_lr": check_set_lr,
    "deterministic": check_deterministic,
    "state_roundtrip": check_state_roundtrip,
    "derive": check_derive,
    "epoch_info": check_epoch_info,
    "mixed_precision": check_mixed_precision,
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
