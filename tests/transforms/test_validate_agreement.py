"""Property: `split` agrees with a real DuckDB warehouse built from the same DDL.

Random rows near every boundary (NULLs, integer limits, decimals that round or overflow, long
accented strings, dates): a row `split` accepts inserts without an error, and a row it rejects
for a CHECK, NOT NULL, TYPE or FK reason is refused by DuckDB too. (DuckDB enforces no VARCHAR
length, so a row rejected for LEN_ alone is not asked; PostgreSQL enforces it.)
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from ddl_rows import SHIPPED, apply_ddl, base_row, natural_dtype, try_insert
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from transforms.constraints import Column, ConstraintSet
from transforms.validate import split

TABLES = [t for t in sorted(SHIPPED) if t.startswith("dw.")] + ["ctl.etl_run_entity"]


@pytest.fixture(scope="module")
def dw(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    path: Path = tmp_path_factory.mktemp("agree") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    apply_ddl(con)
    return con


def _in_lists(cs: ConstraintSet) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for check in cs.checks:
        for node in check.tree().walk():
            if isinstance(node, exp.In) and isinstance(node.this, exp.Column):
                found.setdefault(node.this.name, []).extend(
                    i.this for i in node.expressions if isinstance(i, exp.Literal)
                )
    return found


def _values(cs: ConstraintSet, col: Column, allowed: list[str]) -> st.SearchStrategy[Any]:
    if col.type in ("SMALLINT", "INTEGER", "BIGINT"):
        edges: list[Any] = [-1, 0, 1, 2, 12, 13, 2000, 2100, 2101, 999, 2**15 - 1, 2**15]
        edges += [2**31 - 1, 2**31]
        return st.sampled_from([*edges, -(2**15) - 1, -(2**31) - 1])
    if col.type == "DECIMAL":
        scale = col.scale or 0
        top = Decimal(10) ** ((col.precision or 0) - scale)
        unit = Decimal(1).scaleb(-scale)
        half = unit / 2
        edges = [
            Decimal(0),
            -unit,
            Decimal(100),
            Decimal(100) + unit,
            top - unit,
            top - half,
            top - unit - half / 5,
            top,
            Decimal("1.005"),
            Decimal("-1.005"),
        ]
        randoms = st.decimals(-top * 2, top * 2, places=scale + 1, allow_nan=False)
        return st.one_of(st.sampled_from(edges), randoms)
    if col.type == "DATE":
        return st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31))
    if col.type == "TIMESTAMP":
        return st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2100, 1, 1))
    if col.type == "BOOLEAN":
        return st.booleans()
    if col.type == "DOUBLE":
        return st.floats(-1e6, 1e6)
    n = col.length or 20
    text = st.text(st.sampled_from("aç ãÉ@._-1"), max_size=n + 2)
    edges = ["", "a@b.c", "12345678901", "ç" * n, "ç" * (n + 1), "ab" + " " * n, "Item", "Pedido"]
    return st.one_of(st.sampled_from([*allowed, *edges]), text)


@st.composite
def rows(draw: st.DrawFn, cs: ConstraintSet) -> dict[str, Any]:
    row = base_row(cs)
    allowed = _in_lists(cs)
    names = draw(st.lists(st.sampled_from([c.name for c in cs.columns]), max_size=3, unique=True))
    for name in names:  # a few columns near their boundaries, NULL one time in eight
        col = cs.column(name)
        values = _values(cs, col, allowed.get(name, []))
        row[name] = None if draw(st.integers(0, 7)) == 0 else draw(values)
    return row


def frame_of(cs: ConstraintSet, row: dict[str, Any]) -> pl.DataFrame:
    # Decimals travel with one digit more than the column keeps, so rounding is exercised.
    schema = {
        c.name: pl.Decimal(38, (c.scale or 0) + 1) if c.type == "DECIMAL" else natural_dtype(c)
        for c in cs.columns
    }
    return pl.DataFrame([row], schema=schema, orient="row")


DB_REASONS = ("CK_", "NN_", "TYPE_", "FK_")


def _exists(con: duckdb.DuckDBPyConnection, cs: ConstraintSet, row: dict[str, Any]) -> bool:
    for key in [k for k in [cs.primary_key, *cs.uniques] if k]:
        values = [row[c] for c in key.columns]
        if any(v is None or (isinstance(v, int) and abs(v) >= 2**31) for v in values):
            continue
        where = " AND ".join(f"{c} = ?" for c in key.columns)
        if con.execute(f"SELECT 1 FROM {cs.table} WHERE {where}", values).fetchall():
            return True
    return False


@pytest.mark.parametrize("table", TABLES)
def test_split_agrees_with_duckdb(dw: duckdb.DuckDBPyConnection, table: str) -> None:
    cs = SHIPPED[table]
    # The parent keys, as the runner passes them: what the warehouse holds (the unknown
    # members), plus the parent rows try_insert adds (key 1).
    refs = {
        fk.name: pl.Series(
            [
                1,
                *(
                    r[0]
                    for r in dw.execute(
                        f"SELECT {fk.ref_columns[0]} FROM {fk.ref_table}"
                    ).fetchall()
                ),
            ]
        )
        for fk in cs.foreign_keys
    }

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(row=rows(cs))
    def agree(row: dict[str, Any]) -> None:
        # split checks keys within the batch; a row colliding with one already in the
        # warehouse (the unknown member -1) is the merge's business, not split's.
        assume(not _exists(dw, cs, row))
        df = frame_of(cs, row)
        valid, rejected = split(df, cs, references=refs, reasons_column="_why")
        error = try_insert(dw, cs, df)
        event("accepted" if valid.height else "rejected")
        if valid.height:
            assert error is None, f"split accepted a row DuckDB refuses: {row} -> {error}"
            return
        reasons = rejected["_why"][0].to_list()
        if any(r.startswith(DB_REASONS) for r in reasons):
            assert error is not None, f"DuckDB accepted a row split rejects for {reasons}: {row}"

    agree()
