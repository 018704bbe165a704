"""The control tables as the runner sees them: scope, watermarks, one row per run and entity."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from dwetl.core.errors import UsageError
from dwetl.core.queries import named_queries
from dwetl.core.status import RecordedEntityStatus
from dwetl.run.summary import EntityResult
from dwetl.warehouse.base import Warehouse


def _q(name: str) -> str:
    return named_queries("run/control.sql")[name]


def now() -> datetime:
    """The time stamps the control tables hold: UTC, without a zone (TIMESTAMP columns)."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class ControlRow:
    """One entity of `ctl.etl_control`."""

    entity: str
    kind: str
    target_table: str
    load_order: int
    active: bool
    watermark_column: str | None
    watermark_value: datetime | None
    last_run_id: int | None
    last_status: RecordedEntityStatus | None
    last_run_at: datetime | None


def read_control(wh: Warehouse) -> dict[str, ControlRow]:
    """Every entity of `ctl.etl_control`, in load order."""
    return {row[0]: ControlRow(*row) for row in wh.fetchall(_q("control"))}


def next_watermark(
    old: datetime | None, new: datetime | None, clock: datetime | None = None
) -> datetime | None:
    """The watermark after a load: never moves back, and stays when nothing was read; but never
    after the source's `clock` (a future-dated row must not hide the changes made before its
    date: a watermark stored after the clock, by a version that did not cap it, comes back to it).

    >>> next_watermark(datetime(2026, 1, 2), None)
    datetime.datetime(2026, 1, 2, 0, 0)
    >>> next_watermark(datetime(2026, 1, 2), datetime(2026, 1, 1))
    datetime.datetime(2026, 1, 2, 0, 0)
    >>> next_watermark(datetime(9999, 12, 31), datetime(2026, 1, 1), clock=datetime(2026, 1, 3))
    datetime.datetime(2026, 1, 3, 0, 0)
    """
    if new is None:
        watermark = old
    elif old is None:
        watermark = new
    else:
        watermark = max(old, new)
    if clock is not None and watermark is not None and watermark > clock:
        return clock
    return watermark


def record_loaded(
    wh: Warehouse, run_id: int, result: EntityResult, stored_watermark: datetime | None
) -> None:
    """Advance the watermark and write the run-entity row (inside the entity's transaction)."""
    finished = result.finished_at or now()
    watermark = next_watermark(stored_watermark, result.watermark_to, result.source_clock)
    wh.execute(_q("advance_control"), [watermark, run_id, result.status, finished, result.entity])
    insert_run_entity(wh, run_id, result)


def record_failed(wh: Warehouse, run_id: int, result: EntityResult) -> None:
    """Record a failed entity: its run-entity row and last status; the watermark stays."""
    wh.execute(_q("mark_control"), [run_id, "failed", result.finished_at or now(), result.entity])
    insert_run_entity(wh, run_id, result)


def entity_recorded(wh: Warehouse, run_id: int, entity: str) -> bool:
    """Whether `entity` has its row of run `run_id` in `ctl.etl_run_entity`."""
    return bool(wh.fetchall(_q("run_entity_recorded"), [run_id, entity]))


def insert_run_entity(wh: Warehouse, run_id: int, result: EntityResult) -> None:
    """One row of `ctl.etl_run_entity`."""
    s = result.seconds
    wh.execute(
        _q("insert_run_entity"),
        [
            run_id,
            result.entity,
            result.status,
            result.started_at,
            result.finished_at or now(),
            result.extracted,
            result.folded,
            result.rejected,
            result.inserted,
            result.updated,
            result.unchanged,
            result.inferred,
            result.blocked,
            result.future,
            result.ties,
            result.watermark_from,
            result.watermark_to,
            s.get("extract"),
            s.get("transform"),
            s.get("validate"),
            s.get("load"),
            s.get("merge"),
            None if result.repairs is None else json.dumps(result.repairs, ensure_ascii=False),
            result.error,
        ],
    )


#: the control columns this dwetl writes that a warehouse initialised by an older one lacks
UPGRADED = {
    ("etl_reject", "first_run_id"),
    ("etl_reject", "times_seen"),
    ("etl_reject", "applied"),
    ("etl_run_entity", "blocked"),
    ("etl_run_entity", "future"),
    ("etl_run_entity", "ties"),
    ("etl_run", "pid"),
    ("etl_run", "abandoned_at"),
}


def require_upgraded(wh: Warehouse) -> None:
    """A warehouse whose control tables lack the columns this dwetl writes (initialised by an
    older one) is an error that says to run `dwetl init`, which upgrades them."""
    found = {(str(t).lower(), str(c).lower()) for t, c in wh.fetchall(_q("upgraded_columns"))}
    missing = sorted(UPGRADED - found)
    if missing:
        columns = ", ".join(f"ctl.{t}.{c}" for t, c in missing)
        raise UsageError(
            f"the warehouse's control tables predate this dwetl (no {columns}): run "
            "`dwetl init`, which upgrades them"
        )


def last_run_entities(wh: Warehouse) -> dict[str, tuple[object, ...]]:
    """Per entity, its latest `ctl.etl_run_entity` row (entity, run_id, status, ...counts)."""
    return {row[0]: row for row in wh.fetchall(_q("last_run_entities"))}


def open_rejects(wh: Warehouse) -> dict[str, int]:
    """Per entity, how many rows are quarantined and still open (no later run loaded them)."""
    return {entity: int(n) for entity, n in wh.fetchall(_q("open_rejects_by_entity"))}
