"""`dwetl version`."""

from __future__ import annotations

import typer

from dwetl import __version__


def version() -> None:
    """Print dwetl's version."""
    typer.echo(__version__)
