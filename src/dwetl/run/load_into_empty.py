"""A first load in batches, on a warehouse that keeps uncommitted rows out of this process
(`Warehouse.holds_uncommitted_rows` False: PostgreSQL): every batch goes straight into the empty
target, in the entity's one transaction, its keys deferred until the last."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from functools import partial

import polars as pl

from dwetl.core import logs
from dwetl.run import lookups, merge
from dwetl.run.faults import fault_point
from dwetl.run.load_batches import BatchLoad, write_members
from dwetl.run.summary import EntityResult
from dwetl.run.write_behind import WriteBehind

log = logging.getLogger(__name__)


class BatchesIntoEmpty(BatchLoad):
    """Every batch straight into the empty target, all in the entity's one transaction (the
    rows leave memory for the warehouse's, uncommitted). The dimensions' locks are held
    throughout, so that inferred members are written in that transaction too (a second
    connection would wait on the locks that deferring the foreign keys takes on the
    dimensions)."""

    def run(self) -> EntityResult:
        """The batches written, the target's keys re-created (the merge phase), settled,
        committed."""
        log.debug("%s is empty: its %d batches go straight into it", self.plan.target,
                  self.result.batches)  # fmt: skip
        with self.dimensions_held(), self.transaction():
            with ExitStack() as keys:
                deferred = keys.enter_context(
                    self.wh.constraints_deferred(self.plan.target, empty=True)
                )
                loaded = self._write_batches(keys_deferred=deferred)
                self.check_ratio()
                fault_point("merge", self.spec.name)
                # the keys re-created (a failure before this leaves them to the rollback)
                with self.phase("merge"):
                    keys.close()
            self.settle(merge.Landed(self.plan, loaded, direct=True, into_empty=True))
            self.commit()
        return self.result

    def _write_batches(self, *, keys_deferred: bool) -> int:
        """Each batch written while the next is transformed (`WriteBehind`); the load phase is
        the wait for it. The inferred members are written once every batch is in, before the
        keys are re-created; with its foreign keys in place (not deferred), each batch needs
        its members written first. Returns the rows written."""
        held = lookups.HeldDimensions.of(self.ctx, self.spec)
        loaded = 0
        with WriteBehind() as behind:
            for valid in self.valid_batches(held):
                with self.phase("load"):
                    self._submit(behind, valid, [] if keys_deferred else held.take())
                loaded += valid.height
                del valid
            with self.phase("load"):
                behind.wait()
                write_members(self.wh, held.take())
        logs.event(
            f"{self.spec.name} write",
            run_id=self.ctx.run_id,
            entity=self.spec.name,
            phase="write",  # the writer's own time, not in the entity's seconds
            seconds=round(behind.seconds, 3),
        )
        return loaded

    def _submit(
        self, behind: WriteBehind, valid: pl.DataFrame, members: list[tuple[str, pl.DataFrame]]
    ) -> None:
        """`valid` written behind into the target, after the inferred `members` it references."""
        for table, rows in members:
            behind.submit(partial(self.wh.load_arrow, table, rows.to_arrow()))
        behind.submit(partial(merge.append, self.wh, self.plan, valid, self.plan.target))
