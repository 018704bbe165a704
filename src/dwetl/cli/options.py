"""Options shared by the commands, declared once so their names and help never drift apart."""

from __future__ import annotations

from typing import Annotated

import typer

DwOption = Annotated[str | None, typer.Option("--dw", help="Warehouse URL (else DWETL_DW_URL).")]
SourceOption = Annotated[
    str | None, typer.Option("--source", help="Source URL (else DWETL_SOURCE_URL).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
