"""`dwetl init`: reach both databases, apply the DDL, seed the control tables, prove the result."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from dwetl.core.config import Settings
from dwetl.core.errors import DwetlError
from dwetl.core.queries import named_queries
from dwetl.ops.check import CheckReport, check_warehouse
from dwetl.ops.runlog import finish_run, now_utc, os_user, start_run
from dwetl.source.probe import probe_source
from dwetl.warehouse import open_warehouse, write_lock
from dwetl.warehouse.base import Warehouse
from dwetl.warehouse.ddl import ScriptResult, apply_pending, list_scripts

log = logging.getLogger("dwetl")

#: the control tables dwetl itself needs, whatever the rollout
CONTROL_TABLES = (
    "ctl.schema_version",
    "ctl.etl_control",
    "ctl.etl_scope",
    "ctl.etl_scope_change",
    "ctl.etl_run",
    "ctl.etl_run_entity",
    "ctl.etl_reject",
)
#: facts required even when not active (the rest of the facts are required once active)
ALWAYS_REQUIRED_FACTS = ("dw.fact_vendas",)


@dataclass(frozen=True)
class Declared:
    """What init needs to know about one entity of the rollout."""

    name: str
    kind: str
    target_table: str
    load_order: int
    watermark_column: str | None


@dataclass
class InitReport:
    """Everything `dwetl init` did and found; printed, and stored in ctl.etl_run.details."""

    warehouse: str
    source: str
    connect_seconds: dict[str, float | None] = field(default_factory=dict)
    source_status: str = ""
    source_detail: str = ""
    scripts: list[ScriptResult] = field(default_factory=list)
    ddl_seconds: float = 0.0
    check_seconds: float = 0.0
    seeded: list[str] = field(default_factory=list)
    active: list[str] = field(default_factory=list)
    inactive: list[str] = field(default_factory=list)
    required: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    check: Any = None
    total_seconds: float = 0.0
    run_id: int | None = None

    @property
    def ok(self) -> bool:
        """True when nothing is missing and both databases answered (or the source is yet to be)."""
        return not self.missing and not self.problems

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-able data."""
        data = asdict(self)
        data["ok"] = self.ok
        return data


def declared_entities() -> list[Declared]:
    """The rollout's entities, from the entity registry."""
    from dwetl.entities.registry import all_entities

    return [
        Declared(e.name, e.kind, e.target_table, e.load_order, e.watermark_column)
        for e in all_entities()
    ]


def run_init(
    settings: Settings, *, entities: Callable[[], Sequence[Declared]] = declared_entities
) -> InitReport:
    """Do what `dwetl init` does and return the report (raises DwetlError on a broken step)."""
    started = time.perf_counter()
    report = InitReport(warehouse=settings.dw.masked, source=settings.source.masked)
    scripts = list_scripts(settings.ddl_dir)
    with write_lock(settings), open_warehouse(settings.dw, settings) as wh:
        report.connect_seconds["warehouse"] = round(wh.connect_seconds, 4)
        probe = probe_source(settings)
        report.connect_seconds["source"] = (
            None if probe.seconds is None else round(probe.seconds, 4)
        )
        report.source_status, report.source_detail = probe.status, probe.detail
        if probe.status in ("unreachable", "refused"):
            report.problems.append(probe.detail)

        ddl_started = time.perf_counter()
        try:
            report.scripts = apply_pending(wh, scripts)
        except DwetlError as exc:
            _record_failed_ddl(wh, settings, report, exc, time.perf_counter() - started)
            raise
        report.ddl_seconds = round(time.perf_counter() - ddl_started, 4)

        run_id = start_run(wh, "init", settings)
        report.run_id = run_id
        try:
            declared = list(entities())
            report.seeded = seed_control(wh, declared)
            verify(wh, declared, report)
            check_started = time.perf_counter()
            check = run_check(wh, settings)
            report.check_seconds = round(time.perf_counter() - check_started, 4)
            report.check = check.as_dict()
            report.problems += [f"check: {problem}" for problem in check.problems]
        except BaseException as exc:
            report.total_seconds = round(time.perf_counter() - started, 4)
            finish_run(
                wh,
                run_id,
                "failed",
                details=report.as_dict(),
                error=str(exc),
                startup_seconds=report.total_seconds,
            )
            raise
        report.total_seconds = round(time.perf_counter() - started, 4)
        finish_run(
            wh,
            run_id,
            "success" if report.ok else "failed",
            details=report.as_dict(),
            error="; ".join(report.problems + [f"missing {m}" for m in report.missing]) or None,
            startup_seconds=report.total_seconds,
        )
    return report


def _record_failed_ddl(
    wh: Warehouse, settings: Settings, report: InitReport, exc: DwetlError, seconds: float
) -> None:
    # The failed script left nothing behind; the run log (when an earlier script made it)
    # still tells the operator what happened and when.
    if not wh.table_exists("ctl.etl_run"):
        return
    try:
        report.total_seconds = round(seconds, 4)
        run_id = start_run(wh, "init", settings)
        finish_run(wh, run_id, "failed", details=report.as_dict(), error=str(exc))
    except Exception as log_error:  # the DDL error is the one to show
        log.warning("could not record the failed init in ctl.etl_run: %s", log_error)


def seed_control(wh: Warehouse, declared: Sequence[Declared]) -> list[str]:
    """Add each declared entity missing from ctl.etl_control (active) and its expected scope.

    An entity already there keeps its `active` flag (a user may have disabled it); its
    declaration (kind, target, load order, watermark column) follows the registry.
    Returns the entities added.
    """
    who, when = os_user(), now_utc()
    added = []
    with wh.transaction():
        known = {row[0] for row in wh.fetchall(_q("control_entities"))}
        scoped = {row[0] for row in wh.fetchall(_q("scope_entities"))}
        for e in declared:
            shape = [e.kind, e.target_table, e.load_order, e.watermark_column]
            if e.name in known:
                wh.execute(_q("update_control_declaration"), [*shape, e.name, *shape])
            else:
                wh.execute(_q("insert_control"), [e.name, *shape])
                added.append(e.name)
            if e.name not in scoped:
                wh.execute(_q("insert_scope"), [who, when, e.name])
                change_id = int(wh.fetchall(_q("next_change_id"))[0][0])
                wh.execute(_q("insert_change"), [change_id, "dwetl init", who, when, e.name])
    return added


def verify(wh: Warehouse, declared: Sequence[Declared], report: InitReport) -> None:
    """Fill the report with what is true now: active entities, required and missing tables."""
    required = list(CONTROL_TABLES)
    required += [e.target_table for e in declared if e.kind in ("calendar", "dimension")]
    required += list(ALWAYS_REQUIRED_FACTS)
    for entity, _kind, target, active in wh.fetchall(_q("control_scope")):
        (report.active if active else report.inactive).append(entity)
        if active:
            required.append(target)
    report.required = list(dict.fromkeys(required))
    report.missing = [table for table in report.required if not wh.table_exists(table)]


def run_check(wh: Warehouse, settings: Settings) -> CheckReport:
    """The warehouse-versus-DDL and scope check of `dwetl check`."""
    return check_warehouse(wh, settings)


def _q(name: str) -> str:
    return named_queries("ops/init.sql")[name]
