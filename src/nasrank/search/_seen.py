"""``exclude_seen``: re-draw a proposed cell that the run has already asked.

Random search, regularised evolution and their proxy-assisted variants take ``exclude_seen``
(default ``False`` = the published protocol): every proposed cell that this run has already
asked is drawn again, up to :data:`SEEN_TRIES` times. It is meant for a deterministic tabular
signal (e.g. NAS-Bench-201's final validation accuracy), where a repeated query returns the same
number and so only spends budget; the published scripts query a noisy 12-epoch accuracy of a
random training seed, for which a repeat is a fresh measurement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..exceptions import ConfigError
from ._base import Arch, Query, Strategy

__all__ = ["SEEN_TRIES", "ExcludeSeen"]

#: Draws of a proposal ``exclude_seen`` makes before it accepts an already asked cell.
SEEN_TRIES = 100


def _check_bool(name: str, v: Any) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise ConfigError(f"`{name}` must be a bool (True or False), got {v!r}")
    return bool(v)


class ExcludeSeen(Strategy):
    """``exclude_seen`` for strategies whose candidates come from ``_random_arch`` / ``_mutate``.

    The cells asked so far (``seen_``) are every query in ``history_`` and ``pending_``: the set
    is kept up to date by :meth:`ask` and rebuilt from them by :meth:`load_state_dict`, so the
    saved state needs nothing new and a restored run continues identically. With a proxy
    assistance every member of a pool is re-drawn the same way.
    """

    def _init_seen(self, exclude_seen: Any) -> None:
        self.exclude_seen = _check_bool("exclude_seen", exclude_seen)
        self.seen_: set[Arch] = set()

    def ask(self) -> Query | None:
        q = super().ask()
        if q is not None:
            self.seen_.add(q.arch)
        return q

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.seen_ = {q.arch for q, _ in self.history_} | {q.arch for q in self.pending_.values()}

    def params(self) -> dict[str, Any]:
        p = super().params()
        if not p.get("exclude_seen"):  # the default: run ids of earlier stores stay valid
            p.pop("exclude_seen", None)
        return p

    def _unseen(self, draw: Callable[[], Arch]) -> Arch:
        """``draw()``, drawn again while it gives an asked cell (at most :data:`SEEN_TRIES` draws)."""
        arch = draw()
        if not self.exclude_seen:
            return arch
        size = getattr(self.space, "size", None)
        if size is not None and len(self.seen_) >= size:
            return arch  # the whole space was asked
        for _ in range(SEEN_TRIES - 1):
            if tuple(arch) not in self.seen_:
                break
            arch = draw()
        return arch

    def _random_arch(self) -> Arch:
        return self._unseen(super()._random_arch)

    def _mutate(self, arch: Arch) -> Arch:
        return self._unseen(lambda: Strategy._mutate(self, arch))
