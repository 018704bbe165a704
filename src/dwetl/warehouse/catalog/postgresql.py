"""PostgreSQL's catalog: `pg_attribute` with `format_type`, `pg_constraint` with its definition.

PostgreSQL keeps the names (lower-cased) and rewrites CHECKs (`IN` becomes `= ANY (ARRAY[...])`,
casts are added): they are compared by meaning all the same.
"""

from __future__ import annotations

import re
from typing import Any

from dwetl.core.queries import named_queries
from dwetl.warehouse.base import Warehouse
from dwetl.warehouse.catalog.build import build_sets
from transforms.constraints import Column, ConstraintSet

_CHECK = re.compile(r"^\s*CHECK\s*(.*?)(\s+NOT\s+VALID)?\s*$", re.IGNORECASE | re.DOTALL)


def read(wh: Warehouse) -> dict[str, ConstraintSet]:
    """Every user table of the database, with its constraints."""
    queries = named_queries("ops/catalog_postgresql.sql")
    return build_sets(
        wh.fetchall(queries["columns"]),
        wh.fetchall(queries["constraints"]),
        dialect="postgres",
        check_sql=_check_sql,
        ref_table=lambda row: str(row[7]),
    )


def _check_sql(row: tuple[Any, ...]) -> str:
    match = _CHECK.match(row[4])
    return match.group(1) if match else str(row[4])


def shown(column: Column) -> Column:
    """PostgreSQL shows every declared type as declared."""
    return column
