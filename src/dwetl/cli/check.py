"""`dwetl check`: does the live warehouse still match the shipped DDL and the expected scope?"""

from __future__ import annotations

import json
from typing import Annotated, Any, Protocol

import typer

from dwetl.cli.options import DdlDirOption, DwOption, SqlDirOption


def check(
    source: Annotated[
        bool,
        typer.Option(
            "--source",
            help="Check the extract files against the source and the extract contract instead "
            "(`dwetl contract`): columns, types, :since, the sampled values; nothing is loaded.",
        ),
    ] = False,
    source_url: Annotated[
        str | None,
        typer.Option("--source-url", help="With --source: the source URL (else DWETL_SOURCE_URL)."),
    ] = None,
    sql_dir: SqlDirOption = None,
    limit: Annotated[
        int, typer.Option("--limit", help="With --source: rows read per extract file.", min=1)
    ] = 1000,
    dw: DwOption = None,
    ddl_dir: DdlDirOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON object.")
    ] = False,
) -> None:
    """Compare the live warehouse with the DDL (tables, columns, keys, CHECKs) and the scope.

    Exit 0 when they match, 1 with one line per difference. With --source: run each extract
    file of --sql-dir on the source (--limit rows) and check it against the extract contract;
    exit 1 with one line per problem (file, column, what to do).
    """
    if source:
        _check_source(source_url, dw, sql_dir, limit, as_json)
        return
    from dwetl.core.config import load_settings
    from dwetl.ops.check import check_warehouse
    from dwetl.warehouse import open_warehouse

    settings = load_settings(dw=dw, ddl_dir=ddl_dir)
    with open_warehouse(settings.dw, settings, read_only=True) as wh:
        report = check_warehouse(wh, settings)
    _print_report(report, as_json)


def _check_source(
    source_url: str | None, dw: str | None, sql_dir: str | None, limit: int, as_json: bool
) -> None:
    from dwetl.core.config import load_settings
    from dwetl.ops.check_source import check_source
    from dwetl.source.contract.build import build_contract, contract_sets

    settings = load_settings(source=source_url, dw=dw, sql_dir=sql_dir)
    sets, ddl, note = contract_sets(settings)
    report = check_source(settings, build_contract(sets, ddl=ddl, ddl_note=note), limit=limit)
    _print_report(report, as_json)


class _Report(Protocol):
    @property
    def ok(self) -> bool: ...
    def as_dict(self) -> dict[str, Any]: ...
    def lines(self) -> list[str]: ...


def _print_report(report: _Report, as_json: bool) -> None:
    """Print a check's report as JSON or lines; exit 1 when it found something wrong."""
    if as_json:
        typer.echo(json.dumps(report.as_dict(), default=str, ensure_ascii=False))
    else:
        for line in report.lines():
            typer.echo(line)
    if not report.ok:
        raise typer.Exit(1)
