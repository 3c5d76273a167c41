"""Conformance checks for zero-cost proxies (the :class:`~nasrank.estimators.zero_cost.ZeroCostProxy`
contract).

Each check takes a registered proxy name and the proxy's constructor options and raises
``AssertionError`` naming the broken invariant. They run on a tiny convolutional network (two
Conv-BN-ReLU blocks, global pooling, a linear head; ``forward_features`` gives the pre-pooling
features) and a batch of six 8 x 8 images, so the whole suite takes well under a second per
proxy.

Example::

    from nasrank.testing.proxies import check_proxy
    check_proxy("synflow")
    check_proxy("gradsign", method="loop")
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from ..estimators import PROXIES
from ..estimators.zero_cost import BN_MODES, ZeroCostProxy, compute_proxies, proxy_info

__all__ = ["PROXY_CHECKS", "check_proxy", "tiny_network", "tiny_batch"]

_BATCH = 6
_SIDE = 8
_CLASSES = 5


class _TinyNet(nn.Module):
    """Conv-BN-ReLU x 2, global average pooling, linear head (logits only)."""

    def __init__(self, in_channels: int = 3, width: int = 4, num_classes: int = _CLASSES) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU())
        self.cell = nn.Sequential(nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(width, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.cell(self.stem(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.forward_features(x)).flatten(1))


def tiny_network(in_channels: int = 3, seed: int = 0) -> nn.Module:
    """The network the checks score: its weights are drawn from ``seed`` (global RNG untouched).

    Example:
        >>> tiny_network(in_channels=1)(torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 5])
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _TinyNet(in_channels)


def tiny_batch(in_channels: int = 3, seed: int = 0, size: int = _BATCH) -> tuple[torch.Tensor, torch.Tensor]:
    """A reproducible ``(inputs, targets)`` batch for :func:`tiny_network`.

    Example:
        >>> x, y = tiny_batch(in_channels=1)
        >>> tuple(x.shape), tuple(y.shape)
        ((6, 1, 8, 8), (6,))
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(size, in_channels, _SIDE, _SIDE, generator=g)
    y = torch.randint(0, _CLASSES, (size,), generator=g)
    return x, y


def _make(name: str, options: Mapping[str, Any]) -> Any:
    return PROXIES.get(name)(**dict(options))


def _same(a: float, b: float) -> bool:
    """Equal, both NaN counting as equal."""
    return (math.isnan(a) and math.isnan(b)) or a == b


def _check_value(name: str, v: Any, what: str) -> None:
    assert isinstance(v, float), f"{name}: {what} returned {type(v).__name__}, not a float"
    assert not math.isinf(v), f"{name}: {what} returned {v}; undefined values must be NaN, never inf"


def check_metadata(name: str, options: Mapping[str, Any]) -> None:
    """Name, sign, BatchNorm mode and batch size are declared, typed, and reported consistently
    by the class, an instance, :func:`~nasrank.estimators.zero_cost.proxy_info` and
    :func:`~nasrank.estimators.zero_cost.compute_proxies` (``details=True``)."""
    cls = PROXIES.get(name)
    proxy = _make(name, options)
    assert isinstance(proxy, ZeroCostProxy), f"{name}: an instance does not meet the ZeroCostProxy protocol"
    assert cls.name == PROXIES.canonical(name), f"{name}: class attribute name is {cls.name!r}"
    assert isinstance(cls.higher_is_better, bool), f"{name}: higher_is_better must be a bool"
    assert cls.bn_mode in BN_MODES, f"{name}: bn_mode {cls.bn_mode!r} is not one of {BN_MODES}"
    bs = cls.batch_size
    assert bs is None or (isinstance(bs, int) and not isinstance(bs, bool) and bs >= 1), (
        f"{name}: batch_size must be None or an int >= 1, got {bs!r}"
    )
    info = proxy_info(name)
    for key in ("name", "higher_is_better", "bn_mode", "batch_size"):
        assert info[key] == getattr(cls, key), f"{name}: proxy_info()[{key!r}] disagrees with the class"
    assert info["summary"], f"{name}: the class docstring gives no one-line summary"
    res = compute_proxies(tiny_network(), tiny_batch(), [name], options={name: dict(options)}, details=True)
    assert res[cls.name].higher_is_better is cls.higher_is_better, f"{name}: compute_proxies reports another sign"


def check_value(name: str, options: Mapping[str, Any]) -> None:
    """Calling the proxy returns a float (NaN where undefined, never inf), the same value as
    :func:`~nasrank.estimators.zero_cost.compute_proxies`."""
    net, batch = tiny_network(), tiny_batch()
    v = _make(name, options)(net, batch, seed=0)
    _check_value(name, v, "proxy(model, batch)")
    ref = compute_proxies(net, batch, [name], seed=0, options={name: dict(options)})[PROXIES.canonical(name)]
    assert _same(v, ref), f"{name}: proxy(model, batch) = {v} but compute_proxies gives {ref}"


def _snapshot(model: nn.Module) -> dict[str, Any]:
    return {
        "state": {k: v.detach().clone() for k, v in model.state_dict(keep_vars=True).items()},
        "grads": {k: None if p.grad is None else p.grad.detach().clone() for k, p in model.named_parameters()},
        "requires_grad": {k: p.requires_grad for k, p in model.named_parameters()},
        "training": {k: m.training for k, m in model.named_modules()},
        "params": {k: id(p) for k, p in model.named_parameters()},
    }


def _same_snapshot(a: dict[str, Any], b: dict[str, Any], name: str, when: str) -> None:
    for k, v in a["state"].items():
        assert torch.equal(v, b["state"][k]), f"{name} changed the caller's {k} ({when})"
    for k, g in a["grads"].items():
        h = b["grads"][k]
        assert (g is None) == (h is None) and (g is None or torch.equal(g, h)), (
            f"{name} changed the caller's gradient of {k} ({when})"
        )
    for key in ("requires_grad", "training", "params"):
        assert a[key] == b[key], f"{name} changed the caller's {key.replace('_', ' ')} flags ({when})"


def check_leaves_model_alone(name: str, options: Mapping[str, Any]) -> None:
    """The caller's weights, buffers, gradients, ``requires_grad`` flags and train/eval modes are
    exactly as they were, for a model in train mode, in eval mode and in a mix of both."""
    batch = tiny_batch()
    for when in ("train mode", "eval mode", "mixed modes"):
        net = tiny_network()
        net.train(when != "eval mode")
        if when == "mixed modes":
            net.cell.eval()
            net.head.weight.requires_grad_(False)
        g = torch.Generator().manual_seed(1)
        for p in net.stem.parameters():  # some gradients set, the others None
            p.grad = torch.randn(p.shape, generator=g)
        before = _snapshot(net)
        _make(name, options)(net, batch, seed=0)
        _same_snapshot(before, _snapshot(net), name, when)


def check_deterministic(name: str, options: Mapping[str, Any]) -> None:
    """The same seed gives the same value whatever the global RNG state, and the global torch
    RNG is not consumed (all randomness comes from the ``seed`` argument)."""
    net, batch = tiny_network(), tiny_batch()
    values = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        state = torch.get_rng_state()
        values.append(_make(name, options)(net, batch, seed=3))
        assert torch.equal(state, torch.get_rng_state()), f"{name} draws from torch's global RNG; use the seed"
    assert _same(values[0], values[1]), f"{name}: seed 3 gave {values[0]} and then {values[1]}"


def check_bn_mode(name: str, options: Mapping[str, Any]) -> None:
    """The proxy fixes its own BatchNorm behaviour (``bn_mode``): the value does not depend on
    whether the caller's model is in train or eval mode."""
    batch = tiny_batch()
    train_net, eval_net = tiny_network(), tiny_network()
    train_net.train()
    eval_net.eval()
    a = _make(name, options)(train_net, batch)
    b = _make(name, options)(eval_net, batch)
    assert _same(a, b), (
        f"{name} (bn_mode {PROXIES.get(name).bn_mode!r}) gives {a} in train mode but {b} in eval mode"
    )


def check_batch_size(name: str, options: Mapping[str, Any]) -> None:
    """A proxy declaring ``batch_size=None`` reads no data: other inputs, even another number
    of them, give the same value. Others accept a batch of any size >= 2."""
    net = tiny_network()
    proxy = _make(name, options)
    if PROXIES.get(name).batch_size is None:
        a, b = proxy(net, tiny_batch(seed=0)), proxy(net, tiny_batch(seed=1, size=3))
        assert _same(a, b), f"{name} declares batch_size=None but its value depends on the batch ({a} vs {b})"
    else:
        _check_value(name, proxy(net, tiny_batch(size=2)), "a batch of 2")


def check_one_channel(name: str, options: Mapping[str, Any]) -> None:
    """A grey-scale network (1 input channel) on a 1-channel batch works and gives a float."""
    v = _make(name, options)(tiny_network(in_channels=1), tiny_batch(in_channels=1))
    _check_value(name, v, "a 1-channel network")


def check_degenerate_network(name: str, options: Mapping[str, Any]) -> None:
    """A network whose output ignores its input (zero stem weights) gives a float or NaN: no
    exception, no inf, no sentinel value."""
    net = tiny_network()
    with torch.no_grad():
        net.stem[0].weight.zero_()
    v = _make(name, options)(net, tiny_batch())
    _check_value(name, v, "a network whose output ignores its input")
    assert math.isnan(v) or abs(v) < 1e7, f"{name} returned {v} on a degenerate network: a sentinel? use NaN"


PROXY_CHECKS: dict[str, Callable[[str, Mapping[str, Any]], None]] = {
    "metadata": check_metadata,
    "value": check_value,
    "leaves_model_alone": check_leaves_model_alone,
    "deterministic": check_deterministic,
    "bn_mode": check_bn_mode,
    "batch_size": check_batch_size,
    "one_channel": check_one_channel,
    "degenerate_network": check_degenerate_network,
}


def check_proxy(name: str, **options: Any) -> None:
    """Run every conformance check on the registered proxy ``name``.

    Args:
        name: Registry name (see :func:`nasrank.list_proxies`).
        **options: Constructor options of the proxy (e.g. ``method="loop"`` for ``gradsign``).

    Raises:
        AssertionError: naming the first broken invariant.
        UnknownNameError: if no proxy has that name.

    Example:
        >>> check_proxy("snip")
        >>> check_proxy("gradsign", method="loop")
    """
    for check in PROXY_CHECKS.values():
        check(name, options)
