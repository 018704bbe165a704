"""`dwetl status`: per entity, whether it is active, its watermark and its last run."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from dwetl.cli.app import app
from dwetl.cli.options import DwOption, JsonOption
from dwetl.config import Settings, load_settings
from dwetl.dialects import open_warehouse
from dwetl.errors import UsageError
from dwetl.run import control
from dwetl.run.summary import COUNTS

_COUNTS = COUNTS


def entity_status(settings: Settings) -> list[dict[str, Any]]:
    """One dict per entity of ctl.etl_control with its last run's counts."""
    with open_warehouse(settings.dw, settings, read_only=True) as wh:
        if not wh.table_exists("ctl.etl_control"):
            raise UsageError(f"{settings.dw}: no ctl.etl_control: run `dwetl init` first")
        rows = control.read_control(wh)
        last = control.last_run_entities(wh)
    out = []
    for name, row in rows.items():
        run = last.get(name)
        item: dict[str, Any] = {
            "entity": name,
            "kind": row.kind,
            "active": row.active,
            "watermark": None if row.watermark_value is None else str(row.watermark_value),
            "last_run_id": row.last_run_id,
            "last_status": row.last_status,
            "last_run_at": None if row.last_run_at is None else str(row.last_run_at),
        }
        if run is not None:
            item.update(dict(zip(_COUNTS, run[4:13], strict=True)))
            item["error"] = run[13]
        out.append(item)
    return out


@app.command()
def status(
    dw: DwOption = None,
    as_json: JsonOption = False,
) -> None:
    """Per entity: active, watermark, last run, last status and counts."""
    settings = load_settings(dw=dw)
    items = entity_status(settings)
    if as_json:
        typer.echo(json.dumps({"dw": settings.dw.masked, "entities": items}, ensure_ascii=False))
        return
    table = Table(title=f"status of {settings.dw}", title_justify="left")
    for col in ("entity", "active", "watermark", "last run", "status", *_COUNTS, "error"):
        table.add_column(col, justify="right" if col in _COUNTS else "left", overflow="fold")
    for i in items:
        table.add_row(
            i["entity"],
            "yes" if i["active"] else "no",
            (i["watermark"] or "-")[:19],
            "-"
            if i["last_run_id"] is None
            else f"{i['last_run_id']} {(i['last_run_at'] or '')[:19]}",
            i["last_status"] or "-",
            *(str(i.get(c, "-")) for c in _COUNTS),
            i.get("error") or "",
        )
    console = Console(soft_wrap=False)
    if not console.is_terminal:
        console.width = 200
    console.print(table)
