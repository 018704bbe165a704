"""The statements dwetl builds while it loads, as sqlglot expressions with quoted identifiers.

Each builder takes table names as `schema.table` (split at the last dot, never parsed) and
column names as they are, and returns an expression that `render` writes in a warehouse's
sqlglot dialect (`Warehouse.sqlglot_dialect`). Parameters are `exp.Placeholder`: `%s` for
PostgreSQL, `?` for DuckDB. Callers render a statement once per load, not per batch. The
nodes are made with their constructors, not sqlglot's fluent builders, which copy the tree at
each step (a 25-column change count took tens of milliseconds that way).
SQL a DBA reads (extract queries, DDL, named queries) stays in the `sql/` files.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from functools import lru_cache

from sqlglot import exp


def render(statement: exp.Expr, dialect: str) -> str:
    """`statement` as `dialect` (a sqlglot dialect name) writes it (the generator may rewrite the
    tree as it goes: a statement is rendered once, and not copied first)."""
    return statement.sql(dialect=dialect, copy=False)


#: the table a statement is written for where its text is kept for later runs (`rendered`): no
#: table dwetl makes has this name, so its quoted name stands only where the table does
STAND_IN = "stg.dwetl_stand_in"


def rendered(
    builder: Callable[..., exp.Expr], args: tuple[Hashable, ...], name: str, dialect: str
) -> str:
    """`builder(*args)` rendered in `dialect`, where `args` name the table `name` as `STAND_IN`.

    A staging table's name carries the run id, so a statement that reads one would be written
    anew by every run (a wide MERGE or change count: milliseconds of sqlglot each); its text is
    written once per process for the stand-in, and the table's quoted name put in its place.

    >>> rendered(drop_table, (STAND_IN,), "stg.f_7", "duckdb")
    'DROP TABLE IF EXISTS "stg"."f_7"'
    """
    return _template(builder, args, dialect).replace(
        _quoted(STAND_IN, dialect), _quoted(name, dialect)
    )


@lru_cache(maxsize=512)
def _template(builder: Callable[..., exp.Expr], args: tuple[Hashable, ...], dialect: str) -> str:
    text = render(builder(*args), dialect)
    quoted = _quoted(STAND_IN, dialect)
    bare = STAND_IN.rpartition(".")[2]
    if quoted not in text or text.count(bare) != text.count(quoted):
        raise ValueError(f"{builder.__name__}{args}: the stand-in table is not one quoted name")
    return text


@lru_cache(maxsize=64)
def _quoted(name: str, dialect: str) -> str:
    return render(table(name), dialect)


def table(name: str, alias: str | None = None) -> exp.Table:
    """`schema.table` (or `table`) as a quoted table, with an optional alias.

    >>> render(table("dw.Order Items", "t"), "postgres")
    '"dw"."Order Items" AS t'
    """
    schema, _, name = name.rpartition(".")
    return exp.table_(name, db=schema or None, quoted=True, alias=alias)


def column(name: str, of: str | None = None) -> exp.Column:
    """A quoted column, qualified by the alias `of`.

    >>> render(column("order", "t"), "duckdb")
    't."order"'
    """
    return exp.Column(
        this=exp.to_identifier(name, quoted=True), table=exp.to_identifier(of) if of else None
    )


def _one(value: int) -> exp.Expr:
    return exp.Literal.number(value)


def _paren(condition: exp.Expr) -> exp.Expr:
    return exp.Paren(this=condition) if isinstance(condition, exp.Connector) else condition


def _joined(
    conditions: Sequence[exp.Expr], connector: type[exp.Connector], empty: exp.Expr
) -> exp.Expr:
    """The conditions joined by `connector` (`empty` for none), each connective in parentheses."""
    if not conditions:
        return empty
    result = _paren(conditions[0])
    for condition in conditions[1:]:
        result = connector(this=result, expression=_paren(condition))
    return result


def _all(conditions: Sequence[exp.Expr]) -> exp.Expr:
    """condition AND condition ... (TRUE for none), an OR among them in parentheses."""
    return _joined(conditions, exp.And, exp.true())


def _any(conditions: Sequence[exp.Expr]) -> exp.Expr:
    """condition OR condition ... (FALSE for none), an AND among them in parentheses."""
    return _joined(conditions, exp.Or, exp.false())


def _eq(left: exp.Expr, right: exp.Expr) -> exp.EQ:
    return exp.EQ(this=left, expression=right)


def _is_null(value: exp.Expr) -> exp.Is:
    return exp.Is(this=value, expression=exp.Null())


def _select(
    columns: Sequence[exp.Expr],
    source: exp.Expr,
    where: exp.Expr | None = None,
    limit: int | None = None,
) -> exp.Select:
    """SELECT columns FROM source [WHERE where] [LIMIT limit]."""
    query = exp.Select(expressions=list(columns), from_=exp.From(this=source))
    if where is not None:
        query.set("where", exp.Where(this=where))
    if limit is not None:
        query.set("limit", exp.Limit(expression=_one(limit)))
    return query


def _equal(key: Sequence[str], left: str, right: str) -> exp.Expr:
    return _all([_eq(column(c, left), column(c, right)) for c in key])


def differs(columns: Sequence[str], left: str, right: str) -> exp.Expr:
    """Whether any of `columns` differs between the rows `left` and `right` (NULL-safe).

    >>> render(differs(("a", "b"), "t", "s"), "postgres")
    't."a" IS DISTINCT FROM s."a" OR t."b" IS DISTINCT FROM s."b"'
    """
    return _any(
        [exp.NullSafeNEQ(this=column(c, left), expression=column(c, right)) for c in columns]
    )


def _count_if(condition: exp.Expr) -> exp.Expr:
    """COALESCE(SUM(CASE WHEN condition THEN 1 ELSE 0 END), 0): 0, not NULL, over no row."""
    case = exp.Case(ifs=[exp.If(this=condition, true=_one(1))], default=_one(0))
    return exp.Coalesce(this=exp.Sum(this=case), expressions=[_one(0)])


def drop_table(name: str, cascade: bool = False) -> exp.Drop:
    """DROP TABLE IF EXISTS (`cascade`: with the tables that inherit from it).

    >>> render(drop_table("stg.f_1"), "duckdb")
    'DROP TABLE IF EXISTS "stg"."f_1"'
    >>> render(drop_table("stg.f_1", cascade=True), "postgres")
    'DROP TABLE IF EXISTS "stg"."f_1" CASCADE'
    """
    return exp.Drop(tables=[table(name)], kind="TABLE", exists=True, cascade=cascade or None)


def no_rows(source: str, columns: Sequence[str] = ()) -> exp.Select:
    """The columns of `source` (all: `*`), no row.

    >>> render(no_rows("dw.f"), "postgres")
    'SELECT * FROM "dw"."f" WHERE FALSE'
    """
    selected: list[exp.Expr] = [column(c) for c in columns] or [exp.Star()]
    return _select(selected, table(source), where=exp.false())


def create_empty_like(
    name: str, like: str, columns: Sequence[str] = (), kind: str = "TABLE"
) -> exp.Create:
    """CREATE `kind` (the warehouse's `staging_table`: TABLE or UNLOGGED TABLE) name AS the
    columns of `like` (all: `*`), empty and without its keys.

    >>> render(create_empty_like("stg.f_1", "dw.f", kind="UNLOGGED TABLE"), "postgres")
    'CREATE UNLOGGED TABLE "stg"."f_1" AS SELECT * FROM "dw"."f" WHERE FALSE'
    """
    unlogged = kind.upper().startswith("UNLOGGED ")
    properties = exp.Properties(expressions=[exp.UnloggedProperty()]) if unlogged else None
    return exp.Create(
        this=table(name), kind="TABLE", expression=no_rows(like, columns), properties=properties
    )


def any_row(source: str, at_least: tuple[str, int] | None = None) -> exp.Select:
    """SELECT 1 ... LIMIT 1: whether `source` holds a row (whose column `at_least[0]` is at
    least `at_least[1]`).

    >>> render(any_row("dw.d", ("sk", 0)), "postgres")
    'SELECT 1 FROM "dw"."d" WHERE "sk" >= 0 LIMIT 1'
    """
    where = None
    if at_least is not None:
        where = exp.GTE(this=column(at_least[0]), expression=_one(at_least[1]))
    return _select([_one(1)], table(source), where=where, limit=1)


def highest(source: str, name: str) -> exp.Select:
    """The greatest value of column `name` in `source` (NULL when it holds no row).

    >>> render(highest("dw.d", "sk"), "postgres")
    'SELECT MAX("sk") FROM "dw"."d"'
    """
    return _select([exp.Max(this=column(name))], table(source))


def count_up_to(source: str, up_to: int) -> exp.Select:
    """The rows of `source`, counting no further than `up_to`.

    >>> render(count_up_to("dw.f", 10), "duckdb")
    'SELECT COUNT(*) FROM (SELECT 1 FROM "dw"."f" LIMIT 10) AS c'
    """
    inner = _select([_one(1)], table(source), limit=up_to)
    counted = exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier("c")))
    return _select([exp.Count(this=exp.Star())], counted)


def select_columns(source: str, columns: Sequence[str]) -> exp.Select:
    """The `columns` of every row of `source`.

    >>> render(select_columns("dw.d", ("nk", "sk")), "postgres")
    'SELECT "nk", "sk" FROM "dw"."d"'
    """
    return _select([column(c) for c in columns], table(source))


def key_rows(
    source: str, natural: str, sk: str, unknown: int, *, few: bool, listed: str | None = None
) -> exp.Query:
    """A dimension's natural key and sk: every row; or (`few`) the unknown member's row, the
    highest sk's, and (`listed`) those whose natural key is in column `key` of table `listed`
    (`Warehouse.fetch_polars_with` offers it).

    The listed keys' rows are a second SELECT under a UNION, not one more OR: PostgreSQL answers
    `... OR nk IN (SELECT ...)` by reading the whole dimension (250k customers: 45 ms, every
    lookup of every run), and each SELECT of the UNION by its index (under 1 ms). A row both
    parts find comes once: its natural key and sk are a row's own.

    >>> print(render(key_rows("dw.d", "nk", "sk", -1, few=True, listed="k"), "postgres"))
    SELECT "nk", "sk" FROM "dw"."d" WHERE "sk" = -1
    OR "sk" = (SELECT MAX("sk") FROM "dw"."d") UNION SELECT "nk", "sk" FROM "dw"."d"
    WHERE "nk" IN (SELECT "key" FROM "k")
    """
    columns = (natural,) if natural == sk else (natural, sk)
    query = select_columns(source, columns)
    if not few:
        return query
    top = exp.Subquery(this=highest(source, sk))
    ends = _any([_eq(column(sk), _one(unknown)), _eq(column(sk), top)])
    query.set("where", exp.Where(this=ends))
    if listed is None:
        return query
    wanted = exp.Subquery(this=select_columns(listed, (LISTED_KEY,)))
    by_key = _select(
        [column(c) for c in columns], table(source), exp.In(this=column(natural), query=wanted)
    )
    return exp.Union(this=query, expression=by_key, distinct=True)


#: the column of `key_rows`'s `listed` table
LISTED_KEY = "key"


def insert_select(
    target: str, source: str, columns: Sequence[str], order_by: Sequence[str] = ()
) -> exp.Insert:
    """INSERT INTO target (columns) SELECT columns FROM source [ORDER BY ...].

    >>> render(insert_select("dw.f", "stg.f_1", ("k", "v")), "postgres")
    'INSERT INTO "dw"."f" ("k", "v") SELECT "k", "v" FROM "stg"."f_1"'
    """
    query = select_columns(source, columns)
    if order_by:
        query.set("order", exp.Order(expressions=[exp.Ordered(this=column(c)) for c in order_by]))
    into = exp.Schema(
        this=table(target), expressions=[exp.to_identifier(c, quoted=True) for c in columns]
    )
    return exp.Insert(this=into, expression=query)


@lru_cache(maxsize=64)
def insert_by_name(target: str, source: str, dialect: str) -> str:
    """INSERT INTO target BY NAME SELECT * FROM source (DuckDB), rendered (cached: every batch
    loads through it).

    >>> insert_by_name("dw.f", "__load_1", "duckdb")
    'INSERT INTO "dw"."f" BY NAME SELECT * FROM "__load_1"'
    """
    query = _select([exp.Star()], table(source))
    return render(exp.Insert(this=table(target), expression=query, by_name=True), dialect)


def merge(
    target: str,
    source: str,
    columns: Sequence[str],
    key: Sequence[str],
    compared: Sequence[str],
    updated: Sequence[str],
) -> exp.Merge:
    """MERGE of `source` (alias s) into `target` (alias t) by `key`: a row whose `compared`
    columns differ gets its `updated` columns set; a new row goes in.

    >>> print(render(merge("dw.f", "stg.f_1", ("k", "v"), ("k",), ("v",), ("v",)), "postgres"))
    MERGE INTO "dw"."f" AS t USING "stg"."f_1" AS s ON t."k" = s."k"
    WHEN MATCHED AND t."v" IS DISTINCT FROM s."v" THEN UPDATE SET "v" = s."v"
    WHEN NOT MATCHED THEN INSERT ("k", "v") VALUES (s."k", s."v")
    """
    sets = [_eq(column(c), column(c, "s")) for c in updated]
    matched = exp.When(
        matched=True,
        condition=_paren(differs(compared, "t", "s")),
        then=exp.Update(expressions=sets),
    )
    new = exp.When(
        matched=False,
        then=exp.Insert(
            this=exp.Tuple(expressions=[column(c) for c in columns]),
            expression=exp.Tuple(expressions=[column(c, "s") for c in columns]),
        ),
    )
    return exp.Merge(
        this=table(target, "t"),
        using=table(source, "s"),
        on=_equal(key, "t", "s"),
        whens=exp.Whens(expressions=[matched, new]),
    )


def upsert(
    target: str,
    source: str,
    columns: Sequence[str],
    key: Sequence[str],
    compared: Sequence[str],
    updated: Sequence[str],
) -> exp.Insert:
    """The same as `merge`, as INSERT ... SELECT ... ORDER BY key ON CONFLICT (key) DO UPDATE
    ... WHERE the row differs (DO NOTHING when nothing is compared); needs a unique `key`.

    >>> print(render(upsert("dw.f", "stg.f_1", ("k", "v"), ("k",), ("v",), ("v",)), "postgres"))
    INSERT INTO "dw"."f" AS t ("k", "v") SELECT "k", "v" FROM "stg"."f_1" ORDER BY "k"
    ON CONFLICT("k") DO UPDATE SET "v" = EXCLUDED."v"
    WHERE (t."v") IS DISTINCT FROM (EXCLUDED."v")
    """
    statement = insert_select(target, source, columns, order_by=key)
    statement.this.set("this", table(target, "t"))
    keys = [column(c) for c in key]
    if not compared:
        conflict = exp.OnConflict(conflict_keys=keys, action=exp.var("DO NOTHING"))
    else:
        mine = exp.Tuple(expressions=[column(c, "t") for c in compared])
        staged = exp.Tuple(expressions=[column(c, "EXCLUDED") for c in compared])
        conflict = exp.OnConflict(
            conflict_keys=keys,
            action=exp.var("DO UPDATE"),
            expressions=[_eq(column(c), column(c, "EXCLUDED")) for c in updated],
            where=exp.Where(this=exp.NullSafeNEQ(this=mine, expression=staged)),
        )
    statement.set("conflict", conflict)
    return statement


def change_counts(
    target: str, source: str, key: Sequence[str], compared: Sequence[str]
) -> exp.Select:
    """The rows of `source` (alias s): all, new to `target` (alias t), changed; then, per
    `compared` column, the rows that change it.

    >>> print(render(change_counts("dw.f", "stg.f_1", ("k",), ("v",)), "duckdb"))
    SELECT COUNT(*), COALESCE(SUM(CASE WHEN t."k" IS NULL THEN 1 ELSE 0 END), 0), ...
    FROM "stg"."f_1" AS s LEFT JOIN "dw"."f" AS t ON t."k" = s."k"
    """

    def found() -> exp.Expr:
        return exp.Not(this=_is_null(column(key[0], "t")))

    counts = [
        exp.Count(this=exp.Star()),
        _count_if(_is_null(column(key[0], "t"))),
        _count_if(_all([found(), differs(compared, "t", "s")])),
        *(_count_if(_all([found(), differs((c,), "t", "s")])) for c in compared),
    ]
    query = _select(counts, table(source, "s"))
    join = exp.Join(this=table(target, "t"), side="LEFT", on=_equal(key, "t", "s"))
    query.set("joins", [join])
    return query


def _exists(source: str, alias: str, condition: exp.Expr) -> exp.Exists:
    return exp.Exists(this=_select([_one(1)], table(source, alias), where=condition))


def withdrawn(keys: str, key: Sequence[str], loaded: str | None, surrogate: str | None) -> exp.Expr:
    """The target rows (alias t) whose key is in `keys` and not in `loaded`, never an unknown
    member (a negative `surrogate` key).

    >>> render(withdrawn("stg.w_1", ("k",), None, None), "postgres")
    'EXISTS(SELECT 1 FROM "stg"."w_1" AS w WHERE w."k" = t."k")'
    """
    conditions: list[exp.Expr] = [_exists(keys, "w", _equal(key, "w", "t"))]
    if loaded:
        conditions.append(exp.Not(this=_exists(loaded, "s", _equal(key, "s", "t"))))
    if surrogate:
        conditions.append(exp.GTE(this=column(surrogate, "t"), expression=_one(0)))
    return _all(conditions)


def referenced(references: Sequence[tuple[str, str]], surrogate: str) -> exp.Expr:
    """Whether a row of `references` (table, column) refers to the target row (alias t).

    >>> render(referenced((("dw.f", "sk_d"),), "sk"), "duckdb")
    'EXISTS(SELECT 1 FROM "dw"."f" AS f WHERE f."sk_d" = t."sk")'
    """
    return _any(
        [
            _exists(source, "f", _eq(column(c, "f"), column(surrogate, "t")))
            for source, c in references
        ]
    )


def count_where(target: str, condition: exp.Expr) -> exp.Select:
    """SELECT COUNT(*), 0 FROM target AS t WHERE condition.

    >>> render(count_where("dw.f", exp.true()), "postgres")
    'SELECT COUNT(*), 0 FROM "dw"."f" AS t WHERE TRUE'
    """
    return _select([exp.Count(this=exp.Star()), _one(0)], table(target, "t"), where=condition)


def count_split(target: str, condition: exp.Expr, kept: exp.Expr, flag: str) -> exp.Select:
    """Of the target rows (alias t) meeting `condition`: those not `kept`, and those `kept`
    whose column `flag` is false.

    >>> print(render(count_split("dw.d", exp.true(), exp.false(), "inf"), "postgres"))
    SELECT COALESCE(SUM(CASE WHEN FALSE THEN 0 ELSE 1 END), 0),
    COALESCE(SUM(CASE WHEN FALSE AND NOT t."inf" THEN 1 ELSE 0 END), 0)
    FROM "dw"."d" AS t WHERE TRUE
    """
    dropped = exp.Case(ifs=[exp.If(this=kept, true=_one(0))], default=_one(1))
    counts = [
        exp.Coalesce(this=exp.Sum(this=dropped), expressions=[_one(0)]),
        _count_if(_all([kept.copy(), exp.Not(this=column(flag, "t"))])),
    ]
    return _select(counts, table(target, "t"), where=condition)


def delete_where(target: str, condition: exp.Expr) -> exp.Delete:
    """DELETE FROM target AS t WHERE condition.

    >>> render(delete_where("dw.f", exp.true()), "duckdb")
    'DELETE FROM "dw"."f" AS t WHERE TRUE'
    """
    return exp.Delete(this=table(target, "t"), where=exp.Where(this=condition))


def update_where(
    target: str, sets: Sequence[tuple[str, exp.Expr]], condition: exp.Expr
) -> exp.Update:
    """UPDATE target AS t SET column = value, ... WHERE condition.

    >>> render(update_where("dw.d", (("a", exp.Placeholder()),), exp.true()), "postgres")
    'UPDATE "dw"."d" AS t SET "a" = %s WHERE TRUE'
    """
    return exp.Update(
        this=table(target, "t"),
        expressions=[exp.EQ(this=column(c), expression=value) for c, value in sets],
        where=exp.Where(this=condition),
    )


def update_from(
    target: str,
    source: str,
    sets: Sequence[tuple[str, exp.Expr]],
    condition: exp.Expr,
) -> exp.Update:
    """UPDATE target AS r SET ... FROM source AS s WHERE condition.

    >>> render(update_from("ctl.r", "stg.r", (("a", column("a", "s")),), exp.true()), "duckdb")
    'UPDATE "ctl"."r" AS r SET "a" = s."a" FROM "stg"."r" AS s WHERE TRUE'
    """
    return exp.Update(
        this=table(target, "r"),
        expressions=[exp.EQ(this=column(c), expression=value) for c, value in sets],
        from_=exp.From(this=table(source, "s")),
        where=exp.Where(this=condition),
    )


def insert_missing(
    target: str, source: str, columns: Sequence[str], condition: exp.Expr
) -> exp.Insert:
    """INSERT INTO target (columns) SELECT columns FROM source AS s WHERE condition.

    >>> render(insert_missing("ctl.r", "stg.r", ("a",), exp.true()), "postgres")
    'INSERT INTO "ctl"."r" ("a") SELECT "a" FROM "stg"."r" AS s WHERE TRUE'
    """
    query = _select([column(c) for c in columns], table(source, "s"), where=condition)
    into = exp.Schema(
        this=table(target), expressions=[exp.to_identifier(c, quoted=True) for c in columns]
    )
    return exp.Insert(this=into, expression=query)


def key_text(key: Sequence[str], of: str) -> exp.Expr:
    """A row's key as one text: its columns cast to TEXT, joined by `|`.

    >>> render(key_text(("a", "b"), "s"), "duckdb")
    'CAST(s."a" AS TEXT) || \\'|\\' || CAST(s."b" AS TEXT)'
    """
    text_type = exp.DataType(this=exp.DataType.Type.TEXT)
    parts = [exp.Cast(this=column(c, of), to=text_type.copy()) for c in key]
    text: exp.Expr = parts[0]
    for part in parts[1:]:
        text = exp.DPipe(
            this=exp.DPipe(this=text, expression=exp.Literal.string("|")), expression=part
        )
    return text
