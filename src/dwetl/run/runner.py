"""`dwetl run`: the active entities in dependency order, each loaded whole or not at all.

Policies (see also DESIGN.md "Behaviour users rely on"):
- A fact whose dimension failed earlier in the same run is skipped (`skip_entity`): nothing of
  it runs, its watermark stays, and its status names the dimension; the next run, once the
  dimension loads, catches up. With `on_failed_dimension = "infer"` it runs instead, and the
  keys it cannot find become inferred members, which the dimension completes when it loads
  (same sk). Inferred members are for keys that arrive late, not for a dimension that failed.
- A dry run does every step inside the entity's transaction, loads the run-private staging
  table and counts with the real merge's SQL what the MERGE would insert / update / leave —
  then rolls the transaction back: no target row, reject, watermark or staging table remains.
  Facts of a dry run see the dimension rows the same dry run would have written. Only the
  `ctl.etl_run` row (dry_run = TRUE) is kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING

from dwetl.core import diskspace
from dwetl.core.config import Settings, require_folder
from dwetl.core.errors import DwetlError, UsageError
from dwetl.ops.abandoned import find_abandoned, record_abandoned
from dwetl.ops.runlog import finish_run, records_pid, start_run
from dwetl.run import control
from dwetl.run.stop import Interrupted, StopRequest
from dwetl.run.summary import DiskFull, RunStopped, RunSummary
from dwetl.source.probe import reach_source
from dwetl.warehouse import open_warehouse, require_existing, write_lock
from dwetl.warehouse.base import Warehouse

if TYPE_CHECKING:
    from dwetl.entities.spec import EntitySpec
    from dwetl.run.context import Progress, RunContext
    from dwetl.run.spark.session import SparkEngine

ALL = "all"

log = logging.getLogger(__name__)


def _registry() -> dict[str, EntitySpec]:
    from dwetl.entities.registry import all_entities

    return {spec.name: spec for spec in all_entities()}


def _ordered(names: Sequence[str]) -> list[EntitySpec]:
    from dwetl.entities.registry import resolve_order

    return resolve_order(list(names))


def select_entities(
    requested: Sequence[str],
    specs: dict[str, EntitySpec],
    rows: dict[str, control.ControlRow],
    *,
    ignore_scope: bool = False,
) -> list[str]:
    """The entity names a run loads: `all` = every active one; a named inactive one is an error."""
    names = [n.strip() for item in requested for n in item.split(",") if n.strip()]
    if not names or ALL in names:
        if len(names) > 1:
            raise UsageError("--entity all cannot be combined with entity names")
        return [n for n in specs if n in rows and rows[n].active]
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise UsageError(f"unknown entity {', '.join(unknown)} (known: {', '.join(sorted(specs))})")
    missing = [n for n in names if n not in rows]
    if missing:
        raise UsageError(
            f"entity {', '.join(missing)} is not in ctl.etl_control: run `dwetl init` first"
        )
    inactive = [n for n in names if not rows[n].active]
    if inactive and not ignore_scope:
        raise UsageError(
            f"entity {', '.join(inactive)} is not active in ctl.etl_control "
            f"(switch it on with `dwetl rollout enable {inactive[0]}`)"
        )
    return list(dict.fromkeys(names))


def run(
    settings: Settings,
    entities: Sequence[str] = (ALL,),
    *,
    full: bool = False,
    dry_run: bool = False,
    max_reject_ratio: float | None = None,
    ignore_scope: bool = False,
    progress: Progress | None = None,
) -> RunSummary:
    """Run `entities` (names, or ["all"]) and return what happened (raises only on bad usage, an
    unreachable warehouse or source, a full disk or a signal; an entity's failure is in the
    summary). SIGINT and SIGTERM are the run's (`dwetl.run.stop`) until its connections close."""
    stop = StopRequest()
    try:
        with stop.on_signals():
            return _run(
                settings, entities, stop, full=full, dry_run=dry_run,
                max_reject_ratio=max_reject_ratio, ignore_scope=ignore_scope, progress=progress,
            )  # fmt: skip
    except KeyboardInterrupt:
        if not stop.requested:
            raise
        # before any entity began (connecting, waiting for the lock): nothing to roll back; a
        # run already started shows as abandoned once this process is gone
        raise Interrupted(stop, before="any entity") from None


def _run(
    settings: Settings,
    entities: Sequence[str],
    stop: StopRequest,
    *,
    full: bool,
    dry_run: bool,
    max_reject_ratio: float | None,
    ignore_scope: bool,
    progress: Progress | None,
) -> RunSummary:
    """`run`'s work, under `stop`'s signal handlers."""
    started = time.perf_counter()
    ratio = settings.max_reject_ratio if max_reject_ratio is None else max_reject_ratio
    if not 0 <= ratio <= 1:
        raise UsageError(f"--max-reject-ratio must be between 0 and 1, got {ratio:g}")
    spark = _spark_engine(settings)
    require_folder(settings, "sql_dir")
    require_existing(settings.dw)
    with (
        write_lock(settings),
        open_warehouse(settings.dw, settings) as wh,
        spark or nullcontext(),
    ):
        _require_init(wh, settings)
        _warn_pending_ddl(wh, settings)
        # the entities, and Polars and sqlglot with them, are imported once the warehouse
        # answers: a run that cannot start says so without waiting for them
        from dwetl.run.context import RunContext
        from dwetl.run.entity import run_entity, skip_entity

        specs = _registry()
        rows = control.read_control(wh)
        names = select_entities(entities, specs, rows, ignore_scope=ignore_scope)
        order = _ordered(names)
        with_pid = records_pid(wh)  # asked once for both
        run_id = start_run(wh, "run", settings, full=full, dry_run=dry_run, with_pid=with_pid)
        _close_abandoned(wh, run_id, with_pid)
        _reach_source(wh, run_id, settings)
        summary = RunSummary(run_id, control.now(), full=full, dry_run=dry_run)
        ctx = RunContext(
            wh, settings, run_id, specs, rows, full=full, dry_run=dry_run, max_reject_ratio=ratio,
            stop=stop,
        )  # fmt: skip
        ctx.spark = spark
        if progress is not None:
            ctx.progress = progress
        try:
            with stop.armed(), ctx.start_reading(order):
                for spec in order:
                    if ctx.stop.requested:
                        raise Interrupted(ctx.stop, before=spec.name)
                    failed = _failed_dimension(spec, summary, settings)
                    if failed is None:
                        summary.entities.append(run_entity(ctx, spec))
                    else:
                        summary.entities.append(skip_entity(ctx, spec, failed))
        except BaseException as exc:
            summary.seconds = time.perf_counter() - started
            try:
                stopped = _as_stop(ctx, exc)
                if stopped is not None:
                    raise _stopped(ctx.wh, summary, stopped, dry_run) from None
                finish_run(ctx.wh, run_id, "failed", error=f"interrupted: {exc!r}")
                raise
            finally:
                _close_replacement(ctx.wh, wh)
        summary.finished_at = control.now()
        try:
            finish_run(
                ctx.wh,
                run_id,
                summary.status,
                details=summary.to_dict(),
                error="; ".join(f"{e.entity}: {e.error}" for e in summary.entities if e.error)
                or None,
                startup_seconds=round(wh.connect_seconds, 4),
            )
        except Exception as exc:
            no_room = diskspace.describe(exc, f"warehouse {settings.dw.masked}")
            if no_room is None:
                raise
            stopped = DiskFull(
                f"{no_room}: run {run_id} loaded its entities, but could not be recorded as "
                "finished (it shows as running); free space there"
            )
            stopped.summary = summary
            raise stopped from None
        finally:
            _close_replacement(ctx.wh, wh)
    summary.seconds = time.perf_counter() - started
    return summary


def _spark_engine(settings: Settings) -> SparkEngine | None:
    """The Spark engine where the settings ask for it (a UsageError without pyspark)."""
    if settings.engine != "spark":
        return None
    from dwetl.run.spark.session import SparkEngine

    return SparkEngine(settings)


def _failed_dimension(spec: EntitySpec, summary: RunSummary, settings: Settings) -> str | None:
    """The first of `spec`'s dimensions that did not load earlier in this run (failed, or was
    itself skipped), where the settings skip such an entity; else None."""
    if settings.on_failed_dimension != "skip":
        return None
    done = {e.entity: e.status for e in summary.entities}
    return next((d for d in spec.depends_on if done.get(d) in ("failed", "skipped")), None)


def _as_stop(ctx: RunContext, exc: BaseException) -> RunStopped | None:
    """`exc` as the stop it is (a full disk, a signal: `RunStopped`; the `KeyboardInterrupt` of
    a second signal, met between two entities), else None. Signals wait from here on: `armed`
    has ended."""
    if isinstance(exc, RunStopped):
        return exc
    if isinstance(exc, KeyboardInterrupt) and ctx.stop.requested:
        return Interrupted(ctx.stop)
    return None


def _stopped(wh: Warehouse, summary: RunSummary, exc: RunStopped, dry_run: bool) -> RunStopped:
    """The run stopped (a full disk, a signal) at `exc.result`'s entity or between two,
    recorded as failed where the warehouse still takes that (else the message says it shows
    as running)."""
    summary.finished_at = control.now()
    message = str(exc)
    if exc.result is not None:
        summary.entities.append(exc.result)
        message += f": the run stopped at {exc.result.entity} (nothing of it committed)"
    message += f"; {exc.advice}"
    try:
        if not dry_run and exc.result is not None:
            with wh.transaction():
                control.record_failed(wh, summary.run_id, exc.result)
        details = summary.to_dict() | {"status": "failed", "error": message}
        finish_run(wh, summary.run_id, "failed", details=details, error=message)
    except Exception as again:
        if diskspace.out_of_space(again) is None:
            raise
        message += f"; run {summary.run_id} could not be recorded as failed (it shows as running)"
    exc.args = (message,)
    exc.summary = summary
    return exc


def _reach_source(wh: Warehouse, run_id: int, settings: Settings) -> None:
    """The source is reached once, before any entity (not by each entity's extract): a source
    that cannot be read fails the run, recorded as failed, with the error of `reach_source`."""
    try:
        reach_source(settings)
    except DwetlError as exc:
        finish_run(wh, run_id, "failed", error=str(exc), startup_seconds=wh.connect_seconds)
        raise


def _close_replacement(current: Warehouse, opened: Warehouse) -> None:
    # an entity whose failure lost the connection left the run on a new one (closed here;
    # the one the run opened closes with its `with` block)
    if current is not opened:
        current.close()


def _require_init(wh: Warehouse, settings: Settings) -> None:
    if not wh.table_exists("ctl.etl_control"):
        raise UsageError(
            f"warehouse {settings.dw.masked} has no ctl.etl_control: run `dwetl init` first"
        )
    control.require_upgraded(wh)


def _warn_pending_ddl(wh: Warehouse, settings: Settings) -> None:
    """A warehouse that lacks scripts of the DDL folder still runs where its control tables
    have what this dwetl writes (`control.require_upgraded`), but says which scripts `init`
    would apply: 009_open_reject_index.sql, for one, only makes runs faster."""
    from dwetl.warehouse.ddl import pending_scripts

    try:
        pending = pending_scripts(wh, settings.ddl_dir)
    except UsageError:  # no DDL folder: `check` and `init` say so
        return
    if pending:
        log.warning(
            "the warehouse lacks %s of the DDL in %s: run `dwetl init` to apply it",
            ", ".join(pending),
            settings.ddl_dir,
        )


def _close_abandoned(wh: Warehouse, run_id: int, with_pid: bool) -> None:
    """Record the runs a killed process left `running` as abandoned (`dwetl.ops.abandoned`); a
    failure to do so is a warning, never the run's failure."""
    try:
        found = find_abandoned(
            wh, found_by=f"dwetl run {run_id}", own_run_id=run_id, with_pid=with_pid
        )
        record_abandoned(wh, found)
    except Exception as exc:
        log.warning("could not look for abandoned runs: %s", exc)
        return
    for run in found:
        log.warning("run %s (%s) was left running: %s", run.run_id, run.command, run.how)
