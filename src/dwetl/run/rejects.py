"""Quarantine: rejected rows into `ctl.etl_reject`, one open reject per (entity, natural key).

A run that reads a key still broken updates the key's open reject (its reasons and row become
this run's, `run_id` the run that last read it, `times_seen` + 1) instead of adding another; a
run that loads the key closes it (`resolved_run_id`). Every write happens in the entity's
transaction, under its lock, so that two runs of one entity never both add the key.

A failed entity's rejected rows are kept as well, with `applied` FALSE, in a transaction of
their own after the entity's rolled back (`write_blocked`): they show what to fix, but never
reached the quarantine, so they are no open reject of their key. The entity's next committed
run, or its next failure that blocks rows, closes them.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from sqlglot import exp

from dwetl.core.queries import named_queries
from dwetl.run.control import now
from dwetl.run.merge import LINEAGE
from dwetl.warehouse import statements as st
from dwetl.warehouse.base import Warehouse

REASONS = "reasons"
#: the columns a run writes (the others take their defaults: open, not resolved)
COLUMNS = (
    "reject_id",
    "run_id",
    "entity",
    "source_key",
    "reasons",
    "row_json",
    "rejected_at",
    "first_run_id",
    "times_seen",
    "applied",
)


def _q(name: str) -> str:
    return named_queries("run/control.sql")[name]


#: optional columns of a rejected frame: the row's JSON and source key where they are not the
#: row's own columns (a value that did not fit its type: `type_rejects`); NULL: computed
ROW_JSON = "__dwetl_row_json"
SOURCE_KEY = "__dwetl_source_key"
SOURCE_KEY_LENGTH = 200  # ctl.etl_reject.source_key VARCHAR(200)


def source_key(key: Sequence[str]) -> pl.Expr:
    """The natural key as one text value ("7", or "2026|3|7" for a compound key)."""
    return pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator="|")


def reject_rows(
    rejected: pl.DataFrame,
    key: Sequence[str],
    *,
    run_id: int,
    entity: str,
    first_id: int,
    applied: bool = True,
) -> pl.DataFrame:
    """The `ctl.etl_reject` rows of a `split` result (`reasons` column: list of names): one per
    key, the last row of a key that the frame holds more than once (a row without a key cannot
    be told from another: each is its own). A row's `ROW_JSON` and `SOURCE_KEY`, where set,
    are its JSON and key (a value that did not fit its type: `type_rejects`). The JSON leaves
    out the lineage column, which names the run (the reject's `run_id` does): a broken row read
    again as it was has the same JSON, and its reject keeps its text (`upsert_sql`)."""
    row = [c for c in rejected.columns if c not in (REASONS, ROW_JSON, SOURCE_KEY, LINEAGE)]
    row_json = pl.struct(row).struct.json_encode()
    key_text = source_key(key)
    if ROW_JSON in rejected.columns:
        row_json = pl.coalesce(pl.col(ROW_JSON), row_json)
    if SOURCE_KEY in rejected.columns:
        key_text = pl.coalesce(pl.col(SOURCE_KEY), key_text)
    rows = rejected.select(
        pl.lit(run_id, dtype=pl.Int64).alias("run_id"),
        pl.lit(entity).alias("entity"),
        key_text.alias("source_key"),
        # A JSON list: encode {"reasons": [...]} and keep the list part.
        pl.struct(REASONS)
        .struct.json_encode()
        .str.strip_prefix('{"reasons":')
        .str.strip_suffix("}")
        .alias("reasons"),
        row_json.alias("row_json"),
        pl.lit(now()).alias("rejected_at"),
        pl.lit(run_id, dtype=pl.Int64).alias("first_run_id"),
        pl.lit(1, dtype=pl.Int32).alias("times_seen"),
        pl.lit(applied).alias("applied"),
    ).filter(pl.col("source_key").is_null() | pl.col("source_key").is_last_distinct())
    return rows.select(
        (pl.int_range(pl.len(), dtype=pl.Int64) + first_id).alias("reject_id"), pl.all()
    ).select(COLUMNS)


def already_open(wh: Warehouse, rejected: pl.DataFrame, key: Sequence[str], *, entity: str) -> int:
    """How many of the `rejected` rows have a key already open in the quarantine (a re-read)."""
    if not rejected.height or not wh.fetchall(_q("open_reject_of_entity"), [entity]):
        return 0
    keys = reject_rows(rejected, key, run_id=0, entity=entity, first_id=0).get_column("source_key")
    open_keys = pl.Series(
        [k for (k,) in wh.fetchall(_q("open_reject_keys"), [entity])], dtype=pl.String
    )
    return int(keys.is_in(open_keys.implode()).sum())


def write_rejects(
    wh: Warehouse, rejected: pl.DataFrame, key: Sequence[str], *, run_id: int, entity: str
) -> None:
    """Quarantine the rejected rows (inside the entity's transaction): a key with an open
    reject has it updated, any other gets one."""
    if not rejected.height:
        return
    rows = _numbered(wh, rejected, key, run_id=run_id, entity=entity, applied=True)
    if not wh.fetchall(_q("open_reject_of_entity"), [entity]):
        wh.load_arrow("ctl.etl_reject", rows.to_arrow())  # no key to update: a plain append
        return
    staging = f"stg.etl_reject_{run_id}"
    dialect = wh.sqlglot_dialect
    wh.execute(st.render(st.drop_table(staging), dialect))
    create = st.create_empty_like(staging, REJECTS, COLUMNS, wh.staging_table)
    wh.execute(st.render(create, dialect))
    wh.load_arrow(staging, rows.to_arrow())
    for sql in upsert_sql(staging, dialect):
        wh.execute(sql)
    wh.execute(st.render(st.drop_table(staging), dialect))


#: the quarantine table
REJECTS = "ctl.etl_reject"


def _open_reject_of(staged: str) -> exp.Expr:
    """The open, applied reject (alias r) of the staged row's (alias `staged`) key."""
    return exp.and_(
        st.column("entity", "r").eq(st.column("entity", staged)),
        st.column("source_key", "r").eq(st.column("source_key", staged)),
        st.column("resolved_run_id", "r").is_(exp.null()),
        st.column("applied", "r"),
        copy=False,
    )


def upsert_sql(staging: str, dialect: str = "postgres") -> tuple[str, str, str]:
    """The UPDATEs of the open rejects whose key is in `staging` (the run that read it, when,
    how many times; then its reasons and row, only where they changed), then the INSERT of the
    keys that had none (a row without a key always goes in).

    The text is set apart because DuckDB rewrites, at its checkpoint, every column an UPDATE
    sets in each row group it touches: setting `row_json` of the one row a run reads broken
    again rewrote 48 MB of its neighbours' JSON (0.3 s of a run with nothing changed, at 20M
    order items; docs/decisions/0021).

    >>> for sql in upsert_sql("stg.r")[:2]:  # doctest: +NORMALIZE_WHITESPACE
    ...     print(sql)
    UPDATE "ctl"."etl_reject" AS r SET "run_id" = s."run_id", "rejected_at" = s."rejected_at",
    "times_seen" = r."times_seen" + 1 FROM "stg"."r" AS s
    WHERE r."entity" = s."entity" AND r."source_key" = s."source_key"
    AND r."resolved_run_id" IS NULL AND r."applied"
    UPDATE "ctl"."etl_reject" AS r SET "reasons" = s."reasons", "row_json" = s."row_json"
    FROM "stg"."r" AS s WHERE (r."entity" = s."entity" AND r."source_key" = s."source_key"
    AND r."resolved_run_id" IS NULL AND r."applied")
    AND (r."reasons" IS DISTINCT FROM s."reasons" OR r."row_json" IS DISTINCT FROM s."row_json")
    """
    seen: list[tuple[str, exp.Expr]] = [(c, st.column(c, "s")) for c in ("run_id", "rejected_at")]
    seen.append(
        ("times_seen", exp.Add(this=st.column("times_seen", "r"), expression=exp.Literal.number(1)))
    )
    texts = ("reasons", "row_json")
    changed = exp.and_(
        _open_reject_of("s"), exp.Paren(this=st.differs(texts, "r", "s")), copy=False
    )
    restated = [(c, st.column(c, "s")) for c in texts]
    update_seen = st.update_from(REJECTS, staging, seen, _open_reject_of("s"))
    update_texts = st.update_from(REJECTS, staging, restated, changed)
    has_none = exp.Exists(
        this=exp.select(exp.Literal.number(1))
        .from_(st.table(REJECTS, "r"))
        .where(_open_reject_of("s"))
    ).not_()
    keyless = st.column("source_key", "s").is_(exp.null())
    insert = st.insert_missing(REJECTS, staging, COLUMNS, exp.or_(keyless, has_none, copy=False))
    return (
        st.render(update_seen, dialect),
        st.render(update_texts, dialect),
        st.render(insert, dialect),
    )


def write_blocked(
    wh: Warehouse, rejected: pl.DataFrame, key: Sequence[str], *, run_id: int, entity: str
) -> None:
    """Keep a failed entity's rejected rows, not applied (in a transaction of the caller's,
    after the entity's rolled back): they replace the entity's earlier blocked rows, which
    this failure supersedes."""
    if not rejected.height:
        return
    close_blocked(wh, entity, run_id=run_id)
    rows = _numbered(wh, rejected, key, run_id=run_id, entity=entity, applied=False)
    wh.load_arrow("ctl.etl_reject", rows.to_arrow())


def close_blocked(wh: Warehouse, entity: str, *, run_id: int) -> None:
    """Close the entity's blocked rows of earlier runs: a run that committed (or blocked rows
    of its own) supersedes them."""
    wh.execute(_q("close_blocked"), [run_id, now(), entity, run_id])


def _numbered(
    wh: Warehouse,
    rejected: pl.DataFrame,
    key: Sequence[str],
    *,
    run_id: int,
    entity: str,
    applied: bool,
) -> pl.DataFrame:
    (first_id,), *_ = wh.fetchall(_q("next_reject_id"))
    return reject_rows(
        rejected, key, run_id=run_id, entity=entity, first_id=int(first_id), applied=applied
    )


#: dialect -> up to how many loaded keys `resolve_rejects` gives the open rejects' index the keys
#: themselves (`= ANY(ARRAY(...))`: one probe of sql/ddl/009's index per key), rather than a
#: join that reads every open reject of the entity (356,000 of fact_vendas at 20M items: 0.25 s
#: in every run, whatever it loaded). Past it, and on DuckDB (no index there), the join.
RESOLVE_BY_KEY_UP_TO = {"postgresql": 10_000}


def resolve_rejects(
    wh: Warehouse,
    loaded: str,
    key: Sequence[str],
    *,
    run_id: int,
    entity: str,
    loaded_rows: int | None = None,
) -> None:
    """Mark this entity's open rejects whose key has now loaded (is in the table `loaded`: the
    staging table, or the target a first load went straight into) as resolved, and close its
    blocked rows of earlier runs (this run committed). `loaded_rows`: how many rows `loaded`
    holds, where the caller knows (few are looked up by key: `RESOLVE_BY_KEY_UP_TO`)."""
    (blocked, open_), *_ = wh.fetchall(_q("reject_state"), [entity, run_id] * 2)
    if blocked:
        close_blocked(wh, entity, run_id=run_id)
    if not open_:
        return  # nothing open to resolve: no need to read every loaded key
    params = [run_id, now(), entity, run_id]
    by_key_up_to = RESOLVE_BY_KEY_UP_TO.get(wh.dialect)
    if by_key_up_to is not None and loaded_rows is not None and loaded_rows <= by_key_up_to:
        wh.execute(resolve_sql(loaded, key, wh.sqlglot_dialect, by_key=True), params)
        return
    with wh.without_nested_loops():  # the open rejects' statistics may be long out of date
        wh.execute(resolve_sql(loaded, key, wh.sqlglot_dialect), params)


def resolve_sql(
    loaded: str, key: Sequence[str], dialect: str = "postgres", *, by_key: bool = False
) -> str:
    """The UPDATE resolving the open rejects whose key is in `loaded`; parameters: run id,
    time, entity, run id (a key this run rejected again is not resolved: its reject is this
    run's now). `by_key`: the loaded keys as one array the index is probed with.

    >>> print(resolve_sql("stg.f_1", ("a", "b")))  # doctest: +NORMALIZE_WHITESPACE
    UPDATE "ctl"."etl_reject" AS t SET "resolved_run_id" = %s, "resolved_at" = %s
    WHERE t."entity" = %s AND t."resolved_run_id" IS NULL AND t."applied"
    AND t."run_id" <> %s AND t."source_key" IN
    (SELECT CAST(s."a" AS TEXT) || '|' || CAST(s."b" AS TEXT) FROM "stg"."f_1" AS s)
    >>> print(resolve_sql("stg.f_1", ("a",), by_key=True))  # doctest: +NORMALIZE_WHITESPACE
    UPDATE "ctl"."etl_reject" AS t SET "resolved_run_id" = %s, "resolved_at" = %s
    WHERE t."entity" = %s AND t."resolved_run_id" IS NULL AND t."applied"
    AND t."run_id" <> %s AND t."source_key" = ANY(ARRAY(SELECT CAST(s."a" AS TEXT)
    FROM "stg"."f_1" AS s))
    """
    return st.rendered(_resolve, (st.STAND_IN, tuple(key), by_key), loaded, dialect)


def _resolve(loaded: str, key: tuple[str, ...], by_key: bool) -> exp.Update:
    loaded_keys = exp.select(st.key_text(key, "s")).from_(st.table(loaded, "s"))
    source_key = st.column("source_key", "t")
    if by_key:
        array = exp.Paren(this=exp.Array(expressions=[loaded_keys]))
        among: exp.Expr = exp.EQ(this=source_key, expression=exp.Any(this=array))
    else:
        among = source_key.isin(query=loaded_keys)
    condition = exp.and_(
        st.column("entity", "t").eq(exp.Placeholder()),
        st.column("resolved_run_id", "t").is_(exp.null()),
        st.column("applied", "t"),
        st.column("run_id", "t").neq(exp.Placeholder()),
        among,
        copy=False,
    )
    sets = [("resolved_run_id", exp.Placeholder()), ("resolved_at", exp.Placeholder())]
    return st.update_where(REJECTS, sets, condition)
