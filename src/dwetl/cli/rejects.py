"""`dwetl rejects`: list quarantined rows with their reasons, and how many per reason."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from dwetl.cli.app import app
from dwetl.cli.options import DwOption, JsonOption
from dwetl.config import load_settings
from dwetl.dialects import open_warehouse
from dwetl.entities.registry import get_entity
from dwetl.rejects import RejectList, list_rejects


@app.command()
def rejects(
    run: Annotated[
        int | None,
        typer.Option("--run", help="Only the rejects this run left (resolved or not)."),
    ] = None,
    entity: Annotated[str | None, typer.Option("--entity", help="Only this entity.")] = None,
    include_resolved: Annotated[
        bool, typer.Option("--all", help="Include rejects a later run resolved.")
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option("--limit", help="Rows listed (50 as text, all as JSON; counts cover all)."),
    ] = None,
    dw: DwOption = None,
    as_json: JsonOption = False,
) -> None:
    """List quarantined rows, one per key (open ones unless --all), with every reason, counts of
    keys per reason, and the rows a failed entity did not apply."""
    if entity is not None:
        get_entity(entity)  # an unknown name is a usage error listing the known ones
    settings = load_settings(dw=dw)
    with open_warehouse(settings.dw, settings, read_only=True) as wh:
        found = list_rejects(wh, run_id=run, entity=entity, include_resolved=include_resolved)
    if as_json:
        typer.echo(json.dumps(found.as_dict(limit), default=str, ensure_ascii=False))
        return
    for line in describe(found, 50 if limit is None else limit):
        typer.echo(line)


def describe(found: RejectList, limit: int) -> list[str]:
    """The rejects as lines for a person."""
    if not found.rows.height:
        return ["no rejects"]
    lines = [f"{found.keys} key(s) quarantined, read {found.reads} time(s)"]
    if found.blocked:
        lines.append(
            f"{found.blocked} row(s) not applied: rejected in a run where their entity failed "
            "and loaded nothing (fix them at the source and run again)"
        )
    lines.append("keys per reason:")
    lines += [f"  {n:>7}  {reason}" for reason, n in found.by_reason.items()]
    lines.append("run  entity  source key  reasons")
    for r in found.rows.head(limit).iter_rows(named=True):
        reasons = ", ".join(r["reasons"] or [])
        lines.append(f"{r['run_id']}  {r['entity']}  {r['source_key']}  {reasons}{_state(r)}")
    if found.rows.height > limit:
        lines.append(f"... {found.rows.height - limit} more (--limit)")
    return lines


def _state(r: dict[str, Any]) -> str:
    """How often the key was read, and whether it is open, resolved or was never applied."""
    seen = f"  (read {r['times_seen']} times since run {r['first_run_id']})"
    text = seen if (r["times_seen"] or 1) > 1 else ""
    if not r["applied"]:
        text += f"  (not applied: {r['entity']} failed in run {r['run_id']})"
        if r["resolved_run_id"]:
            text += f"  (superseded by run {r['resolved_run_id']})"
    elif r["resolved_run_id"]:
        text += f"  (resolved by run {r['resolved_run_id']})"
    return text
