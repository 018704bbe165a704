"""`dwetl history [RUN_ID]`: what past runs did, from the run log in the warehouse."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Annotated

import typer

from dwetl.cli.console import WIDE, Column, Table, counts_text, fit, one_line, width
from dwetl.cli.options import DwOption

if TYPE_CHECKING:
    from dwetl.ops import history as hist

#: `history`'s list: one line per run, then one per entity it touched (indented)
RUNS = (
    Column("RUN", 4, right=True),
    Column("COMMAND"),
    Column("STATUS", 9),
    Column("STARTED", 19),
    Column("SECONDS", right=True),
    Column("USER"),
)
ENTITIES = (Column("", 16), Column("", 9), Column(""))
#: an entity's error: under its status
ERRORS = (Column("", 16), Column(""))


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _yn(flag: bool) -> str:
    return "yes" if flag else "no"


def _when(value: str | None) -> str:
    return "-" if value is None else value.replace("T", " ")[:19]


def _counts(e: hist.EntityRun) -> str:
    return (
        f"extracted {e.extracted}, inserted {e.inserted}, updated {e.updated}, "
        f"unchanged {e.unchanged}, rejected {e.rejected}, folded {e.folded}, inferred {e.inferred}"
        + (f", blocked {e.blocked}" if e.blocked else "")
    )


def _print_list(runs: list[hist.RunRecord]) -> None:
    if not runs:
        typer.echo("no runs recorded")
        return
    columns = width()
    table = Table(*RUNS, indent=2, cut_at=columns)
    entities = Table(*ENTITIES, indent=8, cut_at=columns)
    errors = Table(*ERRORS, indent=8, cut_at=columns)
    typer.echo(table.header())
    for r in runs:
        flags = "".join([" full" if r.full_reload else "", " dry-run" if r.dry_run else ""])
        if r.quarantined:
            flags += f" ({r.quarantined:,} quarantined)"
        when, seconds = _when(r.started_at), _num(r.duration_seconds, 1)
        typer.echo(
            table.row(r.run_id, r.command, r.status, when, seconds, f"{r.os_user or '-'}{flags}")
        )
        for e in r.entities:
            counts = counts_text(asdict(e), wide=columns >= WIDE)
            typer.echo(entities.row(e.entity, e.status, counts))
            if e.error:
                typer.echo(errors.row("", f"error: {one_line(e.error)}"))
        if r.status == "abandoned" and r.error:  # how it was found: "abandoned: ..."
            typer.echo(fit(f"{'':>8}{one_line(r.error)}", columns))
        elif r.error and not r.entities:
            typer.echo(fit(f"{'':>8}error: {one_line(r.error)}", columns))


def _print_one(r: hist.RunRecord) -> None:
    typer.echo(f"run {r.run_id}: {r.command} {r.status}")
    typer.echo(f"  started   {_when(r.started_at)}  finished {_when(r.finished_at)}")
    typer.echo(
        f"  seconds   {_num(r.duration_seconds)} (start-up {_num(r.startup_seconds)})"
        f"  full reload: {_yn(r.full_reload)}  dry run: {_yn(r.dry_run)}"
    )
    pid = "" if r.pid is None else f" (pid {r.pid})"
    typer.echo(f"  by        {r.os_user or '-'} on {r.hostname or '-'}{pid}")
    typer.echo(f"  source    {r.source_url or '-'}")
    typer.echo(f"  warehouse {r.dw_url or '-'}")
    if r.abandoned_at:
        typer.echo(f"  abandoned found {_when(r.abandoned_at)}")
    if r.error:
        typer.echo(f"  error     {r.error}")
    if r.quarantined:
        typer.echo(f"  quarantined {r.quarantined:,} rows: dwetl rejects --run {r.run_id}")
    for e in r.entities:
        typer.echo("")
        typer.echo(f"  {e.entity}: {e.status}")
        typer.echo(f"    {_counts(e)}")
        typer.echo(f"    watermark {_when(e.watermark_from)} -> {_when(e.watermark_to)}")
        phases = ", ".join(f"{p} {_num(s)}" for p, s in e.seconds.items())
        typer.echo(f"    seconds   {phases}")
        if e.repairs:
            typer.echo(f"    repairs   {json.dumps(e.repairs, ensure_ascii=False)}")
        if e.error:
            typer.echo(f"    error     {e.error}")
        for reason, n in sorted(e.reasons.items(), key=lambda kv: (-kv[1], kv[0])):
            typer.echo(f"    rejected  {reason}: {n}")


def history(
    run_id: Annotated[int | None, typer.Argument(help="Show this run in full.")] = None,
    last: Annotated[int, typer.Option("--last", help="How many runs to list.")] = 10,
    entity: Annotated[
        str | None, typer.Option("--entity", help="Only runs that touched this entity.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    dw: DwOption = None,
) -> None:
    """List past runs (status, counts, phases, watermarks, errors), or one run in full."""
    from dwetl.core.config import load_settings
    from dwetl.entities.registry import get_entity
    from dwetl.ops import history as hist
    from dwetl.warehouse import open_warehouse

    if entity is not None:
        get_entity(entity)  # an unknown name is a usage error listing the known ones
    settings = load_settings(dw=dw)
    with open_warehouse(settings.dw, settings, read_only=True) as wh:
        if run_id is not None:
            one = hist.one_run(wh, run_id)
            if as_json:
                typer.echo(json.dumps(one.to_dict(), ensure_ascii=False))
            else:
                _print_one(one)
            return
        runs = hist.recent_runs(wh, last=last, entity=entity)
    if entity is not None:
        runs = [replace(r, entities=[e for e in r.entities if e.entity == entity]) for r in runs]
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in runs], ensure_ascii=False))
    else:
        _print_list(runs)
