"""Every registered zero-cost proxy must pass the proxy conformance suite."""

from __future__ import annotations

import math

import pytest
import torch

import nasrank
import nasrank.testing.proxies as suite
from nasrank._registry import Registry
from nasrank.estimators.zero_cost import Proxy, ProxyContext
from nasrank.exceptions import UnknownNameError
from nasrank.testing.proxies import PROXY_CHECKS, check_proxy, tiny_batch, tiny_network


@pytest.mark.parametrize("check", sorted(PROXY_CHECKS))
@pytest.mark.parametrize("proxy", nasrank.list_proxies())
def test_proxy_conformance(proxy: str, check: str) -> None:
    PROXY_CHECKS[check](proxy, {})


@pytest.mark.parametrize("proxy, options", [("gradsign", {"method": "loop"}), ("nwot", {"visited_only": False}),
                                            ("synflow", {"keep_bn": True}), ("jacob_cov", {"solver": "eig"})])
def test_proxy_conformance_with_options(proxy: str, options: dict) -> None:
    check_proxy(proxy, **options)


def test_names_follow_the_registry_policy() -> None:
    """``grad-norm`` finds ``grad_norm``; results are keyed by the registered name."""
    net, batch = tiny_network(), tiny_batch()
    r = nasrank.compute_proxies(net, batch, ["GRAD-NORM", "grad_norm"])
    assert list(r) == ["grad_norm"]
    assert nasrank.estimators.zero_cost.proxy_info("l2-norm")["name"] == "l2_norm"
    assert nasrank.list_proxies("grad-*") == ["grad_norm"]
    with pytest.raises(UnknownNameError, match="Did you mean 'snip'"):
        check_proxy("snipp")


class _Meddling(Proxy):
    """Zeroes the caller's weights."""

    def compute(self, ctx: ProxyContext) -> float:
        with torch.no_grad():
            for p in ctx.model.parameters():
                p.zero_()
        return 1.0


class _Noisy(Proxy):
    """Draws from torch's global RNG."""

    def compute(self, ctx: ProxyContext) -> float:
        return float(torch.randn(1))


class _Modal(Proxy):
    """Depends on the caller's train/eval mode."""

    def compute(self, ctx: ProxyContext) -> float:
        return float(ctx.model.training)


class _ReadsData(Proxy):
    """Declares batch_size=None but reads the inputs."""

    batch_size = None

    def compute(self, ctx: ProxyContext) -> float:
        return float(ctx.inputs.sum())


@pytest.mark.parametrize("cls, check, message", [
    (_Meddling, "leaves_model_alone", "changed the caller's"),
    (_Noisy, "deterministic", "global RNG"),
    (_Modal, "bn_mode", "in train mode but"),
    (_ReadsData, "batch_size", "depends on the batch"),
])
def test_a_broken_proxy_fails_the_suite(monkeypatch: pytest.MonkeyPatch, cls: type, check: str, message: str) -> None:
    """The suite catches each way of breaking the contract (on a private registry)."""
    reg = Registry("proxy", name_attr="name")
    reg.register("broken")(cls)
    assert cls.name == "broken"
    monkeypatch.setattr(suite, "PROXIES", reg)
    with pytest.raises(AssertionError, match=message):
        suite.PROXY_CHECKS[check]("broken", {})


def test_inf_becomes_nan() -> None:
    class Infinite(Proxy):
        """Returns inf."""

        def compute(self, ctx: ProxyContext) -> float:
            return float("inf")

    assert math.isnan(Infinite()(tiny_network(), tiny_batch()))
