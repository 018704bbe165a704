"""Building the extract contract: each column's rules found by running the entity's own
pipeline (transform, surrogate-key lookups, `transforms.validate.split`) on an example row,
the whole row and with each column NULL in turn."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from dwetl.entities.registry import MODULES, all_entities, applied_ddl, resolve_order
from dwetl.entities.spec import EntitySpec
from dwetl.source.contract.examples import combined_example, example_frames, part_examples
from dwetl.source.contract.model import (
    SINCE_OPTIONAL,
    ColumnContract,
    Contract,
    EntityContract,
    FileContract,
)
from transforms.check_sql import referenced_columns
from transforms.constraints import Column, ConstraintSet
from transforms.domains import allowed_values
from transforms.keys import attach_surrogate_keys
from transforms.validate import REASONS, split, stored_dtype

if TYPE_CHECKING:
    from dwetl.core.config import Settings


def build_contract(
    sets: Mapping[str, ConstraintSet],
    *,
    ddl: str = "shipped",
    ddl_note: str = "",
    names: Sequence[str] = (),
) -> Contract:
    """The contract of `names` (every entity when empty), in load order, against `sets`."""
    specs = resolve_order(names) if names else list(all_entities())
    everyone = all_entities()
    examples = example_frames()
    out = []
    for spec in specs:
        needed_by = tuple(s.name for s in everyone if spec.name in s.depends_on)
        out.append(_entity(spec, sets, needed_by, examples))
    return Contract(ddl, ddl_note, tuple(out), sets)


def _entity(
    spec: EntitySpec,
    sets: Mapping[str, ConstraintSet],
    needed_by: tuple[str, ...],
    examples: Mapping[str, pl.DataFrame],
) -> EntityContract:
    cs = sets[spec.target_table]
    schema = dict(MODULES[spec.name].SOURCE_SCHEMA)
    combined = combined_example(spec, examples)
    columns = {c.name: c for c in _columns(spec, cs, schema, combined)}
    files: list[FileContract] = []
    single = spec.extract_sql or f"{spec.name}.sql"
    if spec.extract_parts:
        assert spec.combine is not None
        parts = part_examples(spec, examples)
        for at, part in enumerate(spec.extract_parts):
            frame = parts[at]
            cols = []
            for name, dtype in part.schema.items():
                nulled = list(parts)
                nulled[at] = frame.with_columns(pl.lit(None, dtype=dtype).alias(name))
                _, reasons = _staged(spec, cs, spec.combine(*nulled))
                example = frame.get_column(name)[0] if frame.height else None
                cols.append(_in_part(columns[name], example, reasons))
            files.append(
                FileContract(
                    part.sql,
                    tuple(cols),
                    SINCE_OPTIONAL,
                    _part_since(part.sql, spec.extract_parts[0].sql, at),
                    joins_on=part.batch_join if at else None,
                )
            )
    # one file returning every column: the entity's file, or (read in parts) what may replace them
    whole = FileContract(single, tuple(columns.values()), SINCE_OPTIONAL, _WRAPPED)
    return EntityContract(
        spec.name,
        spec.kind,
        spec.target_table,
        spec.natural_key,
        spec.watermark_column,
        spec.depends_on,
        needed_by,
        tuple(files) if files else (whole,),
        whole if files else None,
    )


_WRAPPED = (
    ":since optional: without it dwetl reads `SELECT * FROM (<file>) src WHERE "
    "src.atualizado_em > <watermark>` (and every row whose atualizado_em is NULL) on an "
    "incremental run; with it, the file filters itself"
)


def _part_since(file: str, first: str, at: int) -> str:
    if at == 0:
        also = "also every row whose joined rows (the other parts) changed after :since"
    else:
        also = f"every version of each row that the changed rows of {first} join"
    return (
        ":since optional: without it this part is read whole on every run and dwetl keeps the "
        "joined rows changed after the watermark (right, but slower); with it, it must return "
        f"{also}, and all rows when :since is NULL (a full run), as sql/extract/{file} does"
    )


def _in_part(column: ColumnContract, example: Any, required_by: Sequence[str]) -> ColumnContract:
    """A column of the combined schema as one part returns it: its own example, and the rules
    that reject the joined row when it is NULL in this part (a later part's join column joins
    nothing; a watermark NULL in one part is another part's)."""
    return ColumnContract(
        column.name,
        column.sql_type,
        column.polars_type,
        bool(required_by),
        tuple(required_by),
        column.natural_key,
        column.watermark,
        column.feeds,
        column.allowed,
        column.rules,
        example,
    )


def _columns(
    spec: EntitySpec,
    cs: ConstraintSet,
    schema: Mapping[str, pl.DataType],
    example: pl.DataFrame,
) -> list[ColumnContract]:
    (base, base_reasons), *each = _nulled_each(spec, cs, schema, example)
    if base_reasons:
        raise AssertionError(f"{spec.name}: the example row is rejected: {base_reasons}")
    domains = allowed_values(cs)
    by_lookup = {lk.source_column: lk for lk in spec.lookups}
    targets = {c.name: c for c in cs.columns}
    out = []
    for (name, dtype), (staged, reasons) in zip(schema.items(), each, strict=True):
        feeds = _feeds(spec, name, base, staged, targets)
        lookup = by_lookup.get(name)
        rules: list[str] = []
        if lookup is not None:
            dim = next(s for s in all_entities() if s.name == lookup.dimension)
            rules.append(
                f"an {dim.natural_key[0]} of {lookup.dimension} (a key it lacks yet becomes an "
                "inferred member, completed when the dimension row arrives)"
                + (", NULL: the unknown member (-1)" if lookup.optional else "")
            )
        allowed = None
        for target in feeds:
            column = targets[target]
            if column.name in domains and allowed is None:
                allowed = domains[column.name]
            rules += _column_rules(column, cs, reasons, name)
        same = targets.get(name)
        out.append(
            ColumnContract(
                name=name,
                sql_type=sql_type(dtype, same),
                polars_type=str(dtype),
                required=bool(reasons),
                required_by=tuple(reasons),
                natural_key=name in spec.natural_key,
                watermark=name == spec.watermark_column,
                feeds=tuple(f"{cs.table}.{t}" for t in feeds),
                allowed=allowed,
                rules=tuple(dict.fromkeys(rules)),
                example=example.get_column(name)[0] if example.height else None,
            )
        )
    return out


def _nulled_each(
    spec: EntitySpec,
    cs: ConstraintSet,
    schema: Mapping[str, pl.DataType],
    example: pl.DataFrame,
) -> list[tuple[pl.DataFrame, list[str]]]:
    """The example row as the run would load it and why it would be rejected, then the same
    with each column of `schema` NULL in turn: one pass of the pipeline over all of them (its
    steps work row by row), but for a calendar, whose rows are the days it makes."""
    variants = [example.head(1)] + [
        example.head(1).with_columns(pl.lit(None, dtype=dtype).alias(name))
        for name, dtype in schema.items()
    ]
    if spec.kind == "calendar":
        return [_staged(spec, cs, v) for v in variants]
    staged, rejected = stage(spec, cs, pl.concat(variants, how="vertical"))
    reasons = {row: list(r) for row, r in rejected.select(ROW, REASONS).iter_rows()}
    return [(staged[at : at + 1], reasons.get(at, [])) for at in range(len(variants))]


def _feeds(
    spec: EntitySpec,
    name: str,
    base: pl.DataFrame,
    nulled: pl.DataFrame,
    targets: Mapping[str, Column],
) -> list[str]:
    """The target columns a source column lands in: its namesake, its lookup's surrogate key,
    and every column whose value changed when it was NULL."""
    found = [name] if name in targets else []
    found += [lk.sk_column for lk in spec.lookups if lk.source_column == name]
    if spec.kind != "calendar" and base.height == nulled.height:
        for column in base.columns:
            changed = column in nulled.columns and not base.get_column(column).equals(
                nulled.get_column(column)
            )
            if column in targets and changed:
                found.append(column)
    return [c for c in dict.fromkeys(found) if c in targets]


def _column_rules(
    column: Column,
    cs: ConstraintSet,
    reasons: Sequence[str],
    source: str,
) -> list[str]:
    rules = []
    via = "" if column.name == source else f" (as {column.name})"
    if column.length:
        rules.append(f"at most {column.length} characters{via}")
    if column.type == "DECIMAL" and column.precision is not None:
        digits = column.precision - (column.scale or 0)
        rules.append(f"fewer than {digits} digits before the point{via}")
    for check in cs.checks:
        if check.name in reasons or column.name not in referenced_columns(
            check.expression_sql, check.dialect
        ):
            continue
        domain = allowed_values(ConstraintSet(cs.table, (), checks=(check,))).get(column.name)
        if domain:
            values = ", ".join(f"'{v}'" for v in domain)
            rules.append(f"one of {values} ({check.name}; case and accents are repaired)")
        else:
            rules.append(f"{check.name}: {check.expression_sql}")
    return rules


_POLARS_SQL = {
    pl.Int64: "BIGINT",
    pl.Int32: "INTEGER",
    pl.Int16: "SMALLINT",
    pl.Int8: "SMALLINT",
    pl.Boolean: "BOOLEAN",
    pl.Date: "DATE",
    pl.Float64: "DOUBLE PRECISION",
}


def sql_type(dtype: pl.DataType, target: Column | None = None) -> str:
    """The SQL type a DBA would give the column: the warehouse column's where it has the same
    kind, else the Polars type's.

    >>> sql_type(pl.Int64()), sql_type(pl.Decimal(38, 2)), sql_type(pl.Datetime("us"))
    ('BIGINT', 'DECIMAL(14,2)', 'TIMESTAMP')
    >>> sql_type(pl.String(), Column("uf", "CHAR", length=2))
    'CHAR(2)'
    """
    if isinstance(dtype, pl.Decimal):
        if target is not None and target.type == "DECIMAL" and target.precision:
            return f"DECIMAL({target.precision},{target.scale or 0})"
        return f"DECIMAL(14,{dtype.scale or 0})"
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMP" if dtype.time_zone is None else "TIMESTAMP WITH TIME ZONE"
    if dtype == pl.String:
        if target is not None and target.type in ("VARCHAR", "CHAR") and target.length:
            return f"{target.type}({target.length})"
        return "VARCHAR"
    for polars_type, name in _POLARS_SQL.items():
        if dtype == polars_type:
            return name
    return str(dtype).upper()


def _staged(
    spec: EntitySpec, cs: ConstraintSet, frame: pl.DataFrame
) -> tuple[pl.DataFrame, list[str]]:
    """`frame` as the run would load it, and the reasons its first row would be rejected for."""
    out, rejected = stage(spec, cs, frame.head(1) if spec.kind != "calendar" else frame)
    if spec.kind == "calendar" or not rejected.height:
        return out, []
    return out, list(rejected.get_column(REASONS)[0])


#: the column `stage` numbers the rows with (the source rows, in order)
ROW = "__dwetl_row"


def stage(
    spec: EntitySpec, cs: ConstraintSet, frame: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`frame` (typed as the entity's SOURCE_SCHEMA) as the run would load it -- transform with
    the domains of `cs`, the surrogate keys of its dimensions (every key found), the keys,
    lineage and flags the run adds -- and its rows `split` rejects, numbered by `ROW` (their
    source row), with their `reasons` (no key or foreign-key reason: versions of a key are
    folded by the run, and the dimensions are not read here; no TYPE reason from the source:
    `conform` tells those). A calendar's rows are the days it makes: none is rejected."""
    with applied_ddl({cs.table: cs}):
        out = spec.transform(frame)
    if spec.lookups:
        maps = {
            lk.dimension: pl.DataFrame(
                {"k": frame.get_column(lk.source_column).drop_nulls().cast(pl.Int64)}
            ).with_columns(pl.lit(1, dtype=pl.Int64).alias("sk"))
            for lk in spec.lookups
        }
        out, _ = attach_surrogate_keys(out, spec.lookups, maps)
    fill = []
    for column in cs.columns:
        if column.name not in out.columns:  # what the run adds: keys, lineage, flags
            value: object = None if column.nullable else False if column.type == "BOOLEAN" else 1
            fill.append(pl.lit(value, dtype=stored_dtype(column)).alias(column.name))
    out = out.with_columns(fill)
    if spec.kind == "calendar":
        return out, out.head(0).with_columns(pl.lit([], dtype=pl.List(pl.String)).alias(REASONS))
    _, rejected = split(out.with_row_index(ROW), cs)
    keys = {k.name for k in ([cs.primary_key] if cs.primary_key else []) + list(cs.uniques)}
    keys |= {fk.name for fk in cs.foreign_keys}
    reasons = pl.col(REASONS).list.eval(
        pl.element().filter(~pl.element().is_in(list(keys)) & ~pl.element().str.starts_with("KEY_"))
    )
    rejected = rejected.with_columns(reasons).filter(pl.col(REASONS).list.len() > 0)
    return out, rejected


def contract_sets(settings: Settings) -> tuple[dict[str, ConstraintSet], str, str]:
    """The constraint sets to build the contract against, with where they came from: the DDL
    `init` applied to the configured warehouse when it can be read (one attempt, read-only),
    else the shipped DDL, and why."""
    from dwetl.core.connect import describe
    from dwetl.warehouse import warehouse_class
    from dwetl.warehouse.ddl import applied_checksums, applied_constraint_sets

    url = settings.dw
    try:
        with warehouse_class(url).connect(url, read_only=True) as wh:
            if applied_checksums(wh):
                sets = applied_constraint_sets(wh, settings.ddl_dir)
                return sets, "applied", f"the DDL `dwetl init` applied to {url.masked}"
            why = f"{url.masked} is not initialised"
    except Exception as exc:  # unreachable, no file, no such database: the shipped DDL
        why = f"{url.masked} cannot be read ({describe(exc)})"
    from dwetl.warehouse.ddl import shipped_constraint_sets

    return shipped_constraint_sets(), "shipped", f"the shipped DDL (sql/ddl): {why}"
