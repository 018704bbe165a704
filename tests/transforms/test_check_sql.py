"""CHECK semantics: a row breaks a CHECK exactly when DuckDB and PostgreSQL evaluate it to FALSE.

The shipped CHECKs use a small part of SQL, which the agreement tests cover with random rows;
this covers the rest of what `transforms.check_sql` accepts, on rows full of NULLs and edges
(three-valued logic, IS TRUE on NULL, NULL in an IN list, date literals, exact decimals, LIKE
with regex characters and a newline, TRIM of spaces only, characters that are not ASCII).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import duckdb
import polars as pl
import psycopg
import pytest

from transforms.check_sql import UnsupportedCheck, compile_check
from transforms.constraints import constraint_sets_from_ddl
from transforms.validate import split

COLUMNS = "a INTEGER, b INTEGER, v DECIMAL(12,2), s VARCHAR(20), d DATE, t TIMESTAMP, f BOOLEAN"
CHECKS = [
    "a BETWEEN 1 AND 3",
    "a NOT BETWEEN 1 AND 3",
    "s IN ('x', 'ç')",
    "s NOT IN ('x', 'ç')",
    "s IN ('x', NULL)",
    "s NOT IN ('x', NULL)",
    "a IN (1, -1)",
    "a IN (b, 3)",
    "v IN (1.5, 2)",
    "a > b",
    "a <> b",
    "a = -b",
    "a > 0 OR b > 0",
    "a > 0 AND b > 0",
    "NOT (a = 5)",
    "a IS NULL",
    "a IS NOT NULL",
    "f",
    "NOT f",
    "f IS TRUE",
    "f IS NOT TRUE",
    "f IS FALSE",
    "f IS NOT FALSE",
    "f OR a > 0",
    "a IS NOT DISTINCT FROM b",
    "a IS DISTINCT FROM b",
    "s LIKE '%_@_%'",
    "s NOT LIKE 'x%'",
    "s LIKE 'a.b%'",
    "s LIKE '(x)_'",
    "s ILIKE 'X%'",
    "LENGTH(s) = 3",
    "COALESCE(a, b, 0) <> 7",
    "ABS(a) > 1",
    "LOWER(s) = 'x'",
    "UPPER(s) = 'X'",
    "TRIM(s) = 'x'",
    "CAST(a AS DECIMAL(10,2)) > 1.5",
    "v <= 100",
    "v >= 0.05",
    "v = a * v",
    "v - 0.1 > 0.1",
    "v <> 0.1 + 0.2",
    "a + b * 2 - 1 < 100",
    "-a < 0",
    "d >= '2020-01-01'",
    "d IN ('2020-01-01', '2021-06-30')",
    "d BETWEEN '2019-01-01' AND '2020-12-31'",
    "t < '2020-01-01 12:00:00'",
    "d < CAST('2020-06-01' AS DATE)",
]
SCHEMA = {
    "a": pl.Int32(),
    "b": pl.Int32(),
    "v": pl.Decimal(38, 2),
    "s": pl.String(),
    "d": pl.Date(),
    "t": pl.Datetime("us"),
    "f": pl.Boolean(),
}
DAY = dt.date(2020, 1, 1)
NOON = dt.datetime(2020, 1, 1, 12)
ROWS: list[tuple[Any, ...]] = [
    (None, None, None, None, None, None, None),
    (1, None, Decimal("0.05"), "x", DAY, NOON, True),
    (-1, 1, Decimal("0.30"), "ç", dt.date(2021, 6, 30), NOON - dt.timedelta(seconds=1), False),
    (3, -3, Decimal("100.00"), "a@b.c", dt.date(2019, 12, 31), NOON, None),
    (5, 2, Decimal("100.01"), " x ", dt.date(2020, 6, 1), None, True),
    (7, 0, Decimal("1.50"), "a.bc", None, NOON, False),
    (2, 2, Decimal("2.00"), "(x)y", DAY, NOON, None),
    (0, 7, Decimal("-0.01"), "x\nz", DAY, NOON, True),
    (None, 7, Decimal("0.00"), "aXb", DAY, NOON, False),
    (4, 4, Decimal("0.04"), "X\tx", DAY, NOON, True),
    (None, 1, Decimal("0.21"), "ÇÃO", DAY, NOON, None),
]
NAMES = [f"CK_T_{i}" for i in range(len(CHECKS))]


def _broken_by_split() -> list[set[str]]:
    constraints = ", ".join(
        f"CONSTRAINT {n} CHECK ({c})" for n, c in zip(NAMES, CHECKS, strict=True)
    )
    cs = constraint_sets_from_ddl(f"CREATE TABLE dw.t ({COLUMNS}, {constraints})")["dw.t"]
    df = pl.DataFrame(ROWS, schema=SCHEMA, orient="row").with_row_index("_i")
    _, rejected = split(df, cs, only_present=True, reasons_column="_why")
    broken: list[set[str]] = [set() for _ in ROWS]
    for i, why in rejected.select("_i", "_why").iter_rows():
        broken[i] = set(why)
    return broken


def _broken_by(rows: list[tuple[Any, ...]]) -> list[set[str]]:
    """rows: per table row, each CHECK's value as the database gives it."""
    return [{n for n, value in zip(NAMES, row, strict=True) if value is False} for row in rows]


def _diff(want: list[set[str]], got: list[set[str]]) -> list[str]:
    return [
        f"row {ROWS[i]!r}: {CHECKS[int(n.rsplit('_', 1)[1])]!r} database "
        f"{'FALSE' if n in want[i] else 'not FALSE'}, split {'breaks' if n in got[i] else 'passes'}"
        for i in range(len(ROWS))
        for n in sorted(want[i] ^ got[i])
    ]


def test_checks_break_rows_exactly_where_duckdb_says_false() -> None:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t (i INTEGER, {COLUMNS})")
    con.executemany(
        f"INSERT INTO t VALUES ({', '.join(['?'] * 8)})", [(i, *r) for i, r in enumerate(ROWS)]
    )
    selected = ", ".join(f"({c})" for c in CHECKS)
    want = _broken_by(con.execute(f"SELECT {selected} FROM t ORDER BY i").fetchall())
    assert _diff(want, _broken_by_split()) == []


@pytest.mark.servers
def test_checks_break_rows_exactly_where_postgresql_says_false(server_unreachable: Any) -> None:
    try:
        con = psycopg.connect("host=localhost port=5432 user=postgres connect_timeout=5")
    except psycopg.Error as exc:
        server_unreachable("PostgreSQL on localhost:5432", exc)
    with con:
        con.execute(f"CREATE TEMPORARY TABLE t (i INTEGER, {COLUMNS})")
        with con.cursor() as cur:
            marks = ", ".join(["%s"] * 8)
            cur.executemany(
                f"INSERT INTO t VALUES ({marks})", [(i, *r) for i, r in enumerate(ROWS)]
            )
        selected = ", ".join(f"({c})" for c in CHECKS)
        rows = con.execute(f"SELECT {selected} FROM t ORDER BY i").fetchall()
    assert _diff(_broken_by(rows), _broken_by_split()) == []


@pytest.mark.parametrize(
    "check",
    [
        "s ~ '^x'",
        "s SIMILAR TO 'x%'",
        "a IN (SELECT 1)",
        "MD5(s) = 'x'",
        "s LIKE 'x!%' ESCAPE '!'",
        "nope > 1",
        "CAST(a AS INTERVAL) > 1",
    ],
)
def test_what_cannot_be_compiled_is_refused_naming_the_constraint(check: str) -> None:
    with pytest.raises(UnsupportedCheck, match="CK_T_x"):
        compile_check("CK_T_x", check, {c: c for c in SCHEMA}, SCHEMA)
