"""Text a source keeps as bytes (SQLite's TEXT, a server's VARBINARY or bytea): UTF-8 where it
is, else the legacy encodings an older ERP wrote (cp1252, else latin-1)."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc


def decode_legacy_text(series: pl.Series) -> tuple[pl.Series, int]:
    """Bytes as text: UTF-8 where valid, else cp1252, else latin-1; and how many were not UTF-8.

    Only the distinct non-ASCII values of a column that is not all valid UTF-8 are decoded one
    by one, then mapped back (never a Python loop over every row).

    >>> decode_legacy_text(pl.Series("c", [b"ok", "Promoção".encode("cp1252")]))[0].to_list()
    ['ok', 'Promoção']
    """
    try:
        return series.cast(pl.String), 0
    except pl.exceptions.ComputeError:
        pass
    distinct = series.drop_nulls().unique()
    as_text = distinct.to_arrow().cast(pa.large_binary()).view(pa.large_string())
    ascii_only = pl.Series(pc.string_is_ascii(as_text))
    texts = distinct.filter(~ascii_only)
    pairs = [_decode(value) for value in texts.to_list()]
    decoded = [text for text, _ in pairs]
    legacy = sum(not_utf8 for _, not_utf8 in pairs)
    mapping_from = pl.concat([distinct.filter(ascii_only), texts])
    mapping_to = pl.concat(
        [distinct.filter(ascii_only).cast(pl.String), pl.Series(decoded, dtype=pl.String)]
    )
    restored = series.replace_strict(mapping_from, mapping_to, return_dtype=pl.String)
    return restored.alias(series.name), legacy


def _decode(value: bytes) -> tuple[str, bool]:
    """The text of `value`, and whether it was legacy-encoded (not UTF-8)."""
    try:
        return value.decode("utf-8"), False
    except UnicodeDecodeError:
        pass
    try:
        return value.decode("cp1252"), True
    except UnicodeDecodeError:
        return value.decode("latin-1"), True  # every byte is a latin-1 character: never fails
