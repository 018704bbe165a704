"""Past runs as the run log recorded them: `ctl.etl_run`, `ctl.etl_run_entity`, `ctl.etl_reject`.

Read only, with two readings of what is stored:
- a run still `running` whose process is gone and whose locks are free is shown `abandoned`
  (`dwetl.ops.abandoned`), with a note that it is not recorded: `dwetl run` records it (status
  `failed`, `abandoned_at` set), and it then reads as `abandoned` too;
- what earlier versions recorded as an entity `partial` (it loaded, some rows quarantined) is
  shown `success`, as this version records it, and a run `partial` of theirs gets the status
  its entities give it now (`dwetl.run.summary.run_status`): one whose every entity loaded is
  `success`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any

from dwetl.core import masking
from dwetl.core.errors import UsageError
from dwetl.core.queries import named_queries
from dwetl.core.status import EntityStatus, ShownRunStatus
from dwetl.ops.abandoned import find_abandoned
from dwetl.ops.runlog import records_pid
from dwetl.run.summary import SKIPPED_PREFIX, entity_status, run_status
from dwetl.warehouse.base import Warehouse

#: phases with a column of their own in `ctl.etl_run_entity`, in the columns' order
PHASES = ("extract", "transform", "validate", "load", "merge")
#: phases only the run's summary (`ctl.etl_run.details`) has: the commit ends after the
#: entity's row is written, inside the transaction it times
SUMMARY_PHASES = ("commit",)
COUNTS = (
    "extracted", "folded", "rejected", "inserted", "updated", "unchanged", "inferred", "blocked",
)  # fmt: skip


def _q(name: str) -> str:
    return named_queries("ops/history.sql")[name]


def _iso(value: Any) -> str | None:
    # the run summary's spelling: "2026-11-29 05:00:00"
    if value is None:
        return None
    return value.isoformat(sep=" ") if isinstance(value, datetime) else str(value)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds(), 3)


@dataclass(frozen=True)
class EntityRun:
    """One entity in one run: its outcome, its counts, its phases and its watermark movement."""

    entity: str
    status: EntityStatus
    started_at: str | None
    finished_at: str | None
    extracted: int
    folded: int
    rejected: int
    inserted: int
    updated: int
    unchanged: int
    inferred: int
    watermark_from: str | None
    watermark_to: str | None
    seconds: dict[str, float | None]
    repairs: Any
    error: str | None
    #: a failed entity's rows that were neither rejected nor folded (nothing of it was applied)
    blocked: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # constraint -> rows rejected for it


@dataclass(frozen=True)
class RunRecord:
    """One dwetl command that touched the warehouse, with its entities."""

    run_id: int
    command: str
    status: ShownRunStatus
    started_at: str | None
    finished_at: str | None
    duration_seconds: float | None
    os_user: str | None
    hostname: str | None
    source_url: str | None
    dw_url: str | None
    full_reload: bool
    dry_run: bool
    startup_seconds: float | None
    error: str | None
    entities: list[EntityRun] = field(default_factory=list)
    #: the run's process on `hostname` (None: recorded before 008_run_process.sql)
    pid: int | None = None
    #: when the run was found abandoned (status `abandoned`)
    abandoned_at: str | None = None
    #: ctl.etl_run.details: the run's own summary (a dry run's only record of its entities)
    details: Any = field(default=None, repr=False, compare=False)

    @property
    def quarantined(self) -> int:
        """Rows the run's loaded entities quarantined (as `dwetl run --json` counts them)."""
        return sum(e.rejected for e in self.entities if e.status == "success")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, entities shaped as in `dwetl run --json`."""
        data = asdict(self)
        del data["details"]
        data["quarantined"] = self.quarantined
        return data


def _require_log(wh: Warehouse) -> None:
    if not wh.table_exists("ctl.etl_run"):
        raise UsageError("the warehouse has no run log (ctl.etl_run): run `dwetl init` first")


def _maybe_json(text: Any) -> Any:
    if not isinstance(text, str) or not text:
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _run(r: tuple[Any, ...]) -> RunRecord:
    return RunRecord(
        run_id=int(r[0]),
        command=r[1],
        status=r[2],
        started_at=_iso(r[3]),
        finished_at=_iso(r[4]),
        duration_seconds=_seconds(r[3], r[4]),
        os_user=r[5],
        hostname=r[6],
        # rows an earlier dwetl wrote may hold a `?password=` it did not mask
        source_url=None if r[7] is None else masking.scrub(r[7]),
        dw_url=None if r[8] is None else masking.scrub(r[8]),
        full_reload=bool(r[9]),
        dry_run=bool(r[10]),
        startup_seconds=None if r[11] is None else float(r[11]),
        error=r[13],
        details=_maybe_json(r[12]),
    )


def _entity(r: tuple[Any, ...]) -> EntityRun:
    extracted, folded, rejected, inserted, updated, unchanged, inferred = (
        int(v or 0) for v in r[5:12]
    )
    seconds = {p: (None if r[14 + i] is None else float(r[14 + i])) for i, p in enumerate(PHASES)}
    seconds.update(dict.fromkeys(SUMMARY_PHASES))
    skipped = r[2] == "failed" and str(r[20] or "").startswith(SKIPPED_PREFIX)
    return EntityRun(
        entity=r[1],
        status="skipped" if skipped else entity_status(r[2]),
        started_at=_iso(r[3]),
        finished_at=_iso(r[4]),
        watermark_from=_iso(r[12]),
        watermark_to=_iso(r[13]),
        seconds=seconds,
        repairs=_maybe_json(r[19]),
        error=r[20],
        extracted=extracted,
        folded=folded,
        rejected=rejected,
        inserted=inserted,
        updated=updated,
        unchanged=unchanged,
        inferred=inferred,
        blocked=int(r[21] or 0),
    )


def _attach_entities(wh: Warehouse, runs: list[RunRecord]) -> list[RunRecord]:
    if not runs:
        return runs
    ids = [r.run_id for r in runs]
    span = [min(ids), max(ids)]
    reasons = _reject_reasons(wh, span)
    summarised = {(r.run_id, e.entity): e for r in runs for e in _from_details(r.details)}
    by_run: dict[int, list[EntityRun]] = {i: [] for i in ids}
    for row in wh.fetchall(_q("run_entities"), span):
        run_id = int(row[0])
        if run_id in by_run:
            entity = _entity(row)
            # rejected rows by reason: as the run's summary counted them (the quarantine holds
            # one row per key, which a later run that read the key again took over), else
            # from the quarantine
            summary = summarised.get((run_id, entity.entity))
            found = summary.reasons if summary else reasons.get((run_id, entity.entity), {})
            if summary is not None:
                entity.seconds.update({p: summary.seconds.get(p) for p in SUMMARY_PHASES})
            by_run[run_id].append(replace(entity, reasons=dict(sorted(found.items()))))
    processes = _processes(wh, span)
    out = []
    for r in runs:
        entities = by_run[r.run_id] or _from_details(r.details)
        status = r.status
        if status == "partial" and entities:  # an earlier version's partial: read anew
            status = run_status([e.status for e in entities])
        pid, abandoned_at = processes.get(r.run_id, (None, None))
        if abandoned_at is not None:  # recorded `failed` when found abandoned
            status = "abandoned"
        out.append(replace(r, entities=entities, status=status, pid=pid, abandoned_at=abandoned_at))
    return _found_abandoned(wh, out) if any(r.status == "running" for r in out) else out


def _processes(wh: Warehouse, span: list[int]) -> dict[int, tuple[int | None, str | None]]:
    """run -> (pid, abandoned_at), where the warehouse records them (008_run_process.sql)."""
    if not records_pid(wh):
        return {}
    return {
        int(run_id): (None if pid is None else int(pid), _iso(abandoned_at))
        for run_id, pid, abandoned_at in wh.fetchall(_q("run_processes"), span)
    }


def _found_abandoned(wh: Warehouse, runs: list[RunRecord]) -> list[RunRecord]:
    """`running` runs that are abandoned, shown so (not recorded: this only reads)."""
    found = {a.run_id: a for a in find_abandoned(wh, found_by="dwetl history")}
    out = []
    for r in runs:
        a = found.get(r.run_id)
        if r.status == "running" and a is not None:
            note = f"{a.how} (not recorded: the next `dwetl run` records it)"
            r = replace(r, status="abandoned", abandoned_at=_iso(a.found_at), error=note)
        out.append(r)
    return out


def _from_details(details: Any) -> list[EntityRun]:
    """Entities from a run's stored summary: a dry run writes no ctl.etl_run_entity rows."""
    if not isinstance(details, dict) or not isinstance(details.get("entities"), list):
        return []
    out = []
    for e in details["entities"]:
        seconds = e.get("seconds") or {}
        out.append(
            EntityRun(
                entity=str(e.get("entity")),
                status=entity_status(str(e.get("status"))),
                started_at=e.get("started_at"),
                finished_at=e.get("finished_at"),
                extracted=int(e.get("extracted") or 0),
                folded=int(e.get("folded") or 0),
                rejected=int(e.get("rejected") or 0),
                inserted=int(e.get("inserted") or 0),
                updated=int(e.get("updated") or 0),
                unchanged=int(e.get("unchanged") or 0),
                inferred=int(e.get("inferred") or 0),
                blocked=int(e.get("blocked") or 0),
                watermark_from=e.get("watermark_from"),
                watermark_to=e.get("watermark_to"),
                seconds={p: seconds.get(p) for p in (*PHASES, *SUMMARY_PHASES)},
                repairs=e.get("repairs"),
                error=e.get("error"),
                reasons=dict(sorted((e.get("reasons") or e.get("reject_reasons") or {}).items())),
            )
        )
    return out


def recent_runs(wh: Warehouse, last: int = 10, entity: str | None = None) -> list[RunRecord]:
    """The last `last` runs (newest first), optionally only those that touched `entity`."""
    if last < 1:
        raise UsageError(f"--last must be at least 1, got {last}")
    _require_log(wh)
    if entity is None:
        rows = wh.fetchall(_q("runs"), [last])
    else:
        rows = wh.fetchall(_q("runs_of_entity"), [entity, last])
    return _attach_entities(wh, [_run(r) for r in rows])


def split_reasons(text: str) -> list[str]:
    """The constraint names in a stored `reasons` value (a JSON list, or names joined by , or ;).

    >>> split_reasons('["CK_A", "NN_b"]'), split_reasons("CK_A; NN_b")
    (['CK_A', 'NN_b'], ['CK_A', 'NN_b'])
    """
    parsed = _maybe_json(text)
    if isinstance(parsed, list):
        return [str(p) for p in parsed]
    parts = str(text).replace(";", ",").split(",")
    return [p.strip() for p in parts if p.strip()]


def _reject_reasons(wh: Warehouse, span: list[int]) -> dict[tuple[int, str], dict[str, int]]:
    """(run, entity) -> constraint -> rows that broke it (a row may break several)."""
    result: dict[tuple[int, str], dict[str, int]] = {}
    for run_id, entity, reasons, n in wh.fetchall(_q("rejects_by_reasons"), span):
        per_entity = result.setdefault((int(run_id), entity), {})
        for reason in split_reasons(reasons):
            per_entity[reason] = per_entity.get(reason, 0) + int(n)
    return result


def one_run(wh: Warehouse, run_id: int) -> RunRecord:
    """Run `run_id` in full, rejects by reason included; UsageError when there is no such run."""
    _require_log(wh)
    rows = wh.fetchall(_q("run"), [run_id])
    if not rows:
        raise UsageError(f"no run {run_id} in ctl.etl_run")
    return _attach_entities(wh, [_run(rows[0])])[0]
