"""The ``nasrank`` command line: thin wrappers over the Python API.

Each command group lives in its own module and is attached to :data:`app` here. Every
:class:`~nasrank.exceptions.NasrankError` raised by a command is reported as one line on stderr
with exit code 2 (no traceback).
"""

from __future__ import annotations

import sys

import typer

from ..exceptions import NasrankError
from . import (
    _bench,
    _correlate,
    _darts,
    _oneshot,
    _proxies,
    _search,
    _spaces,
    _store,
    _synthetic,
    _zcpt,
)
from ._common import Terminated, invocation

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
app.add_typer(_oneshot.app, name="oneshot")
app.add_typer(_synthetic.app, name="synthetic")
app.add_typer(_proxies.app, name="proxies")
app.add_typer(_store.app, name="store")
app.command("darts")(_darts.darts_cmd)
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




def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit code.

    Bad input of any kind -- a usage error caught by the argument parser or a
    :class:`~nasrank.exceptions.NasrankError` raised by a command -- prints exactly one line
    ``Error: ...`` on stderr and returns 2. Ctrl-C (or SIGTERM) returns 130 (143); commands that
    can resume say how before they return.
    """
    import signal

    invocation[:] = list(sys.argv[1:] if argv is None else argv)
    # click's exception base (vendored by newer Typer releases, a dependency of older ones)
    click_error = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
    click_exit, click_abort = typer.Exit, typer.Abort
    old_term = None
    try:
        old_term = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (e.g. called from a worker): leave signals alone
        pass
    try:
        command = typer.main.get_command(app)
        rv = command.main(args=list(invocation), prog_name="nasrank", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except NasrankError as exc:
        typer.echo(f"Error: {_one_line(exc)}", err=True)
        return 2
    except click_exit as exc:
        return int(exc.exit_code or 0)
    except click_error as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help was printed; usage error as click
            return 2
        ctx = getattr(exc, "ctx", None)
        path = ctx.command_path if ctx is not None else "nasrank"
        msg = _one_line(exc.format_message())
        typer.echo(f"Error: {msg.rstrip('.')}; see '{path} --help'", err=True)
        return 2
    except (click_abort, KeyboardInterrupt) as exc:
        cause = exc.__cause__ if isinstance(exc, click_abort) else exc
        term = isinstance(cause, Terminated)
        typer.echo("Terminated." if term else "Interrupted.", err=True)
        return 143 if term else 130
    except BrokenPipeError:  # `nasrank ... | head`: the reader left; not an error of ours
        return 0
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
