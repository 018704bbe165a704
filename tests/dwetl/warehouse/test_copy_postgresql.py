"""Bulk loads into PostgreSQL (`PostgreSQLWarehouse.load_arrow`): in COPY's binary format where
every column's Arrow type is its column's wire type, else as CSV; either way the rows read back
as the warehouse's DDL types store them, and the server still enforces the columns' types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
import pytest

from dwetl.core.config import load_settings
from dwetl.warehouse import open_warehouse
from dwetl.warehouse.base import Warehouse
from dwetl.warehouse.postgresql import binary_copy_schema

#: one column of each type the warehouse DDL (sql/ddl/) declares
TABLE = """
CREATE SCHEMA IF NOT EXISTS stg;
CREATE TABLE stg.tipos (
    id          BIGINT NOT NULL,
    ano         SMALLINT,
    quantidade  INTEGER,
    peso        DOUBLE PRECISION,
    valor       DECIMAL(12,2),
    nome        VARCHAR(20),
    uf          CHAR(2),
    texto       TEXT,
    quando      TIMESTAMP,
    dia         DATE,
    ativo       BOOLEAN
);
"""


@pytest.fixture
def wh(pg_url: str, tmp_path: Path) -> Iterator[Warehouse]:
    settings = load_settings(dw=pg_url, cwd=tmp_path, env={})
    with open_warehouse(settings.dw, settings) as warehouse:
        for statement in warehouse.transpile(TABLE):
            warehouse.execute(statement)
        yield warehouse


def _column_types(wh: Warehouse) -> dict[str, str]:
    rows = wh.fetchall(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'stg' AND table_name = 'tipos'"
    )
    return dict(rows)


def _frame() -> pl.DataFrame:
    """Rows as dwetl's transforms hand them over: every integer an Int64, money at scale 3
    (one more decimal than the column keeps), text of any length up to the column's."""
    return pl.DataFrame(
        {
            "id": [1, 2, 3],
            "ano": [2024, None, -32768],
            "quantidade": [3, 2_147_483_647, None],
            "peso": [0.1, None, -2.5e300],
            "valor": [Decimal("10.005"), Decimal("-0.004"), None],
            "nome": ["Promoção Automática", "", None],
            "uf": ["SP", None, "r"],
            "texto": ['aspas "duplas", vírgula\nlinha', None, "\\N"],
            "quando": [dt.datetime(2026, 1, 2, 3, 4, 5, 678901), None, dt.datetime(1999, 12, 31)],
            "dia": [dt.date(2026, 2, 28), dt.date(1970, 1, 1), None],
            "ativo": [True, None, False],
        },
        schema_overrides={"valor": pl.Decimal(38, 3), "ano": pl.Int64, "quantidade": pl.Int64},
    )


def test_every_ddl_type_goes_as_binary_and_reads_back_as_stored(wh: Warehouse) -> None:
    data = _frame().to_arrow()
    wire = binary_copy_schema(_column_types(wh), data.schema)
    assert wire is not None  # this load takes the binary path
    assert wire.field("ano").type == pa.int16() and wire.field("quantidade").type == pa.int32()

    wh.load_arrow("stg.tipos", data)

    got = wh.fetch_polars("SELECT * FROM stg.tipos ORDER BY id")
    assert got["ano"].to_list() == [2024, None, -32768]
    assert got["quantidade"].to_list() == [3, 2_147_483_647, None]
    assert got["peso"].to_list() == [0.1, None, -2.5e300]
    # numeric_recv rounds to the column's scale half away from zero, as text input does
    assert got["valor"].to_list() == [Decimal("10.01"), Decimal("0.00"), None]
    assert got["nome"].to_list() == ["Promoção Automática", "", None]
    assert got["uf"].to_list() == ["SP", None, "r "]  # CHAR(2) pads, as from text
    assert got["texto"].to_list() == ['aspas "duplas", vírgula\nlinha', None, "\\N"]
    assert got["quando"].to_list() == [
        dt.datetime(2026, 1, 2, 3, 4, 5, 678901),
        None,
        dt.datetime(1999, 12, 31),
    ]
    assert got["dia"].to_list() == [dt.date(2026, 2, 28), dt.date(1970, 1, 1), None]
    assert got["ativo"].to_list() == [True, None, False]


def test_the_binary_form_is_refused_past_the_column_s_length(wh: Warehouse) -> None:
    data = pl.DataFrame({"id": [1], "nome": ["x" * 21]}).to_arrow()
    assert binary_copy_schema(_column_types(wh), data.schema) is not None

    with pytest.raises(Exception, match="too long for type character varying"):
        wh.load_arrow("stg.tipos", data)


def test_an_integer_wider_than_its_column_is_an_error_never_wrapped(wh: Warehouse) -> None:
    data = pl.DataFrame({"id": [1], "quantidade": [2_147_483_648]}).to_arrow()

    with pytest.raises(pa.ArrowInvalid, match="2147483648"):
        wh.load_arrow("stg.tipos", data)
    assert wh.fetchall("SELECT COUNT(*) FROM stg.tipos") == [(0,)]


def test_a_column_without_its_binary_form_goes_as_csv(wh: Warehouse) -> None:
    # a double into NUMERIC, a timestamp with a time zone into TIMESTAMP: the server converts
    data = pl.DataFrame(
        {
            "id": [1],
            "valor": [2.5],
            "quando": [dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)],
        }
    ).to_arrow()
    assert binary_copy_schema(_column_types(wh), data.schema) is None

    wh.load_arrow("stg.tipos", data)

    assert wh.fetchall("SELECT valor FROM stg.tipos") == [(Decimal("2.50"),)]


@pytest.mark.parametrize(
    ("kind", "arrow", "binary"),
    [
        ("bigint", pa.int32(), pa.int64()),
        ("smallint", pa.int64(), pa.int16()),
        ("numeric", pa.decimal128(38, 4), pa.decimal128(38, 4)),  # the server rescales it
        ("text", pa.string_view(), pa.string_view()),
        ("timestamp without time zone", pa.timestamp("ms"), pa.timestamp("ms")),
        ("numeric", pa.float64(), None),
        ("integer", pa.float64(), None),
        ("text", pa.binary(), None),
        ("timestamp without time zone", pa.timestamp("ns"), None),
        ("timestamp without time zone", pa.timestamp("us", "UTC"), None),
        ("timestamp with time zone", pa.timestamp("us", "UTC"), None),
        ("jsonb", pa.large_string(), None),
    ],
)
def test_binary_copy_schema_takes_only_the_wire_forms(
    kind: str, arrow: pa.DataType, binary: pa.DataType | None
) -> None:
    wire = binary_copy_schema(
        {"id": "bigint", "c": kind}, pa.schema([("id", pa.int64()), ("c", arrow)])
    )
    assert (wire.field("c").type if wire is not None else None) == binary


def test_a_column_the_table_lacks_sends_the_load_to_csv_and_its_error() -> None:
    assert binary_copy_schema({"id": "bigint"}, pa.schema([("nada", pa.int64())])) is None
