"""`dwetl version`."""

from __future__ import annotations

import typer

from dwetl import __version__
from dwetl.cli.app import app


@app.command()
def version() -> None:
    """Print dwetl's version."""
    typer.echo(__version__)
