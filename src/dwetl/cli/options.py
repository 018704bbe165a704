"""Options shared by the commands, declared once so their names and help never drift apart."""

from __future__ import annotations

import shlex
from typing import Annotated

import typer

from dwetl.core.masking import scrub

DwOption = Annotated[str | None, typer.Option("--dw", help="Warehouse URL (else DWETL_DW_URL).")]
SourceOption = Annotated[
    str | None, typer.Option("--source", help="Source URL (else DWETL_SOURCE_URL).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def dw_argument(dw: str | None) -> str:
    """` --dw URL` (password masked, shell-quoted) for a command line printed as advice, when
    the command was given --dw; else "" (the environment or dwetl.toml still apply).

    >>> dw_argument(None), dw_argument("duckdb:///tmp/my dw.duckdb")
    ('', " --dw 'duckdb:///tmp/my dw.duckdb'")
    """
    return "" if dw is None else f" --dw {shlex.quote(scrub(dw))}"
