"""Split a frame into the rows the warehouse will accept and the rows it would refuse, with why.

A `ConstraintSet` (see `transforms.constraints`) compiles into one boolean Polars expression per
rule ("this row breaks it"); reasons are assembled only for the rejected rows::

    >>> import polars as pl
    >>> from transforms.constraints import constraint_sets_from_ddl
    >>> cs = constraint_sets_from_ddl(
    ...     "CREATE TABLE dw.t (a INT NOT NULL, CONSTRAINT CK_T_a CHECK (a > 0))")["dw.t"]
    >>> valid, rejected = split(pl.DataFrame({"a": [1, 0, None]}), cs)
    >>> rejected["reasons"].to_list()
    [['CK_T_a'], ['NN_t_a']]

Reason names (the table name is without its schema; constraint names keep the DDL's spelling):
- `NN_<table>_<column>`: NULL in a NOT NULL column.
- `TYPE_<table>_<column>`: the value cannot be stored in the column's type: an integer outside
  SMALLINT/INTEGER/BIGINT, a decimal needing more integer digits than precision - scale (more
  decimals than the scale are *rounded* half away from zero, as PostgreSQL and DuckDB do on
  insert, and the CHECKs see the rounded value), text that is not a valid number, date or
  timestamp.
- `LEN_<table>_<column>`: text longer than VARCHAR(n)/CHAR(n), counted in characters (code
  points, as PostgreSQL counts them); trailing spaces beyond n are no LEN reason, as PostgreSQL
  truncates them. (DuckDB does not enforce lengths; PostgreSQL does, so dwetl does.) The CHECKs
  see the text as given, spaces included, as DuckDB does: `'SP   '` breaks an IN list that
  PostgreSQL would accept after trimming. split sides with the stricter database.
- `PK_*`, `UQ_*`: the key is duplicated *within the batch*; every copy is rejected (SQL NULLs
  never collide). The merge key passed as `key` follows the same policy: the runner folds
  versions first, so a duplicate left here is an error in the data.
  With `existing` (the target's rows: the merge key plus the columns of other UNIQUE keys), a
  row whose unique tuple the target already holds under a *different* merge key is rejected
  too, with that key's name; the same merge key holding it is an update of that very row.
  Every target row counts, even one whose merge key is in the batch moving to another tuple:
  the database checks a UNIQUE row by row during the MERGE (not deferred), so taking over a
  tuple freed in the same batch could still fail it. Such a row is quarantined once and loads
  on the next run, when the target no longer holds its tuple (its reject is then resolved).
- `FK_*`: the value is not among the parent keys passed in `references` (NULL passes).
- `CK_*`: the CHECK evaluated to FALSE (NULL passes, as in SQL).

A value that cannot be stored in its type gets its TYPE reason only: the CHECKs reading that
column are not evaluated for the row (the database would refuse the row either way).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import polars as pl

from transforms.check_sql import compile_check_reading
from transforms.constraints import Column, ConstraintSet
from transforms.keys import repeated

REASONS = "reasons"
_STORED = "__dwetl_v_"  # prefix of the temporary "value as stored" columns
_FLAG = "__dwetl_f_"  # prefix of the temporary per-rule "broken" columns

_INTEGER_TYPES: dict[str, pl.DataType] = {
    "SMALLINT": pl.Int16(),
    "INTEGER": pl.Int32(),
    "BIGINT": pl.Int64(),
}
_SIMPLE_TYPES: dict[str, pl.DataType] = {
    "DOUBLE": pl.Float64(),
    "REAL": pl.Float32(),
    "VARCHAR": pl.String(),
    "CHAR": pl.String(),
    "TEXT": pl.String(),
    "DATE": pl.Date(),
    "TIMESTAMP": pl.Datetime("us"),
    "TIMESTAMPTZ": pl.Datetime("us", "UTC"),
    "BOOLEAN": pl.Boolean(),
}

References = Mapping[str, "pl.Series | pl.DataFrame | Iterable[object]"]
#: what a rule checks: NOT NULL, the type, the length, a primary or unique key, the merge key,
#: a foreign key, a CHECK (in reason order)
RuleKind = Literal["NN", "TYPE", "LEN", "PK", "UQ", "KEY", "FK", "CK"]


@dataclass(frozen=True)
class Rule:
    """One named rule: what it checks and the `columns` it reads."""

    name: str
    kind: RuleKind
    columns: tuple[str, ...]


def stored_dtype(column: Column) -> pl.DataType:
    """The Polars dtype a column's values take in the warehouse: DECIMAL(12,2) -> Decimal(38, 2)."""
    if column.type in _INTEGER_TYPES:
        return _INTEGER_TYPES[column.type]
    if column.type == "DECIMAL":
        return pl.Decimal(38, column.scale or 0)
    if column.type in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[column.type]
    raise ValueError(f"column {column.name}: unsupported type {column.type}")


def rules(cs: ConstraintSet, *, key: Sequence[str] | None = None) -> list[Rule]:
    """Every rule of a set, in reason order: NN, TYPE, LEN, PK, UQ, KEY, FK, CK."""
    return list(_compiled(cs, tuple(key) if key else None)[0])


def compile_constraint_set(cs: ConstraintSet) -> None:
    """Compile every CHECK now; raises `UnsupportedCheck` naming the first untranslatable one."""
    _compiled(cs, None)


@lru_cache(maxsize=256)
def _compiled(
    cs: ConstraintSet, key: tuple[str, ...] | None
) -> tuple[tuple[Rule, ...], dict[str, pl.Expr]]:
    t = cs.short_name
    out: list[Rule] = []
    checks: dict[str, pl.Expr] = {}
    out += [Rule(f"NN_{t}_{c.name}", "NN", (c.name,)) for c in cs.columns if not c.nullable]
    out += [Rule(f"TYPE_{t}_{c.name}", "TYPE", (c.name,)) for c in cs.columns if _can_overflow(c)]
    out += [Rule(f"LEN_{t}_{c.name}", "LEN", (c.name,)) for c in cs.columns if c.length]
    keys = ([cs.primary_key] if cs.primary_key else []) + list(cs.uniques)
    out += [Rule(k.name, "PK" if k is cs.primary_key else "UQ", k.columns) for k in keys]
    if key and all(set(key) != set(k.columns) for k in keys):
        out.append(Rule(f"KEY_{t}", "KEY", key))
    out += [Rule(fk.name, "FK", fk.columns) for fk in cs.foreign_keys]
    stored = {c.name: _STORED + c.name for c in cs.columns}
    dtypes = {c.name: stored_dtype(c) for c in cs.columns}
    for check in cs.checks:
        checks[check.name], read = compile_check_reading(
            check.name, check.expression_sql, stored, dtypes, dialect=check.dialect
        )
        out.append(Rule(check.name, "CK", tuple(sorted(read))))
    return tuple(out), checks


def _can_overflow(column: Column) -> bool:
    # Every type can receive a value it cannot hold (text that is no date, 2**40 in INTEGER...);
    # only free text cannot.
    return column.type not in ("TEXT", "VARCHAR", "CHAR")


def _stored_value(name: str, source: pl.DataType, column: Column) -> pl.Expr:
    """The value as the database would store it, NULL where it cannot (see TYPE_)."""
    target = stored_dtype(column)
    value = pl.col(name)
    if column.type == "DECIMAL" or column.type in _INTEGER_TYPES:
        scale = column.scale or 0
        if source == pl.String:
            value = value.str.strip_chars().cast(pl.Decimal(38, min(scale + 6, 30)), strict=False)
            source = pl.Decimal(38, scale + 6)
        if source.is_float() or (isinstance(source, pl.Decimal) and (source.scale or 0) > scale):
            value = value.round(scale, mode="half_away_from_zero")
        return value.cast(target, strict=False)
    if target == pl.Date and source == pl.String:
        return value.str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    if isinstance(target, pl.Datetime) and source == pl.String:
        return value.str.strip_chars().str.to_datetime(strict=False, time_unit="us")
    if target == pl.Date and isinstance(source, pl.Datetime):
        return value.dt.date()
    if source == target:
        return value
    return value.cast(target, strict=False)


def _broken(
    rule: Rule,
    cs: ConstraintSet,
    checks: dict[str, pl.Expr],
    refs: References,
    type_flag: Mapping[str, str],
) -> pl.Expr:
    """True where the row breaks `rule` (never NULL); `type_flag`: column -> its TYPE flag.

    Key rules are flagged by `_key_flags`, which needs the whole staged frame.
    """
    stored = [pl.col(_STORED + c) for c in rule.columns]
    if rule.kind == "NN":
        return pl.col(rule.columns[0]).is_null()
    if rule.kind == "TYPE":
        column = cs.column(rule.columns[0])
        failed = stored[0].is_null() & pl.col(column.name).is_not_null()
        if column.type == "DECIMAL" and column.precision:
            limit = 10 ** (column.precision - (column.scale or 0))
            failed = failed | (stored[0].abs() >= limit).fill_null(False)
        return failed
    if rule.kind == "LEN":
        length = cs.column(rule.columns[0]).length or 0
        # Trailing spaces past n are truncated, not refused; strip only where it can matter.
        too_long = stored[0].str.len_chars() > length
        stripped_too_long = stored[0].str.strip_chars_end(" ").str.len_chars() > length
        return (too_long & stripped_too_long).fill_null(False)
    if rule.kind == "FK":
        parents = _parent_keys(rule, cs, refs)
        if parents is None:
            return pl.lit(False)
        return stored[0].is_not_null() & ~stored[0].is_in(parents.implode())
    broken = (~checks[rule.name]).fill_null(False)
    # A value that cannot be stored is NULL to the CHECK: report its TYPE reason, not a guess.
    type_flags = [pl.col(type_flag[c]) for c in rule.columns if c in type_flag]
    return broken & ~pl.any_horizontal(type_flags) if type_flags else broken


_KEY_KINDS = ("PK", "UQ", "KEY")


def _key_flags(staged: pl.DataFrame, keys: list[Rule]) -> dict[str, pl.Expr]:
    """Per key rule, the expression flagging every copy of a duplicated key.

    A hash count first (cheaper than `is_duplicated`): a clean key gets `False` and no
    per-row work. A single-column key with duplicates flags the values seen twice (`repeated`:
    one sort, also cheaper); a compound key falls back to `is_duplicated`.
    """
    if not keys:
        return {}
    stats = []
    for i, rule in enumerate(keys):
        cols = [pl.col(_STORED + c) for c in rule.columns]
        present = pl.all_horizontal([c.is_not_null() for c in cols])
        value = cols[0] if len(cols) == 1 else pl.struct(cols)
        stats.append((value.filter(present).n_unique() == present.sum()).alias(str(i)))
    row = staged.select(stats).row(0)
    flags: dict[str, pl.Expr] = {}
    for rule, clean in zip(keys, row, strict=True):
        cols = [pl.col(_STORED + c) for c in rule.columns]
        if clean:
            flags[rule.name] = pl.lit(False)
        elif len(cols) == 1:
            twice = repeated(staged.get_column(_STORED + rule.columns[0]))
            flags[rule.name] = cols[0].is_in(twice.implode()).fill_null(False)
        else:
            present = pl.all_horizontal([c.is_not_null() for c in cols])
            flags[rule.name] = present & pl.struct(cols).is_duplicated()
    return flags


def _existing_flags(
    staged: pl.DataFrame,
    keys: list[Rule],
    existing: pl.DataFrame,
    key: Sequence[str],
    dtypes: Mapping[str, pl.DataType],
) -> dict[str, pl.Series]:
    """Per key rule whose columns `existing` has (the merge key's own rule aside), True where the
    batch row's tuple is held in the target by a row with another merge key (NULLs never match).

    A join on the tuple, no per-row Python: the target holds each tuple at most once.
    """
    flags: dict[str, pl.Series] = {}
    merge_key = [_STORED + k for k in key]
    for rule in keys:
        if set(rule.columns) == set(key) or not set(rule.columns) <= set(existing.columns):
            continue
        tuple_cols = list(rule.columns)
        held = existing.select(
            *[pl.col(c).cast(dtypes[c], strict=False).alias(_STORED + c) for c in tuple_cols],
            *[pl.col(k).cast(dtypes[k], strict=False).alias(f"{_FLAG}t_{k}") for k in key],
        ).drop_nulls([_STORED + c for c in tuple_cols])
        batch = staged.select([*dict.fromkeys([_STORED + c for c in tuple_cols] + merge_key)])
        other = pl.any_horizontal(
            [pl.col(_STORED + k).ne_missing(pl.col(f"{_FLAG}t_{k}")) for k in key]
        )
        hits = (
            batch.with_row_index(f"{_FLAG}row")
            .join(held, on=[_STORED + c for c in tuple_cols], how="inner")
            .filter(other)
            .get_column(f"{_FLAG}row")
            .cast(pl.Int64)
        )
        rows = pl.int_range(staged.height, dtype=pl.Int64, eager=True)
        flags[rule.name] = rows.is_in(hits.implode())
    return flags


def _parent_keys(rule: Rule, cs: ConstraintSet, refs: References) -> pl.Series | None:
    fk = next(f for f in cs.foreign_keys if f.name == rule.name)
    ref = refs.get(fk.name)
    if ref is None:
        ref = refs.get(fk.ref_table, refs.get(fk.ref_table.rsplit(".", 1)[-1]))
    if ref is None:
        return None
    if len(fk.columns) != 1:
        raise ValueError(f"{fk.name}: only single-column foreign keys can be checked")
    if isinstance(ref, pl.DataFrame):
        ref = ref.get_column(fk.ref_columns[0])
    series = ref if isinstance(ref, pl.Series) else pl.Series(list(ref))
    return series.cast(stored_dtype(cs.column(fk.columns[0])), strict=False).drop_nulls()


def split(
    frame: pl.DataFrame | pl.LazyFrame,
    cs: ConstraintSet,
    *,
    key: Sequence[str] | None = None,
    references: References | None = None,
    only_present: bool = False,
    reasons_column: str = REASONS,
    existing: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return `(valid, rejected)`; `rejected` has the frame's columns plus `reasons: list[str]`.

    Check the frame as it will be loaded (name the list column with `reasons_column` when the
    frame has a column called `reasons` itself).
    `key`: the merge key (duplicates rejected, see the module doc).
    `references`: parent keys per foreign key, keyed by FK name, "schema.table" or table name
    (a Series of keys, or a DataFrame holding the referenced column); a foreign key with no
    entry is not checked.
    `existing`: the target's rows (merge key and the columns of its other UNIQUE keys): a row
    whose unique tuple the target holds under another merge key is rejected (needs `key`).
    A column of the set missing from the frame is an error (unless it is nullable or has a
    default and no rule reads it); with `only_present=True` the rules reading it are skipped
    instead: that mode is for notebooks checking what they have.
    """
    lf = frame.lazy()
    schema = lf.collect_schema()
    all_rules, checks = _compiled(cs, tuple(key) if key else None)
    present = set(schema.names())
    missing = {c.name for c in cs.columns} - present
    active = [r for r in all_rules if not set(r.columns) & missing]
    if missing and not only_present:
        needed = {c for r in all_rules for c in r.columns if c in missing}
        needed |= {c.name for c in cs.columns if c.name in missing and not c.nullable}
        # A left-out column takes its default: fine unless a CHECK or key reads it.
        read = {c for r in all_rules if r.kind not in ("NN", "TYPE", "LEN") for c in r.columns}
        needed -= {c.name for c in cs.columns if c.has_default} - read
        if needed:
            raise ValueError(f"{cs.table}: the frame lacks column(s) {', '.join(sorted(needed))}")
    refs = references or {}
    stored = [
        _stored_value(c.name, schema[c.name], c).alias(_STORED + c.name)
        for c in cs.columns
        if c.name in present
    ]
    original = schema.names()
    if reasons_column in present:
        raise ValueError(f"{cs.table}: the frame has a column {reasons_column!r} already")
    if not active:
        return lf.collect(), lf.head(0).collect().with_columns(
            pl.lit([], dtype=pl.List(pl.String)).alias(reasons_column)
        )
    staged = lf.with_columns(stored).collect()
    key_rules = [r for r in active if r.kind in _KEY_KINDS]
    key_flags = _key_flags(staged, key_rules)
    if existing is not None:
        if not key:
            raise ValueError(f"{cs.table}: `existing` needs the merge `key`")
        dtypes = {c.name: stored_dtype(c) for c in cs.columns}
        held = _existing_flags(staged, key_rules, existing, key, dtypes)
        # Held tuples become temporary columns, OR-ed into the in-batch duplicate flags.
        staged = staged.with_columns(
            [flag.alias(f"{_FLAG}held_{i}") for i, flag in enumerate(held.values())]
        )
        for i, name in enumerate(held):
            key_flags[name] = key_flags[name] | pl.col(f"{_FLAG}held_{i}")
    flag_names = [f"{_FLAG}{i}" for i in range(len(active))]
    pairs = list(zip(flag_names, active, strict=True))
    type_flag = {r.columns[0]: f for f, r in pairs if r.kind == "TYPE"}
    first = [_broken(r, cs, checks, refs, type_flag).alias(f) for f, r in pairs if r.kind == "TYPE"]
    flags = [
        (
            key_flags[r.name] if r.name in key_flags else _broken(r, cs, checks, refs, type_flag)
        ).alias(f)
        for f, r in pairs
        if r.kind != "TYPE"
    ]
    marked = (
        staged.lazy()
        .with_columns(first)
        .with_columns(flags)
        .with_columns(pl.any_horizontal(flag_names).alias("__dwetl_bad"))
        .collect()
    )
    bad = marked.get_column("__dwetl_bad")
    # Filter only the columns kept: copying the temporary columns doubled the cost.
    valid = marked.select(original)
    if bad.any():
        valid = valid.filter(~bad)
    rejected = marked.select([*original, *flag_names]).filter(bad)
    reasons = pl.concat_list(
        [pl.when(pl.col(f)).then(pl.lit(r.name)) for f, r in zip(flag_names, active, strict=True)]
    ).list.drop_nulls()
    rejected = rejected.select([*original, reasons.alias(reasons_column)])
    return valid, rejected
