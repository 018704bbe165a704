"""One entity of a run: its load path chosen and run under the entity's lock, or its failure
recorded — or its skipping, where a dimension it needs failed in this run.

Everything the entity writes (target rows, rejects, watermark, run-entity row) commits in one
transaction; any error rolls it all back and the entity is then recorded as `failed` in a small
transaction of its own, its rejected rows kept as not applied (`rejects.write_blocked`) in
another. Inferred members of an entity read in one frame are the one exception by design: they
commit first, under their dimension's lock, so the fact can reference them (a later failure of
the fact leaves them, harmless placeholders the dimension completes).

The load paths (`load.EntityLoad` and its subclasses): an entity read in one frame
(`load_frame.FrameLoad`); a large entity that declares a `batch_key`, read in key-partitioned
batches, straight into its empty target where the warehouse keeps uncommitted rows out of this
process (`load_into_empty.BatchesIntoEmpty`), else through the staging table
(`load_staged.StagedBatches`). A failure anywhere commits nothing of the target and leaves no
staging table.
"""

from __future__ import annotations

import logging
import time
from contextlib import suppress
from dataclasses import replace

from dwetl.core import diskspace, logs
from dwetl.entities.spec import EntitySpec
from dwetl.run import control, merge, rejects
from dwetl.run.context import RunContext, phase
from dwetl.run.load import DryRunDone, EntityLoad, constraint_set, one_line, plan_for
from dwetl.run.load_batches import require_batchable
from dwetl.run.load_frame import FrameLoad
from dwetl.run.load_into_empty import BatchesIntoEmpty
from dwetl.run.load_staged import StagedBatches
from dwetl.run.read_ahead import EntityReads, ReadAhead
from dwetl.run.spark.load import spark_load
from dwetl.run.stop import Interrupted
from dwetl.run.summary import COUNTS, SKIPPED_PREFIX, DiskFull, EntityResult

log = logging.getLogger(__name__)


def run_entity(ctx: RunContext, spec: EntitySpec) -> EntityResult:
    """Load one entity under its lock; never raises for the entity's own failure."""
    result = EntityResult(spec.name, started_at=control.now())
    read_ahead = ctx.read_ahead or ReadAhead([(spec.name, ctx.opener(spec))])
    reads = read_ahead.reads(spec.name)
    try:
        timeout_s = ctx.settings.lock_timeout_seconds
        with ctx.wh.entity_lock(spec.name, timeout_s, waiting=ctx.stop.check):
            _load(ctx, spec, reads, result)
        _refresh_reject_statistics(ctx, result)
    except DryRunDone:
        pass
    except Exception as exc:  # one entity's failure must not stop the others
        _record_failure(ctx, spec, result, exc)
    except KeyboardInterrupt as exc:  # a second signal (`dwetl.run.stop`), or none of ours
        if not ctx.stop.requested:
            raise
        _record_failure(ctx, spec, result, exc)
    finally:
        reads.close()
        if read_ahead is not ctx.read_ahead:
            read_ahead.close()
    result.finished_at = result.finished_at or control.now()
    _announce(ctx, spec, result)
    return result


#: from how many rows an entity rejected in a run the quarantine's statistics are brought up to
#: date once it has committed (`Warehouse.refresh_statistics`): its statements each look up a
#: few keys among the open rejects, and are planned by index only when the planner knows how
#: many there are (docs/decisions/0021-statistics-of-the-quarantine.md)
REFRESH_REJECT_STATISTICS_FROM = 10_000


def _refresh_reject_statistics(ctx: RunContext, result: EntityResult) -> None:
    """After an entity committed many rejects, the quarantine's statistics, timed as part of
    its commit."""
    if ctx.dry_run or result.rejected < REFRESH_REJECT_STATISTICS_FROM:
        return
    started = time.perf_counter()
    ctx.wh.refresh_statistics(rejects.REJECTS)
    result.seconds["commit"] = result.seconds.get("commit", 0.0) + time.perf_counter() - started


def _load(ctx: RunContext, spec: EntitySpec, reads: EntityReads, result: EntityResult) -> None:
    """The entity's load, by its path; a failed load's rejected rows are kept, not applied."""
    load = _load_path(ctx, spec, reads, result)
    try:
        load.run()
    except DryRunDone:
        raise
    except Exception:
        ctx.stop.recording()  # a stop asked: signals wait while it is recorded
        _keep_blocked(ctx, spec, load)
        raise
    finally:
        load.close()


def _load_path(
    ctx: RunContext, spec: EntitySpec, reads: EntityReads, result: EntityResult
) -> EntityLoad:
    """How the entity loads: in one frame, or in batches (more than one read) straight into
    its empty target (unless the warehouse would hold the uncommitted rows in this process's
    memory), else through the staging table. Leftover staging tables of earlier runs go."""
    result.watermark_from = ctx.watermark_from(spec.name)
    cs = constraint_set(ctx, spec)
    if spec.batch_key is not None:
        require_batchable(spec, cs)
    if not ctx.dry_run:
        merge.drop_leftover_staging(ctx.wh, spec.name, spec.target_table, ctx.tables_at_start)
    with phase(ctx, result, "extract"):
        batches = reads.count()
    if batches <= 1:
        return FrameLoad(ctx, spec, reads, result, cs)
    result.batches = batches
    plan = plan_for(ctx, spec)
    if reads.plan is not None:  # the Spark engine's tasks read the batches
        return spark_load(ctx.wh)(ctx, spec, reads, result, cs, plan)
    into_empty = not ctx.wh.holds_uncommitted_rows and merge.is_empty(ctx.wh, plan.target)
    if into_empty:
        return BatchesIntoEmpty(ctx, spec, reads, result, cs, plan)
    return StagedBatches(ctx, spec, reads, result, cs, plan)


def _record_failure(
    ctx: RunContext, spec: EntitySpec, result: EntityResult, exc: BaseException
) -> None:
    """The entity recorded as failed, nothing of it applied; a full disk raises `DiskFull`
    instead (it stops the run: each entity after it would fail the same way), and so does a
    stop asked by a signal (`Interrupted`). An error raised once the entity had committed (a
    driver that reports a COMMIT it was interrupted in, which went through) leaves it loaded."""
    ctx.stop.recording()  # a stop asked: signals wait while it is recorded
    log.debug("%s failed", spec.name, exc_info=exc)
    if not ctx.dry_run:
        _reconnect_if_lost(ctx)
        if _committed(ctx, spec):
            log.warning("%s: error after its commit, its rows are loaded: %s", spec.name,
                        one_line(exc))  # fmt: skip
            return
    result.status = "failed"
    result.error = one_line(exc)
    full = diskspace.describe(exc, f"warehouse {ctx.settings.dw.masked}")
    result.inserted = result.updated = result.unchanged = 0
    # nothing was applied: every row read is blocked, rejected or folded
    result.blocked = max(0, result.extracted - result.rejected - result.folded)
    result.finished_at = control.now()
    if full is not None:
        result.error = full
        raise DiskFull(full, result) from None
    if ctx.stop.requested:
        stopped = Interrupted(ctx.stop, result)
        result.error = str(stopped)
        raise stopped from None
    log.error("%s failed: %s", spec.name, result.error)
    if not ctx.dry_run:
        with ctx.wh.transaction():
            control.record_failed(ctx.wh, ctx.run_id, result)


def _committed(ctx: RunContext, spec: EntitySpec) -> bool:
    """Whether the entity's transaction committed in this run (its run-entity row, written in
    that transaction, is there)."""
    try:
        return control.entity_recorded(ctx.wh, ctx.run_id, spec.name)
    except Exception:  # no answer: as if not (the failure is recorded, or its error says why)
        return False


def _announce(ctx: RunContext, spec: EntitySpec, result: EntityResult) -> None:
    """The entity's end, to the progress display and the run log."""
    ctx.progress(spec.name, f"done:{result.status}")
    logs.event(
        f"{spec.name} {result.status}",
        run_id=ctx.run_id,
        entity=spec.name,
        status=result.status,
        counts=_counts(result),
        seconds=round(sum(result.seconds.values()), 3),
    )


def _keep_blocked(ctx: RunContext, spec: EntitySpec, load: EntityLoad) -> None:
    """A failed entity's rejected rows (`EntityLoad.rejected_parts`), kept as not applied in a
    transaction of their own (the entity's rolled back), still under the entity's lock; a
    failure to keep them (the connection was lost) is a warning, never a second error of the
    entity."""
    if ctx.dry_run or not load.result.rejected:
        return
    try:
        with ctx.wh.transaction():
            for rejected in load.rejected_parts():
                rejects.write_blocked(
                    ctx.wh, rejected, spec.natural_key, run_id=ctx.run_id, entity=spec.name
                )
    except Exception as exc:
        log.warning("%s: its %d rejected rows were not kept: %s", spec.name,
                    load.result.rejected, one_line(exc))  # fmt: skip


def skip_entity(ctx: RunContext, spec: EntitySpec, dimension: str) -> EntityResult:
    """Record `spec` as skipped because `dimension` did not load earlier in this run: nothing
    of it runs (its read ahead is dropped), its watermark stays. Its `ctl.etl_run_entity` row
    says `failed` (the statuses that table's CHECK admits) with the error naming the dimension,
    which is how `dwetl history` tells it from a failure."""
    result = EntityResult(spec.name, started_at=control.now(), status="skipped")
    result.error = f"{SKIPPED_PREFIX} dimension {dimension} failed in this run"
    if ctx.read_ahead is not None:
        ctx.read_ahead.reads(spec.name).close()
    result.finished_at = control.now()
    log.warning("%s %s", spec.name, result.error)
    if not ctx.dry_run:
        with ctx.wh.transaction():
            control.insert_run_entity(ctx.wh, ctx.run_id, replace(result, status="failed"))
    _announce(ctx, spec, result)
    return result


def _counts(result: EntityResult) -> dict[str, int]:
    names = (*COUNTS, "blocked", "withdrawn")
    return {name: getattr(result, name) for name in names} | {"batches": result.batches}


def _reconnect_if_lost(ctx: RunContext) -> None:
    """A failure that took the warehouse connection with it (server restart, a killed backend)
    leaves the run on a new connection: the failure is recorded and the next entities run."""
    try:
        ctx.wh.fetchall("SELECT 1")
        return
    except Exception as exc:
        log.warning("warehouse connection lost (%s); reconnecting", one_line(exc))
    from dwetl.warehouse import open_warehouse

    lost, ctx.wh = ctx.wh, open_warehouse(ctx.settings.dw, ctx.settings)
    ctx.wh.run_id = lost.run_id
    with suppress(Exception):
        lost.close()
