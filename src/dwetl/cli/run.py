"""`dwetl run`: load the warehouse from the source (the nightly job)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from dwetl.cli.console import summary_lines
from dwetl.cli.options import (
    BatchRowsOption,
    DwOption,
    EngineOption,
    MaxRejectRatioOption,
    OnFailedDimensionOption,
    SourceOption,
    SparkMasterOption,
    SqlDirOption,
    dw_argument,
)
from dwetl.cli.progress import live_progress
from dwetl.core.config import load_settings
from dwetl.core.logs import setup_logging
from dwetl.run.summary import RunSummary


def print_summary(
    summary: RunSummary, *, as_json: bool, dw: str | None = None, quarantine: bool = True
) -> None:
    """The run summary on stdout: one JSON object, or one line per entity, the run's status and
    totals, and (`quarantine`), when rows were quarantined, how many and the command that lists
    them (`dw`: the command's --dw)."""
    if as_json:
        typer.echo(summary.to_json())
        return
    for line in summary_lines(summary):
        typer.echo(line)
    if summary.quarantined and quarantine and not summary.dry_run:
        typer.echo(quarantine_line(summary, dw))


def quarantine_line(summary: RunSummary, dw: str | None = None) -> str:
    """How many rows the run quarantined and the command that lists them.

    >>> from datetime import datetime
    >>> from dwetl.run.summary import EntityResult
    >>> s = RunSummary(7, datetime(2026, 1, 1))
    >>> s.entities = [EntityResult("dim_loja", s.started_at, rejected=1021)]
    >>> quarantine_line(s)
    '1,021 rows quarantined in ctl.etl_reject; list them with: dwetl rejects --run 7'
    """
    return (
        f"{summary.quarantined:,} rows quarantined in ctl.etl_reject; list them with: "
        f"dwetl rejects --run {summary.run_id}{dw_argument(dw)}"
    )


def run_command(
    entity: Annotated[
        list[str] | None,
        typer.Option(
            "--entity",
            "-e",
            help="Entity to load (repeat, or comma-separated); 'all' = every active entity.",
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help=(
                "Ignore the watermark: read every source row again and merge it (a row "
                "deleted at the source stays in the warehouse: docs/operations.md, section 9)."
            ),
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Do everything but write the warehouse; show what would."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run summary as one JSON object.")
    ] = False,
    max_reject_ratio: MaxRejectRatioOption = None,
    batch_rows: BatchRowsOption = None,
    on_failed_dimension: OnFailedDimensionOption = None,
    engine: EngineOption = None,
    spark_master: SparkMasterOption = None,
    source: SourceOption = None,
    dw: DwOption = None,
    sql_dir: SqlDirOption = None,
) -> None:
    """Load the active entities (dims before facts).

    Exit 0: every entity loaded (quarantined rows are counted, not a failure); 3 partial:
    some entity failed or was skipped; 1: none loaded; 2: bad usage or configuration; 130 or
    143: stopped by Ctrl-C or SIGTERM (the entity in progress rolled back).
    """
    from dwetl.run.runner import run as run_entities
    from dwetl.run.summary import RunStopped

    setup_logging()
    settings = load_settings(
        source=source,
        dw=dw,
        sql_dir=sql_dir,
        max_reject_ratio=max_reject_ratio,
        batch_rows=batch_rows,
        on_failed_dimension=on_failed_dimension,
        engine=engine,
        spark_master=spark_master,
    )
    try:
        with live_progress() as progress:
            summary = run_entities(
                settings,
                entity or ["all"],
                full=full,
                dry_run=dry_run,
                progress=None if as_json else progress,
            )
    except RunStopped as exc:  # the summary so far, failed, then the one-line error
        if as_json and exc.summary is not None:
            stopped = exc.summary.to_dict() | {"status": "failed", "error": str(exc)}
            typer.echo(json.dumps(stopped, ensure_ascii=False))
        raise
    print_summary(summary, as_json=as_json, dw=dw)
    raise typer.Exit(summary.exit_code)
