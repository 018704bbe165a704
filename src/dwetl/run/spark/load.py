"""The batched load of a fact under the Spark engine: the driver keeps what it does in this
process (the entity's lock and its dimensions', inferred members, the staging table or the
empty target, the merge, quarantine, watermark and run log, in one transaction), and Spark's
tasks do what each batch needs alone: read its key range, transform, key and validate it
(`dwetl.run.spark.tasks`). The driver holds the plan, the key maps and the counts. On DuckDB (a
single-writer file) it loads the batches the tasks wrote as Parquet, one at a time, as the
in-process path loads its own batches (`load_staged.StagedBatches`); on PostgreSQL the tasks
COPY their valid rows into staging tables of their own, which the driver attaches to the
entity's staging table (`dwetl.run.spark.pg_staging`), into an empty target as into one with
rows.

Inferred members are numbered by the driver, in batch order, from the keys the tasks report
missing (a first job), as the in-process path numbers them batch by batch; the batches that
reported keys run again with the grown maps (a second job over those only). So both engines
give the same surrogate keys."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import polars as pl

from dwetl.core import logs, masking
from dwetl.core.errors import DwetlError
from dwetl.run import control, lookups, merge, rejects
from dwetl.run.faults import FAULT_ENV, fault_point
from dwetl.run.load_batches import BatchLoad, write_members
from dwetl.run.load_staged import StagedBatches
from dwetl.run.repair_counts import merged_repairs
from dwetl.run.spark import pg_staging
from dwetl.run.spark.tasks import SCHEMA, BatchJob, Outcome, Shared, numbered
from dwetl.source.extract import BatchPlan
from dwetl.warehouse.base import Warehouse
from transforms.validate import REASONS

log = logging.getLogger(__name__)


class SparkBatches(BatchLoad):
    """`valid_batches` from Spark's tasks; the staging folder removed once the entity is done
    with it, committed or failed (`close`). The rejects stay in the tasks' files until they
    are written, one batch at a time (`rejected_parts`): the driver never holds them all."""

    #: the rejects' files of the batches loaded so far, in batch order
    _spooled: tuple[Path, ...] = ()

    def close(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)

    def task_copy(self) -> pg_staging.TaskCopy | None:
        """How the tasks write their valid rows where not as Parquet (`SparkCopied`)."""
        return None

    @property
    def _folder(self) -> Path:
        root = self.ctx.settings.spark_staging_dir or tempfile.gettempdir()
        return Path(root) / f"dwetl-run{self.ctx.run_id}-{self.spec.name}"

    def valid_batches(self, held: lookups.HeldDimensions) -> Iterator[pl.DataFrame]:
        """Each batch's valid rows, as its task wrote them as Parquet (`done_batches`)."""
        for outcome in self.done_batches(held):
            valid = outcome.valid()
            self.require_columns(valid)
            yield valid
            del valid

    def done_batches(self, held: lookups.HeldDimensions) -> Iterator[Outcome]:
        """What each batch's task reported, once every task is done, in batch order: its
        rejects kept and its counts added as it is taken; the watermark settled once all
        are."""
        plan = self.reads.plan
        assert plan is not None, "a Spark load needs its batches' plan"
        with self.phase("transform"):  # the tasks' read, transform and validation
            outcomes = self._outcomes(plan, held)
        starts = [o.values["read_started"] for o in outcomes.values()]
        first_watermark = outcomes[0].moment("watermark_to")
        for number in sorted(outcomes):
            outcome = outcomes.pop(number)
            self._count_batch(outcome)
            rejected = outcome.rejected()
            if rejected is not None:  # counted; its rows are read again when written
                self.count_rejects(pl.read_parquet(rejected, columns=[REASONS]))
                self._spooled += (rejected,)
            yield outcome
            fault_point(f"batch{number + 1}", self.spec.name)
        self.reads.close()
        self._settle_watermark(max(starts) - min(starts), first_watermark)

    def rejected_parts(self) -> Iterator[pl.DataFrame]:
        """Each loaded batch's rejects, read from its task's file one at a time."""
        for path in self._spooled:
            yield pl.read_parquet(path)

    def rejected_rows(self) -> pl.DataFrame:
        parts = list(self.rejected_parts())
        return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()

    def settle_rejects(self, landed: merge.Landed) -> int:
        """As `EntityLoad.settle_rejects`, a batch's rejects at a time: the withdrawal reads
        only their keys, the quarantine gets each batch's rows in turn (each key's rows are in
        one batch, so they are the rows one write of all would give)."""
        key = self.plan.key
        keys = [
            pl.read_parquet(path, columns=[k for k in key if k in pl.read_parquet_schema(path)])
            for path in self._spooled
        ]
        withdrawn = self._withdraw(
            landed, pl.concat(keys, how="diagonal_relaxed") if keys else pl.DataFrame()
        )
        del keys
        if not self.ctx.dry_run:
            natural, run_id, entity = self.spec.natural_key, self.ctx.run_id, self.spec.name
            for rejected in self.rejected_parts():
                rejects.write_rejects(self.wh, rejected, natural, run_id=run_id, entity=entity)
        return withdrawn

    def _outcomes(self, plan: BatchPlan, held: lookups.HeldDimensions) -> dict[int, Outcome]:
        """Every batch run by a task; those that found late keys again, once the driver has
        inferred their members (in batch order)."""
        ctx, spec = self.ctx, self.spec
        for lookup in spec.lookups:
            if lookup.dimension not in self.maps:
                self.maps[lookup.dimension] = lookups.key_map(ctx, ctx.specs[lookup.dimension])
        self.references = lookups.references(ctx, self.cs, None, frozenset(), self.maps)
        outcomes = self._job(plan, range(plan.count), "first")
        late = [number for number in sorted(outcomes) if outcomes[number].late]
        if not late:
            return outcomes
        grown: set[str] = set()
        for number in late:
            for dimension, keys in outcomes[number].late.items():
                dim = ctx.specs[dimension]
                held.infer(ctx, dim, pl.Series(keys), self.maps, self.result)
                grown.add(dim.target_table)
        self.references = lookups.references(ctx, self.cs, self.references, grown, self.maps)
        again = self._job(plan, late, "again")
        if any(outcome.late for outcome in again.values()):
            raise DwetlError(f"{spec.name}: a Spark task found keys its grown maps lack")
        return outcomes | again

    def _job(self, plan: BatchPlan, numbers: Iterable[int], name: str) -> dict[int, Outcome]:
        """One Spark job, one task per batch of `numbers`; their outcomes by batch."""
        assert self.ctx.spark is not None
        session = self.ctx.spark.session
        chosen = tuple(numbers)
        shared = session.sparkContext.broadcast(Shared(plan.rest, self.maps, self.references))
        job = BatchJob(
            replace(plan, rest=()),
            chosen,
            shared,
            self.ctx.run_id,
            self.ctx.constraint_sets,
            self.cs,
            tuple(lookups.inferable(self.ctx, self.spec)),
            str(self._folder / name),
            os.environ.get(FAULT_ENV, ""),
            self.task_copy(),
        )
        try:
            tasks = session.range(len(chosen), numPartitions=len(chosen))
            rows = tasks.mapInArrow(job, SCHEMA).collect()
        except Exception as exc:
            cause = masking.scrub(_cause(exc))  # a task's connection error names its server
            raise DwetlError(f"{self.spec.name}: the Spark job failed: {cause}") from None
        finally:
            shared.destroy()
        outcomes = numbered(rows)
        logs.event(
            f"{self.spec.name} spark {name}",
            run_id=self.ctx.run_id,
            entity=self.spec.name,
            phase="spark",  # the tasks' own time, not in the entity's seconds
            counts={"tasks": len(chosen)},
            seconds=round(sum(o.values.get("seconds", 0.0) for o in outcomes.values()), 3),
        )
        return outcomes

    def _count_batch(self, outcome: Outcome) -> None:
        """A batch's counts added to the entity's, as `BatchLoad` adds its own batches'."""
        values, result = outcome.values, self.result
        result.extracted += values["extracted"]
        watermark_to = outcome.moment("watermark_to")
        result.watermark_to = control.next_watermark(result.watermark_to, watermark_to)
        result.source_clock = result.source_clock or outcome.moment("clock")
        result.future += values["future"]
        result.repairs = merged_repairs(result.repairs, values["repairs"])
        result.folded += values["folded"]
        result.ties += values["ties"]


def _cause(exc: Exception) -> str:
    """The Python error a task died of, as one line (Spark wraps it in a JVM stack trace)."""
    text = str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in reversed(lines):
        named = any(word in line for word in ("Error:", "Fault:", "Exception:"))
        if named and not line.startswith(("at ", "File ")):
            return line
    return lines[0] if lines else type(exc).__name__


class SparkStaged(SparkBatches, StagedBatches):
    """Batches from Spark's tasks, as Parquet, through the staging table (`StagedBatches`):
    on a single-writer warehouse (DuckDB)."""


class SparkCopied(SparkBatches, StagedBatches):
    """Batches COPYed by Spark's tasks into staging tables of their own attempts, attached to
    the entity's staging table, then settled as `StagedBatches` settles its own: merged, or
    moved into an empty target with one INSERT ... SELECT, in the entity's one transaction
    (PostgreSQL: `pg_staging`). The staging table and every attempt's table are dropped after
    the commit and after a failure."""

    def task_copy(self) -> pg_staging.TaskCopy:
        return pg_staging.TaskCopy(self.ctx.settings.dw, self.plan)

    def close(self) -> None:
        try:
            pg_staging.drop_all(self.wh, self.plan.staging)
        finally:
            super().close()

    def _stage_and_settle(self, held: lookups.HeldDimensions) -> None:
        wh = self.wh
        with wh.transaction():  # committed: the tasks create their tables like it
            merge.create_staging(wh, self.plan)
        staged = 0
        for outcome in self.done_batches(held):
            if outcome.table is not None:
                with self.phase("load"):
                    pg_staging.attach(wh, outcome.table, self.plan.staging)
            staged += outcome.values["valid"]
        self.check_ratio()

        with self.transaction():
            fault_point("merge", self.spec.name)
            with self.phase("load"):
                write_members(wh, held.take())
            self.settle(merge.staged(wh, self.plan, staged))
            self.commit()


def spark_load(wh: Warehouse) -> type[SparkBatches]:
    """The Spark engine's batched load on `wh`: tasks that COPY where the warehouse is a server
    that takes many writers (PostgreSQL), else Parquet that the driver loads (DuckDB)."""
    return SparkCopied if wh.dialect == "postgresql" else SparkStaged
