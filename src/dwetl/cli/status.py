"""`dwetl status`: per entity, whether it is active, its watermark, its last run and its open
rejects; and the runs not finished (running, or found abandoned: shown, not recorded)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from dwetl.cli.console import status_lines
from dwetl.cli.options import DwOption, JsonOption, dw_argument
from dwetl.core.config import Settings, load_settings
from dwetl.core.errors import UsageError
from dwetl.run.summary import COUNTS, entity_status

if TYPE_CHECKING:
    from dwetl.warehouse.base import Warehouse

_COUNTS = COUNTS


def warehouse_status(settings: Settings) -> dict[str, Any]:
    """`entities`: one dict per entity of ctl.etl_control with its last run's counts and its
    open rejects; `unfinished_runs`: the runs still `running`, or found abandoned."""
    from dwetl.run import control
    from dwetl.warehouse import open_warehouse

    with open_warehouse(settings.dw, settings, read_only=True) as wh:
        if not wh.table_exists("ctl.etl_control"):
            raise UsageError(f"{settings.dw}: no ctl.etl_control: run `dwetl init` first")
        rows = control.read_control(wh)
        last = control.last_run_entities(wh)
        open_rejects = control.open_rejects(wh)
        unfinished = _unfinished(wh)
    out = []
    for name, row in rows.items():
        run = last.get(name)
        item: dict[str, Any] = {
            "entity": name,
            "kind": row.kind,
            "active": row.active,
            "watermark": None if row.watermark_value is None else str(row.watermark_value),
            "last_run_id": row.last_run_id,
            "last_status": None if row.last_status is None else entity_status(row.last_status),
            "last_run_at": None if row.last_run_at is None else str(row.last_run_at),
            "open_rejects": open_rejects.get(name, 0),
        }
        if run is not None:
            item.update(dict(zip(_COUNTS, run[4:13], strict=True)))
            item["error"] = run[13]
        out.append(item)
    return {"entities": out, "unfinished_runs": unfinished}


def _unfinished(wh: Warehouse) -> list[dict[str, Any]]:
    """The runs still `running` in ctl.etl_run; those found abandoned say so, and how (shown,
    not recorded: `status` only reads; the next `dwetl run` records them)."""
    from dwetl.ops.abandoned import find_abandoned, running_runs

    found = {a.run_id: a for a in find_abandoned(wh, found_by="dwetl status")}
    out = []
    for run_id, command, started_at, host, pid in running_runs(wh):
        gone = found.get(int(run_id))
        out.append(
            {
                "run_id": int(run_id),
                "command": command,
                "status": "running" if gone is None else "abandoned",
                "started_at": str(started_at),
                "hostname": host,
                "pid": None if pid is None else int(pid),
                "note": None if gone is None else f"{gone.how} (not recorded)",
            }
        )
    return out


def status(
    dw: DwOption = None,
    as_json: JsonOption = False,
) -> None:
    """Per entity: active, watermark, last run, its status and counts, open rejects; and the
    runs not finished (running, or abandoned: shown, recorded by the next `dwetl run`)."""
    settings = load_settings(dw=dw)
    found = warehouse_status(settings)
    items, unfinished = found["entities"], found["unfinished_runs"]
    if as_json:
        typer.echo(json.dumps({"dw": settings.dw.masked, **found}, ensure_ascii=False))
        return
    for line in status_lines(items):
        typer.echo(line)
    total = sum(i["open_rejects"] for i in items)
    if total:
        typer.echo(
            f"{total:,} rows quarantined and open; list them with: dwetl rejects{dw_argument(dw)}"
        )
    for run in unfinished:
        where = f"pid {run['pid']} on {run['hostname']}" if run["pid"] else run["hostname"]
        line = f"run {run['run_id']} ({run['command']}, {where}, started {run['started_at'][:19]})"
        typer.echo(f"{line}: {run['note'] or 'running'}")
