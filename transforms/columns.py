"""Column helpers the entity transforms share: dtypes, blank text, the calendar key.

>>> pl.select(date_key(pl.lit(date(2024, 3, 5)))).item()
20240305
"""

from __future__ import annotations

from datetime import date  # noqa: F401  (used by the doctest)

import polars as pl

#: money as the warehouse stores it: exact, scale 2 (precision is checked by validation)
MONEY = pl.Decimal(38, 2)
TIMESTAMP = pl.Datetime("us")


def blank_to_null(expr: pl.Expr) -> pl.Expr:
    """Empty text is no value: `blank_to_null(pl.col("email"))` turns "" into NULL."""
    return pl.when(expr.str.len_chars() > 0).then(expr)


def date_key(expr: pl.Expr) -> pl.Expr:
    """The calendar's key of a date or timestamp, yyyymmdd as Int32 (`sk_data`)."""
    year, month, day = (
        part.cast(pl.Int32) for part in (expr.dt.year(), expr.dt.month(), expr.dt.day())
    )
    return year * 10000 + month * 100 + day
