"""The batched load of a fact under the Spark engine: the driver keeps what it does in this
process (the entity's lock and its dimensions', inferred members, the staging table or the
empty target, the merge, quarantine, watermark and run log, in one transaction), and Spark's
tasks do what each batch needs alone: read its key range, transform, key and validate it
(`dwetl.run.spark.tasks`). The driver holds the plan, the key maps and the counts; it loads the
batches the tasks wrote (Parquet, one batch at a time) as the in-process path loads its own
batches (`load_staged.StagedBatches`, `load_into_empty.BatchesIntoEmpty`).

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

from dwetl.core import logs
from dwetl.core.errors import DwetlError
from dwetl.run import control, lookups, merge, rejects
from dwetl.run.faults import FAULT_ENV, fault_point
from dwetl.run.load_batches import BatchLoad
from dwetl.run.load_into_empty import BatchesIntoEmpty
from dwetl.run.load_staged import StagedBatches
from dwetl.run.repair_counts import merged_repairs
from dwetl.run.spark.tasks import SCHEMA, BatchJob, Outcome, Shared, numbered
from dwetl.source.extract import BatchPlan
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

    @property
    def _folder(self) -> Path:
        root = self.ctx.settings.spark_staging_dir or tempfile.gettempdir()
        return Path(root) / f"dwetl-run{self.ctx.run_id}-{self.spec.name}"

    def valid_batches(self, held: lookups.HeldDimensions) -> Iterator[pl.DataFrame]:
        """Each batch's valid rows, as its task wrote them (its rejects kept, its counts
        added, in batch order); the watermark settled once all are read."""
        plan = self.reads.plan
        assert plan is not None, "a Spark load needs its batches' plan"
        with self.phase("transform"):  # the tasks' read, transform and validation
            outcomes = self._outcomes(plan, held)
        starts = [o.values["read_started"] for o in outcomes.values()]
        first_watermark = outcomes[0].moment("watermark_to")
        for number in sorted(outcomes):
            outcome = outcomes.pop(number)
            self._count_batch(outcome)
            valid, rejected = outcome.frames()
            if rejected is not None:  # counted; its rows are read again when written
                self.count_rejects(pl.read_parquet(rejected, columns=[REASONS]))
                self._spooled += (rejected,)
            self.require_columns(valid)
            yield valid
            del valid
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
        )
        try:
            tasks = session.range(len(chosen), numPartitions=len(chosen))
            rows = tasks.mapInArrow(job, SCHEMA).collect()
        except Exception as exc:
            raise DwetlError(f"{self.spec.name}: the Spark job failed: {_cause(exc)}") from None
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
    """Batches from Spark's tasks through the staging table (`StagedBatches`)."""


class SparkIntoEmpty(SparkBatches, BatchesIntoEmpty):
    """Batches from Spark's tasks straight into the empty target (`BatchesIntoEmpty`)."""
