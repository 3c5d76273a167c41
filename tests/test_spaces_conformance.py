"""Every registered search space must pass the conformance suite."""

from __future__ import annotations

import pytest

import nasrank
from nasrank.testing import SPACE_CHECKS


@pytest.mark.parametrize("check", sorted(SPACE_CHECKS))
@pytest.mark.parametrize("space_name", nasrank.list_spaces())
def test_space_conformance(space_name: str, check: str) -> None:
    SPACE_CHECKS[check](nasrank.create_space(space_name))
