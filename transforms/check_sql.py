"""Compile a SQL CHECK expression into a Polars expression with SQL's three-valued logic.

Polars SQL (`pl.sql_expr`) does the translating; this module decides what it may be given (a
sqlglot allow-list), points the columns at the frame's and rewrites the two things Polars reads
differently from PostgreSQL and DuckDB (docs/decisions/0002-check-compiler.md).

The result is a nullable boolean: `False` means the row breaks the CHECK; `True` and NULL pass,
exactly as in the database. Supported: IN lists, comparisons (column/literal/column), BETWEEN,
AND/OR/NOT, IS [NOT] NULL, IS [NOT] TRUE/FALSE, LIKE/ILIKE, LENGTH, COALESCE, ABS, LOWER, UPPER,
TRIM, CAST, + - * / and unary minus. Anything else raises `UnsupportedCheck` naming the constraint::

    >>> import polars as pl
    >>> e = compile_check("CK_T_a", "a BETWEEN 1 AND 3", {"a": "a"}, {"a": pl.Int32()})
    >>> pl.DataFrame({"a": [0, 2, None]}).select(e.alias("ok"))["ok"].to_list()
    [False, True, None]
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import polars as pl
import sqlglot
from sqlglot import exp


class UnsupportedCheck(ValueError):
    """A CHECK expression the compiler cannot translate (never silently skipped)."""


# What Polars SQL evaluates as PostgreSQL and DuckDB do (tests/transforms/test_check_sql.py
# proves it against both); anything else is refused rather than guessed.
_ALLOWED: tuple[type[exp.Expr], ...] = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren,
    exp.And, exp.Or, exp.Not, exp.Is, exp.NullSafeEQ, exp.NullSafeNEQ,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.In, exp.Like, exp.ILike,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Neg,
    exp.Length, exp.Coalesce, exp.Abs, exp.Lower, exp.Upper, exp.Trim,
    exp.Cast, exp.DataType, exp.DataTypeParam,
)  # fmt: skip
_CAST_TYPES = {
    "SMALLINT", "INT", "BIGINT", "DECIMAL", "DOUBLE", "FLOAT", "VARCHAR", "CHAR", "TEXT",
    "DATE", "TIMESTAMP", "BOOLEAN",
}  # fmt: skip


def referenced_columns(expression_sql: str, dialect: str = "postgres") -> set[str]:
    """The column names a CHECK reads: `referenced_columns("a > b")` is `{"a", "b"}`."""
    tree = sqlglot.parse_one(expression_sql, read=dialect)
    return {c.name for c in tree.find_all(exp.Column)}


def compile_check(
    name: str,
    expression_sql: str,
    columns: Mapping[str, str],
    dtypes: Mapping[str, pl.DataType],
    dialect: str = "postgres",
) -> pl.Expr:
    """Translate one CHECK with `pl.sql_expr`; `columns` maps each column to the frame's name.

    `dtypes` (CHECK column name -> stored dtype) lets a string literal compared with a DATE or
    TIMESTAMP column become a date, as the database would coerce it. The expression is resolved
    against a schema of those dtypes, so a CHECK that cannot run fails here, not mid-load.
    """
    return compile_check_reading(name, expression_sql, columns, dtypes, dialect)[0]


def compile_check_reading(
    name: str,
    expression_sql: str,
    columns: Mapping[str, str],
    dtypes: Mapping[str, pl.DataType],
    dialect: str = "postgres",
) -> tuple[pl.Expr, set[str]]:
    """`compile_check`, and the column names the CHECK reads (`referenced_columns`), from one
    parse of it.

    >>> ints = {"a": pl.Int32(), "b": pl.Int32()}
    >>> compile_check_reading("CK_T_a", "a > b", {"a": "x", "b": "y"}, ints)[1] == {"a", "b"}
    True
    """
    try:
        tree = sqlglot.parse_one(expression_sql, read=dialect)
    except sqlglot.errors.ParseError as exc:
        raise UnsupportedCheck(f"{name}: cannot parse {expression_sql!r}: {exc}") from exc
    read = {c.name for c in tree.find_all(exp.Column)}
    for node in tree.walk():
        why = _refused(node, columns)
        if why:
            raise UnsupportedCheck(f"{name}: {why}: {node.sql(dialect='postgres')}")
    stored = {columns[c]: dtypes[c] for c in columns if c in dtypes}
    for node in reversed(list(tree.walk(bfs=False))):  # children first
        new = _for_polars(node, columns, stored)
        if new is not node:
            tree = new if node is tree else tree
            node.replace(new)
    try:
        compiled = pl.sql_expr(tree.sql(dialect="postgres"))
        pl.LazyFrame(schema=stored).select(compiled).collect_schema()
    except pl.exceptions.PolarsError as exc:
        raise UnsupportedCheck(f"{name}: Polars cannot run {expression_sql!r}: {exc}") from exc
    return compiled, read


def _refused(node: exp.Expr, columns: Mapping[str, str]) -> str | None:
    """Why `node` cannot be compiled, or None."""
    if not isinstance(node, _ALLOWED):
        return f"unsupported {type(node).__name__}"
    if isinstance(node, exp.Column) and node.name not in columns:
        return f"unknown column {node.name!r}"
    if isinstance(node, exp.In) and any(node.args.get(k) for k in ("query", "unnest", "field")):
        return "IN supports a list only"
    if isinstance(node, exp.Is) and not isinstance(node.expression, exp.Null | exp.Boolean):
        return "IS supports NULL, TRUE and FALSE only"
    if isinstance(node, exp.Like | exp.ILike) and not (
        isinstance(node.expression, exp.Literal) and node.expression.is_string
    ):
        return "LIKE needs a literal pattern"
    if isinstance(node, exp.Trim) and (node.args.get("expression") or node.args.get("position")):
        return "only plain TRIM(x) is supported"
    if isinstance(node, exp.Cast) and node.to.this.name not in _CAST_TYPES:
        return f"CAST to {node.to.this.name} is not supported"
    return None


def _for_polars(
    node: exp.Expr, columns: Mapping[str, str], dtypes: Mapping[str, pl.DataType]
) -> exp.Expr:
    """Rewrite what Polars SQL reads differently; `dtypes` is keyed by the frame's names."""
    if isinstance(node, exp.Column):
        return exp.column(columns[node.name], quoted=True)
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Boolean):
        # Polars gives NULL IS TRUE as NULL; SQL's IS TRUE/FALSE is never NULL.
        value = node.this if node.expression.this else exp.not_(node.this)
        return exp.func("COALESCE", value, exp.false())
    temporal = _temporal_column(node, dtypes)
    if temporal:
        # '2020-01-01' next to a DATE/TIMESTAMP column is that date, as SQL coerces it.
        for key in ("expression", "low", "high"):
            _cast_string(node, key, temporal)
        node.set("expressions", [_as(item, temporal) for item in node.expressions])
    return node


def _temporal_column(node: exp.Expr, dtypes: Mapping[str, pl.DataType]) -> str | None:
    compared = exp.EQ | exp.NEQ | exp.GT | exp.GTE | exp.LT | exp.LTE | exp.Between | exp.In
    if not isinstance(node, compared):
        return None
    sides = [node.this, node.args.get("expression")]
    for side in sides:
        if isinstance(side, exp.Column):
            dtype = dtypes.get(side.name)
            if dtype is not None and dtype.is_temporal():
                return "DATE" if dtype == pl.Date else "TIMESTAMP"
    return None


def _cast_string(node: exp.Expr, key: str, to: str) -> None:
    value = node.args.get(key)
    if isinstance(value, exp.Expr):
        node.set(key, _as(value, to))


def _as(value: exp.Expr, to: str) -> exp.Expr:
    if isinstance(value, exp.Literal) and value.is_string:
        return exp.cast(value, to)
    return value


_NUMERIC_TYPES = {"INT", "SMALLINT", "BIGINT", "DECIMAL", "NUMERIC", "DOUBLE", "FLOAT", "REAL"}


def canonical_check(expression_sql: str, dialect: str = "postgres") -> str:
    """A dialect-free key for what a CHECK means, to match the DDL with a live catalog.

    Parentheses, implicit casts, `= ANY (ARRAY[...])` (PostgreSQL's IN), BETWEEN (PostgreSQL
    rewrites it) and identifier case are normalised away::

        >>> canonical_check("mes BETWEEN 1 AND 12") == canonical_check(
        ...     "((mes >= 1) AND (mes <= 12))", "duckdb")
        True
    """
    return _sexpr(sqlglot.parse_one(expression_sql, read=dialect))


def _normalise_node(node: exp.Expr) -> exp.Expr:
    if node.args.get("negate"):
        # DuckDB parses `x IS NOT NULL` as Is(negate=True), PostgreSQL as Not(Is(...)).
        plain = node.copy()
        plain.set("negate", False)
        return exp.Not(this=plain)
    if isinstance(node, exp.Paren):
        return _normalise_node(node.this)
    if isinstance(node, exp.Cast):
        inner = _normalise_node(node.this)
        type_name = str(node.to.this.name if hasattr(node.to.this, "name") else node.to.this)
        if isinstance(inner, exp.Literal) and inner.is_string and type_name in _NUMERIC_TYPES:
            return exp.Literal.number(inner.this)
        return inner
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        return exp.Literal.number("-" + node.this.this)
    if isinstance(node, exp.Between):
        value = node.this
        return exp.And(
            this=exp.GTE(this=value.copy(), expression=node.args["low"]),
            expression=exp.LTE(this=value.copy(), expression=node.args["high"]),
        )
    if isinstance(node, exp.EQ | exp.NEQ) and isinstance(node.expression, exp.Any | exp.All):
        array = node.expression.this
        while isinstance(array, exp.Paren | exp.Cast):
            array = array.this
        if isinstance(array, exp.Array):
            items = [_normalise_node(i) for i in array.expressions]
            found = exp.In(this=_normalise_node(node.this), expressions=items)
            return found if isinstance(node, exp.EQ) else exp.Not(this=found)
    return node


def _sexpr(node: object) -> str:
    if isinstance(node, list):
        return "[" + ",".join(_sexpr(n) for n in node) + "]"
    if not isinstance(node, exp.Expr):
        return repr(node)
    node = _normalise_node(node)
    if isinstance(node, exp.Connector):
        operands = ",".join(_sexpr(n) for n in _operands(node, type(node)))
        return f"{type(node).__name__}({operands})"
    if isinstance(node, exp.Literal):
        if node.is_string:
            return repr(node.this)
        return str(Decimal(node.this).normalize())
    if isinstance(node, exp.Column | exp.Identifier):
        return node.name.lower()
    parts = [
        f"{k}={_sexpr(v)}"
        for k, v in sorted(node.args.items())
        if v is not None and v is not False and v != [] and not k.startswith("_")
    ]
    return f"{type(node).__name__}(" + ",".join(parts) + ")"


def _operands(node: exp.Expr, kind: type[exp.Expr]) -> list[exp.Expr]:
    """`a AND (b AND c)` -> [a, b, c]: a chain of one connector, however it was parenthesised."""
    node = _normalise_node(node)
    if isinstance(node, kind):
        return _operands(node.this, kind) + _operands(node.expression, kind)
    return [node]
