"""Batches through the staging table: into a target that has rows, or on a warehouse that holds
uncommitted rows in memory (`Warehouse.holds_uncommitted_rows`: DuckDB). Each batch is appended
and committed, so that its rows leave memory; the entity's one transaction then moves the staged
rows into the target (or swaps them in, or merges them). A failure leaves no staging table."""

from __future__ import annotations

import logging

from dwetl.run import lookups, merge
from dwetl.run.faults import fault_point
from dwetl.run.load import one_line
from dwetl.run.load_batches import BatchLoad, write_members
from dwetl.run.summary import EntityResult

log = logging.getLogger(__name__)


class StagedBatches(BatchLoad):
    """Each batch appended to the staging table (into an empty target, its twin where the
    warehouse swaps tables) and committed; then moved or merged in the entity's one transaction.
    The dimensions' locks are held throughout, so that the inferred members the batches need
    are written in that transaction, before the rows that reference them (none is written, or
    read back, batch by batch)."""

    def run(self) -> EntityResult:
        """The batches staged, then settled and committed in one transaction."""
        with self.dimensions_held():
            held = lookups.HeldDimensions.of(self.ctx, self.spec)
            try:
                self._stage_and_settle(held)
            except BaseException:
                self._drop_staging_after_failure()
                raise
        return self.result

    def _stage_and_settle(self, held: lookups.HeldDimensions) -> None:
        wh = self.wh
        with wh.transaction():
            self.plan, swap = merge.create_batch_staging(wh, self.plan, self.ctx.run_id)
        staged = 0
        for valid in self.valid_batches(held):
            with self.phase("load"), wh.transaction():
                merge.append(wh, self.plan, valid)
            staged += valid.height
            del valid
            wh.release_cache()
        self.check_ratio()

        with self.transaction():
            fault_point("merge", self.spec.name)
            with self.phase("load"):
                write_members(wh, held.take())
            self.settle(merge.staged(wh, self.plan, staged, swap))
            self.commit()

    def _drop_staging_after_failure(self) -> None:
        """A failed batched load leaves no staging table (it was committed batch by batch); a
        lost connection leaves it to the entity's next run (`merge.drop_leftover_staging`)."""
        try:
            merge.drop_staging(self.wh, self.plan)
        except Exception as exc:
            log.warning("%s is left for the next run to drop: %s", self.plan.staging,
                        one_line(exc))  # fmt: skip
