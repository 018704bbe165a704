"""The live warehouse's constraints, read into the same `ConstraintSet` model as the DDL.

One reader per dialect (`duckdb.py`, `postgresql.py`), each with `read(wh)` and `shown(column)`:
how a DDL column looks in that dialect's catalog (DuckDB keeps no VARCHAR length).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from dwetl.core.errors import UsageError
from dwetl.warehouse.base import Warehouse
from transforms.constraints import Column, ConstraintSet


def _duckdb() -> ModuleType:
    from dwetl.warehouse.catalog import duckdb

    return duckdb


def _postgresql() -> ModuleType:
    from dwetl.warehouse.catalog import postgresql

    return postgresql


_READERS: dict[str, Callable[[], ModuleType]] = {"duckdb": _duckdb, "postgresql": _postgresql}


def _reader(dialect: str) -> ModuleType:
    loader = _READERS.get(dialect)
    if loader is None:
        raise UsageError(f"no catalog reader for the {dialect} warehouse")
    return loader()


def read_catalog(wh: Warehouse, schemas: set[str] | None = None) -> dict[str, ConstraintSet]:
    """Every table of the live warehouse (only `schemas` when given), keyed by "schema.table"."""
    sets: dict[str, ConstraintSet] = _reader(wh.dialect).read(wh)
    if schemas is None:
        return sets
    return {name: cs for name, cs in sets.items() if name.split(".", 1)[0] in schemas}


def shown(dialect: str, column: Column) -> Column:
    """`column` (as declared in the DDL) as the `dialect` catalog reports it."""
    result: Column = _reader(dialect).shown(column)
    return result
