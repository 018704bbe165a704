"""`conform`: every source value either converts exactly to its column's type or is NULL with its
text kept in `ORIGINAL` (the run then quarantines its row) -- never a silent cast."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dwetl.source.conform import ORIGINAL, conform

TARGETS: dict[str, pl.DataType] = {
    "smallint": pl.Int16(),
    "integer": pl.Int32(),
    "bigint": pl.Int64(),
    "money": pl.Decimal(38, 2),
    "whole": pl.Decimal(38, 0),
    "date": pl.Date(),
    "timestamp": pl.Datetime("us"),
    "text": pl.String(),
}

_digits = st.text("0123456789", min_size=1, max_size=14)
decimal_texts = st.builds(
    lambda sign, whole, frac, pad: f"{pad}{sign}{whole}{'.' + frac if frac else ''}{pad}",
    st.sampled_from(["", "-", "+"]),
    _digits,
    st.one_of(st.just(""), st.text("0123456789", max_size=6)),
    st.sampled_from(["", " "]),
)
date_texts = st.one_of(
    st.dates(min_value=date(1, 1, 1)).map(str),
    st.datetimes().map(lambda d: d.isoformat(sep=" ")),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S")),
    st.sampled_from(["0000-00-00 00:00:00", "31/02/2020", "2020-02-31", "2020-00-15", "ontem"]),
)
texts = st.one_of(
    decimal_texts,
    date_texts,
    st.text(max_size=12),
    st.sampled_from(["xyz", "17.5", "17.0", "1e3", "12,50", "a\x00b", "", " 7 "]),
)


def _as_decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _as_stamp(text: str) -> datetime | None:
    year, _, rest = text.strip().partition("-")  # strftime writes year 999 as 999
    try:
        return datetime.fromisoformat(f"{year.zfill(4)}-{rest}")
    except ValueError:
        return None


def _fits_exactly(raw: Any, typed: Any, target: pl.DataType) -> bool:
    """Whether `typed` is exactly the value `raw` (a source cell, text or number) denotes."""
    if target == pl.String and not isinstance(raw, str):  # a number as text: the same number
        return _as_decimal(typed) == _as_decimal(
            f"{raw:.15g}" if isinstance(raw, float) else str(raw)
        )
    if isinstance(raw, float) and target.is_integer():  # an integral double is that integer
        return float(typed) == raw
    if isinstance(raw, float):
        raw = f"{raw:.15g}"  # the 15 digits a double holds
    if target == pl.String:
        return typed == str(raw) and "\x00" not in typed
    if isinstance(raw, str) and target in (pl.Date, pl.Datetime("us")):
        stamp = _as_stamp(raw)
        if target == pl.Date:
            return stamp is not None and stamp == datetime(typed.year, typed.month, typed.day)
        return stamp == typed
    number = _as_decimal(str(raw))
    return number is not None and number == Decimal(typed)


@settings(max_examples=300, deadline=None)
@given(
    target=st.sampled_from(sorted(TARGETS)),
    cells=st.lists(
        st.one_of(
            st.none(),
            texts,
            st.integers(-(2**63), 2**63 - 1),
            st.floats(allow_nan=False, allow_infinity=False, width=64),
        ),
        min_size=1,
        max_size=12,
    ),
    as_text=st.booleans(),
)
def test_every_value_loads_exactly_or_is_kept_as_text(
    target: str, cells: list[Any], as_text: bool
) -> None:
    wanted = TARGETS[target]
    # a source column has one type: text, or the cells of one kind of number
    if as_text or any(isinstance(c, str) for c in cells):
        cells = [None if c is None else c if isinstance(c, str) else f"{c:.15g}" for c in cells]
        column = pl.Series("v", cells, dtype=pl.String)
    elif all(c is None or isinstance(c, int) for c in cells):
        column = pl.Series("v", cells, dtype=pl.Int64)
    else:
        cells = [None if c is None else float(c) for c in cells]
        column = pl.Series("v", cells, dtype=pl.Float64)

    frame = conform(pl.DataFrame([column]), {"v": wanted})

    typed = frame.get_column("v").to_list()
    kept = (
        frame.get_column(ORIGINAL).struct.field("v").to_list()
        if ORIGINAL in frame.columns
        else [None] * len(cells)
    )
    assert frame.schema["v"] == wanted
    for raw, value, text in zip(column.to_list(), typed, kept, strict=True):
        if raw is None:
            assert value is None and text is None
        elif value is not None:
            assert text is None and _fits_exactly(raw, value, wanted), (raw, value)
        else:
            assert text is not None, (raw, wanted)
            if isinstance(raw, str):
                assert text == raw


CASES = [
    (["17", " 18 ", "17.5", "xyz"], pl.Int32(), [17, 18, None, None], [None, None, "17.5", "xyz"]),
    ([17.0, 17.5, 1e20], pl.Int64(), [17, None, None], [None, "17.5", "1e+20"]),
    (
        ["17.50", "17.505", "abc", "1e3"],
        pl.Decimal(38, 2),
        ["17.50", None, None, "1000.00"],
        [None, "17.505", "abc", None],
    ),
    ([0.1 + 0.2, 17.505], pl.Decimal(38, 2), ["0.30", None], [None, "17.505"]),
    (
        ["2020-01-02", "2020-01-02 10:30:00", "31/02/2020"],
        pl.Date(),
        [date(2020, 1, 2), None, None],
        [None, "2020-01-02 10:30:00", "31/02/2020"],
    ),
    (
        ["0000-00-00 00:00:00", "2024-03-05 10:00:00"],
        pl.Datetime("us"),
        [None, datetime(2024, 3, 5, 10)],
        ["0000-00-00 00:00:00", None],
    ),
    ([20200102, None], pl.Date(), [None, None], ["20200102", None]),
    (["Ana\x00Maria", "Ana"], pl.String(), [None, "Ana"], ["Ana\x00Maria", None]),
]


@pytest.mark.parametrize(("values", "target", "loaded", "kept"), CASES)
def test_what_does_not_fit(
    values: list[Any], target: pl.DataType, loaded: list[Any], kept: list[Any]
) -> None:
    frame = conform(pl.DataFrame({"v": values}), {"v": target})
    got = frame.get_column("v").to_list()
    assert [None if v is None else str(v) if isinstance(v, Decimal) else v for v in got] == loaded
    assert frame.get_column(ORIGINAL).struct.field("v").to_list() == kept


def test_a_clean_frame_gets_no_originals() -> None:
    frame = conform(pl.DataFrame({"v": ["1", None]}), {"v": pl.Int64()})
    assert frame.columns == ["v"] and frame["v"].to_list() == [1, None]


def test_a_zoned_timestamp_is_the_wall_time_of_the_zone_given() -> None:
    # 01:30 UTC on Christmas is still Christmas Eve in São Paulo (UTC-3): its wall time there
    instants = pl.Series("t", [datetime(2024, 12, 25, 1, 30), None]).dt.replace_time_zone("UTC")
    frame = pl.DataFrame([instants])
    schema: dict[str, pl.DataType] = {"t": pl.Datetime("us")}

    local = conform(frame, schema, "America/Sao_Paulo")
    utc = conform(frame, schema)

    assert local["t"].to_list() == [datetime(2024, 12, 24, 22, 30), None]
    assert utc["t"].to_list() == [datetime(2024, 12, 25, 1, 30), None]
    assert ORIGINAL not in local.columns


#: how connectorx hands over PostgreSQL's 'infinity' and '-infinity' (chrono's last and first
#: times), as microseconds since 1970
PG_INFINITY, PG_MINUS_INFINITY = 8_210_266_876_799_999_999, -8_334_601_228_800_000_000


@pytest.mark.parametrize("zone", [None, "UTC", "America/Sao_Paulo"])
@pytest.mark.parametrize("target", [pl.Datetime("us"), pl.Date()], ids=["timestamp", "date"])
def test_a_time_outside_years_1_to_9999_is_kept_as_text_not_loaded(
    zone: str | None, target: pl.DataType
) -> None:
    """PostgreSQL's infinities, 4000 BC and a mistyped year 20240 are no time a warehouse row
    can be given (Python's datetime fails on them; converting one to a zone made Polars
    panic): NULL, their text kept. The first day of year 1 and the last of 9999 still fit."""
    first, last = datetime(1, 1, 1), datetime(9999, 12, 31)
    infinities = pl.Series([PG_INFINITY, PG_MINUS_INFINITY]).cast(pl.Datetime("us"))
    far = pl.concat([pl.select(pl.datetime(y, 1, 1)).to_series() for y in (-3999, 20240)])
    fit = pl.Series([first, last, None], dtype=pl.Datetime("us"))
    stamps = pl.concat([infinities, far, fit]).alias("t")
    if zone is not None:
        stamps = stamps.dt.replace_time_zone("UTC")

    frame = conform(pl.DataFrame([stamps]), {"t": target}, zone or "UTC")

    kept = frame.get_column(ORIGINAL).struct.field("t").to_list()
    assert kept[:2] == ["infinity", "-infinity"]
    assert kept[2].startswith("-3999-01-01") and kept[3].startswith("+20240-01-01"), kept
    loaded = frame.get_column("t").to_list()
    assert loaded[:4] == [None] * 4
    if zone == "America/Sao_Paulo":  # 3 h earlier, 0001-01-01 00:00 UTC is year 0: kept too
        assert kept[4] is not None and loaded[4] is None
    else:
        fitting = [first, last, None]
        assert loaded[4:] == (
            fitting if target == pl.Datetime("us") else [d and d.date() for d in fitting]
        )
        assert kept[4:] == [None] * 3


def test_a_single_precision_price_is_the_decimal_it_prints_as() -> None:
    """A `real` (float4) column holds 0.1 as 0.100000001490116...: read as its 15 digits, every
    such price was rejected for having more decimals than the scale. A single is the shortest
    text that reads back as it, as PostgreSQL prints it; what has more decimals, or is no
    number, is still kept as text."""
    values = [0.1, 17.35, 123456.78, 2.5, None, 1e-7, float("nan")]
    frame = conform(
        pl.DataFrame({"v": pl.Series(values, dtype=pl.Float32)}), {"v": pl.Decimal(12, 2)}
    )
    loaded = [None if v is None else str(v) for v in frame.get_column("v").to_list()]
    assert loaded == ["0.10", "17.35", "123456.78", "2.50", None, None, None]
    assert frame.get_column(ORIGINAL).struct.field("v").to_list() == [None] * 5 + ["1e-7", "NaN"]


def test_bytes_where_no_text_is_due_are_kept_as_hex_never_a_failed_read() -> None:
    """A MariaDB BIT(1) (bytes) where the contract wants a number failed the entity with
    'casting from BinaryView to Int64 not supported'; bytes that are no UTF-8 where text is
    due, with 'invalid utf8'. Such cells are rejected, keeping their hex."""
    frame = pl.DataFrame(
        {
            "ativo": pl.Series([b"\x01", b"\x00", None]),
            "nome": pl.Series([b"ok", b"\xff\xfe", None]),
            "cidade": pl.Series([b"Recife", b"Natal", None]),
        }
    )
    schema: dict[str, pl.DataType] = {
        "ativo": pl.Int16(),
        "nome": pl.String(),
        "cidade": pl.String(),
    }

    typed = conform(frame, schema)

    kept = typed.get_column(ORIGINAL).struct.unnest()
    assert typed["ativo"].to_list() == [None] * 3
    assert kept["ativo"].to_list() == ["0x01", "0x00", None]
    assert kept["nome"].to_list() == ["0x6f6b", "0xfffe", None]
    assert typed["cidade"].to_list() == ["Recife", "Natal", None]
    assert "cidade" not in kept.columns
