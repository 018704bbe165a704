"""One entity of a run: extract, transform, keys, validate, stage, merge, commit — or fail whole.

Everything the entity writes (target rows, rejects, watermark, run-entity row) commits in one
transaction; any error rolls it all back and the entity is then recorded as `failed` in a small
transaction of its own, its rejected rows kept as not applied (`rejects.write_blocked`) in
another. Inferred members of an entity read in one frame are the one exception by design: they
commit first, under their dimension's lock, so the fact can reference them (a later failure of
the fact leaves them, harmless placeholders the dimension completes).

A large entity that declares a `batch_key` (a fact whose only key is its natural key) is read
in key-partitioned batches of about `batch_rows` source rows instead of one frame: each batch
is transformed, keyed and validated, then loaded so that its rows leave memory. A first load
(the target is empty) on a warehouse that keeps uncommitted rows out of this process
(`Warehouse.holds_uncommitted_rows` False: PostgreSQL) writes the batches straight into the
target, in the entity's one transaction, its keys deferred until the last. Otherwise each
batch is appended to the run-private staging table and committed, and the one entity
transaction moves the staged rows into the target (or merges them). Either way the entity
holds its dimensions' locks throughout and writes its inferred members in that transaction
(they commit with it). The reject ratio is checked on the totals before anything commits; the
same transaction writes the rejects and the control rows. A failure anywhere commits nothing
of the target and leaves no staging table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial

import polars as pl

from dwetl.core import diskspace, logs
from dwetl.core.errors import DwetlError
from dwetl.entities.registry import applied_ddl
from dwetl.entities.spec import EntitySpec
from dwetl.run import control, inferred, lookups, merge, rejects, type_rejects
from dwetl.run.context import RunContext, phase, remember
from dwetl.run.faults import fault_point
from dwetl.run.read_ahead import EntityReads, Read, ReadAhead
from dwetl.run.summary import COUNTS, SKIPPED_PREFIX, EntityResult, RunSummary
from dwetl.run.write_behind import WriteBehind
from dwetl.source.conform import ORIGINAL, fold_typed
from dwetl.warehouse.base import Warehouse
from transforms.constraints import ConstraintSet
from transforms.text import repair_report
from transforms.validate import REASONS, split

log = logging.getLogger(__name__)


class RejectRatioExceeded(DwetlError):
    """More rows rejected than --max-reject-ratio allows: the entity fails."""


class DiskFull(DwetlError):
    """The warehouse's disk, quota or file size limit is full: the run stops at this entity
    (nothing of it committed). The runner records the run as failed where it still can."""

    def __init__(self, message: str, result: EntityResult | None = None) -> None:
        super().__init__(message)
        #: the entity it stopped at (None: the run's own record could not be written)
        self.result = result
        #: the run so far, this entity last (set by the runner)
        self.summary: RunSummary | None = None


class _DryRunDone(Exception):
    """Raised at the end of a dry run's entity so that its transaction rolls back."""


def run_entity(ctx: RunContext, spec: EntitySpec) -> EntityResult:
    """Load one entity under its lock; never raises for the entity's own failure."""
    result = EntityResult(spec.name, started_at=control.now())
    read_ahead = ctx.read_ahead or ReadAhead([(spec.name, ctx.opener(spec))])
    reads = read_ahead.reads(spec.name)
    quarantine: list[pl.DataFrame] = []  # the rejected rows, kept should the entity fail
    try:
        with ctx.wh.entity_lock(spec.name, ctx.settings.lock_timeout_seconds):
            try:
                _load(ctx, spec, result, reads, quarantine)
            except _DryRunDone:
                raise
            except Exception:
                _keep_blocked(ctx, spec, quarantine)
                raise
    except _DryRunDone:
        pass
    except Exception as exc:  # one entity's failure must not stop the others
        result.status = "failed"
        result.error = _one_line(exc)
        full = diskspace.describe(exc, f"warehouse {ctx.settings.dw.masked}")
        log.debug("%s failed", spec.name, exc_info=True)
        result.inserted = result.updated = result.unchanged = 0
        # nothing was applied: every row read is blocked, rejected or folded
        result.blocked = max(0, result.extracted - result.rejected - result.folded)
        result.finished_at = control.now()
        if full is not None:  # ... but a full disk stops them all: each would fail the same way
            result.error = full
            raise DiskFull(full, result) from None
        log.error("%s failed: %s", spec.name, result.error)
        if not ctx.dry_run:
            _reconnect_if_lost(ctx)
            with ctx.wh.transaction():
                control.record_failed(ctx.wh, ctx.run_id, result)
    finally:
        reads.close()
        if read_ahead is not ctx.read_ahead:
            read_ahead.close()
    result.finished_at = result.finished_at or control.now()
    _announce(ctx, spec, result)
    return result


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


def _keep_blocked(ctx: RunContext, spec: EntitySpec, quarantine: list[pl.DataFrame]) -> None:
    """A failed entity's rejected rows, kept as not applied in a transaction of their own (the
    entity's rolled back), still under the entity's lock; a failure to keep them (the connection
    was lost) is a warning, never a second error of the entity."""
    rejected = _concat(quarantine)
    if ctx.dry_run or not rejected.height:
        return
    try:
        with ctx.wh.transaction():
            rejects.write_blocked(
                ctx.wh, rejected, spec.natural_key, run_id=ctx.run_id, entity=spec.name
            )
    except Exception as exc:
        log.warning("%s: its %d rejected rows were not kept: %s", spec.name, rejected.height,
                    _one_line(exc))  # fmt: skip


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
        log.warning("warehouse connection lost (%s); reconnecting", _one_line(exc))
    from dwetl.warehouse import open_warehouse

    lost, ctx.wh = ctx.wh, open_warehouse(ctx.settings.dw, ctx.settings)
    ctx.wh.run_id = lost.run_id
    with suppress(Exception):
        lost.close()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, DwetlError) else f"{type(exc).__name__}: {text}"


def _load(
    ctx: RunContext,
    spec: EntitySpec,
    result: EntityResult,
    reads: EntityReads,
    quarantine: list[pl.DataFrame],
) -> None:
    """The entity's load; its rejected rows are added to `quarantine` as they are found."""
    wh = ctx.wh
    stored = ctx.control[spec.name].watermark_value
    result.watermark_from = ctx.watermark_from(spec.name)
    cs = ctx.constraint_sets.get(spec.target_table)
    if cs is None:
        raise DwetlError(
            f"{spec.name}: the DDL applied to this warehouse (ctl.schema_version) declares no "
            f"table {spec.target_table}"
        )
    if spec.batch_key is not None:
        _require_batchable(spec, cs)
    if not ctx.dry_run:
        merge.drop_leftover_staging(wh, spec.name, spec.target_table)
    with phase(ctx, result, "extract"):
        batches = reads.count()
    if batches > 1:
        _load_batches(ctx, spec, result, cs, stored, reads, quarantine)
        return

    with phase(ctx, result, "extract"):
        extracted = _taken(ctx, spec, reads).extracted
    frame = extracted.frame
    result.extracted = frame.height
    result.watermark_to = extracted.watermark_to
    result.source_clock, result.future = extracted.clock, extracted.future
    del extracted

    maps: dict[str, pl.DataFrame] = {}
    with phase(ctx, result, "transform"):
        frame, mistyped = _transformed(ctx, spec, frame, result, maps, whole=True)

    with phase(ctx, result, "validate"):
        valid, rejected = split(
            frame,
            cs,
            key=list(spec.natural_key),
            references=lookups.references(ctx, cs, maps=maps),
            existing=lookups.held_tuples(ctx, spec, cs),
        )
        rejected = _with_mistyped(mistyped, rejected)
        _count_rejects(result, rejected)
        if rejected.height:
            quarantine.append(rejected)
        _check_ratio(ctx, spec, result, [rejected])

    with ExitStack() as committing, wh.transaction():
        plan = _plan(ctx, spec)
        _require_columns(spec, plan, valid)
        with phase(ctx, result, "load"):
            landed = merge.land(wh, plan, valid, apply=not ctx.dry_run)
        fault_point("merge", spec.name)
        _settle(ctx, spec, result, landed, rejected)
        if ctx.dry_run:
            _finish(ctx, spec, result)
            if spec.kind != "fact":
                remember(ctx, spec.target_table, valid)
            raise _DryRunDone
        _commit(ctx, spec, result, stored, committing)


def _taken(ctx: RunContext, spec: EntitySpec, reads: EntityReads) -> Read:
    """The entity's next read; how long the reader took is logged (the extract phase is the
    wait for it, which reading ahead shortens)."""
    read = reads.next()
    logs.event(
        f"{spec.name} read",
        run_id=ctx.run_id,
        entity=spec.name,
        phase="read",  # the reader's own time, not in the entity's seconds (they add up to wall)
        seconds=round(read.seconds, 3),
    )
    return read


def _load_batches(
    ctx: RunContext,
    spec: EntitySpec,
    result: EntityResult,
    cs: ConstraintSet,
    stored: datetime | None,
    reads: EntityReads,
    rejected: list[pl.DataFrame],
) -> None:
    """`_load` of an entity read in key-partitioned batches (never a dry run): straight into
    its target when that is empty (unless the warehouse would hold the uncommitted rows in
    this process's memory), else through the staging table. Each batch's rejected rows are
    added to `rejected`."""
    result.batches = reads.count()
    plan = _plan(ctx, spec)
    if not ctx.wh.holds_uncommitted_rows and merge.is_empty(ctx.wh, plan.target):
        _load_batches_into_empty(ctx, spec, result, cs, stored, reads, plan, rejected)
    else:
        _load_batches_staged(ctx, spec, result, cs, stored, reads, plan, rejected)


def _load_batches_into_empty(
    ctx: RunContext,
    spec: EntitySpec,
    result: EntityResult,
    cs: ConstraintSet,
    stored: datetime | None,
    reads: EntityReads,
    plan: merge.MergePlan,
    rejected: list[pl.DataFrame],
) -> None:
    """A first load in batches: every batch goes straight into the empty target, its keys
    deferred until the last, all in the entity's one transaction (the rows leave memory for the
    warehouse's, uncommitted). The dimensions' locks are held throughout, so that inferred
    members are written in that transaction too (a second connection would wait on the locks
    that deferring the foreign keys takes on the dimensions)."""
    wh = ctx.wh
    log.debug("%s is empty: its %d batches go straight into it", plan.target, result.batches)
    members: list[tuple[str, pl.DataFrame]] = []
    loaded = 0
    with _dimensions_held(ctx, spec), ExitStack() as committing, wh.transaction():
        with ExitStack() as deferred:
            keys_deferred = deferred.enter_context(wh.constraints_deferred(plan.target, empty=True))
            # Each batch is written while the next is transformed (write_behind.py); the
            # load phase is the wait for it. The inferred members are written once every
            # batch is in, before the keys are re-created; with its foreign keys in place
            # (not deferred), each batch needs its members written first.
            with WriteBehind() as behind:

                def write_members(table: str, rows: pl.DataFrame) -> None:
                    if keys_deferred:
                        members.append((table, rows))
                    else:
                        behind.submit(partial(wh.load_arrow, table, rows.to_arrow()))

                held = lookups.HeldDimensions.of(ctx, spec, write_members)
                for valid in _valid_batches(ctx, spec, result, cs, reads, rejected, plan, held):
                    with phase(ctx, result, "load"):
                        behind.submit(partial(merge.append, wh, plan, valid, plan.target))
                    loaded += valid.height
                    del valid
                with phase(ctx, result, "load"):
                    behind.wait()
                    _write_members(wh, members)
            logs.event(
                f"{spec.name} write",
                run_id=ctx.run_id,
                entity=spec.name,
                phase="write",  # the writer's own time, not in the entity's seconds
                seconds=round(behind.seconds, 3),
            )
            _check_ratio(ctx, spec, result, rejected)
            fault_point("merge", spec.name)
            rebuild_keys = deferred.pop_all()  # not on failure: the rollback undoes all
        with phase(ctx, result, "merge"):
            rebuild_keys.close()
        landed = merge.Landed(plan, loaded, direct=True, into_empty=True)
        _settle(ctx, spec, result, landed, _concat(rejected))
        _commit(ctx, spec, result, stored, committing)


def _load_batches_staged(
    ctx: RunContext,
    spec: EntitySpec,
    result: EntityResult,
    cs: ConstraintSet,
    stored: datetime | None,
    reads: EntityReads,
    plan: merge.MergePlan,
    rejected: list[pl.DataFrame],
) -> None:
    """Batches through the staging table (into a target that has rows, or on a warehouse that
    holds uncommitted rows in memory; into an empty target, its twin where the warehouse swaps
    tables): each appended and committed, so that its rows leave memory; then moved (or
    swapped in) or merged in the entity's one transaction. The dimensions' locks are held
    throughout, so that the inferred members the batches need are written in that transaction,
    before the rows that reference them (none is written, or read back, batch by batch)."""
    wh = ctx.wh
    members: list[tuple[str, pl.DataFrame]] = []
    staged = 0
    done = False
    with _dimensions_held(ctx, spec):
        held = lookups.HeldDimensions.of(
            ctx, spec, lambda table, rows: members.append((table, rows))
        )
        try:
            with wh.transaction():
                plan, swap = merge.create_batch_staging(wh, plan, ctx.run_id)
            for valid in _valid_batches(ctx, spec, result, cs, reads, rejected, plan, held):
                with phase(ctx, result, "load"), wh.transaction():
                    merge.append(wh, plan, valid)
                staged += valid.height
                del valid
            _check_ratio(ctx, spec, result, rejected)
            quarantined = _concat(rejected)

            with ExitStack() as committing, wh.transaction():
                fault_point("merge", spec.name)
                with phase(ctx, result, "load"):
                    _write_members(wh, members)
                _settle(ctx, spec, result, merge.staged(wh, plan, staged, swap), quarantined)
                _commit(ctx, spec, result, stored, committing)
            done = True
        finally:
            if not done:
                _drop_staging_after_failure(ctx, plan)


def _write_members(wh: Warehouse, members: list[tuple[str, pl.DataFrame]]) -> None:
    """The inferred members a batched load collected (`lookups.HeldDimensions`), per table."""
    for table, rows in members:
        wh.load_arrow(table, rows.to_arrow())


@contextmanager
def _dimensions_held(ctx: RunContext, spec: EntitySpec) -> Iterator[None]:
    """The entity locks of the dimensions `spec` may add inferred members to, for the block
    (a fact loaded in batches writes its members in its own transaction: see
    `lookups.HeldDimensions`); taken in `lookups.inferable`'s order, as every run takes them."""
    with ExitStack() as locks:
        for dimension in lookups.inferable(ctx, spec):
            locks.enter_context(ctx.wh.entity_lock(dimension, ctx.settings.lock_timeout_seconds))
        yield


def _valid_batches(
    ctx: RunContext,
    spec: EntitySpec,
    result: EntityResult,
    cs: ConstraintSet,
    reads: EntityReads,
    rejected: list[pl.DataFrame],
    plan: merge.MergePlan,
    held: lookups.HeldDimensions | None,
) -> Iterator[pl.DataFrame]:
    """Each batch read, transformed, keyed and validated: its valid rows, for the caller to
    load (its rejects go to `rejected`, its counts to `result`); the watermark settled once all
    are read. `held`: as `lookups.with_keys` (its maps, and so the parent keys, grow in memory)."""
    shared = _Shared()
    first_read = last_read = 0.0
    first_watermark = result.watermark_from
    for number in range(1, result.batches + 1):
        with phase(ctx, result, "extract"):
            read = _taken(ctx, spec, reads)
        extracted = read.extracted
        last_read = read.started
        if number == 1:
            first_read, first_watermark = read.started, extracted.watermark_to
        del read
        frame = extracted.frame
        result.extracted += frame.height
        # every batch is capped at the clock its plan read before the first (`plan_batches`)
        result.watermark_to = control.next_watermark(result.watermark_to, extracted.watermark_to)
        result.source_clock = result.source_clock or extracted.clock
        result.future += extracted.future
        del extracted

        with phase(ctx, result, "transform"):
            before = dict(shared.maps)
            frame, mistyped = _transformed(ctx, spec, frame, result, shared.maps, held)
            # a dimension that got inferred members has a new map (re-read, or grown in memory
            # where the dimensions are held): its parent keys are taken from it again
            grown = {
                ctx.specs[d].target_table for d, m in shared.maps.items() if before.get(d) is not m
            }
            del before

        with phase(ctx, result, "validate"):
            shared.references = lookups.references(ctx, cs, shared.references, grown, shared.maps)
            valid, bad = split(frame, cs, key=list(spec.natural_key), references=shared.references)
            del frame
            bad = _with_mistyped(mistyped, bad)
            del mistyped
            _count_rejects(result, bad)
            if bad.height:
                rejected.append(bad)
            del bad

        _require_columns(spec, plan, valid)
        yield valid
        del valid
        reads.done()
        fault_point(f"batch{number}", spec.name)
    reads.close()  # the parts read once (order headers) go with the reader's batches
    if last_read - first_read > ctx.settings.watermark_overlap_seconds:
        # The batches are separate reads, not one snapshot: a row changed in a batch already
        # read, after that read, is found by the next run only if its time is within the
        # overlap of the watermark stored now. Reading took longer than the overlap, so the
        # watermark is the first batch's (never later than that read): the next run re-reads
        # a little more, and the merge leaves what is unchanged.
        log.warning(
            "%s: its %d batches took %.0f s to read, more than the watermark overlap "
            "(%.0f s): the stored watermark is the first batch's, %s",
            spec.name, result.batches, last_read - first_read,
            ctx.settings.watermark_overlap_seconds, first_watermark,
        )  # fmt: skip
        result.watermark_to = first_watermark


@dataclass
class _Shared:
    """What the batches of one entity read once: the surrogate-key maps of its dimensions
    (re-read for a dimension that got inferred members, or grown in memory where the entity
    holds its dimensions: `lookups.HeldDimensions`) and the parent keys of its foreign keys
    (taken from those maps, again whenever a map changes)."""

    maps: dict[str, pl.DataFrame] = field(default_factory=dict)
    references: dict[str, pl.DataFrame] = field(default_factory=dict)


def _drop_staging_after_failure(ctx: RunContext, plan: merge.MergePlan) -> None:
    """A failed batched load leaves no staging table (it was committed batch by batch); a lost
    connection leaves it to the entity's next run (`merge.drop_leftover_staging`)."""
    try:
        merge.drop_staging(ctx.wh, plan)
    except Exception as exc:
        log.warning("%s is left for the next run to drop: %s", plan.staging, _one_line(exc))


def _plan(ctx: RunContext, spec: EntitySpec) -> merge.MergePlan:
    return merge.plan_for(
        ctx.wh,
        spec.target_table,
        merge.staging_name(spec.name, ctx.run_id),
        spec.natural_key,
        spec.surrogate_key,
    )


def _require_columns(spec: EntitySpec, plan: merge.MergePlan, valid: pl.DataFrame) -> None:
    missing = [c for c in plan.columns if c not in valid.columns]
    if missing:
        raise DwetlError(
            f"{spec.name}: the transformed rows lack target column(s) {', '.join(missing)}"
        )


def _require_batchable(spec: EntitySpec, cs: ConstraintSet) -> None:
    """Batches are exact only when the target's one key is the natural key: any other UNIQUE
    (or a surrogate primary key) is checked against every row of the entity at once."""
    natural = set(spec.natural_key)
    other = [
        k.name for k in (cs.primary_key, *cs.uniques) if k is not None and set(k.columns) != natural
    ]
    if other:
        raise DwetlError(
            f"{spec.name}: declares batch_key {spec.batch_key}, but {spec.target_table} has "
            f"key(s) other than its natural key ({', '.join(other)}), which batches cannot "
            "check; remove batch_key from its EntitySpec"
        )


def _transformed(
    ctx: RunContext,
    spec: EntitySpec,
    frame: pl.DataFrame,
    result: EntityResult,
    maps: dict[str, pl.DataFrame] | None = None,
    held: lookups.HeldDimensions | None = None,
    *,
    whole: bool = False,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """The transform phase of one frame: transform (repairs counted), the versions of a key
    folded into the newest, surrogate keys, lineage; counts added to `result`. `maps`, `held`
    and `whole`: as `lookups.with_keys`. Also the rows with a source value that did not fit
    its type (`type_rejects`): taken out after the folding, as rejects (None: there were none)."""
    originals = frame.get_column(ORIGINAL) if ORIGINAL in frame.columns else None
    source = frame.drop(ORIGINAL, strict=False)
    with applied_ddl(ctx.constraint_sets):  # categories repaired to the warehouse's own CHECKs
        frame = spec.transform(source)
    result.repairs = _merged_repairs(result.repairs, _repairs(source, frame))
    frame = type_rejects.attach(frame, originals, spec.name)
    del originals
    if spec.kind == "calendar":
        # The calendar's extract is the span of the source's dates; its rows are the days
        # the transform generates, and those are what the run accounts for.
        result.extracted = frame.height
    order_by = spec.watermark_column
    if order_by and order_by in frame.columns:
        # Versions that tie on the watermark column are told apart by their source values
        # (the transform's rows line up with them), not the transformed ones: a repair
        # depends on the other rows read, which differ between a full and an incremental run.
        # A version with a value that did not fit its type takes part, its value NULL (and
        # counts as the newest where its watermark column is that value: `fold_typed`).
        tie_break = source if source.height == frame.height else None
        folded = fold_typed(frame, list(spec.natural_key), order_by, tie_break=tie_break)
        frame, result.folded, result.ties = (
            folded.frame,
            result.folded + folded.folded,
            result.ties + folded.ties,
        )
    del source
    frame, mistyped = type_rejects.split_off(frame, spec.target_table, spec.natural_key)
    frame = lookups.with_keys(ctx, spec, frame, result, maps, held, whole=whole)
    return frame.with_columns(pl.lit(ctx.run_id, dtype=pl.Int64).alias(merge.LINEAGE)), mistyped


def _with_mistyped(mistyped: pl.DataFrame | None, rejected: pl.DataFrame) -> pl.DataFrame:
    """The rows `split` rejected and those whose values did not fit their types, as one."""
    if mistyped is None:
        return rejected
    if not rejected.height:
        return mistyped
    return pl.concat([rejected, mistyped], how="diagonal_relaxed")


def _count_rejects(result: EntityResult, rejected: pl.DataFrame) -> None:
    result.rejected += rejected.height
    if rejected.height:
        counts = rejected.get_column(REASONS).explode().value_counts()
        for reason, n in counts.iter_rows():
            result.reject_reasons[str(reason)] = result.reject_reasons.get(str(reason), 0) + n


def _concat(frames: list[pl.DataFrame]) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame()
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")


def _settle(
    ctx: RunContext,
    spec: EntitySpec,
    result: EntityResult,
    landed: merge.Landed,
    rejected: pl.DataFrame,
) -> None:
    """The merge phase: the landed rows settled in the target, the rejects written and earlier
    ones resolved, the staging table dropped."""
    wh = ctx.wh
    with phase(ctx, result, "merge"):
        counts = merge.settle(wh, landed, apply=not ctx.dry_run)
        result.inserted, result.updated, result.unchanged = (
            counts.inserted,
            counts.updated,
            counts.unchanged,
        )
        result.withdrawn = _withdraw(ctx, spec, landed, rejected)
        if not ctx.dry_run:
            rejects.write_rejects(
                wh, rejected, spec.natural_key, run_id=ctx.run_id, entity=spec.name
            )
            rejects.resolve_rejects(
                wh, landed.loaded, spec.natural_key, run_id=ctx.run_id, entity=spec.name
            )
        merge.clean_up(wh, landed)


def _withdraw(
    ctx: RunContext, spec: EntitySpec, landed: merge.Landed, rejected: pl.DataFrame
) -> int:
    """The newest source version of a key decides: where it was rejected, the key's row leaves
    the target (a fact's is deleted; a dimension's too, unless a fact row references it: then
    it becomes an inferred member, sk kept), as a full reload of the same source would leave
    it. Its reject stays open. Returns the target rows withdrawn (a subset of the rejects)."""
    plan = landed.plan
    if (
        landed.into_empty
        or spec.kind not in ("fact", "dimension")
        or not rejected.height
        or any(k not in rejected.columns for k in plan.key)
    ):
        return 0
    keys = merge.withdrawn_keys_name(spec.name, ctx.run_id)
    loaded = None if landed.direct else plan.staging
    if spec.kind == "fact":
        withdrawal = merge.Withdrawal(plan, keys, loaded)
        return merge.withdraw(ctx.wh, withdrawal, rejected, apply=not ctx.dry_run)
    sets, params = inferred.placeholder_sets(ctx.wh, spec, plan.columns, ctx.run_id)
    references = tuple(
        (cs.table, fk.columns[0])
        for cs in ctx.constraint_sets.values()
        for fk in cs.foreign_keys
        if fk.ref_table == plan.target and fk.ref_columns == plan.fixed
    )
    withdrawal = merge.Withdrawal(
        plan, keys, loaded, references, sets, inferred_flag=inferred.INFERRED_FLAG
    )
    return merge.withdraw(ctx.wh, withdrawal, rejected, params, apply=not ctx.dry_run)


def _finish(ctx: RunContext, spec: EntitySpec, result: EntityResult) -> None:
    """Status and the balance of the counts (an error when rows do not add up). An entity
    that loads is `success`, quarantined rows or not: `rejected` counts them."""
    result.status = "success"
    if result.balance() != 0 or result.withdrawn > result.rejected:
        raise DwetlError(
            f"{spec.name}: rows do not add up (extracted {result.extracted} != inserted "
            f"{result.inserted} + updated {result.updated} + unchanged {result.unchanged} "
            f"+ rejected {result.rejected} + folded {result.folded}, withdrawn "
            f"{result.withdrawn} <= rejected); nothing committed"
        )
    fault_point("commit", spec.name)
    result.finished_at = control.now()


def _commit(
    ctx: RunContext,
    spec: EntitySpec,
    result: EntityResult,
    stored: datetime | None,
    committing: ExitStack,
) -> None:
    """The end of the entity's transaction: status, control rows; `committing` (the stack
    around the transaction) times the commit."""
    _finish(ctx, spec, result)
    # the control rows and the COMMIT (on DuckDB the checkpoint of a large batch, its
    # indexes included): timed until the transaction has ended, after its run-entity row
    committing.enter_context(phase(ctx, result, "commit"))
    control.record_loaded(ctx.wh, ctx.run_id, result, stored)


def _repairs(before: pl.DataFrame, after: pl.DataFrame) -> dict[str, dict[str, int]] | None:
    """Text repairs per column and class (for the run log), where the transform kept the rows
    and the column's name: the transforms are row-preserving maps, so rows line up."""
    if before.height != after.height or not before.height:
        return None
    out: dict[str, dict[str, int]] = {}
    for name, dtype in before.schema.items():
        if dtype == pl.String and after.schema.get(name) == pl.String:
            report = repair_report(before.get_column(name), after.get_column(name))
            # a column nothing changed is logged where it holds words left as they were
            # because two known words fit them (`ambiguous`): validation decides on those
            if report.get("changed") or report.get("ambiguous"):
                out[name] = {k: v for k, v in report.items() if v and k != "rows"}
    return out or None


def _merged_repairs(
    total: dict[str, dict[str, int]] | None, more: dict[str, dict[str, int]] | None
) -> dict[str, dict[str, int]] | None:
    """Two batches' repair counts as one (the counts are rows: they add up).

    >>> _merged_repairs({"nome": {"changed": 2}}, {"nome": {"changed": 1}, "uf": {"changed": 1}})
    {'nome': {'changed': 3}, 'uf': {'changed': 1}}
    """
    if not more:
        return total
    out = {column: dict(classes) for column, classes in (total or {}).items()}
    for column, classes in more.items():
        into = out.setdefault(column, {})
        for name, n in classes.items():
            into[name] = into.get(name, 0) + n
    return out


def _check_ratio(
    ctx: RunContext, spec: EntitySpec, result: EntityResult, rejected: list[pl.DataFrame]
) -> None:
    """Fail the entity when its share of rejected rows is above `max_reject_ratio`. Rows whose
    key is already open in the quarantine are a re-read (the watermark's overlap, a row dated
    after the source's clock), not news from upstream: they do not count, so that a run that
    re-reads one broken row, and nothing else, does not fail on 1 of 1."""
    candidates = result.extracted - result.folded
    if not candidates or result.rejected / candidates <= ctx.max_reject_ratio:
        return
    new = result.rejected - rejects.already_open(ctx.wh, _concat(rejected), spec.natural_key,
                                                 entity=spec.name)  # fmt: skip
    if new / candidates <= ctx.max_reject_ratio:
        return
    top = ", ".join(
        f"{r} ×{n}" for r, n in sorted(result.reject_reasons.items(), key=lambda x: -x[1])[:3]
    )
    raise RejectRatioExceeded(
        f"{result.entity}: {result.rejected} of {candidates} rows rejected "
        f"({result.rejected / candidates:.1%}), above the limit of {ctx.max_reject_ratio:.1%} "
        f"(--max-reject-ratio); nothing of it committed; top reasons: {top}; the rejected "
        f"rows are kept, not applied: dwetl rejects --run {ctx.run_id}"
    )
    raise RejectRatioExceeded(
        f"{result.entity}: {result.rejected} of {candidates} rows rejected "
        f"({result.rejected / candidates:.1%}), above the limit of {ctx.max_reject_ratio:.1%} "
        f"(--max-reject-ratio); nothing of it committed; top reasons: {top}; the rejected "
        f"rows are kept, not applied: dwetl rejects --run {ctx.run_id}"
    )
