"""The extract contract: what each extract file must return, derived from the code and the DDL.

    build_contract(sets, ddl="shipped") -> Contract (entities -> files -> columns)

Nothing here is written by hand. For each entity (`dwetl.entities.registry`) the files it
reads are its `extract_parts` (or its one `extract_sql`), the columns and their order each
file's schema (the transform's `SOURCE_SCHEMA`, a part's schema). What the warehouse makes of a
column is found by running the entity's own pipeline (transform, surrogate-key lookups,
`transforms.validate.split` against the constraint sets of the DDL) on an example row: a column
is *required* when a NULL in it gets the row rejected (the rules that reject it are named), and
it *feeds* the warehouse columns it lands in (same name, its lookup's surrogate key, or a
column whose value changes with it), whose type, length and CHECKs are its rules.

The example rows are the shipped extracts' first rows on a small generated sample ERP
(`dwetl.sample.generate`), read with DuckDB in memory: real rows that load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from dwetl.entities.registry import MODULES, all_entities, applied_ddl, resolve_order
from dwetl.entities.spec import EntitySpec
from transforms.check_sql import referenced_columns
from transforms.constraints import Column, ConstraintSet
from transforms.domains import allowed_values
from transforms.keys import attach_surrogate_keys
from transforms.validate import REASONS, split, stored_dtype

if TYPE_CHECKING:
    from dwetl.core.config import Settings

#: how a query filters itself by the watermark (`:since`): dwetl needs it nowhere (a file
#: without it is wrapped, or a part read whole and its joined rows filtered), so "optional"
SINCE_OPTIONAL = "optional"


@dataclass(frozen=True)
class ColumnContract:
    """One column an extract file must return."""

    name: str
    sql_type: str  # "BIGINT", "VARCHAR(150)", "DECIMAL(12,2)", "DATE", "TIMESTAMP"
    polars_type: str  # what dwetl casts it to: "Int64", "Decimal(precision=38, scale=2)"
    required: bool  # a NULL gets the row rejected ...
    required_by: tuple[str, ...]  # ... by these rules (NN_..., CK_..._obrigatorio)
    natural_key: bool
    watermark: bool
    feeds: tuple[str, ...]  # warehouse columns it lands in: "dw.dim_cliente.nome"
    allowed: tuple[str, ...] | None  # the CHECK domain of a categorical column
    rules: tuple[str, ...]  # the warehouse's rules on it, each as text
    example: Any = None

    def as_dict(self) -> dict[str, Any]:
        """A plain dict (JSON-ready: the example as text where it is no JSON type)."""
        return {
            "name": self.name,
            "sql_type": self.sql_type,
            "polars_type": self.polars_type,
            "nullable": not self.required,
            "required_by": list(self.required_by),
            "natural_key": self.natural_key,
            "watermark": self.watermark,
            "feeds": list(self.feeds),
            "allowed": list(self.allowed) if self.allowed is not None else None,
            "rules": list(self.rules),
            "example": json_value(self.example),
        }

    def note(self) -> str:
        """The column's type and rules in one line, for a comment: `VARCHAR(2), required by
        CK_DIM_CLIENTE_obrigatorio, one of: 'AC', ...`."""
        parts = [self.sql_type, "NOT NULL" if self.required else "NULL allowed"]
        if self.natural_key:
            parts.append("natural key")
        if self.watermark:
            parts.append("watermark")
        if self.required_by:
            parts.append("required by " + ", ".join(self.required_by))
        parts += self.rules
        return ", ".join(parts)


@dataclass(frozen=True)
class FileContract:
    """One extract file of an entity: its columns in order and how it uses `:since`."""

    file: str  # "fact_vendas.itens.sql"
    columns: tuple[ColumnContract, ...]
    since: str  # SINCE_OPTIONAL
    since_note: str
    joins_on: str | None = None  # a later part: the column it joins the first part's rows on

    @property
    def example(self) -> dict[str, Any]:
        """The example row, column -> value."""
        return {c.name: c.example for c in self.columns}

    def as_dict(self) -> dict[str, Any]:
        """A plain dict."""
        return {
            "file": self.file,
            "since": self.since,
            "since_note": self.since_note,
            "joins_on": self.joins_on,
            "columns": [c.as_dict() for c in self.columns],
            "example": {k: json_value(v) for k, v in self.example.items()},
        }


@dataclass(frozen=True)
class EntityContract:
    """One entity: where it lands, what it reads, what it needs and what needs it."""

    name: str
    kind: str
    target_table: str
    natural_key: tuple[str, ...]
    watermark_column: str | None
    depends_on: tuple[str, ...]
    needed_by: tuple[str, ...]
    files: tuple[FileContract, ...]
    #: read in parts: the one file that may replace them, returning the joined columns
    single_file: FileContract | None = None

    @property
    def leave_out(self) -> str:
        """How to run without this entity when the source has no such data."""
        one = self.single_file.file if self.single_file else self.files[0].file
        first = (
            f"after disabling {', '.join(self.needed_by)}, which need it"
            if self.needed_by
            else "its files are then not read"
        )
        empty = f"an empty extract: {one} with its columns and `WHERE 1 = 0`"
        if self.needed_by:
            empty += " (what the entities that need it reference becomes inferred members)"
        return f"`dwetl rollout disable {self.name}` ({first}), or {empty}"

    def as_dict(self) -> dict[str, Any]:
        """A plain dict."""
        return {
            "entity": self.name,
            "kind": self.kind,
            "target_table": self.target_table,
            "natural_key": list(self.natural_key),
            "watermark_column": self.watermark_column,
            "depends_on": list(self.depends_on),
            "needed_by": list(self.needed_by),
            "files": [f.as_dict() for f in self.files],
            "single_file": self.single_file.as_dict() if self.single_file else None,
            "leave_out": self.leave_out,
        }


@dataclass(frozen=True)
class Contract:
    """Every entity's extract contract, against one DDL."""

    ddl: str  # "applied" (read from the warehouse) | "shipped" (sql/ddl)
    ddl_note: str
    entities: tuple[EntityContract, ...] = field(default=())
    #: the constraint sets it was built against
    sets: Mapping[str, ConstraintSet] = field(default_factory=dict, repr=False, compare=False)

    def entity(self, name: str) -> EntityContract:
        """The contract of entity `name` (KeyError if not in this contract)."""
        for e in self.entities:
            if e.name == name:
                return e
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        """A plain dict, JSON-ready."""
        return {
            "ddl": self.ddl,
            "ddl_note": self.ddl_note,
            "leave_out": LEAVE_OUT,
            "entities": [e.as_dict() for e in self.entities],
        }


LEAVE_OUT = (
    "An entity the source has no data for: switch it off with `dwetl rollout disable ENTITY` "
    "(its files are then not read; an entity that another active one depends on is refused "
    "until that one is off), or give it an empty extract: its columns, no rows "
    "(`SELECT CAST(NULL AS BIGINT) AS ... WHERE 1 = 0`); an entity read in parts may use one "
    "file named after it (e.g. fact_vendas.sql) with the joined columns instead."
)


def json_value(value: Any) -> Any:
    """A value as JSON can hold it: decimals, dates and timestamps as their text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


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
    combined = _combined_example(spec, examples)
    columns = {c.name: c for c in _columns(spec, cs, schema, combined)}
    files: list[FileContract] = []
    single = spec.extract_sql or f"{spec.name}.sql"
    if spec.extract_parts:
        assert spec.combine is not None
        parts = _part_examples(spec, examples)
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
        whole = FileContract(single, tuple(columns.values()), SINCE_OPTIONAL, _WRAPPED)
        return EntityContract(
            spec.name,
            spec.kind,
            spec.target_table,
            spec.natural_key,
            spec.watermark_column,
            spec.depends_on,
            needed_by,
            tuple(files),
            whole,
        )
    files.append(FileContract(single, tuple(columns.values()), SINCE_OPTIONAL, _WRAPPED))
    return EntityContract(
        spec.name,
        spec.kind,
        spec.target_table,
        spec.natural_key,
        spec.watermark_column,
        spec.depends_on,
        needed_by,
        tuple(files),
    )


_WRAPPED = (
    ":since optional: without it dwetl reads `SELECT * FROM (<file>) src WHERE "
    "src.atualizado_em > <watermark>` on an incremental run; with it, the file filters itself"
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


def _combined_example(spec: EntitySpec, examples: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """The entity's example as its SOURCE_SCHEMA frame: the first row (of the first part,
    joined with the other parts by `combine`)."""
    if not spec.extract_parts:
        return examples[spec.extract_sql or f"{spec.name}.sql"].head(1)
    assert spec.combine is not None
    return spec.combine(*_part_examples(spec, examples))


def _part_examples(spec: EntitySpec, examples: Mapping[str, pl.DataFrame]) -> list[pl.DataFrame]:
    """The first part's first row, and the rows of each other part that it joins."""
    first = examples[spec.extract_parts[0].sql].head(1)
    frames = [first]
    for part in spec.extract_parts[1:]:
        frame = examples[part.sql]
        if part.batch_join is not None:
            wanted = first.get_column(part.batch_join).implode()
            frame = frame.filter(pl.col(part.batch_join).is_in(wanted))
        frames.append(frame)
    return frames


@cache
def example_frames() -> dict[str, pl.DataFrame]:
    """Each shipped extract file's rows on a small generated sample ERP (read by DuckDB in
    memory, `:since` bound to NULL), typed as the file's schema."""
    import duckdb

    from dwetl.core.paths import extract_root
    from dwetl.sample.generate import generate_clean
    from dwetl.source.conform import conform
    from dwetl.source.dialects import bind_since

    tables = generate_clean(rows=30, seed=1)
    folder = extract_root()
    con = duckdb.connect()
    try:
        for name, frame in tables.items():
            con.register(name, frame.to_arrow())
        out = {}
        for spec in all_entities():
            files = [(p.sql, p.schema) for p in spec.extract_parts] or [
                (spec.extract_sql or f"{spec.name}.sql", MODULES[spec.name].SOURCE_SCHEMA)
            ]
            for file, schema in files:
                sql = bind_since((folder / file).read_text(encoding="utf-8"), None)
                read = pl.from_arrow(con.sql(sql).to_arrow_table())
                assert isinstance(read, pl.DataFrame)
                out[file] = conform(read, schema).select(list(schema))
        return out
    finally:
        con.close()


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


def template_sql(entity: EntityContract, file: FileContract) -> str:
    """A starting extract file: every column as `NULL AS column -- TYPE, rules`, in order, and a
    `FROM your_table` to fill in."""
    width = max(len(c.name) for c in file.columns)
    head = [
        f"-- {file.file}: {entity.name} ({entity.kind}, lands in {entity.target_table}); "
        "written by `dwetl contract --template`.",
        "-- Replace each NULL with your column or expression; keep the aliases and their order.",
        f"-- One row per version of a row: dwetl keeps the newest per "
        f"{', '.join(entity.natural_key)} (by {entity.watermark_column})."
        if entity.watermark_column
        else "",
        *_comment(file.since_note),
    ]
    if file.joins_on:
        head += _comment(f"Joined to the first part's rows on {file.joins_on}.")
    if entity.depends_on:
        head += _comment(f"Needs {', '.join(entity.depends_on)} loaded first.")
    head += _comment("To leave this entity out: " + entity.leave_out + ".")
    lines = [h for h in head if h] + ["SELECT"]
    for at, column in enumerate(file.columns):
        comma = "," if at < len(file.columns) - 1 else " "
        lines.append(f"    NULL AS {column.name:<{width}}{comma} -- {column.note()}")
    lines.append("FROM your_table")
    return "\n".join(lines) + "\n"


def _comment(text: str, width: int = 96) -> list[str]:
    import textwrap

    return ["-- " + line for line in textwrap.wrap(text, width - 3)]


def write_template(contract: Contract, folder: Path) -> tuple[list[Path], list[Path]]:
    """One `template_sql` file per extract file of the contract's entities into `folder`
    (created), never over an existing file: (written, skipped)."""
    folder.mkdir(parents=True, exist_ok=True)
    written, skipped = [], []
    for entity in contract.entities:
        for file in entity.files:
            path = folder / file.file
            try:
                with path.open("x", encoding="utf-8") as out:
                    out.write(template_sql(entity, file))
            except FileExistsError:
                skipped.append(path)
                continue
            written.append(path)
    return written, skipped
