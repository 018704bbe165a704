"""What every entity of one run shares, and how a phase of an entity is timed and logged."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

import polars as pl

from dwetl.core import logs
from dwetl.core.config import Settings
from dwetl.entities.spec import EntitySpec
from dwetl.run import control
from dwetl.run.merge import STAGING_SCHEMA, tables_in
from dwetl.run.read_ahead import Opener, ReadAhead, opener
from dwetl.run.stop import StopRequest
from dwetl.run.summary import EntityResult
from dwetl.warehouse.base import Warehouse
from dwetl.warehouse.ddl import applied_constraint_sets
from transforms.constraints import ConstraintSet

if TYPE_CHECKING:
    from dwetl.run.spark.session import SparkEngine

Progress = Callable[[str, str], None]


@dataclass(frozen=True)
class WholeMap:
    """A dimension's whole key map (as `lookups.key_map` returns it) as this run read or wrote
    it, and the highest surrogate key the dimension held then: while that is still its highest,
    no row was added since (`lookups.key_map`)."""

    frame: pl.DataFrame
    #: None: the dimension held no row at all
    top: int | None


@dataclass
class RunContext:
    """What every entity of one run shares."""

    wh: Warehouse
    settings: Settings
    run_id: int
    specs: Mapping[str, EntitySpec]
    control: Mapping[str, control.ControlRow]
    full: bool = False
    dry_run: bool = False
    max_reject_ratio: float = 0.05
    progress: Progress = lambda entity, phase: None
    #: dry run only: rows the run would have written, per target table (so facts see them)
    pending: dict[str, pl.DataFrame] = field(default_factory=dict)
    #: whether a signal asked the run to stop (`dwetl.run.stop`)
    stop: StopRequest = field(default_factory=StopRequest)
    #: the entities' extracts, read in the background ahead of their load (`start_reading`)
    read_ahead: ReadAhead | None = None
    #: the whole key maps of the dimensions this run read whole or filled, by target table
    #: (`lookups.key_map`; none in a dry run)
    whole_maps: dict[str, WholeMap] = field(default_factory=dict)
    #: the Spark engine (`--engine spark`), which reads, transforms and validates the batches
    #: of large facts; None: all of it happens in this process
    spark: SparkEngine | None = None

    @cached_property
    def constraint_sets(self) -> Mapping[str, ConstraintSet]:
        """The constraint sets of the DDL this warehouse's `init` applied, by "schema.table":
        what every row is validated against (read once per run)."""
        return applied_constraint_sets(self.wh, self.settings.ddl_dir)

    @cached_property
    def tables_at_start(self) -> frozenset[tuple[str, str]]:
        """The tables of the staging schema and of the targets' schemas, listed once per run
        (`merge.drop_leftover_staging`: an entity whose leftovers are not among them does not
        ask the catalog again)."""
        schemas = {spec.target_table.rpartition(".")[0] for spec in self.specs.values()}
        return tables_in(self.wh, [STAGING_SCHEMA, *sorted(schemas - {STAGING_SCHEMA})])

    def watermark_from(self, entity: str) -> datetime | None:
        """Where the entity's extract starts: its stored watermark; None on a full run."""
        return None if self.full else self.control[entity].watermark_value

    def start_reading(self, order: Sequence[EntitySpec]) -> ReadAhead:
        """Begin reading `order`'s extracts ahead of the load (close the ReadAhead at the end)."""
        self.read_ahead = ReadAhead([(spec.name, self.opener(spec)) for spec in order])
        return self.read_ahead

    def opener(self, spec: EntitySpec) -> Opener:
        """How this run reads `spec` (a dry run reads in one extract: nothing is staged; under
        the Spark engine, Spark's tasks read the batches)."""
        return opener(
            spec,
            self.settings,
            self.watermark_from(spec.name),
            batched=not self.dry_run,
            distributed=self.spark is not None,
        )


@contextmanager
def phase(ctx: RunContext, result: EntityResult, name: str) -> Iterator[None]:
    """Time the block as phase `name` of the entity: added to its seconds, logged as an event.
    A stop asked of the run (`dwetl.run.stop`) stops it here, before the phase."""
    ctx.stop.check()
    ctx.progress(result.entity, name)
    started = time.perf_counter()
    try:
        yield
    finally:
        seconds = time.perf_counter() - started
        result.seconds[name] = result.seconds.get(name, 0.0) + seconds
        logs.event(
            f"{result.entity} {name}",
            run_id=ctx.run_id,
            entity=result.entity,
            phase=name,
            seconds=round(seconds, 3),
        )


def remember(ctx: RunContext, table: str, rows: pl.DataFrame) -> None:
    """Keep a dry run's would-be rows of `table` so that later entities see them."""
    previous = ctx.pending.get(table)
    ctx.pending[table] = (
        rows if previous is None else pl.concat([previous, rows], how="diagonal_relaxed")
    )
