"""What a Spark task does with one batch of a fact, through `mapInArrow` (Arrow in: the batch's
number; Arrow out: one row of what it counted, as JSON): it reads its key range from the source
(`extract_batch`: the same SQL, watermark and overlap as this process would; the parts its rows
join, as the order headers, for the span of its own rows only), prepares it
(`dwetl.run.prepare`), attaches the surrogate keys from the broadcast key maps, validates it
(`transforms.validate.split`) and writes its rejects as Parquet into its own attempt's folder,
and its valid rows there too, or on a PostgreSQL warehouse with COPY into a staging table of its
own attempt (`dwetl.run.spark.pg_staging`). A retried task writes beside a failed attempt's
files or table, never onto them: the driver takes the attempt that Spark reports as done.
Polars in between: no pandas, no per-row Python.

A batch whose rows reference dimension keys the maps lack (late-arriving keys, which become
inferred members) writes nothing: it reports the keys, and the driver numbers their members in
batch order, as this process does, and runs the batch again with the grown maps
(`dwetl.run.spark.load`)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from dwetl.run.faults import fault_point
from dwetl.run.merge import LINEAGE
from dwetl.run.prepare import prepare
from dwetl.run.spark.pg_staging import TaskCopy
from dwetl.source.extract import BatchPlan, extract_batch
from transforms.constraints import ConstraintSet
from transforms.keys import attach_surrogate_keys
from transforms.validate import split

#: what each task returns: its batch, the attempt that ran it, what it counted (`Outcome`)
SCHEMA = "batch int, attempt int, outcome string"
_ARROW = pa.schema([("batch", pa.int32()), ("attempt", pa.int32()), ("outcome", pa.string())])
VALID, REJECTED = "valid.parquet", "rejected.parquet"


@dataclass(frozen=True)
class Shared:
    """What every task of a job reads and none changes, broadcast once per job: the plan's
    parts after the first (`BatchPlan.rest`: what each task needs to read the parts its rows
    join, for their span only; rows only for a part without a `batch_join`, which every batch
    joins whole), the dimensions' key maps and the parent keys of the fact's foreign keys."""

    rest: tuple[Any, ...]
    maps: dict[str, pl.DataFrame]
    references: dict[str, pl.DataFrame]


@dataclass(frozen=True)
class BatchJob:
    """One Spark job over some batches of a fact (pickled into each task; `shared` is a
    broadcast of `Shared`). Called by `mapInArrow` with the task's partition: the positions
    in `numbers` of the batches it runs (one per task)."""

    plan: BatchPlan  # without its `rest` (in `shared`)
    numbers: tuple[int, ...]
    shared: Any
    run_id: int
    constraint_sets: Mapping[str, ConstraintSet]
    cs: ConstraintSet
    inferable: tuple[str, ...]
    folder: str
    #: the driver's DWETL_FAIL_AT (a worker's environment is the cluster's)
    fault: str = ""
    #: on a PostgreSQL warehouse, how the valid rows are COPYed into staging (None: Parquet)
    copy: TaskCopy | None = None

    def __call__(self, partition: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        context = TaskContext.get()
        attempt = context.attemptNumber() if context is not None else 0
        attempt_id = context.taskAttemptId() if context is not None else 0
        shared: Shared = self.shared.value
        for record_batch in partition:
            for at in record_batch.column(0).to_pylist():
                number = self.numbers[at]
                outcome = self.run_batch(number, attempt, shared, attempt_id)
                row = {"batch": number, "attempt": attempt, "outcome": json.dumps(outcome)}
                yield pa.RecordBatch.from_pylist([row], schema=_ARROW)

    def run_batch(
        self, number: int, attempt: int, shared: Shared, attempt_id: int = 0
    ) -> dict[str, Any]:
        """Batch `number` read, prepared, keyed, validated and written (`attempt`: which try of
        the batch's task, from 0; `attempt_id`: Spark's id of that try, unique in the
        session); what it counted."""
        spec = self.plan.spec
        started = time.time()
        extracted = extract_batch(replace(self.plan, rest=shared.rest), number)
        outcome: dict[str, Any] = {
            "extracted": extracted.frame.height,
            "watermark_to": _text(extracted.watermark_to),
            "clock": _text(extracted.clock),
            "future": extracted.future,
            "read_started": started,
        }
        fault_point(f"task{number + 1}", spec.name, self.fault)
        if attempt == 0:
            fault_point(f"task{number + 1}-first", spec.name, self.fault)
        prepared = prepare(spec, extracted.frame, self.constraint_sets)
        del extracted
        outcome |= {"folded": prepared.folded, "ties": prepared.ties, "repairs": prepared.repairs}
        frame, mistyped = prepared.frame, prepared.mistyped
        del prepared
        if spec.lookups:
            frame, missing = attach_surrogate_keys(frame, spec.lookups, shared.maps)
            late = {
                d: keys.to_list()
                for d, keys in missing.items()
                if d in self.inferable and keys.len()
            }
            if late:
                return outcome | {"late": late}
        frame = frame.with_columns(pl.lit(self.run_id, dtype=pl.Int64).alias(LINEAGE))
        valid, bad = split(frame, self.cs, key=list(spec.natural_key), references=shared.references)
        del frame
        rejected = _rejects(bad, mistyped)
        folder = Path(self.folder) / f"batch{number:06d}" / f"attempt{attempt}"
        folder.mkdir(parents=True, exist_ok=True)
        if self.copy is not None:
            outcome["table"] = self.copy.copy(valid, number, attempt_id)
        else:
            valid.write_parquet(folder / VALID)
        if rejected.height:
            rejected.write_parquet(folder / REJECTED)
        if attempt == 0:  # after the batch is written: the retry must not add to it
            fault_point(f"task{number + 1}-written-first", spec.name, self.fault)
        seconds = time.time() - started
        return outcome | {"valid": valid.height, "folder": str(folder), "seconds": seconds}


def _rejects(bad: pl.DataFrame, mistyped: pl.DataFrame | None) -> pl.DataFrame:
    """`split`'s rejects and the rows that did not fit their types, as `EntityLoad.reject`
    counts them."""
    if mistyped is None:
        return bad
    return pl.concat([bad, mistyped], how="diagonal_relaxed") if bad.height else mistyped


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


@dataclass(frozen=True)
class Outcome:
    """What a task reported of its batch (`BatchJob.run_batch`), on the driver."""

    number: int
    values: dict[str, Any]

    @classmethod
    def of(cls, number: int, text: str) -> Outcome:
        return cls(number, json.loads(text))

    @property
    def late(self) -> dict[str, list[Any]]:
        """Per dimension, the keys its map lacked (nothing was written then)."""
        late: dict[str, list[Any]] = self.values.get("late") or {}
        return late

    def moment(self, name: str) -> datetime | None:
        text = self.values.get(name)
        return None if text is None else datetime.fromisoformat(text)

    def valid(self) -> pl.DataFrame:
        """The batch's valid rows, as its task wrote them as Parquet."""
        return pl.read_parquet(Path(self.values["folder"]) / VALID)

    def rejected(self) -> Path | None:
        """The file of the batch's rejects, as its task wrote it (None: none)."""
        rejected = Path(self.values["folder"]) / REJECTED
        return rejected if rejected.exists() else None

    @property
    def table(self) -> str | None:
        """The staging table its task COPYed the valid rows into (None: none, or Parquet)."""
        table: str | None = self.values.get("table")
        return table


def numbered(rows: Sequence[Any]) -> dict[int, Outcome]:
    """The collected rows of a job (`SCHEMA`) as outcomes by batch number."""
    return {int(r["batch"]): Outcome.of(int(r["batch"]), r["outcome"]) for r in rows}
