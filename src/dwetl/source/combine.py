"""Combining an entity's parts (`EntitySpec.extract_parts`: fact_vendas' items and order
headers) into its rows, by the entity's own `combine`, without losing a cell that did not fit
its type: it follows its row into the combined frame (`conform.ORIGINAL`)."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from dwetl.core.errors import DwetlError
from dwetl.entities.spec import EntitySpec
from dwetl.source.conform import (
    ORIGINAL,
    Schema,
    broken_rows,
    check_columns,
    conform,
    fold_typed,
    merge_originals,
)


def combined(
    spec: EntitySpec, frames: list[pl.DataFrame], schema: Schema, since: datetime | None
) -> pl.DataFrame:
    """The parts joined by the entity's `combine`, only the rows changed after `since`.

    A cell that did not fit its type (`conform.ORIGINAL`) follows its row: the first part's
    rows are the combined rows, one each, in order; a later part's row (an order header)
    passes its cells to every row that joins it by the part's `batch_join`, when it is the
    version `combine` takes (the newest: the part is folded here first, by `fold_typed`)."""
    assert spec.combine is not None
    where = f"{spec.name}: {spec.combine.__module__}.{spec.combine.__name__}"
    first, *rest = frames
    carried = [first.get_column(ORIGINAL)] if ORIGINAL in first.columns else []
    joined: list[tuple[str, pl.DataFrame]] = []
    parts = list(spec.extract_parts[1:])
    for at, (part, frame) in enumerate(zip(parts, rest, strict=True)):
        if ORIGINAL not in frame.columns:
            continue
        if part.batch_join is None or spec.watermark_column is None:
            _fail_on_first(frame, f"{where} ({part.sql})")
        assert part.batch_join is not None and spec.watermark_column is not None
        newest = fold_typed(frame, part.batch_join, spec.watermark_column).frame
        bad = newest.filter(broken_rows(newest.get_column(ORIGINAL)))
        joined.append(
            (part.batch_join, bad.select(part.batch_join, ORIGINAL).drop_nulls(part.batch_join))
        )
        rest[at] = newest.drop(ORIGINAL)
    frame = spec.combine(first.drop(ORIGINAL, strict=False), *rest)
    check_columns(frame.columns, schema, where)
    frame = conform(frame, schema)
    if carried or joined:
        frame = _with_originals(spec, frame, first, carried, joined, where)
    column = spec.watermark_column
    if since is not None and column is not None:
        # as its literal; a row without a stamp is kept, as the wrapped query keeps it (`_where`)
        after = (pl.col(column) > since.replace(tzinfo=None)).fill_null(True)
        if ORIGINAL in frame.columns:  # a row that cannot be dated is kept: it is rejected
            after = after | pl.lit(broken_rows(frame.get_column(ORIGINAL)))
        frame = frame.filter(after)
    return frame


def _with_originals(
    spec: EntitySpec,
    frame: pl.DataFrame,
    first: pl.DataFrame,
    carried: list[pl.Series],
    joined: list[tuple[str, pl.DataFrame]],
    where: str,
) -> pl.DataFrame:
    """The combined rows with the cells of their parts that did not fit (`combined`)."""
    key = spec.batch_key or spec.natural_key[0]
    if frame.height != first.height or not frame.get_column(key).equals(first.get_column(key)):
        raise DwetlError(
            f"{where}: must return one row per row of its first part, in its order, so that "
            "the values that did not fit their type follow their rows"
        )
    structs: list[pl.Series | None] = list(carried)
    for join, bad in joined:
        struct = frame.select(join).join(bad, on=join, how="left", maintain_order="left")
        structs.append(struct.get_column(ORIGINAL))
    merged = merge_originals(*structs)
    return frame if merged is None else frame.with_columns(merged)


def _fail_on_first(frame: pl.DataFrame, where: str) -> None:
    """A part whose rows cannot be told to the combined rows: its first value that did not fit
    its type fails the entity (the old way), naming it."""
    fields = frame.get_column(ORIGINAL).struct.unnest()
    for column in fields.iter_columns():
        values = column.drop_nulls()
        if values.len():
            raise DwetlError(
                f"{where}: column {column.name}: value {values[0]!r} does not fit its type"
            )
