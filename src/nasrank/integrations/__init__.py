"""Training-speed estimation inside the tools users already run (optional extras).

Each integration lives in a private module and is imported on first attribute access (PEP 562), so
``import nasrank.integrations`` works without Optuna, Ray or any other extra installed; using an
integration whose package is missing raises :class:`~nasrank.exceptions.MissingDependencyError`
with a one-line install hint.

Example:
    >>> import nasrank.integrations as integ
    >>> "TSEPruner" in integ.__all__
    True
"""

from __future__ import annotations

from typing import Any

#: Public name -> private module (relative to this package) that defines it.
_LAZY: dict[str, str] = {
    "tse_score": "_tse_rank",
    "epoch_loss": "_tse_rank",
    "rank_decision": "_tse_rank",
    "RankDecision": "_tse_rank",
    "TSEPruner": "_optuna",
    "report_losses": "_optuna",
    "trial_losses": "_optuna",
    "TSEScheduler": "_ray_tune",
    "TSEMonitor": "_callbacks",
    "TSELeaderboard": "_callbacks",
    "hf_callback": "_callbacks",
}

__all__ = [
    "tse_score",
    "epoch_loss",
    "rank_decision",
    "RankDecision",
    "TSEPruner",
    "report_losses",
    "trial_losses",
    "TSEScheduler",
    "TSEMonitor",
    "TSELeaderboard",
    "hf_callback",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'nasrank.integrations' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
