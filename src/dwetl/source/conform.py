"""Type what a source returned exactly as the extract's schema says, or say which cells do not fit.

    conform(frame, schema) -> the frame typed as `schema`, plus `ORIGINAL` where a cell did not fit

A value fits its type only when it converts without loss: no text read as 0, no 17.5 read as 17,
no 17.505 rounded to 17.51 in a scale-2 decimal (17.500 is 17.50: the value already has that
scale), no timestamp cut to its date, no impossible date ('31/02/2020', '0000-00-00'), no time
outside years 1 to 9999 (PostgreSQL's 'infinity', kept as that word), and no
text a warehouse cannot store (a NUL character: PostgreSQL refuses it, DuckDB would keep it, so
it is refused for both). A cell that does not fit is NULL in the typed frame, and its value, as
text, goes into the struct column `ORIGINAL` (one field per column that had such a cell), so the
row becomes a `TYPE_<table>_<column>` reject downstream (`dwetl.run.type_rejects`) that keeps
what the source said. A clean frame gets no `ORIGINAL` column: nothing changes for it.

A double is taken as the 15 significant digits it holds (what SQLite prints for it, and what a
DOUBLE can promise), so 0.1 + 0.2 is 0.3 and 17.505 stays 17.505 (a reject at scale 2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import polars as pl

from dwetl.core.errors import UsageError
from transforms.keys import Folded, fold_newest

if TYPE_CHECKING:
    from pathlib import Path

#: the struct column of the cells that did not fit their type: field = column, value = its text
ORIGINAL = "__dwetl_original"

Schema = Mapping[str, pl.DataType]

# How SQLite (and text exports) spell timestamps; `%.f` also accepts no fraction. The exact
# whole-second spelling is parsed first (a fixed-width format, cheaper than `%.f`); only the
# values it leaves are cleaned and tried with the others, each a pass. That first pass keeps no
# cache of parsed texts: an ERP's timestamps are nearly all distinct, and looking each up costs
# more than parsing it (docs/decisions/0009-source-reads.md).
_WHOLE_SECONDS = "%Y-%m-%d %H:%M:%S"
_TIMESTAMP_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%d")
_DOUBLE_DIGITS = 15
#: the year of the last time connectorx writes (chrono's): PostgreSQL's 'infinity'
_INFINITY_YEAR = 262142
#: 0001-01-01 and 9999-12-31 as days since 1970-01-01 (`_outside_years`)
_FIRST_DAY, _LAST_DAY = -719_162, 2_932_896
_PER_SECOND = {"us": 1_000_000, "ms": 1_000}


def conform(frame: pl.DataFrame, schema: Schema, zone: str = "UTC") -> pl.DataFrame:
    """`frame`'s `schema` columns cast to their types; a cell that does not fit is NULL, and its
    text is in `ORIGINAL` (kept and merged with any `ORIGINAL` the frame had already). A
    timestamp with a time zone becomes the wall time of `zone` (the source session's:
    `dwetl.source.zones`).

    >>> f = conform(pl.DataFrame({"q": ["3", "17.5", None, "x"]}), {"q": pl.Int32()})
    >>> f["q"].to_list(), f[ORIGINAL].struct.field("q").to_list()
    ([3, None, None, None], [None, '17.5', None, 'x'])
    """
    columns: list[pl.Series] = []
    originals: list[pl.Series] = []
    for name, target in schema.items():
        raw = frame.get_column(name)
        typed, lost = to_type(raw, target, zone)
        if lost is not None and lost.any():
            typed = pl.select(pl.when(~lost).then(typed)).to_series()
            originals.append(pl.select(pl.when(lost).then(as_text(raw))).to_series().alias(name))
        columns.append(typed.alias(name))
    out = pl.DataFrame(columns)
    found = pl.struct(originals, eager=True).alias(ORIGINAL) if originals else None
    carried = frame.get_column(ORIGINAL) if ORIGINAL in frame.columns else None
    merged = merge_originals(carried, found)
    return out if merged is None else out.with_columns(merged)


def check_columns(columns: list[str], schema: Schema, path: Path | str) -> None:
    """The query must return exactly the schema's columns, each once; else a UsageError naming
    the file.

    >>> check_columns(["id", "nome", "nome"], {"id": pl.Int64(), "nome": pl.String()}, "x.sql")
    Traceback (most recent call last):
    dwetl.core.errors.UsageError: x.sql: column(s) returned more than once: nome (expected: ...)
    """
    missing = [c for c in schema if c not in columns]
    extra = [c for c in columns if c not in schema]
    twice = repeated(columns)
    if not missing and not extra and not twice:
        return
    problems = []
    if twice:
        problems.append("column(s) returned more than once: " + ", ".join(twice))
    if missing:
        problems.append("missing column(s) " + ", ".join(missing))
    if extra:
        problems.append("unexpected column(s) " + ", ".join(extra))
    raise UsageError(f"{path}: {'; '.join(problems)} (expected: {', '.join(schema)})")


def repeated(columns: list[str]) -> list[str]:
    """The names a query returns more than once (two select items with one alias: PostgreSQL
    and MariaDB keep both, and no frame can hold them).

    >>> repeated(["id", "nome", "cidade", "nome"])
    ['nome']
    """
    return sorted({c for c in columns if columns.count(c) > 1})


def merge_originals(*structs: pl.Series | None) -> pl.Series | None:
    """Row-aligned `ORIGINAL` structs as one (the first non-NULL text of a column wins)."""
    fields: dict[str, pl.Series] = {}
    for struct in structs:
        if struct is None:
            continue
        for field in struct.struct.unnest().iter_columns():
            held = fields.get(field.name)
            fields[field.name] = (
                field if held is None else pl.select(pl.coalesce(held, field)).to_series()
            )
    if not fields:
        return None
    return pl.struct(list(fields.values()), eager=True).alias(ORIGINAL)


def broken_rows(originals: pl.Series) -> pl.Series:
    """True where a row of `ORIGINAL` names any cell."""
    fields = originals.struct.unnest()
    return fields.select(pl.any_horizontal(pl.all().is_not_null())).to_series()


def as_text(series: pl.Series) -> pl.Series:
    """A value as the text of the source's own spelling: a double with its 15 digits, a single
    (PostgreSQL's `real`, MariaDB's `FLOAT`) as the shortest text that reads back as it."""
    if series.dtype == pl.Float32:
        return series.cast(pl.String)
    if series.dtype.is_float():
        return _double_text(series)
    if series.dtype == pl.Binary:
        # bytes that did not fit (MariaDB's BIT(1) where a number is due, text that is no
        # UTF-8): their hex, which any bytes have (a cast to text raises on invalid UTF-8)
        return pl.select(pl.lit("0x") + series.bin.encode("hex")).to_series().alias(series.name)
    if isinstance(series.dtype, pl.Date | pl.Datetime):
        # PostgreSQL's 'infinity' and '-infinity' reach Arrow as the last and first times
        # connectorx can write: say what the source said
        year = series.dt.year()
        return (
            pl.select(
                pl.when(year >= _INFINITY_YEAR)
                .then(pl.lit("infinity"))
                .when(year <= -_INFINITY_YEAR - 1)
                .then(pl.lit("-infinity"))
                .otherwise(series.cast(pl.String))
            )
            .to_series()
            .alias(series.name)
        )
    return series.cast(pl.String)


def to_type(
    series: pl.Series, target: pl.DataType, zone: str = "UTC"
) -> tuple[pl.Series, pl.Series | None]:
    """`series` as `target`, and where a value did not convert exactly (None: nowhere); a
    timestamp with a time zone as the wall time of `zone`. A time outside years 1 to 9999 does
    not fit (`_outside_years`), before the zone's wall time is taken or after."""
    before = _outside_years(series)
    if before is not None:  # NULL before anything reads them: a zone's conversion panics
        series = pl.select(pl.when(~before).then(series)).to_series()
    typed, lost = _typed(series, target, zone)
    after = _outside_years(typed)  # a wall time can cross into year 0 (0001-01-01 UTC - 3 h)
    if after is not None:
        typed = pl.select(pl.when(~after).then(typed)).to_series()
    for outside in (before, after):
        if outside is not None:
            lost = outside if lost is None else lost | outside
    return typed, lost


def _typed(series: pl.Series, target: pl.DataType, zone: str) -> tuple[pl.Series, pl.Series | None]:
    source = series.dtype
    if source == target:
        return series, _refused_text(series)
    if source == pl.Binary:
        return _binary(series, target)
    if isinstance(source, pl.Datetime) and source.time_zone is not None:
        series = series.dt.convert_time_zone(zone).dt.replace_time_zone(None)
        source = series.dtype
    if isinstance(target, pl.Decimal):
        return _to_decimal(series, target)
    if target.is_integer():
        return _to_integer(series, target)
    if target in (pl.Date, pl.Datetime):
        return _to_time(series, target)
    if target == pl.String:
        typed = as_text(series)
        refused = _refused_text(typed)
        lost = _lost(series, typed)
        return typed, lost if refused is None else lost | refused
    typed = series.cast(target, strict=False)
    return typed, _lost(series, typed)


def _outside_years(series: pl.Series) -> pl.Series | None:
    """Where a date or timestamp lies outside years 1 to 9999 (None: nowhere). That is SQL's
    own range, all that Python's datetime and SQL Server hold, and more than any sale needs.
    PostgreSQL holds more: its 'infinity' and '-infinity' (read as years 262142 and -262143),
    4000 BC, or a mistyped year 20240; none of them is a time a warehouse row can be given.
    Compared as stored (days, or units since 1970): two vectorised passes, no date parts.

    >>> from datetime import date
    >>> _outside_years(pl.Series([date(2024, 3, 1), None, date(1, 1, 1)])) is None
    True
    >>> bc = pl.select(pl.date(-3999, 1, 1)).to_series()  # 4000 BC: no Python date
    >>> _outside_years(pl.concat([pl.Series([date(2024, 3, 1), None]), bc])).to_list()
    [False, False, True]
    """
    dtype = series.dtype
    if isinstance(dtype, pl.Date):
        low, high = _FIRST_DAY, _LAST_DAY
    elif isinstance(dtype, pl.Datetime) and dtype.time_unit in _PER_SECOND:
        per_second = _PER_SECOND[dtype.time_unit]
        low, high = _FIRST_DAY * 86_400 * per_second, (_LAST_DAY + 1) * 86_400 * per_second - 1
    else:  # not a time, or nanoseconds (which hold only years 1677 to 2262)
        return None
    stored = series.to_physical()
    first, last = stored.min(), stored.max()
    if first is None or (low <= first and last <= high):  # type: ignore[operator]
        return None
    return ~stored.is_between(low, high).fill_null(True)


def _binary(series: pl.Series, target: pl.DataType) -> tuple[pl.Series, pl.Series]:
    """Bytes (a MariaDB BINARY, BLOB or BIT column): as text where the column wants text and
    every value is UTF-8; otherwise none fits (a cast of the column in the extract says how to
    read them: `CAST(ativo AS UNSIGNED)` for a BIT(1)), and each row is rejected keeping its
    hex. Read as text, one value that is no UTF-8 made the whole read fail. (A source's
    `restore` has already decoded bytes where text is due: `texts_decoded`.)

    >>> typed, lost = _binary(pl.Series([b"\\x01", None]), pl.Int16())
    >>> typed.to_list(), lost.to_list()
    ([None, None], [True, False])
    """
    if target == pl.String:
        try:
            typed = series.cast(pl.String)
        except pl.exceptions.ComputeError:  # invalid UTF-8 somewhere
            pass
        else:
            refused = _refused_text(typed)
            return typed, _lost(series, typed) if refused is None else refused
    return pl.repeat(None, len(series), dtype=target, eager=True), series.is_not_null()


def _lost(raw: pl.Series, typed: pl.Series) -> pl.Series:
    return raw.is_not_null() & typed.is_null()


def _refused_text(series: pl.Series) -> pl.Series | None:
    """Text holding a NUL character: no PostgreSQL text column can store it."""
    if series.dtype != pl.String:
        return None
    return series.str.contains("\x00", literal=True).fill_null(False)


def _double_text(series: pl.Series) -> pl.Series:
    """A double's 15 significant digits as text, as C's `%.15g` prints them. One value at a
    time: Polars' `round_sig_figs` is off in the last digit, or more past 1e20; this is for
    the values no faster way could take (see `_to_decimal`) and for the kept texts."""
    digits = f"%.{_DOUBLE_DIGITS}g"
    return pl.Series(
        series.name, [None if v is None else digits % v for v in series.to_list()], pl.String
    )


def _to_decimal(series: pl.Series, target: pl.Decimal) -> tuple[pl.Series, pl.Series]:
    source = series.dtype
    if source == pl.Float32:
        # a single holds 0.1 as 0.100000001490116...: the text it stands for is its shortest
        # (what the source itself prints), not its 15 digits, which would reject nearly every
        # price of a `real` column
        return _decimal_text(as_text(series), target)
    if source.is_float():
        # The nearest double to a decimal of the target's scale (10.05) casts to it, which the
        # cast back shows; only the others (17.505, 0.1 + 0.2) are printed and read as text.
        # (below 15 digits in all, where a double's neighbours are further apart than that)
        small = series.abs() < 10.0 ** (_DOUBLE_DIGITS - (target.scale or 0))
        direct = pl.select(pl.when(small).then(series)).to_series().cast(target, strict=False)
        exact = (small & (direct.cast(pl.Float64) == series)).fill_null(series.is_null())
        if exact.all():
            return direct, pl.repeat(False, len(series), eager=True)
        at = (~exact).arg_true()
        typed, lost = _decimal_text(_double_text(series.gather(at)), target)
        return direct.scatter(at, typed), pl.repeat(False, len(series), eager=True).scatter(
            at, lost
        )
    if source == pl.String:
        return _decimal_text(series.str.strip_chars(), target)
    typed = series.cast(target, strict=False)
    lost = _lost(series, typed)
    if isinstance(source, pl.Decimal) and (source.scale or 0) > (target.scale or 0):
        back = typed.cast(source, strict=False)  # a cut digit shows as a difference
        lost = lost | (back != series).fill_null(False)
    return typed, lost


def _decimal_text(text: pl.Series, target: pl.Decimal) -> tuple[pl.Series, pl.Series]:
    """Decimal text as `target`: a non-zero digit past the scale would be cut by the cast, so
    it is lost. Text with an exponent (rare: a double's text past 1e15) is read by Python's
    exact decimals, one value at a time, as Polars reads it through a double."""
    scale = target.scale or 0
    typed = text.cast(target, strict=False)
    lost = _lost(text, typed) | text.str.contains(rf"\.\d{{{scale}}}0*[1-9]").fill_null(False)
    exponent = text.str.contains("[eE]").fill_null(False)
    if not exponent.any():
        return typed, lost
    at = exponent.arg_true()
    exact = [_exact_decimal(value, scale) for value in text.gather(at).to_list()]
    typed = typed.scatter(at, pl.Series(exact, dtype=pl.String).cast(target, strict=False))
    return typed, lost.scatter(at, [value is None for value in exact]) | _lost(text, typed)


def _exact_decimal(value: str, scale: int) -> str | None:
    """`value`'s exact decimal text at `scale` decimals (None: it has more, or is no number)."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if any(digits) and exponent + zeros < -scale:
        return None
    if number.adjusted() + 1 + scale > 38:  # more digits than a decimal holds
        return None
    return f"{number:f}"


def _to_integer(series: pl.Series, target: pl.DataType) -> tuple[pl.Series, pl.Series]:
    source = series.dtype
    if source == pl.String:
        series = series.str.strip_chars()
    typed = series.cast(pl.Int64, strict=False)
    lost = _lost(series, typed)
    if source.is_float():
        lost = lost | (typed.cast(pl.Float64) != series).fill_null(False)
    elif isinstance(source, pl.Decimal):
        lost = lost | (typed.cast(source, strict=False) != series).fill_null(False)
    narrowed = typed.cast(target, strict=False)
    return narrowed, lost | _lost(typed, narrowed)


def _to_time(series: pl.Series, target: pl.DataType) -> tuple[pl.Series, pl.Series]:
    source = series.dtype
    if source == pl.String:
        stamp = _parse_timestamps(series)
        lost = _lost(series, stamp)
    elif isinstance(source, pl.Datetime):
        stamp, lost = series.cast(pl.Datetime("us")), pl.repeat(False, len(series), eager=True)
    elif source == pl.Date:
        return series.cast(target), pl.repeat(False, len(series), eager=True)
    else:  # a number is no date (not days or seconds since some epoch)
        return pl.repeat(None, len(series), dtype=target, eager=True), series.is_not_null()
    if target == pl.Date:
        # a time of day would be cut: only midnight is a date
        lost = lost | (stamp.dt.time() != time(0)).fill_null(False)
        return stamp.dt.date(), lost
    return stamp.cast(target), lost


def _parse_timestamps(series: pl.Series) -> pl.Series:
    stamp = series.str.to_datetime(_WHOLE_SECONDS, time_unit="us", strict=False, cache=False)
    left = stamp.is_null() & series.is_not_null()
    if left.any():
        at = left.arg_true()
        stamp = stamp.scatter(at, _parse_any(series.gather(at)))
    return stamp


def _parse_any(series: pl.Series) -> pl.Series:
    text = series.str.strip_chars().str.replace("T", " ", literal=True)
    stamp = text.str.to_datetime(_TIMESTAMP_FORMATS[0], time_unit="us", strict=False)
    if (stamp.is_null() & text.is_not_null()).any():
        tries = [text.str.to_datetime(f, time_unit="us", strict=False) for f in _TIMESTAMP_FORMATS]
        stamp = pl.select(pl.coalesce(tries)).to_series()
    return stamp


def fold_typed(
    frame: pl.DataFrame,
    key: str | Sequence[str],
    order_by: str,
    *,
    tie_break: pl.DataFrame | None = None,
) -> Folded:
    """`transforms.keys.fold_newest` of a frame that may hold `ORIGINAL`: a version whose
    `order_by` did not fit its type cannot be dated, so it counts as the newest of its key (its
    key is then rejected, not loaded from an older version it may have replaced); its
    `order_by` stays NULL. The struct is nested, so it takes no part in breaking ties."""
    undated = _field(frame, order_by)
    if undated is None or not undated.is_not_null().any():
        return fold_newest(frame, key, order_by, tie_break=tie_break)
    dtype = frame.schema[order_by]
    newest = pl.lit(datetime(9999, 12, 31, 23, 59, 59), dtype=dtype)
    marked = frame.with_columns(
        pl.when(undated.is_not_null()).then(newest).otherwise(pl.col(order_by)).alias(order_by)
    )
    folded = fold_newest(marked, key, order_by, tie_break=tie_break)
    kept = _field(folded.frame, order_by)
    assert kept is not None
    restored = folded.frame.with_columns(
        pl.when(kept.is_null()).then(pl.col(order_by)).alias(order_by)
    )
    return Folded(restored, folded.folded, folded.ties)


def _field(frame: pl.DataFrame, column: str) -> pl.Series | None:
    """The `ORIGINAL` texts of `column` (None: the frame has none)."""
    if ORIGINAL not in frame.columns:
        return None
    struct = frame.get_column(ORIGINAL)
    if column not in [f.name for f in struct.dtype.fields]:  # type: ignore[attr-defined]
        return None
    return struct.struct.field(column)
