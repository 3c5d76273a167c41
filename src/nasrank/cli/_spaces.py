"""``nasrank spaces``: inspect search spaces and architectures."""

from __future__ import annotations

import json

import typer

from .. import create_space, list_spaces
from ._common import print_table

app = typer.Typer(help="Inspect search spaces and architectures.", no_args_is_help=True)


@app.command("list")
def list_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the registered search spaces."""
    rows = []
    for name in list_spaces():
        space = create_space(name)
        doc = (type(space).__doc__ or "").strip().splitlines()[0]
        rows.append({"name": name, "size": space.size, "published_size": space.published_size,
                     "description": doc})
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table("name", "architectures")
    table.add_column("description", overflow="fold")
    for r in rows:
        size = "-" if r["size"] is None else f"{r['size']:,}"
        if r["published_size"] is not None and r["published_size"] != r["size"]:
            size += f" (paper: {r['published_size']:,})"
        table.add_row(r["name"], size, r["description"])
    print_table(table)


@app.command("show")
def show_cmd(
    space_name: str = typer.Argument(..., metavar="SPACE", help="Search space name, e.g. nb201."),
    arch: str = typer.Option(..., "--arch", "-a", help="Architecture in the space's string format."),
    num_classes: int = typer.Option(10, "--num-classes", min=1, help="Classifier outputs."),
    input_size: int = typer.Option(32, "--input-size", min=1, help="Input image height = width."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Show validity, canonical form, parameter count and FLOPs of an architecture."""
    space = create_space(space_name)
    a = space.from_str(arch)
    info: dict[str, object] = {
        "space": space.name,
        "arch": space.to_str(a),
        "encoding": list(a),
        "valid": space.is_valid(a),
        "canonical": space.to_str(space.canonical(a)),
        "canonical_key": str(space.canonical_key(a)),
        "params": space.num_params(a, num_classes=num_classes),
    }
    if hasattr(space, "flops"):
        info["flops"] = space.flops(a, input_size=(3, input_size, input_size), num_classes=num_classes)
        info["flops_convention"] = getattr(space, "flops_convention",
                                           "multiply-accumulates of one forward pass per image")
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    from rich.table import Table

    table = Table(show_header=False, box=None)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in info.items():
        if key == "params":
            value = f"{value:,} ({value / 1e6:.6f} M)"
        elif key == "flops":
            value = f"{value:,} ({value / 1e6:.4f} M)"
        table.add_row(f"[bold]{key}[/bold]", str(value))
    print_table(table)
