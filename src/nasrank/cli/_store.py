"""``nasrank store``: inspect a results store and move its evaluation records between stores."""

from __future__ import annotations

from pathlib import Path

import typer

from ._common import print_table

app = typer.Typer(help="Inspect a results store; export and import its evaluation records.",
                  no_args_is_help=True)


@app.command("info")
def info_cmd(
    store: Path = typer.Argument(..., help="Results store (a --store file of search, bench build, ...)."),  # noqa: B008
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Records per space, evaluator fingerprint and status, and the search runs of a store."""
    import json

    from rich.table import Table

    from ..store import ResultStore

    with ResultStore(store, read_only=True) as st:
        groups = st.counts()
        runs = st.search_runs()
    summary = {
        "store": str(store),
        "records": sum(g["ok"] + g["diverged"] + g["error"] for g in groups),
        "groups": [{**g, "cost_seconds": round(g["cost_seconds"], 3)} for g in groups],
        "search_runs": [{"run_id": r["run_id"], "status": r["status"], "steps": r["steps"],
                         "spent": r["spent"]} for r in runs],
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    typer.echo(f"{store}: evaluation records {summary['records']}, search runs {len(runs)}")
    if groups:
        t = Table("space", "evaluator fingerprint", "ok", "diverged", "error", "cost (h)")
        for g in summary["groups"]:
            t.add_row(g["space"], g["fingerprint"], str(g["ok"]), str(g["diverged"]), str(g["error"]),
                      f"{g['cost_seconds'] / 3600:.2f}")
        print_table(t)
    if runs:
        t = Table("search run", "status", "steps", "spent")
        for r in summary["search_runs"]:
            t.add_row(r["run_id"], r["status"], str(r["steps"]), f"{r['spent']:.6g}")
        print_table(t)


@app.command("export")
def export_cmd(
    store: Path = typer.Argument(..., help="Results store to read."),  # noqa: B008
    out: Path = typer.Argument(..., help="Records file to write (JSON lines; gzip when it ends in .gz)."),  # noqa: B008
    fingerprint: str = typer.Option(None, "--fingerprint", help="Only the records of this evaluator fingerprint."),
    space: str = typer.Option(None, "--space", help="Only the records of this space."),
    skip: list[Path] = typer.Option(  # noqa: B008
        None, "--skip", help="Leave out the records already in this earlier export (repeatable): successive "
                             "exports of a growing store then hold each record once."),
) -> None:
    """Write a store's evaluation records to a plain-data file (for nasrank store import elsewhere)."""
    from ..store import ResultStore, read_records

    keys = {r.key for path in (skip or []) for r in read_records(path)}
    with ResultStore(store, read_only=True) as st:
        n = st.export_records(out, fingerprint=fingerprint, space=space, skip=keys)
    typer.echo(f"{n} records written to {out}" + (f" ({len(keys)} left out: already in --skip files)" if keys else ""))


@app.command("import")
def import_cmd(
    store: Path = typer.Argument(..., help="Results store to add to (created if missing; its directory must exist)."),  # noqa: B008
    files: list[Path] = typer.Argument(..., help="Records files written by nasrank store export."),  # noqa: B008
) -> None:
    """Add the records of exported files to a store (records it already has are kept as they are)."""
    from ..store import ResultStore, read_records

    batches = [(path, list(read_records(path))) for path in files]  # every file checked before writing
    with ResultStore(store) as st:
        for path, records in batches:
            added, kept = st.import_records(records)
            typer.echo(f"{path}: {added} records added, {kept} already in {store}")
