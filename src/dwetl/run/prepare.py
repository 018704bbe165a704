"""The first steps of a frame's transform phase, which need no warehouse: the entity's transform
(categories repaired to the DDL's CHECKs, text repairs counted), the source values that did not
fit their type attached, the versions of a key folded into the newest, and those values' rows
taken out as rejects. `EntityLoad.transform` (this process) and the Spark engine's tasks
(`dwetl.run.spark.tasks`) both call `prepare`; the surrogate keys that follow need the
warehouse's key maps, which each gets its own way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from dwetl.entities.registry import applied_ddl
from dwetl.entities.spec import EntitySpec
from dwetl.run import type_rejects
from dwetl.run.repair_counts import repairs
from dwetl.source.conform import ORIGINAL, fold_typed
from transforms.constraints import ConstraintSet


@dataclass
class Prepared:
    """A frame after `prepare`, with what it counted."""

    #: the rows to go on with (surrogate keys and validation are next)
    frame: pl.DataFrame
    #: the rows with a source value that did not fit its type, as rejects (None: none)
    mistyped: pl.DataFrame | None
    #: the rows the transform returned, before folding (the calendar's extracted rows)
    transformed: int
    #: text repairs per column and class (`repair_counts.repairs`)
    repairs: dict[str, dict[str, int]] | None
    folded: int = 0
    ties: int = 0


def prepare(
    spec: EntitySpec, frame: pl.DataFrame, constraint_sets: Mapping[str, ConstraintSet]
) -> Prepared:
    """`frame` (as extracted) transformed, its mistyped rows split off, its versions folded."""
    originals = frame.get_column(ORIGINAL) if ORIGINAL in frame.columns else None
    source = frame.drop(ORIGINAL, strict=False)
    with applied_ddl(constraint_sets):  # categories repaired to the DDL's CHECKs
        frame = spec.transform(source)
    repaired = repairs(source, frame)
    frame = type_rejects.attach(frame, originals, spec.name)
    del originals
    prepared = Prepared(frame, None, frame.height, repaired)
    _fold(spec, prepared, source)
    del source
    prepared.frame, prepared.mistyped = type_rejects.split_off(
        prepared.frame, spec.target_table, spec.natural_key
    )
    return prepared


def _fold(spec: EntitySpec, prepared: Prepared, source: pl.DataFrame) -> None:
    """The versions of a key folded into the newest (by the watermark column), counted."""
    order_by, frame = spec.watermark_column, prepared.frame
    if not order_by or order_by not in frame.columns:
        return
    # Versions that tie on the watermark column are told apart by their source values
    # (the transform's rows line up with them), not the transformed ones: a repair
    # depends on the other rows read, which differ between a full and an incremental run.
    # A version with a value that did not fit its type takes part, its value NULL (and
    # counts as the newest where its watermark column is that value: `fold_typed`).
    tie_break = source if source.height == frame.height else None
    folded = fold_typed(frame, list(spec.natural_key), order_by, tie_break=tie_break)
    prepared.frame, prepared.folded, prepared.ties = folded.frame, folded.folded, folded.ties
