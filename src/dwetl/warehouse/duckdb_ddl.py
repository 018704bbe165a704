"""DuckDB's reading of the shipped DDL: sqlglot trees of CREATE TABLE statements rewritten for
what DuckDB keeps (no foreign keys; a twin table without the primary key). Imported by
`dwetl.warehouse.duckdb` where it transpiles, so that a command that only queries the warehouse
does not import sqlglot."""

from __future__ import annotations

from sqlglot import exp


def without_foreign_keys(statement: exp.Expr) -> exp.Expr:
    """A CREATE TABLE without its FOREIGN KEY constraints and inline REFERENCES (other
    statements as they are); the tree is changed in place.

    >>> import sqlglot
    >>> sql = "CREATE TABLE f (a INT NOT NULL REFERENCES d (a), CONSTRAINT FK_f FOREIGN KEY (a) "
    >>> sql += "REFERENCES d (a), CONSTRAINT PK_f PRIMARY KEY (a))"
    >>> without_foreign_keys(sqlglot.parse_one(sql, read="postgres")).sql("duckdb")
    'CREATE TABLE f (a INT NOT NULL, CONSTRAINT PK_f PRIMARY KEY (a))'
    """
    if not (isinstance(statement, exp.Create) and statement.kind == "TABLE"):
        return statement
    schema = statement.this
    if not isinstance(schema, exp.Schema):  # CREATE TABLE ... AS SELECT
        return statement
    _drop_constraints(schema, exp.ForeignKey, exp.Reference)
    return statement


def is_partial_index(statement: exp.Expr) -> bool:
    """True for a CREATE INDEX ... WHERE, which DuckDB cannot build ("Creating partial indexes
    is not supported"): a DuckDB warehouse leaves it out, as its joins and scans would not use
    the index anyway (DuckDB's ART indexes serve point lookups and keys).

    >>> import sqlglot
    >>> is_partial_index(sqlglot.parse_one("CREATE INDEX i ON t (a) WHERE b IS NULL"))
    True
    >>> is_partial_index(sqlglot.parse_one("CREATE INDEX i ON t (a)"))
    False
    """
    if not (isinstance(statement, exp.Create) and statement.kind == "INDEX"):
        return False
    index = statement.this
    params = index.args.get("params") if isinstance(index, exp.Index) else None
    return isinstance(params, exp.IndexParameters) and params.args.get("where") is not None


def _drop_constraints(
    schema: exp.Schema, table_kind: type[exp.Expr], column_kind: type[exp.Expr]
) -> None:
    """Remove from a CREATE TABLE's `schema` its table constraints of `table_kind` (named or
    not) and its columns' constraints of `column_kind`."""
    for item in list(schema.expressions):
        if isinstance(item, table_kind) or (
            isinstance(item, exp.Constraint)
            and any(isinstance(e, table_kind) for e in item.expressions)
        ):
            item.pop()
        elif isinstance(item, exp.ColumnDef):
            for constraint in list(item.constraints):
                if isinstance(constraint.kind, column_kind):
                    constraint.pop()


def without_primary_key(statement: exp.Expr, name: str) -> exp.Expr:
    """A CREATE TABLE renamed to `name` (same schema), without its PRIMARY KEY; the tree is
    changed in place.

    >>> import sqlglot
    >>> sql = "CREATE TABLE dw.f(a BIGINT, b INTEGER NOT NULL, PRIMARY KEY(a), CHECK((b > 0)));"
    >>> without_primary_key(sqlglot.parse_one(sql, read="duckdb"), "f_2").sql("duckdb")
    'CREATE TABLE dw.f_2 (a BIGINT, b INT NOT NULL, CHECK ((b > 0)))'
    """
    assert isinstance(statement, exp.Create) and isinstance(statement.this, exp.Schema)
    schema = statement.this
    schema.this.set("this", exp.to_identifier(name))
    _drop_constraints(schema, exp.PrimaryKey, exp.PrimaryKeyColumnConstraint)
    return statement
