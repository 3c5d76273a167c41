from __future__ import annotations

import pytest

import nasrank
from nasrank._registry import Registry
from nasrank.exceptions import DuplicateNameError, UnknownNameError


def test_register_get_list_and_pattern():
    reg = Registry("widget")

    @reg.register("alpha")
    class Alpha:
        pass

    reg.register("alpine")(int)
    assert reg.get("alpha") is Alpha
    assert reg.get(" ALPHA ") is Alpha
    assert reg.list() == ["alpha", "alpine"]
    assert reg.list("alph*") == ["alpha"]
    assert "alpha" in reg and "beta" not in reg and len(reg) == 2


def test_duplicate_registration_raises():
    reg = Registry("widget")
    reg.register("a")(int)
    with pytest.raises(DuplicateNameError, match="already registered"):
        reg.register("a")(float)


def test_unknown_name_suggests_and_lists():
    reg = Registry("proxy")
    for name in ["synflow", "snip", "grasp"]:
        reg.register(name)(object)
    with pytest.raises(UnknownNameError) as info:
        reg.get("synflw")
    msg = str(info.value)
    assert "Did you mean 'synflow'?" in msg
    assert "Available: grasp, snip, synflow." in msg
    assert isinstance(info.value, KeyError)


def test_bad_registration_name():
    with pytest.raises(ValueError):
        Registry("x").register("Upper")


def test_create_space_public_api():
    assert "nb201" in nasrank.list_spaces()
    space = nasrank.create_space("nb201")
    assert space.size == 15625
    with pytest.raises(UnknownNameError, match="Did you mean 'nb201'"):
        nasrank.create_space("nb21")


def test_naming_policy_case_and_separator_insensitive():
    """Lookups ignore case, blanks and '_' vs '-'; names are listed as registered."""
    reg = Registry("estimator")
    reg.register("tse-ema")(int)
    reg.register("grad_norm")(float)
    for spelling in ("tse-ema", "tse_ema", "TSE_EMA", " Tse-Ema "):
        assert reg.get(spelling) is int and spelling in reg and reg.canonical(spelling) == "tse-ema"
    assert reg.get("grad-norm") is float and reg.list() == ["grad_norm", "tse-ema"]
    assert reg.list("grad-*") == ["grad_norm"]
    with pytest.raises(UnknownNameError, match="Did you mean 'tse-ema'"):
        reg.get("tse-emma")


def test_names_that_normalise_equal_cannot_both_be_registered():
    reg = Registry("estimator")
    reg.register("tse-ema")(int)
    with pytest.raises(DuplicateNameError, match="already registered as 'tse-ema'"):
        reg.register("tse_ema")(float)
    assert reg.list() == ["tse-ema"] and reg.get("tse_ema") is int


def test_package_registries_accept_both_separators():
    """The package's own registries follow the policy (estimators, proxies, spaces, benchmarks)."""
    from nasrank.benchmarks import BENCHMARKS
    from nasrank.estimators import ESTIMATORS, PROXIES, EstimatorSpec

    assert nasrank.create_estimator("tse_ema", gamma=0.5).gamma == 0.5
    assert EstimatorSpec.parse("TSE_EMA:gamma=0.1").label == "tse-ema:gamma=0.1"
    assert PROXIES.get("grad-norm") is PROXIES.get("grad_norm") and PROXIES.get("grad_norm").name == "grad_norm"
    assert BENCHMARKS.canonical("NB201_MINI") == "nb201-mini"
    assert ESTIMATORS.canonical("vacc_es") == "vacc-es"
