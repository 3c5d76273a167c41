"""State, types and options shared by the CLI commands (kept apart from ``cli/__init__`` to avoid a
cycle)."""

from __future__ import annotations

from typing import Any

import typer

__all__ = ["Terminated", "invocation", "config_option", "C_option", "N_option"]

#: Arguments of the running command (recorded by commands that write provenance).
invocation: list[str] = []


class Terminated(KeyboardInterrupt):
    """SIGTERM, delivered as an interrupt so that commands clean up exactly as on Ctrl-C."""


def config_option() -> Any:
    """``--config key=value`` (repeatable): build options of the space's networks."""
    return typer.Option(
        None, "--config",
        help="Build option of the space's networks, key=value (repeatable, e.g. --config layers=5); "
             "options not given come from the space's search configuration.",
    )


def C_option() -> Any:  # noqa: N802  (named after the option it makes)
    """``--C``: shortcut for ``--config C=VALUE``."""
    return typer.Option(None, "--C", min=1, help="Shortcut for --config C=VALUE (channels of the first stage).")


def N_option() -> Any:  # noqa: N802
    """``--N``: shortcut for ``--config N=VALUE``."""
    return typer.Option(None, "--N", min=1, help="Shortcut for --config N=VALUE (NB201: cells per stage).")
