"""Repository-wide pytest hooks (apply to the tests and to the package's doctests).

The README's install (``pip install -e ".[dev]"``) has none of the optional extras, and the suite
must pass there. A docstring example that demonstrates an extra is listed in
:data:`DOCTEST_EXTRAS` and is skipped, with the reason, when the extra is not installed; with the
extras installed (CI's second stage) it runs like any other doctest.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

#: Doctest name -> (module it needs, the extra that installs it).
DOCTEST_EXTRAS: dict[str, tuple[str, str]] = {
    "nasrank.integrations._optuna": ("optuna", "optuna"),
    "nasrank.integrations._optuna.TSEPruner": ("optuna", "optuna"),
    "nasrank.integrations._optuna.TSEPruner.rungs_upto": ("optuna", "optuna"),
    "nasrank.integrations._optuna.report_losses": ("optuna", "optuna"),
    "nasrank.integrations._optuna.trial_losses": ("optuna", "optuna"),
    "nasrank.integrations._ray_tune": ("ray", "ray"),
    "nasrank.integrations._ray_tune.TSEScheduler": ("ray", "ray"),
    "nasrank.integrations._ray_tune.TSEScheduler.rungs_upto": ("ray", "ray"),
    "nasrank.integrations._ray_tune.TSEScheduler.result_callback": ("ray", "ray"),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if not isinstance(item, pytest.DoctestItem):
            continue
        need = DOCTEST_EXTRAS.get(item.name)
        if need is not None and importlib.util.find_spec(need[0]) is None:
            item.add_marker(pytest.mark.skip(
                reason=f"needs {need[0]}: pip install 'nasrank[{need[1]}]'"
            ))


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Every test and doctest uses tiny networks: one thread is fastest and steadiest on a
    shared 2-core box."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
