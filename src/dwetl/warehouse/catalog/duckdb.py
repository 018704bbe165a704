"""DuckDB's catalog: `duckdb_columns()` and `duckdb_constraints()`.

DuckDB keeps neither CHECK names (`dim_desconto_tipo_desconto_check`) nor VARCHAR/CHAR lengths:
CHECKs are matched to the DDL by meaning, and lengths cannot be compared here.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from dwetl.core.queries import named_queries
from dwetl.warehouse.base import Warehouse
from dwetl.warehouse.catalog.build import build_sets
from transforms.constraints import Column, ConstraintSet

_REFERENCES = re.compile(r"REFERENCES\s+([\w\".]+?)\s*\(", re.IGNORECASE)


def read(wh: Warehouse) -> dict[str, ConstraintSet]:
    """Every table of the warehouse's own database, with its constraints."""
    queries = named_queries("ops/catalog_duckdb.sql")
    sets = build_sets(
        wh.fetchall(queries["columns"]),
        wh.fetchall(queries["constraints"]),
        dialect="duckdb",
        check_sql=lambda row: row[5],
        ref_table=_ref_table,
    )
    # DuckDB has one string type, which sqlglot reads as TEXT: call it VARCHAR, like `shown`.
    return {
        name: replace(cs, columns=tuple(_varchar(c) for c in cs.columns))
        for name, cs in sets.items()
    }


def _varchar(column: Column) -> Column:
    return replace(column, type="VARCHAR") if column.type == "TEXT" else column


def _ref_table(row: tuple[Any, ...]) -> str:
    # `referenced_table` has no schema; the constraint text has it when the DDL named one.
    match = _REFERENCES.search(row[4] or "")
    name = match.group(1).replace('"', "") if match else str(row[7])
    return name if "." in name else f"{row[0]}.{name}"


def shown(column: Column) -> Column:
    """DuckDB stores every character type as VARCHAR without a length."""
    if column.type in ("VARCHAR", "CHAR", "TEXT"):
        return replace(column, type="VARCHAR", length=None)
    return column
