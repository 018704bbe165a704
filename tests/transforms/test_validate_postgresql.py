"""`split` against a real PostgreSQL warehouse, which also enforces VARCHAR(n) lengths."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import polars as pl
import psycopg
import pytest
from ddl_rows import SHIPPED, base_row, ddl_texts, frame, parents_for
from hypothesis import HealthCheck, assume, given, settings
from test_validate_agreement import frame_of, rows

from transforms.constraints import ConstraintSet
from transforms.validate import rules, split

ADMIN = "host=localhost port=5432 user=postgres dbname=postgres connect_timeout=5"
pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def pg(server_unreachable: Any) -> Iterator[psycopg.Connection]:
    """A fresh database holding the shipped DDL, dropped afterwards."""
    try:
        admin = psycopg.connect(ADMIN, autocommit=True)
    except psycopg.Error as exc:
        server_unreachable("PostgreSQL on localhost:5432", exc)
    name = f"dwetl_validate_{secrets.token_hex(5)}"
    admin.execute(f"CREATE DATABASE {name}")
    con = psycopg.connect(f"host=localhost port=5432 user=postgres dbname={name}")
    for text in ddl_texts():
        con.execute(text)
    con.commit()
    yield con
    con.close()
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


def refused(con: psycopg.Connection, cs: ConstraintSet, row: dict[str, Any]) -> str | None:
    """Insert the parents and the row, rolled back; PostgreSQL's error, or None."""
    try:
        with con.transaction(force_rollback=True):
            for parent, parent_row in [*parents_for(cs), (cs, row)]:
                cols = ", ".join(parent_row)
                marks = ", ".join(["%s"] * len(parent_row))
                con.execute(
                    f"INSERT INTO {parent.table} ({cols}) VALUES ({marks})",
                    list(parent_row.values()),
                )
    except psycopg.Error as exc:
        return str(exc)
    return None


LENGTH_RULES = [(t, r) for t in sorted(SHIPPED) for r in rules(SHIPPED[t]) if r.kind == "LEN"]


@pytest.mark.parametrize(("table", "rule"), LENGTH_RULES, ids=lambda v: getattr(v, "name", v))
def test_length_in_characters_agrees_with_postgresql(
    pg: psycopg.Connection, table: str, rule: Any
) -> None:
    cs = SHIPPED[table]
    column = cs.column(rule.columns[0])
    n = column.length or 0
    base = base_row(cs)
    fits = {**base, column.name: "ç" * n}
    too_long = {**base, column.name: "ç" * (n + 1)}
    padded = {**base, column.name: base[column.name] + " " * (n + 3)}
    refs = {fk.ref_table: pl.Series([1, -1]) for fk in cs.foreign_keys}
    for row in (fits, too_long, padded):
        _, rejected = split(frame(cs, [row]), cs, references=refs, reasons_column="_why")
        reasons = rejected["_why"].to_list()[0] if rejected.height else []
        error = refused(pg, cs, row)
        if row is too_long:
            assert rule.name in reasons
            assert error is not None and "too long" in error, error
            continue
        # n characters, or trailing spaces past n (PostgreSQL trims them): never a LEN reason.
        assert rule.name not in reasons
        if not reasons:
            assert error is None, error
        elif row is padded:
            # PostgreSQL trims the spaces before the CHECK ('SP   ' is 'SP'); DuckDB does not
            # and refuses the row: split sides with the stricter database.
            assert all(r.startswith("CK_") for r in reasons)
        else:
            assert error is not None, reasons


AGREEMENT_TABLES = [t for t in sorted(SHIPPED) if t.startswith("dw.")]


@pytest.mark.parametrize("table", AGREEMENT_TABLES)
def test_split_agrees_with_postgresql(pg: psycopg.Connection, table: str) -> None:
    """The DuckDB property test's rows, against PostgreSQL, which also enforces lengths."""
    cs = SHIPPED[table]
    refs = {}
    for fk in cs.foreign_keys:
        held = pg.execute(f"SELECT {fk.ref_columns[0]} FROM {fk.ref_table}").fetchall()
        refs[fk.name] = pl.Series([1, *(r[0] for r in held)])

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(row=rows(cs))
    def agree(row: dict[str, Any]) -> None:
        assume(not _exists(pg, cs, row))
        valid, rejected = split(frame_of(cs, row), cs, references=refs, reasons_column="_why")
        error = refused(pg, cs, row)
        if valid.height:
            assert error is None, f"split accepted a row PostgreSQL refuses: {row} -> {error}"
            return
        reasons = rejected["_why"][0].to_list()
        padded = any(isinstance(v, str) and v != v.rstrip(" ") for v in row.values())
        if padded and all(r.startswith("CK_") for r in reasons):
            return  # PostgreSQL trims trailing spaces before the CHECK; split does not
        assert error is not None, f"PostgreSQL accepted a row split rejects for {reasons}: {row}"

    agree()


def _exists(con: psycopg.Connection, cs: ConstraintSet, row: dict[str, Any]) -> bool:
    """The row's key is already in the warehouse (the unknown member): the merge's business."""
    for key in [k for k in [cs.primary_key, *cs.uniques] if k]:
        values = [row[c] for c in key.columns]
        if any(v is None or (isinstance(v, int) and abs(v) >= 2**31) for v in values):
            continue
        where = " AND ".join(f"{c} = %s" for c in key.columns)
        if con.execute(f"SELECT 1 FROM {cs.table} WHERE {where}", values).fetchall():
            return True
    return False
