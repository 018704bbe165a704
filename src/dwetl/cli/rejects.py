"""`dwetl rejects`: list quarantined rows with their reasons, and how many per reason."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from dwetl.cli.app import app
from dwetl.cli.options import DwOption, JsonOption
from dwetl.config import load_settings
from dwetl.dialects import open_warehouse
from dwetl.rejects import RejectList, list_rejects


@app.command()
def rejects(
    run: Annotated[int | None, typer.Option("--run", help="Only this run's rejects.")] = None,
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
    """List quarantined rows (open ones unless --all) with every reason, and counts per reason."""
    settings = load_settings(dw=dw)
    with open_warehouse(settings.dw, settings) as wh:
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
    lines = [f"{found.rows.height} reject(s); per reason:"]
    lines += [f"  {n:>7}  {reason}" for reason, n in found.by_reason.items()]
    lines.append("run  entity  source key  reasons")
    for r in found.rows.head(limit).iter_rows(named=True):
        resolved = f"  (resolved by run {r['resolved_run_id']})" if r["resolved_run_id"] else ""
        reasons = ", ".join(r["reasons"] or [])
        lines.append(f"{r['run_id']}  {r['entity']}  {r['source_key']}  {reasons}{resolved}")
    if found.rows.height > limit:
        lines.append(f"... {found.rows.height - limit} more (--limit)")
    return lines
