"""`dwetl check`: does the live warehouse still match the shipped DDL and the expected scope?"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from dwetl.cli.app import app
from dwetl.cli.options import DwOption
from dwetl.core.config import load_settings
from dwetl.ops.check import check_warehouse
from dwetl.warehouse import open_warehouse


@app.command()
def check(
    dw: DwOption = None,
    ddl_dir: Annotated[
        str | None,
        typer.Option("--ddl-dir", help="Another DDL folder than the shipped sql/ddl."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON object.")
    ] = False,
) -> None:
    """Compare the live warehouse with the DDL (tables, columns, keys, CHECKs) and the scope.

    Exit 0 when they match, 1 with one line per difference.
    """
    settings = load_settings(dw=dw, ddl_dir=ddl_dir)
    with open_warehouse(settings.dw, settings, read_only=True) as wh:
        report = check_warehouse(wh, settings)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), default=str, ensure_ascii=False))
    else:
        for line in report.lines():
            typer.echo(line)
    if not report.ok:
        raise typer.Exit(1)
