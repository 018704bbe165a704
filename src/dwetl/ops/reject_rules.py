"""What a reject reason means, for a person fixing the source: the column(s) it reads, the
rule as the applied DDL states it (CHECK text, NOT NULL, FK target, type and length), and the
offending value in a reject's row."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from dwetl.source.conform import ORIGINAL
from transforms.constraints import Column, ConstraintSet
from transforms.validate import rules


@dataclass(frozen=True)
class ReasonRule:
    """A reason's columns and its rule as text."""

    columns: tuple[str, ...]
    rule: str


def reason_rules(sets: Mapping[str, ConstraintSet]) -> dict[str, ReasonRule]:
    """Every reason name the constraint sets can give, with its columns and rule text."""
    out: dict[str, ReasonRule] = {}
    for cs in sets.values():
        checks = {c.name: c.expression_sql for c in cs.checks}
        fks = {fk.name: fk for fk in cs.foreign_keys}
        for r in rules(cs):
            if r.kind == "NN":
                text = "NOT NULL"
            elif r.kind in ("TYPE", "LEN"):
                text = column_type(cs.column(r.columns[0]))
            elif r.kind in ("PK", "UQ"):
                text = f"UNIQUE ({', '.join(r.columns)})"
            elif r.kind == "FK":
                fk = fks[r.name]
                text = f"REFERENCES {fk.ref_table} ({', '.join(fk.ref_columns)})"
            elif r.kind == "CK":
                text = f"CHECK ({checks[r.name]})"
            else:
                text = r.kind
            out[r.name] = ReasonRule(r.columns, text)
        out[f"KEY_{cs.short_name}"] = ReasonRule((), "one row per merge key")
    return out


def source_type_rules() -> dict[str, ReasonRule]:
    """The `TYPE_<table>_<column>` reason of every column an entity's extract reads, with the
    type it reads it as: the rule of a source column that no target column has (an order's
    `data_venda`, which `fact_vendas` keeps as `sk_data`). `reason_rules` states the others.

    >>> source_type_rules()["TYPE_fact_vendas_data_venda"]
    ReasonRule(columns=('data_venda',), rule="TIMESTAMP, as fact_vendas' extract reads it")
    """
    from dwetl.entities.registry import all_entities, source_schema

    out: dict[str, ReasonRule] = {}
    for spec in all_entities():
        table = spec.target_table.rsplit(".", 1)[-1]
        for column, dtype in source_schema(spec).items():
            rule = f"{_type_name(dtype)}, as {spec.name}' extract reads it"
            out[f"TYPE_{table}_{column}"] = ReasonRule((column,), rule)
    return out


def _type_name(dtype: pl.DataType) -> str:
    """A source type by its SQL name.

    >>> _type_name(pl.Decimal(12, 2)), _type_name(pl.Int32()), _type_name(pl.String())
    ('DECIMAL(12,2)', 'INTEGER', 'TEXT')
    """
    if isinstance(dtype, pl.Decimal):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMP"
    names = {pl.Date: "DATE", pl.String: "TEXT", pl.Boolean: "BOOLEAN", pl.Int16: "SMALLINT",
             pl.Int32: "INTEGER", pl.Int64: "BIGINT", pl.Float64: "DOUBLE"}  # fmt: skip
    return names.get(type(dtype), str(dtype))


def column_type(column: Column) -> str:
    """`DECIMAL(12,2)`, `VARCHAR(2)`, `INTEGER`.

    >>> column_type(Column("v", "DECIMAL", precision=12, scale=2))
    'DECIMAL(12,2)'
    """
    if column.length:
        return f"{column.type}({column.length})"
    if column.precision is not None:
        return f"{column.type}({column.precision},{column.scale or 0})"
    return column.type


def culprits(row: Mapping[str, Any], rule: ReasonRule) -> tuple[str, ...]:
    """The columns of `rule` worth showing for `row`: of a CHECK that requires values (`IS NOT
    NULL`), the NULL ones; else every column it reads.

    >>> rule = ReasonRule(("a", "b"), "CHECK (a IS NOT NULL AND b IS NOT NULL)")
    >>> culprits({"a": 1, "b": None}, rule)
    ('b',)
    """
    if "IS NOT NULL" in rule.rule.upper():
        nulls = tuple(c for c in rule.columns if row.get(c) is None)
        if nulls:
            return nulls
    return rule.columns


def offending(
    row: Mapping[str, Any], columns: tuple[str, ...], *, longest: int | None = None
) -> str:
    """The row's values of `columns` as `col=value` (a type reject's value is the source's text,
    in the column or under `__dwetl_original`); a text longer than `longest` characters shows
    its start and its length.

    >>> offending({"uf": "XX", "nome": None}, ("uf", "nome"))
    "uf='XX', nome=NULL"
    >>> offending({"nome": "x" * 5000}, ("nome",), longest=8)
    "nome='xxxxxxxx…' (5000 characters)"
    """
    originals = row.get(ORIGINAL) if isinstance(row.get(ORIGINAL), dict) else {}
    parts = []
    for c in columns:
        value = row.get(c)
        if value is None and originals:
            value = originals.get(c)
        if value is None:
            shown = "NULL"
        elif longest is not None and isinstance(value, str) and len(value) > longest:
            start = repr(value[:longest])
            shown = f"{start[:-1]}…{start[-1]} ({len(value)} characters)"
        else:
            shown = repr(value)
        parts.append(f"{c}={shown}")
    return ", ".join(parts)
