"""The `dwetl` console script: one Typer app, one module per command group."""

from __future__ import annotations

import sys

import typer

from dwetl.errors import DwetlError

app = typer.Typer(
    name="dwetl",
    help="Batch ETL from the retail ERP into the sales data warehouse.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Batch ETL from the retail ERP into the sales data warehouse."""


def _register() -> None:
    # Each command module adds its commands to `app` when imported.
    from dwetl.cli import commands  # noqa: F401


def main() -> None:
    """Entry point: runs the app; a DwetlError becomes one line on stderr and its exit code."""
    _register()
    try:
        app()
    except DwetlError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
