"""The ``nasrank`` command line: thin wrappers over the Python API.

Each command group lives in its own module and is attached to :data:`app` here. Every
:class:`~nasrank.exceptions.NasrankError` raised by a command is reported as one line on stderr
with exit code 2 (no traceback).
"""

from __future__ import annotations

import sys

import typer

from ..exceptions import NasrankError
from . import _bench, _correlate, _proxies, _search, _spaces, _zcpt

app = typer.Typer(
    name="nasrank",
    help="Speedy performance estimation for neural architecture search.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(_spaces.app, name="spaces")
app.add_typer(_bench.app, name="bench")
app.command("proxies")(_proxies.proxies_cmd)
app.command("zcpt")(_zcpt.zcpt_cmd)
app.command("correlate")(_correlate.correlate_cmd)
app.command("search")(_search.search_cmd)
app.command("report")(_search.report_cmd)


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(__version__)
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True,
        help="Print the nasrank version and exit.",
    ),
) -> None:
    """Speedy performance estimation for neural architecture search."""


#: Arguments of the running command (recorded by commands that write provenance).
invocation: list[str] = []


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit code."""
    invocation[:] = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=argv, prog_name="nasrank")  # standalone: usage errors print and exit 2
    except NasrankError as exc:
        typer.echo(f"Error: {' '.join(str(exc).split())}", err=True)
        return 2
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
