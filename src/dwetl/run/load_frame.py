"""An entity read in one frame: extracted, transformed and validated at once, then landed (straight
into an empty target, else through the staging table), settled and committed in one transaction.
A dry run does all of it and rolls the transaction back."""

from __future__ import annotations

import polars as pl

from dwetl.run import lookups, merge
from dwetl.run.context import remember
from dwetl.run.faults import fault_point
from dwetl.run.load import DryRunDone, EntityLoad, plan_for
from dwetl.run.summary import EntityResult
from transforms.validate import split


class FrameLoad(EntityLoad):
    """The load of an entity read in one frame (every dry run's)."""

    def run(self) -> EntityResult:
        """Extract, transform, validate; then land, settle and commit in one transaction (a dry
        run's rolls back: `DryRunDone`)."""
        valid = self._valid()
        with self.transaction():
            self._land(valid)
        lookups.filled(self.ctx, self.spec, valid, withdrawn=self.result.withdrawn)
        return self.result

    def _valid(self) -> pl.DataFrame:
        """The entity's valid rows (its rejects counted and kept; the reject ratio checked)."""
        result = self.result
        with self.phase("extract"):
            extracted = self.read().extracted
        frame = extracted.frame
        result.extracted = frame.height
        result.watermark_to = extracted.watermark_to
        result.source_clock, result.future = extracted.clock, extracted.future
        del extracted

        maps: dict[str, pl.DataFrame] = {}
        with self.phase("transform"):
            frame, mistyped = self.transform(frame, maps, whole=True)

        with self.phase("validate"):
            valid, rejected = split(
                frame,
                self.cs,
                key=list(self.spec.natural_key),
                references=lookups.references(self.ctx, self.cs, maps=maps),
                existing=lookups.held_tuples(self.ctx, self.spec, self.cs),
            )
            self.reject(rejected, mistyped)
            self.check_ratio()
        return valid

    def _land(self, valid: pl.DataFrame) -> None:
        """In the entity's transaction: the load and merge phases, then the commit (a dry run
        keeps what it would have written, for the entities after it, and rolls back)."""
        ctx, spec = self.ctx, self.spec
        self.plan = plan_for(ctx, spec)
        self.require_columns(valid)
        with self.phase("load"):
            landed = merge.land(self.wh, self.plan, valid, apply=not ctx.dry_run)
        fault_point("merge", spec.name)
        self.settle(landed)
        if ctx.dry_run:
            self.finish()
            if spec.kind != "fact":
                remember(ctx, spec.target_table, valid)
            raise DryRunDone
        self.commit()
