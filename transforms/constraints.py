"""The constraint-set model and its reader for warehouse DDL text (pure: SQL text in, sets out).

A `ConstraintSet` is everything the warehouse says about one table's rows: columns with their
types and nullability, the primary key, UNIQUE keys, foreign keys and named CHECKs. The shipped
DDL (`sql/ddl/*.sql`, PostgreSQL dialect) is parsed with sqlglot; no file is read here::

    >>> sets = constraint_sets_from_ddl(
    ...     "CREATE TABLE dw.t (a INT NOT NULL, CONSTRAINT CK_T_a CHECK (a > 0))")
    >>> sets["dw.t"].checks[0].name
    'CK_T_a'
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import sqlglot
from sqlglot import exp

# sqlglot type names -> the canonical names the model uses (one spelling per SQL type).
_CANONICAL_TYPES = {
    "SMALLINT": "SMALLINT",
    "INT": "INTEGER",
    "INTEGER": "INTEGER",
    "BIGINT": "BIGINT",
    "DECIMAL": "DECIMAL",
    "NUMERIC": "DECIMAL",
    "DOUBLE": "DOUBLE",
    "FLOAT": "REAL",
    "REAL": "REAL",
    "VARCHAR": "VARCHAR",
    "NVARCHAR": "VARCHAR",
    "CHAR": "CHAR",
    "NCHAR": "CHAR",
    "TEXT": "TEXT",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "DATETIME": "TIMESTAMP",
    "TIMESTAMPNTZ": "TIMESTAMP",
    "TIMESTAMPTZ": "TIMESTAMPTZ",
    "BOOLEAN": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    """A column as declared: `Column("valor", "DECIMAL", precision=12, scale=2)`."""

    name: str
    type: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    nullable: bool = True
    has_default: bool = False


@dataclass(frozen=True)
class Check:
    """A named CHECK: `Check("CK_T_a", "a > 0")` (PostgreSQL-dialect SQL unless `dialect`)."""

    name: str
    expression_sql: str
    #: the SQL dialect of `expression_sql` (a live catalog may speak another)
    dialect: str = "postgres"

    def tree(self) -> exp.Expr:
        """The parsed expression: `Check("c", "a > 0").tree()` is a `sqlglot.exp.GT`."""
        return sqlglot.parse_one(self.expression_sql, read=self.dialect)


@dataclass(frozen=True)
class Key:
    """A PRIMARY KEY or UNIQUE constraint: `Key("PK_t", ("id",))`."""

    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key: `ForeignKey("FK_f_d", ("sk_d",), "dw.dim_d", ("sk_d",))`."""

    name: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class ConstraintSet:
    """Every rule one table puts on its rows; `table` is "schema.table"."""

    table: str
    columns: tuple[Column, ...]
    primary_key: Key | None = None
    uniques: tuple[Key, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[Check, ...] = field(default=())

    @property
    def short_name(self) -> str:
        """The table name without its schema: `dim_cliente` for `dw.dim_cliente`."""
        return self.table.rsplit(".", 1)[-1]

    def column(self, name: str) -> Column:
        """The column called `name` (KeyError if the table has none)."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.table} has no column {name!r}")


class DdlError(ValueError):
    """DDL text that cannot be read into constraint sets (names the statement)."""


def constraint_sets_from_ddl(sql: str | Iterable[str]) -> dict[str, ConstraintSet]:
    """Parse CREATE TABLE statements (PostgreSQL dialect) into sets keyed by "schema.table".

    `sql` is one SQL text or several (e.g. the contents of each `sql/ddl/*.sql` in order); a
    later `ALTER TABLE` that adds a column or sets / drops a column's NOT NULL changes the set
    of its table (a script that upgrades a table applied earlier); other statements are ignored.

    >>> sets = constraint_sets_from_ddl(["CREATE TABLE s.t (a INT)",
    ...     "ALTER TABLE s.t ADD COLUMN IF NOT EXISTS b INT DEFAULT 1; "
    ...     "ALTER TABLE s.t ALTER COLUMN b SET NOT NULL"])
    >>> [(c.name, c.nullable, c.has_default) for c in sets["s.t"].columns]
    [('a', True, False), ('b', False, True)]
    """
    texts = [sql] if isinstance(sql, str) else list(sql)
    sets: dict[str, ConstraintSet] = {}
    for text in texts:
        try:
            statements = sqlglot.parse(text, read="postgres")
        except sqlglot.errors.ParseError as exc:
            raise DdlError(f"cannot parse DDL: {exc}") from exc
        for statement in statements:
            if isinstance(statement, exp.Create) and statement.kind == "TABLE":
                cs = _table_from_create(statement)
                sets[cs.table] = cs
            elif isinstance(statement, exp.Alter) and statement.args.get("kind") == "TABLE":
                _apply_alter(statement, sets)
    return sets


def _apply_alter(alter: exp.Alter, sets: dict[str, ConstraintSet]) -> None:
    """Columns added by an ALTER TABLE, and NOT NULL set or dropped, into the table's set."""
    table = alter.this
    full_name = f"{table.db}.{table.name}" if table.db else table.name
    cs = sets.get(full_name)
    if cs is None:
        raise DdlError(f"ALTER TABLE {full_name}: no CREATE TABLE {full_name} before it")
    columns = list(cs.columns)
    for action in alter.args.get("actions") or []:
        if isinstance(action, exp.ColumnDef):
            if any(c.name == action.name for c in columns):
                continue  # ADD COLUMN IF NOT EXISTS of a column the table has
            columns.append(_column_from_def(full_name, action))
        elif isinstance(action, exp.AlterColumn) and action.args.get("allow_null") is not None:
            nullable = bool(action.args.get("drop"))  # DROP NOT NULL / SET NOT NULL
            columns = [replace(c, nullable=nullable) if c.name == action.name else c
                       for c in columns]  # fmt: skip
    sets[full_name] = replace(cs, columns=tuple(columns))


def _column_from_def(table: str, item: exp.ColumnDef) -> Column:
    kinds = [c.kind for c in item.args.get("constraints") or []]
    not_null = any(
        isinstance(k, exp.NotNullColumnConstraint) and not k.args.get("allow_null") for k in kinds
    )
    has_default = any(isinstance(k, exp.DefaultColumnConstraint) for k in kinds)
    is_pk = any(isinstance(k, exp.PrimaryKeyColumnConstraint) for k in kinds)
    kind = item.args.get("kind")
    if not isinstance(kind, exp.DataType):
        raise DdlError(f"{table}.{item.name}: column without a type")
    return column_from_type(
        item.name, kind, nullable=not (not_null or is_pk), has_default=has_default
    )


def column_from_type(
    name: str, data_type: exp.DataType, *, nullable: bool = True, has_default: bool = False
) -> Column:
    """A `Column` from a sqlglot type: `column_from_type("a", exp.DataType.build("INT"))`."""
    raw = data_type.this.name if hasattr(data_type.this, "name") else str(data_type.this)
    type_name = _CANONICAL_TYPES.get(raw.upper(), raw.upper())
    params = [int(p.this.name) for p in data_type.expressions if isinstance(p.this, exp.Literal)]
    length = precision = scale = None
    if type_name in ("VARCHAR", "CHAR"):
        length = params[0] if params else (1 if type_name == "CHAR" else None)
    elif type_name == "DECIMAL":
        precision = params[0] if params else None
        scale = params[1] if len(params) > 1 else (0 if params else None)
    return Column(name, type_name, length, precision, scale, nullable, has_default)


def _table_from_create(create: exp.Create) -> ConstraintSet:
    schema = create.this
    table = schema.this
    full_name = f"{table.db}.{table.name}" if table.db else table.name
    columns: list[Column] = []
    primary_key: Key | None = None
    uniques: list[Key] = []
    fks: list[ForeignKey] = []
    checks: list[Check] = []
    short = table.name
    for item in schema.expressions:
        if isinstance(item, exp.ColumnDef):
            column = _column_from_def(full_name, item)
            columns.append(column)
            kinds = [c.kind for c in item.args.get("constraints") or []]
            if any(isinstance(k, exp.PrimaryKeyColumnConstraint) for k in kinds):
                primary_key = Key(f"PK_{short}", (item.name,))
            continue
        if not isinstance(item, exp.Constraint):
            continue
        name = item.name
        for body in item.expressions:
            if isinstance(body, exp.PrimaryKey):
                primary_key = Key(name, tuple(e.name for e in body.expressions))
            elif isinstance(body, exp.UniqueColumnConstraint):
                uniques.append(Key(name, tuple(e.name for e in body.this.expressions)))
            elif isinstance(body, exp.ForeignKey):
                ref = body.args["reference"].this
                ref_table = f"{ref.this.db}.{ref.this.name}" if ref.this.db else ref.this.name
                fks.append(
                    ForeignKey(
                        name,
                        tuple(e.name for e in body.expressions),
                        ref_table,
                        tuple(e.name for e in ref.expressions),
                    )
                )
            elif isinstance(body, exp.CheckColumnConstraint):
                checks.append(Check(name, body.this.sql(dialect="postgres")))
            else:
                raise DdlError(f"{full_name}: constraint {name} of an unknown kind")
    # A PRIMARY KEY implies NOT NULL on its columns, as in every SQL database.
    if primary_key is not None:
        pk_cols = set(primary_key.columns)
        columns = [
            Column(c.name, c.type, c.length, c.precision, c.scale, False, c.has_default)
            if c.name in pk_cols
            else c
            for c in columns
        ]
    return ConstraintSet(
        full_name, tuple(columns), primary_key, tuple(uniques), tuple(fks), tuple(checks)
    )
