"""Assemble catalog rows (columns, constraints) into constraint sets: shared by every dialect."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlglot import exp

from transforms.constraints import Check, Column, ConstraintSet, ForeignKey, Key, column_from_type


def build_sets(
    columns: Iterable[tuple[Any, ...]],
    constraints: Iterable[tuple[Any, ...]],
    *,
    dialect: str,
    check_sql: Any,
    ref_table: Any,
) -> dict[str, ConstraintSet]:
    """Columns rows: (schema, table, column, type text, nullable, has default); constraint rows:
    (schema, table, name, kind, text, check expression, columns, referenced table, ref columns).

    `check_sql(row)` gives a CHECK's expression text; `ref_table(row)` the "schema.table" a
    foreign key references.
    """
    cols: dict[str, list[Column]] = {}
    for schema, table, name, type_text, nullable, has_default in columns:
        data_type = exp.DataType.build(type_text, dialect=dialect)
        column = column_from_type(
            name, data_type, nullable=bool(nullable), has_default=bool(has_default)
        )
        cols.setdefault(f"{schema}.{table}", []).append(column)
    pks: dict[str, Key] = {}
    uniques: dict[str, list[Key]] = {}
    fks: dict[str, list[ForeignKey]] = {}
    checks: dict[str, list[Check]] = {}
    for row in constraints:
        schema, table, name, kind = row[0], row[1], row[2], row[3]
        key = f"{schema}.{table}"
        columns_of = tuple(row[6] or ())
        if kind == "PRIMARY KEY":
            pks[key] = Key(name, columns_of)
        elif kind == "UNIQUE":
            uniques.setdefault(key, []).append(Key(name, columns_of))
        elif kind == "FOREIGN KEY":
            fk = ForeignKey(name, columns_of, ref_table(row), tuple(row[8] or ()))
            fks.setdefault(key, []).append(fk)
        elif kind == "CHECK":
            checks.setdefault(key, []).append(Check(name, check_sql(row), dialect))
    return {
        name: ConstraintSet(
            name,
            tuple(columns_),
            pks.get(name),
            tuple(uniques.get(name, ())),
            tuple(fks.get(name, ())),
            tuple(checks.get(name, ())),
        )
        for name, columns_ in cols.items()
    }
