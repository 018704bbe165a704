"""Test support: the shipped constraint sets, a DuckDB warehouse built from the DDL, valid rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import sqlglot
from sqlglot import exp

from dwetl.warehouse.duckdb_ddl import is_partial_index
from transforms.constraints import Column, ConstraintSet, constraint_sets_from_ddl

DDL_DIR = Path(__file__).resolve().parents[2] / "sql" / "ddl"


def ddl_texts() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(DDL_DIR.glob("*.sql"))]


SHIPPED: dict[str, ConstraintSet] = constraint_sets_from_ddl(ddl_texts())

# Values a generic generator cannot guess (a CHECK on a pattern, or tying columns together).
OVERRIDES: dict[str, dict[str, Any]] = {
    "dw.dim_cliente": {"cpf": "12345678901", "email": "a@b.c"},
    "dw.fact_vendas": {"valor_desconto": Decimal("0.00")},
    "dw.fact_descontos": {"nivel": "Pedido", "id_item_origem": None},
}


def apply_ddl(con: duckdb.DuckDBPyConnection) -> None:
    """The shipped DDL on `con`, foreign keys included; a partial index left out, as a DuckDB
    warehouse leaves it (DuckDB cannot build one)."""
    for text in ddl_texts():
        for statement in sqlglot.parse(text, read="postgres"):
            if statement is not None and not is_partial_index(statement):
                con.execute(statement.sql(dialect="duckdb"))


def natural_dtype(column: Column) -> pl.DataType:
    """The dtype a transform would naturally produce for the column."""
    return {
        "SMALLINT": pl.Int64(),
        "INTEGER": pl.Int64(),
        "BIGINT": pl.Int64(),
        "DECIMAL": pl.Decimal(38, column.scale or 0),
        "DOUBLE": pl.Float64(),
        "DATE": pl.Date(),
        "TIMESTAMP": pl.Datetime("us"),
        "BOOLEAN": pl.Boolean(),
    }.get(column.type, pl.String())


def _first_literals(cs: ConstraintSet) -> dict[str, Any]:
    """Per column, a value a CHECK names: the first of an IN list, the low end of a BETWEEN."""
    found: dict[str, Any] = {}
    for check in cs.checks:
        for node in check.tree().walk():
            if isinstance(node, exp.In) and isinstance(node.this, exp.Column):
                first = node.expressions[0]
                if isinstance(first, exp.Literal):
                    found.setdefault(node.this.name, first.this)
            if isinstance(node, exp.Between) and isinstance(node.this, exp.Column):
                found.setdefault(node.this.name, int(node.args["low"].this))
    return found


def base_row(cs: ConstraintSet) -> dict[str, Any]:
    """A row that breaks none of the set's rules (FKs point at key 1)."""
    hints = _first_literals(cs)
    row: dict[str, Any] = {}
    for c in cs.columns:
        if c.name in hints:
            value = hints[c.name]
        elif c.type in ("SMALLINT", "INTEGER", "BIGINT"):
            value = 1
        elif c.type == "DECIMAL":
            value = Decimal(1).scaleb(0).quantize(Decimal(1).scaleb(-(c.scale or 0)))
        elif c.type == "DOUBLE":
            value = 1.0
        elif c.type == "DATE":
            value = dt.date(2024, 1, 1)
        elif c.type == "TIMESTAMP":
            value = dt.datetime(2024, 1, 1, 12, 0)
        elif c.type == "BOOLEAN":
            value = False
        else:
            value = "a"
        row[c.name] = value
    row.update(OVERRIDES.get(cs.table, {}))
    return row


def frame(cs: ConstraintSet, rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {c.name: natural_dtype(c) for c in cs.columns}
    return pl.DataFrame(rows, schema=schema, orient="row")


def insert(con: duckdb.DuckDBPyConnection, cs: ConstraintSet, df: pl.DataFrame) -> None:
    """INSERT the frame's rows into the table (raises duckdb.Error when the database refuses)."""
    cols = ", ".join(df.columns)
    rows = df.to_arrow()  # noqa: F841 (read by DuckDB's replacement scan below)
    con.execute(f"INSERT INTO {cs.table} ({cols}) SELECT {cols} FROM rows")


def parents_for(cs: ConstraintSet) -> list[tuple[ConstraintSet, dict[str, Any]]]:
    """The parent rows (key 1) each foreign key of the set needs, parents' parents first."""
    out: list[tuple[ConstraintSet, dict[str, Any]]] = []
    for fk in cs.foreign_keys:
        parent = SHIPPED[fk.ref_table]
        for item in parents_for(parent):
            if item[0].table not in [p.table for p, _ in out]:
                out.append(item)
        if parent.table not in [p.table for p, _ in out]:
            out.append((parent, base_row(parent)))
    return out


def try_insert(con: duckdb.DuckDBPyConnection, cs: ConstraintSet, df: pl.DataFrame) -> str | None:
    """Insert the parents and the rows in a transaction rolled back; the error text, or None."""
    con.execute("BEGIN")
    try:
        for parent, row in parents_for(cs):
            insert(con, parent, frame(parent, [row]))
        insert(con, cs, df)
        return None
    except duckdb.Error as exc:
        return str(exc)
    finally:
        con.execute("ROLLBACK")
