"""State and types shared by the CLI commands (kept apart from ``cli/__init__`` to avoid a cycle)."""

from __future__ import annotations

__all__ = ["Terminated", "invocation"]

#: Arguments of the running command (recorded by commands that write provenance).
invocation: list[str] = []


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered as an interrupt so that commands clean up exactly as on Ctrl-C."""
