"""Rows with a source value that did not fit its type: quarantined, with the value as it was.

`conform` (extract) leaves such a cell NULL and its text in the struct column `ORIGINAL`. The
entity keeps those rows in its frame through the transform and the folding of versions, so that
a broken newest version of a key is what the key's version is (it is never hidden by an older,
valid one, and the folded count stays right); then `split_off` takes them out before the
surrogate keys (a broken key must not become an inferred member), as rejects whose reasons are
`TYPE_<table>_<column>` for every such column, whose row JSON holds the source's text in place
of each broken value, and whose source key is the key's text where the key itself was broken.
They join the rows `transforms.validate.split` rejects: counted, written and ratio-checked
with them.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from dwetl.core.errors import DwetlError
from dwetl.run.rejects import REASONS, ROW_JSON, SOURCE_KEY, SOURCE_KEY_LENGTH
from dwetl.source.conform import ORIGINAL, broken_rows


def attach(transformed: pl.DataFrame, originals: pl.Series | None, where: str) -> pl.DataFrame:
    """The transformed rows with the `ORIGINAL` cells of the source rows they came from (the
    transforms keep rows and their order). A transform that makes rows of its own (the
    calendar, from the bounds of the source's dates) cannot be told which row to reject: its
    first broken value fails the entity, naming it."""
    if originals is None:
        return transformed
    if transformed.height != originals.len():
        for field in originals.struct.unnest().iter_columns():
            values = field.drop_nulls()
            if values.len():
                raise DwetlError(
                    f"{where}: column {field.name}: value {values[0]!r} does not fit its type"
                )
        return transformed
    return transformed.with_columns(originals)


def split_off(
    frame: pl.DataFrame, table: str, key: Sequence[str]
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """(rows to go on with, the rows with a value that did not fit: rejects, or None)."""
    if ORIGINAL not in frame.columns:
        return frame, None
    broken = broken_rows(frame.get_column(ORIGINAL))
    kept = frame.filter(~broken).drop(ORIGINAL)
    if not broken.any():
        return kept, None
    bad = frame.filter(broken)
    texts = bad.get_column(ORIGINAL).struct.unnest()
    bad = bad.drop(ORIGINAL)
    short = table.rsplit(".", 1)[-1]
    reasons = pl.concat_list(
        [pl.when(pl.col(c).is_not_null()).then(pl.lit(f"TYPE_{short}_{c}")) for c in texts.columns]
    ).list.drop_nulls()
    return kept, bad.with_columns(
        texts.select(reasons).to_series().alias(REASONS),
        _row_json(bad, texts).alias(ROW_JSON),
        _source_key(bad, texts, key).alias(SOURCE_KEY),
    )


def _row_json(bad: pl.DataFrame, texts: pl.DataFrame) -> pl.Series:
    """Each row as JSON, a broken value replaced by (or, where the transform left its column
    out, added as) the source's text. Rows are encoded together per set of broken columns: a
    handful of sets, never a loop over rows."""
    pattern = texts.select(
        pl.concat_str([pl.col(c).is_not_null().cast(pl.Int8) for c in texts.columns])
    ).to_series()
    out = pl.Series(ROW_JSON, [None] * bad.height, dtype=pl.String)
    for shape in pattern.unique().to_list():
        at = (pattern == shape).arg_true()
        columns = [c for c, flag in zip(texts.columns, shape, strict=True) if flag == "1"]
        rows = bad[at].with_columns(texts[at].select(columns))
        out = out.scatter(at, rows.select(pl.struct(rows.columns).struct.json_encode()).to_series())
    return out


def _source_key(bad: pl.DataFrame, texts: pl.DataFrame, key: Sequence[str]) -> pl.Series:
    """The natural key as text, each broken part as the source's text (NULL where no part of
    the key was broken: the usual key then stands)."""
    parts = [
        pl.coalesce(texts.get_column(k), bad.get_column(k).cast(pl.String))
        if k in texts.columns
        else bad.get_column(k).cast(pl.String)
        for k in key
    ]
    if not any(k in texts.columns for k in key):
        return pl.Series(SOURCE_KEY, [None] * bad.height, dtype=pl.String)
    joined = pl.select(pl.concat_str(parts, separator="|")).to_series()
    # ctl.etl_reject.source_key is VARCHAR(200), and PostgreSQL stores no NUL: the row JSON
    # keeps the whole text
    return joined.str.replace_all("\x00", "\\u0000", literal=True).str.slice(0, SOURCE_KEY_LENGTH)
