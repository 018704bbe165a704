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
from dwetl.run import control, lookups
from dwetl.run.faults import FAULT_ENV, fault_point
from dwetl.run.load_batches import BatchLoad
from dwetl.run.load_into_empty import BatchesIntoEmpty
from dwetl.run.load_staged import StagedBatches
from dwetl.run.repair_counts import merged_repairs
from dwetl.run.spark.tasks import SCHEMA, BatchJob, Outcome, Shared, numbered
from dwetl.run.summary import EntityResult
from dwetl.source.extract import BatchPlan

log = logging.getLogger(__name__)


class SparkBatches(BatchLoad):
    """`valid_batches` from Spark's tasks; the staging folder removed after the load,
    committed or failed."""

    def run(self) -> EntityResult:
        try:
            return super().run()
        finally:
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
            self.reject(rejected if rejected is not None else valid.clear(), None)
            del rejected
            self.require_columns(valid)
            yield valid
            del valid
            fault_point(f"batch{number + 1}", self.spec.name)
        self.reads.close()
        self._settle_watermark(max(starts) - min(starts), first_watermark)

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
