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
