"""Compile a SQL CHECK expression into a Polars expression with SQL's three-valued logic.

The result is a nullable boolean: `False` means the row breaks the CHECK; `True` and NULL pass,
exactly as in the database. Supported: IN lists, comparisons (column/literal/column), BETWEEN,
AND/OR/NOT, IS [NOT] NULL, IS [NOT] TRUE/FALSE, LIKE/ILIKE, LENGTH, COALESCE, ABS, LOWER, UPPER,
TRIM, CAST, + - * / and unary minus. Anything else raises `UnsupportedCheck` naming the constraint::

    >>> import polars as pl
    >>> e = compile_check("CK_T_a", "a BETWEEN 1 AND 3", {"a": pl.col("a")})
    >>> pl.DataFrame({"a": [0, 2, None]}).select(e.alias("ok"))["ok"].to_list()
    [False, True, None]
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal

import polars as pl
import sqlglot
from sqlglot import exp


class UnsupportedCheck(ValueError):
    """A CHECK expression the compiler cannot translate (never silently skipped)."""


_COMPARE: dict[type, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    exp.EQ: lambda a, b: a == b,
    exp.NEQ: lambda a, b: a != b,
    exp.GT: lambda a, b: a > b,
    exp.GTE: lambda a, b: a >= b,
    exp.LT: lambda a, b: a < b,
    exp.LTE: lambda a, b: a <= b,
}

_ARITH: dict[type, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    exp.Add: lambda a, b: a + b,
    exp.Sub: lambda a, b: a - b,
    exp.Mul: lambda a, b: a * b,
    exp.Div: lambda a, b: a / b,
}

_CAST_TYPES: dict[str, pl.DataType] = {
    "SMALLINT": pl.Int16(),
    "INT": pl.Int32(),
    "INTEGER": pl.Int32(),
    "BIGINT": pl.Int64(),
    "DOUBLE": pl.Float64(),
    "FLOAT": pl.Float32(),
    "VARCHAR": pl.String(),
    "CHAR": pl.String(),
    "TEXT": pl.String(),
    "DATE": pl.Date(),
    "TIMESTAMP": pl.Datetime("us"),
    "BOOLEAN": pl.Boolean(),
}


def referenced_columns(expression_sql: str, dialect: str = "postgres") -> set[str]:
    """The column names a CHECK reads: `referenced_columns("a > b")` is `{"a", "b"}`."""
    tree = sqlglot.parse_one(expression_sql, read=dialect)
    return {c.name for c in tree.find_all(exp.Column)}


def compile_check(
    name: str,
    expression_sql: str,
    columns: Mapping[str, pl.Expr],
    dtypes: Mapping[str, pl.DataType] | None = None,
    dialect: str = "postgres",
) -> pl.Expr:
    """Translate one CHECK; `columns` maps each column name to the expression for its value.

    `dtypes` (column name -> stored dtype) lets a string literal compared with a DATE or
    TIMESTAMP column become a date, as the database would coerce it.
    """
    try:
        tree = sqlglot.parse_one(expression_sql, read=dialect)
    except sqlglot.errors.ParseError as exc:
        raise UnsupportedCheck(f"{name}: cannot parse {expression_sql!r}: {exc}") from exc
    return _Compiler(name, columns, dtypes or {}).compile(tree)


class _Compiler:
    def __init__(
        self, name: str, columns: Mapping[str, pl.Expr], dtypes: Mapping[str, pl.DataType]
    ) -> None:
        self.name = name
        self.columns = columns
        self.dtypes = dtypes

    def fail(self, node: exp.Expr, why: str) -> UnsupportedCheck:
        return UnsupportedCheck(f"{self.name}: {why}: {node.sql(dialect='postgres')}")

    def compile(self, node: exp.Expr) -> pl.Expr:
        handler = getattr(self, f"_{type(node).__name__.lower()}", None)
        if handler is None:
            raise self.fail(node, f"unsupported {type(node).__name__}")
        result: pl.Expr = handler(node)
        # sqlglot marks `IS NOT NULL` and `NOT LIKE` with negate=True instead of a Not node.
        return ~result if node.args.get("negate") else result

    # -- leaves -----------------------------------------------------------------------
    def _column(self, node: exp.Column) -> pl.Expr:
        if node.name not in self.columns:
            raise self.fail(node, f"unknown column {node.name!r}")
        return self.columns[node.name]

    def _literal(self, node: exp.Literal) -> pl.Expr:
        if node.is_string:
            return pl.lit(node.this, dtype=pl.String)
        text = node.this
        if re.fullmatch(r"[+-]?\d+", text):
            return pl.lit(int(text))
        value = Decimal(text)
        scale = max(0, -int(value.as_tuple().exponent))
        return pl.lit(value, dtype=pl.Decimal(38, scale))

    def _boolean(self, node: exp.Boolean) -> pl.Expr:
        return pl.lit(bool(node.this), dtype=pl.Boolean)

    def _null(self, node: exp.Null) -> pl.Expr:
        return pl.lit(None)

    def _paren(self, node: exp.Paren) -> pl.Expr:
        return self.compile(node.this)

    # -- logic --------------------------------------------------------------------------
    # Polars `&`, `|` and `~` follow Kleene logic on nullable booleans, as SQL does.
    def _and(self, node: exp.And) -> pl.Expr:
        return self.compile(node.this) & self.compile(node.expression)

    def _or(self, node: exp.Or) -> pl.Expr:
        return self.compile(node.this) | self.compile(node.expression)

    def _not(self, node: exp.Not) -> pl.Expr:
        return ~self.compile(node.this)

    def _is(self, node: exp.Is) -> pl.Expr:
        value = self.compile(node.this)
        target = node.expression
        if isinstance(target, exp.Null):
            return value.is_null()
        if isinstance(target, exp.Boolean):
            return (value == pl.lit(bool(target.this))).fill_null(False)
        raise self.fail(node, "IS supports NULL, TRUE and FALSE only")

    def _nullsafeeq(self, node: exp.NullSafeEQ) -> pl.Expr:
        left, right = self._coerced_pair(node.this, node.expression)
        return left.eq_missing(right)

    def _nullsafeneq(self, node: exp.NullSafeNEQ) -> pl.Expr:
        left, right = self._coerced_pair(node.this, node.expression)
        return left.ne_missing(right)

    # -- comparisons --------------------------------------------------------------------
    def _compare(self, node: exp.Expr) -> pl.Expr:
        left, right = self._coerced_pair(node.this, node.expression)
        return _COMPARE[type(node)](left, right)

    _eq = _neq = _gt = _gte = _lt = _lte = _compare

    def _between(self, node: exp.Between) -> pl.Expr:
        value, low = self._coerced_pair(node.this, node.args["low"])
        _, high = self._coerced_pair(node.this, node.args["high"])
        return (value >= low) & (value <= high)

    def _in(self, node: exp.In) -> pl.Expr:
        if node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
            raise self.fail(node, "IN supports a list of literals only")
        value = self.compile(node.this)
        items = node.expressions
        if not all(isinstance(i, exp.Literal | exp.Null | exp.Neg) for i in items):
            return self._in_general(node)
        has_null = any(isinstance(i, exp.Null) for i in items)
        literals = [self._literal_value(node.this, i) for i in items if not isinstance(i, exp.Null)]
        found = value.is_in(pl.Series(literals).implode())
        if has_null:
            # x IN (..., NULL) is TRUE when found, else NULL: never FALSE.
            return pl.when(found).then(pl.lit(True)).otherwise(pl.lit(None, dtype=pl.Boolean))
        return found

    def _in_general(self, node: exp.In) -> pl.Expr:
        result: pl.Expr | None = None
        for item in node.expressions:
            left, right = self._coerced_pair(node.this, item)
            term = left == right
            result = term if result is None else result | term
        if result is None:
            raise self.fail(node, "empty IN list")
        return result

    def _like(self, node: exp.Like) -> pl.Expr:
        return self._pattern(node, case_insensitive=False)

    def _ilike(self, node: exp.ILike) -> pl.Expr:
        return self._pattern(node, case_insensitive=True)

    def _pattern(self, node: exp.Expr, *, case_insensitive: bool) -> pl.Expr:
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise self.fail(node, "LIKE needs a literal pattern")
        regex = "".join(
            ".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern.this
        )
        flags = "(?s" + ("i" if case_insensitive else "") + ")"
        return self.compile(node.this).str.contains(f"{flags}^{regex}$")

    def _escape(self, node: exp.Escape) -> pl.Expr:
        raise self.fail(node, "LIKE ... ESCAPE is not supported")

    # -- arithmetic and functions ---------------------------------------------------------
    def _arith(self, node: exp.Expr) -> pl.Expr:
        return _ARITH[type(node)](self.compile(node.this), self.compile(node.expression))

    _add = _sub = _mul = _div = _arith

    def _neg(self, node: exp.Neg) -> pl.Expr:
        return -self.compile(node.this)

    def _length(self, node: exp.Length) -> pl.Expr:
        return self.compile(node.this).str.len_chars().cast(pl.Int64)

    def _coalesce(self, node: exp.Coalesce) -> pl.Expr:
        parts = [node.this, *node.expressions]
        return pl.coalesce([self.compile(p) for p in parts])

    def _abs(self, node: exp.Abs) -> pl.Expr:
        return self.compile(node.this).abs()

    def _lower(self, node: exp.Lower) -> pl.Expr:
        return self.compile(node.this).str.to_lowercase()

    def _upper(self, node: exp.Upper) -> pl.Expr:
        return self.compile(node.this).str.to_uppercase()

    def _trim(self, node: exp.Trim) -> pl.Expr:
        if node.args.get("expression") is not None or node.args.get("position"):
            raise self.fail(node, "only plain TRIM(x) is supported")
        return self.compile(node.this).str.strip_chars(" ")

    def _cast(self, node: exp.Cast) -> pl.Expr:
        to = node.to
        type_name = to.this.name if hasattr(to.this, "name") else str(to.this)
        if type_name in ("DECIMAL", "NUMERIC"):
            params = [int(p.this.name) for p in to.expressions]
            scale = params[1] if len(params) > 1 else 0
            target: pl.DataType = pl.Decimal(38, scale)
        elif type_name in _CAST_TYPES:
            target = _CAST_TYPES[type_name]
        else:
            raise self.fail(node, f"CAST to {type_name} is not supported")
        inner = node.this
        if isinstance(inner, exp.Literal) and inner.is_string and target in (pl.Date, pl.Datetime):
            return pl.lit(_temporal(inner.this, target))
        return self.compile(inner).cast(target, strict=False)

    # -- helpers --------------------------------------------------------------------------
    def _coerced_pair(self, a: exp.Expr, b: exp.Expr) -> tuple[pl.Expr, pl.Expr]:
        # A string literal next to a DATE/TIMESTAMP column is that date, as SQL coerces it.
        for col, lit in ((a, b), (b, a)):
            if isinstance(col, exp.Column) and isinstance(lit, exp.Literal) and lit.is_string:
                dtype = self.dtypes.get(col.name)
                if dtype is not None and dtype.is_temporal():
                    value = pl.lit(_temporal(lit.this, dtype))
                    compiled = self.compile(col)
                    return (compiled, value) if col is a else (value, compiled)
        return self.compile(a), self.compile(b)

    def _literal_value(self, column: exp.Expr, item: exp.Expr) -> object:
        if isinstance(item, exp.Neg) and isinstance(item.this, exp.Literal):
            return -Decimal(item.this.this) if "." in item.this.this else -int(item.this.this)
        if not isinstance(item, exp.Literal):
            raise self.fail(item, "IN list item is not a literal")
        if item.is_string:
            dtype = self.dtypes.get(column.name) if isinstance(column, exp.Column) else None
            if dtype is not None and dtype.is_temporal():
                return _temporal(item.this, dtype)
            return item.this
        return int(item.this) if re.fullmatch(r"[+-]?\d+", item.this) else Decimal(item.this)


def _temporal(text: str, dtype: pl.DataType | type[pl.DataType]) -> dt.date | dt.datetime:
    if dtype == pl.Date:
        return dt.date.fromisoformat(text.strip())
    return dt.datetime.fromisoformat(text.strip())


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
