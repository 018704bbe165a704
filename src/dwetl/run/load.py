"""The load of one entity, whatever its path: `EntityLoad` holds the run's context, the entity's
spec and constraint set, its counts (`EntityResult`) and the rows it rejected; it transforms and
validates a frame, checks the reject ratio, settles the landed rows (merge, withdrawals, rejects)
and commits. Its paths are its subclasses: one frame (`load_frame.FrameLoad`), batches into an
empty target (`load_into_empty.BatchesIntoEmpty`), batches through staging
(`load_staged.StagedBatches`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager

import polars as pl

from dwetl.core import logs
from dwetl.core.errors import DwetlError
from dwetl.entities.spec import EntitySpec
from dwetl.run import control, inferred, lookups, merge, rejects, withdraw
from dwetl.run.context import RunContext, phase
from dwetl.run.faults import fault_point
from dwetl.run.prepare import Prepared, prepare
from dwetl.run.read_ahead import EntityReads, Read
from dwetl.run.repair_counts import merged_repairs
from dwetl.run.summary import EntityResult
from dwetl.warehouse.base import Warehouse
from transforms.constraints import ConstraintSet
from transforms.validate import REASONS

log = logging.getLogger(__name__)


class RejectRatioExceeded(DwetlError):
    """More rows rejected than --max-reject-ratio allows: the entity fails."""


class DryRunDone(Exception):
    """Raised at the end of a dry run's entity so that its transaction rolls back."""


class EntityLoad:
    """One entity's load, under its lock: `run` loads it and returns its counts (an error
    anywhere rolls all of it back; `rejected_rows` are then what it had rejected so far)."""

    #: the target's merge plan (a one-frame load reads it when its rows are ready to land)
    plan: merge.MergePlan

    def __init__(
        self,
        ctx: RunContext,
        spec: EntitySpec,
        reads: EntityReads,
        result: EntityResult,
        cs: ConstraintSet,
    ) -> None:
        self.ctx, self.spec, self.reads, self.result, self.cs = ctx, spec, reads, result, cs
        #: the watermark stored before this run (what the run-entity row records it moved from)
        self.stored = ctx.control[spec.name].watermark_value
        #: the rejected frames, kept should the entity fail (`rejected_rows`)
        self._rejected: list[pl.DataFrame] = []
        #: what ends once the transaction has (`transaction`, `commit`)
        self._until_committed = ExitStack()

    def run(self) -> EntityResult:
        """Load the entity; its counts."""
        raise NotImplementedError

    @property
    def wh(self) -> Warehouse:
        return self.ctx.wh

    def phase(self, name: str) -> AbstractContextManager[None]:
        """Time the block as phase `name` of the entity (`context.phase`)."""
        return phase(self.ctx, self.result, name)

    def read(self) -> Read:
        """The entity's next read; how long the reader took is logged (the extract phase is
        the wait for it, which reading ahead shortens)."""
        read = self.reads.next()
        logs.event(
            f"{self.spec.name} read",
            run_id=self.ctx.run_id,
            entity=self.spec.name,
            # the reader's own time, not in the entity's seconds (they add up to wall)
            phase="read",
            seconds=round(read.seconds, 3),
        )
        return read

    def transform(
        self,
        frame: pl.DataFrame,
        maps: dict[str, pl.DataFrame] | None = None,
        held: lookups.HeldDimensions | None = None,
        *,
        whole: bool = False,
    ) -> tuple[pl.DataFrame, pl.DataFrame | None]:
        """The transform phase of one frame: transform (repairs counted), the versions of a key
        folded into the newest, surrogate keys, lineage. `maps`, `held` and `whole`: as
        `lookups.with_keys`. Also the rows with a source value that did not fit its type
        (`type_rejects`): taken out after the folding, as rejects (None: there were none)."""
        prepared = prepare(self.spec, frame, self.ctx.constraint_sets)
        del frame
        self.count(prepared)
        frame, mistyped = prepared.frame, prepared.mistyped
        del prepared
        frame = lookups.with_keys(self.ctx, self.spec, frame, self.result, maps, held, whole=whole)
        lineage = pl.lit(self.ctx.run_id, dtype=pl.Int64).alias(merge.LINEAGE)
        return frame.with_columns(lineage), mistyped

    def count(self, prepared: Prepared) -> None:
        """Add what `prepare` counted of a frame (repairs, folded versions) to the entity's."""
        result = self.result
        result.repairs = merged_repairs(result.repairs, prepared.repairs)
        if self.spec.kind == "calendar":
            # The calendar's extract is the span of the source's dates; its rows are the days
            # the transform generates, and those are what the run accounts for.
            result.extracted = prepared.transformed
        result.folded += prepared.folded
        result.ties += prepared.ties

    def reject(self, rejected: pl.DataFrame, mistyped: pl.DataFrame | None) -> None:
        """Count the rows `split` rejected and those whose values did not fit their types
        (rows and reasons), and keep them should the entity fail."""
        if mistyped is not None:
            rejected = (
                pl.concat([rejected, mistyped], how="diagonal_relaxed")
                if rejected.height
                else mistyped
            )
        self.count_rejects(rejected)
        if rejected.height:
            self._rejected.append(rejected)

    def count_rejects(self, rejected: pl.DataFrame) -> None:
        """Add the rows of `rejected` (at least its reasons column) and their reasons to the
        entity's counts."""
        self.result.rejected += rejected.height
        if not rejected.height:
            return
        reasons = self.result.reject_reasons
        for reason, n in rejected.get_column(REASONS).explode().value_counts().iter_rows():
            reasons[str(reason)] = reasons.get(str(reason), 0) + n

    def rejected_rows(self) -> pl.DataFrame:
        """Every row rejected so far, as one frame (no column when there are none)."""
        frames = self._rejected
        if not frames:
            return pl.DataFrame()
        return frames[0] if len(frames) == 1 else pl.concat(frames, how="diagonal_relaxed")

    def rejected_parts(self) -> Iterator[pl.DataFrame]:
        """The rows rejected so far, in parts to write one at a time (every version of a key in
        one part, so that each part's quarantine rows are the whole's): here one frame of all,
        where there are any."""
        rejected = self.rejected_rows()
        if rejected.height:
            yield rejected

    def require_columns(self, valid: pl.DataFrame) -> None:
        missing = [c for c in self.plan.columns if c not in valid.columns]
        if missing:
            entity, lacking = self.spec.name, ", ".join(missing)
            raise DwetlError(f"{entity}: the transformed rows lack target column(s) {lacking}")

    def check_ratio(self) -> None:
        """Fail the entity when its share of rejected rows is above `max_reject_ratio`. Rows
        whose key is already open in the quarantine are a re-read (the watermark's overlap, a
        row dated after the source's clock), not news from upstream: they do not count, so that
        a run that re-reads one broken row, and nothing else, does not fail on 1 of 1."""
        result, limit = self.result, self.ctx.max_reject_ratio
        candidates = result.extracted - result.folded
        if not candidates or result.rejected / candidates <= limit:
            return
        key, entity = self.spec.natural_key, self.spec.name
        reread = sum(
            rejects.already_open(self.wh, part, key, entity=entity)
            for part in self.rejected_parts()
        )
        if (result.rejected - reread) / candidates <= limit:
            return
        worst = sorted(result.reject_reasons.items(), key=lambda x: -x[1])[:3]
        top = ", ".join(f"{r} ×{n}" for r, n in worst)
        raise RejectRatioExceeded(
            f"{result.entity}: {result.rejected} of {candidates} rows rejected "
            f"({result.rejected / candidates:.1%}), above the limit of {limit:.1%} "
            f"(--max-reject-ratio); nothing of it committed; top reasons: {top}; the rejected "
            f"rows are kept, not applied: dwetl rejects --run {self.ctx.run_id}"
        )

    def settle(self, landed: merge.Landed) -> None:
        """The merge phase: the landed rows settled in the target, the rejects written and
        earlier ones resolved, the staging table dropped."""
        ctx, spec, result = self.ctx, self.spec, self.result
        with self.phase("merge"):
            counts = merge.settle(self.wh, landed, apply=not ctx.dry_run)
            result.inserted, result.updated = counts.inserted, counts.updated
            result.unchanged = counts.unchanged
            result.withdrawn = self.settle_rejects(landed)
            if not ctx.dry_run:
                key, run_id = spec.natural_key, ctx.run_id
                rejects.resolve_rejects(
                    self.wh, landed.loaded, key, run_id=run_id, entity=spec.name,
                    loaded_rows=landed.rows,
                )  # fmt: skip
            merge.clean_up(self.wh, landed)

    def settle_rejects(self, landed: merge.Landed) -> int:
        """The target rows of the rejected keys withdrawn (`_withdraw`: how many), the rejects
        written to the quarantine."""
        rejected = self.rejected_rows()
        withdrawn = self._withdraw(landed, rejected)
        if not self.ctx.dry_run:
            key, run_id, entity = self.spec.natural_key, self.ctx.run_id, self.spec.name
            rejects.write_rejects(self.wh, rejected, key, run_id=run_id, entity=entity)
        return withdrawn

    def close(self) -> None:
        """What the load keeps until the entity is done with it, committed or failed (its
        rejected rows kept as blocked): nothing here."""

    def _withdraw(self, landed: merge.Landed, rejected: pl.DataFrame) -> int:
        """The newest source version of a key decides: where it was rejected, the key's row
        leaves the target (a fact's is deleted; a dimension's too, unless a fact row references
        it: then it becomes an inferred member, sk kept), as a full reload of the same source
        would leave it. Its reject stays open. Returns the target rows withdrawn (a subset of
        the rejects)."""
        ctx, spec, plan = self.ctx, self.spec, landed.plan
        if (
            landed.into_empty
            or spec.kind not in ("fact", "dimension")
            or not rejected.height
            or any(k not in rejected.columns for k in plan.key)
        ):
            return 0
        keys = withdraw.withdrawn_keys_name(spec.name, ctx.run_id)
        loaded = None if landed.direct else plan.staging
        apply = not ctx.dry_run
        if spec.kind == "fact":
            return withdraw.withdraw(self.wh, withdraw.Withdrawal(plan, keys, loaded), rejected,
                                  apply=apply)  # fmt: skip
        sets, params = inferred.placeholder_sets(self.wh, spec, plan.columns, ctx.run_id)
        references = tuple(
            (cs.table, fk.columns[0])
            for cs in ctx.constraint_sets.values()
            for fk in cs.foreign_keys
            if fk.ref_table == plan.target and fk.ref_columns == plan.fixed
        )
        withdrawal = withdraw.Withdrawal(
            plan, keys, loaded, references, sets, inferred_flag=inferred.INFERRED_FLAG
        )
        return withdraw.withdraw(self.wh, withdrawal, rejected, params, apply=apply)

    def finish(self) -> None:
        """Status and the balance of the counts (an error when rows do not add up). An entity
        that loads is `success`, quarantined rows or not: `rejected` counts them."""
        result = self.result
        result.status = "success"
        if result.balance() != 0 or result.withdrawn > result.rejected:
            raise DwetlError(
                f"{self.spec.name}: rows do not add up (extracted {result.extracted} != inserted "
                f"{result.inserted} + updated {result.updated} + unchanged {result.unchanged} "
                f"+ rejected {result.rejected} + folded {result.folded}, withdrawn "
                f"{result.withdrawn} <= rejected); nothing committed"
            )
        fault_point("commit", self.spec.name)
        result.finished_at = control.now()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The entity's one transaction, which `commit` ends: the commit phase is timed from
        there until the transaction has ended."""
        with ExitStack() as until_committed, self.wh.transaction():
            self._until_committed = until_committed
            yield
        fault_point("committed", self.spec.name)

    def commit(self) -> None:
        """The end of the entity's transaction (`transaction`): status, control rows."""
        self.finish()
        # the control rows and the COMMIT (on DuckDB the checkpoint of a large batch, its
        # indexes included): timed until the transaction has ended, after its run-entity row
        self._until_committed.enter_context(self.phase("commit"))
        control.record_loaded(self.wh, self.ctx.run_id, self.result, self.stored)


def constraint_set(ctx: RunContext, spec: EntitySpec) -> ConstraintSet:
    """The constraints of `spec`'s target, as this warehouse's DDL declares them."""
    cs = ctx.constraint_sets.get(spec.target_table)
    if cs is None:
        raise DwetlError(
            f"{spec.name}: the DDL applied to this warehouse (ctl.schema_version) declares no "
            f"table {spec.target_table}"
        )
    return cs


def plan_for(ctx: RunContext, spec: EntitySpec) -> merge.MergePlan:
    """The merge plan of `spec`'s target, through its run-private staging table."""
    staging = merge.staging_name(spec.name, ctx.run_id)
    return merge.plan_for(ctx.wh, spec.target_table, staging, spec.natural_key,
                          spec.surrogate_key)  # fmt: skip


def one_line(exc: BaseException) -> str:
    """An error as one line (its type named unless it is dwetl's own)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if isinstance(exc, DwetlError) else f"{type(exc).__name__}: {text}"
