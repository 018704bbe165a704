"""`dwetl init`: set up (or upgrade) the warehouse and prove what is there."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from dwetl.cli.options import DdlDirOption, DwOption, SourceOption
from dwetl.core.config import load_settings
from dwetl.core.errors import DwetlError
from dwetl.core.logs import setup_logging

if TYPE_CHECKING:
    from dwetl.ops.init import InitReport


def init(
    dw: DwOption = None,
    source: SourceOption = None,
    ddl_dir: DdlDirOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as one JSON object.")
    ] = False,
) -> None:
    """Apply the warehouse DDL not applied yet, seed the control tables, check the result."""
    from dwetl.ops.init import run_init

    setup_logging()
    settings = load_settings(source=source, dw=dw, ddl_dir=ddl_dir)
    report = run_init(settings)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), default=str, ensure_ascii=False))
    else:
        for line in describe(report):
            typer.echo(line)
    if not report.ok:
        what = [f"missing table {table}" for table in report.missing] + report.problems
        raise DwetlError(f"init check failed: {'; '.join(what)}")


def describe(report: InitReport) -> list[str]:
    """The report as lines for a person."""
    seconds = report.connect_seconds
    lines = [f"warehouse {report.warehouse}: connected in {seconds.get('warehouse') or 0:.3f} s"]
    if report.source_status == "reachable":
        lines.append(f"source {report.source}: reachable in {seconds.get('source') or 0:.3f} s")
    else:
        lines.append(f"source {report.source}: {report.source_status} ({report.source_detail})")
    for script in report.scripts:
        timing = f" in {script.seconds:.3f} s" if script.status == "applied" else ""
        lines.append(f"DDL {script.name}: {script.status}{timing}")
    lines.append(f"seeded ctl.etl_control: {', '.join(report.seeded) or 'nothing new'}")
    lines.append(f"active entities: {', '.join(report.active) or 'none'}")
    if report.inactive:
        lines.append(f"inactive entities: {', '.join(report.inactive)}")
    present = len(report.required) - len(report.missing)
    lines.append(f"required tables: {present} of {len(report.required)} present")
    lines.extend(f"MISSING table {table}" for table in report.missing)
    if report.check is not None:
        problems = report.check["problems"]
        lines.append(
            f"check: warehouse matches the DDL and the expected scope "
            f"({report.check['tables_checked']} tables, "
            f"{report.check['constraints_checked']} constraints)"
            if not problems
            else f"check: {len(problems)} difference(s) from the DDL or the expected scope"
        )
    lines.append(
        f"start-up: {report.total_seconds:.3f} s total (warehouse connection "
        f"{seconds.get('warehouse') or 0:.3f} s, DDL {report.ddl_seconds:.3f} s, "
        f"check {report.check_seconds:.3f} s), "
        f"recorded as run {report.run_id}"
    )
    return lines
