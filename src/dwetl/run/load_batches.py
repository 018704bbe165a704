"""What the two batched paths share. A large entity that declares a `batch_key` (a fact whose only
key is its natural key) is read in key-partitioned batches of about `batch_rows` source rows
(never in a dry run): each batch is transformed, keyed and validated, then loaded so that its rows
leave memory (`load_into_empty.BatchesIntoEmpty`, `load_staged.StagedBatches`). The entity holds
its dimensions' locks throughout and writes its inferred members in its own transaction."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime

import polars as pl

from dwetl.core.errors import DwetlError
from dwetl.entities.spec import EntitySpec
from dwetl.run import control, lookups, merge
from dwetl.run.context import RunContext
from dwetl.run.faults import fault_point
from dwetl.run.load import EntityLoad
from dwetl.run.read_ahead import EntityReads
from dwetl.run.summary import EntityResult
from dwetl.warehouse.base import Warehouse
from transforms.constraints import ConstraintSet
from transforms.validate import split

log = logging.getLogger(__name__)


class BatchLoad(EntityLoad):
    """The load of an entity read in batches: `valid_batches` yields each batch's valid rows for
    the subclass to load."""

    def __init__(
        self,
        ctx: RunContext,
        spec: EntitySpec,
        reads: EntityReads,
        result: EntityResult,
        cs: ConstraintSet,
        plan: merge.MergePlan,
    ) -> None:
        super().__init__(ctx, spec, reads, result, cs)
        self.plan = plan
        #: the surrogate-key maps of the entity's dimensions, read once for all batches (re-read
        #: for a dimension that got inferred members, or grown in memory where the entity holds
        #: its dimensions: `lookups.HeldDimensions`)
        self.maps: dict[str, pl.DataFrame] = {}
        #: the parent keys of its foreign keys (taken from those maps, again when a map changes)
        self.references: dict[str, pl.DataFrame] = {}

    @contextmanager
    def dimensions_held(self) -> Iterator[None]:
        """The entity locks of the dimensions the entity may add inferred members to, for the
        block (`lookups.HeldDimensions`); taken in `lookups.inferable`'s order, as every run
        takes them."""
        with ExitStack() as locks:
            for dimension in lookups.inferable(self.ctx, self.spec):
                timeout_s = self.ctx.settings.lock_timeout_seconds
                locks.enter_context(
                    self.wh.entity_lock(dimension, timeout_s, waiting=self.ctx.stop.check)
                )
            yield

    def valid_batches(self, held: lookups.HeldDimensions) -> Iterator[pl.DataFrame]:
        """Each batch read, transformed, keyed and validated: its valid rows, for the caller to
        load (its rejects kept, its counts added); the watermark settled once all are read.
        `held`: as `lookups.with_keys` (its maps, and so the parent keys, grow in memory)."""
        first_read = last_read = 0.0
        first_watermark = self.result.watermark_from
        for number in range(1, self.result.batches + 1):
            frame, last_read, watermark = self._read_batch()
            if number == 1:
                first_read, first_watermark = last_read, watermark
            frame, mistyped, grown = self._transformed_batch(frame, held)
            valid = self._validated_batch(frame, mistyped, grown)
            del frame, mistyped
            yield valid
            del valid
            self.reads.done()
            fault_point(f"batch{number}", self.spec.name)
        self.reads.close()  # the parts read once (order headers) go with the reader's batches
        self._settle_watermark(last_read - first_read, first_watermark)

    def _read_batch(self) -> tuple[pl.DataFrame, float, datetime | None]:
        """The next batch's rows (counted), when its read began and the watermark it reached."""
        with self.phase("extract"):
            read = self.read()
        extracted, result = read.extracted, self.result
        result.extracted += extracted.frame.height
        # every batch is capped at the clock its plan read before the first (`plan_batches`)
        result.watermark_to = control.next_watermark(result.watermark_to, extracted.watermark_to)
        result.source_clock = result.source_clock or extracted.clock
        result.future += extracted.future
        return extracted.frame, read.started, extracted.watermark_to

    def _transformed_batch(
        self, frame: pl.DataFrame, held: lookups.HeldDimensions
    ) -> tuple[pl.DataFrame, pl.DataFrame | None, set[str]]:
        """The batch transformed (as `transform`), and the tables of the dimensions that got
        inferred members: their maps are new (re-read, or grown in memory where the dimensions
        are held), so their parent keys are taken from them again."""
        with self.phase("transform"):
            before = dict(self.maps)
            frame, mistyped = self.transform(frame, self.maps, held)
            grown = {
                self.ctx.specs[d].target_table
                for d, m in self.maps.items()
                if before.get(d) is not m
            }
        return frame, mistyped, grown

    def _validated_batch(
        self, frame: pl.DataFrame, mistyped: pl.DataFrame | None, grown: set[str]
    ) -> pl.DataFrame:
        """The batch's valid rows; its rejects (`split`'s and the `mistyped`) counted, kept."""
        with self.phase("validate"):
            self.references = lookups.references(
                self.ctx, self.cs, self.references, grown, self.maps
            )
            key = list(self.spec.natural_key)
            valid, bad = split(frame, self.cs, key=key, references=self.references)
            del frame
            self.reject(bad, mistyped)
        self.require_columns(valid)
        return valid

    def _settle_watermark(self, reading_s: float, first_watermark: datetime | None) -> None:
        """The batches are separate reads, not one snapshot: a row changed in a batch already
        read, after that read, is found by the next run only if its time is within the overlap
        of the watermark stored now. Where reading took longer than the overlap, the watermark
        is the first batch's (never later than that read): the next run re-reads a little
        more, and the merge leaves what is unchanged."""
        overlap_s = self.ctx.settings.watermark_overlap_seconds
        if reading_s <= overlap_s:
            return
        log.warning(
            "%s: its %d batches took %.0f s to read, more than the watermark overlap "
            "(%.0f s): the stored watermark is the first batch's, %s",
            self.spec.name, self.result.batches, reading_s, overlap_s, first_watermark,
        )  # fmt: skip
        self.result.watermark_to = first_watermark


def write_members(wh: Warehouse, members: list[tuple[str, pl.DataFrame]]) -> None:
    """The inferred members a batched load collected (`lookups.HeldDimensions`), per table."""
    for table, rows in members:
        wh.load_arrow(table, rows.to_arrow())


def require_batchable(spec: EntitySpec, cs: ConstraintSet) -> None:
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
