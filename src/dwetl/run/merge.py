"""Staging and merge: a run-private `stg` table, then one MERGE by natural key.

A row is rewritten only when one of its compared columns IS DISTINCT FROM the staged value;
the key columns, the surrogate key (stable, SCD type 1) and the lineage column `id_execucao`
are never compared, so re-reading an unchanged row leaves it (and its lineage) as it was.
The statements are built with sqlglot (`dwetl.warehouse.statements`), identifiers quoted, and
rendered in the warehouse's dialect once per load (those that read the run-private staging table
once per process: `statements.rendered`).

A first load (the target is empty, or a dimension holds only the unknown member `dwetl init`
seeds: a fresh warehouse, a full reload into one) skips all of that: every row is an insert,
so the batch goes straight into the target, with the target's foreign keys (and other keys and
indexes) deferred where the warehouse can drop and re-create them — the batch was validated
against all of them before loading (`transforms.validate`).

A large entity loaded in batches (`dwetl.run.entity`) into an empty PostgreSQL target appends
each batch straight to the target (`append(..., into=plan.target)`) in one transaction; else it
appends each batch to the staging table, committed batch by batch so that its rows leave
memory, and `settle` then merges them like any staged rows, or moves them into an empty target:
where the warehouse can (`Warehouse.table_swap`, DuckDB), the batches went into a twin of the
target, which takes the target's place; else with one INSERT ... SELECT.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

import polars as pl
from sqlglot import exp

from dwetl.warehouse import statements as st
from dwetl.warehouse.base import Warehouse

log = logging.getLogger(__name__)

LINEAGE = "id_execucao"
#: the schema of the run-private staging tables
STAGING_SCHEMA = "stg"


@dataclass(frozen=True)
class MergePlan:
    """Which columns play which part in one target's merge."""

    target: str  # "dw.dim_cliente"
    staging: str  # "stg.dim_cliente_42"
    columns: tuple[str, ...]  # every target column, in the target's order
    key: tuple[str, ...]  # natural key: the MERGE condition
    fixed: tuple[str, ...] = ()  # never updated once inserted (the surrogate key)
    #: compared columns that no staged row changes (`MergeCounts.changed` told): an update
    #: leaves them out. DuckDB rewrites every column an UPDATE sets, a VARCHAR dearly
    #: (docs/decisions/0007-merge-vs-upsert.md)
    kept: tuple[str, ...] = ()

    @property
    def compared(self) -> tuple[str, ...]:
        """Columns whose change makes a row "updated"."""
        skip = {*self.key, *self.fixed, LINEAGE}
        return tuple(c for c in self.columns if c not in skip)

    @property
    def updated_columns(self) -> tuple[str, ...]:
        """Columns an update writes: the compared ones (but those `kept`) and the lineage."""
        return tuple(c for c in self.columns if c not in {*self.key, *self.fixed, *self.kept})


@dataclass(frozen=True)
class MergeCounts:
    """What a merge did (or, in a dry run, would do)."""

    inserted: int
    updated: int
    unchanged: int
    #: the compared columns in which some staged row differs from its target row, where the
    #: counting join told them (not part of what a merge did: equality ignores it)
    changed: tuple[str, ...] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Landed:
    """Where the load phase put a batch: the staging table, or straight into the target."""

    plan: MergePlan
    rows: int
    #: into the target, which was empty (but for its unknown members): every row inserted,
    #: nothing to merge
    direct: bool
    #: the target held no row when the rows landed (always so when `direct`, but for the
    #: unknown members)
    into_empty: bool = False
    #: the statements that put the staging table, the target's twin, in the empty target's
    #: place (`Warehouse.table_swap`): how `settle` moves its rows, where there are any
    swap: tuple[str, ...] = ()

    @property
    def loaded(self) -> str:
        """The table holding the batch's rows (for resolving earlier rejects of their keys): the
        staging table, or after a direct load (or a swap) the target, which held nothing else
        (but the unknown members, whose key -1 no source row has)."""
        return self.plan.target if self.direct or self.swap else self.plan.staging


def twin_name(target: str, run_id: int) -> str:
    """The run-private twin of an empty target that batches go into (`Warehouse.table_swap`):
    in the target's schema, which the twin is renamed into.

    >>> twin_name("dw.fact_vendas", 42)
    'dw.fact_vendas__loading_42'
    """
    return f"{target}__loading_{run_id}"


def staging_name(entity: str, run_id: int) -> str:
    """The run-private staging table of an entity.

    >>> staging_name("dim_cliente", 42)
    'stg.dim_cliente_42'
    """
    return f"stg.{entity}_{run_id}"


def target_schema(wh: Warehouse, target: str) -> pl.Schema:
    """The target table's columns and their Polars types, read from the warehouse."""
    return wh.fetch_polars(
        st.rendered(st.no_rows, (st.STAND_IN,), target, wh.sqlglot_dialect)
    ).schema


def run_statement(wh: Warehouse, statement: exp.Expr) -> None:
    """Render `statement` in the warehouse's dialect and run it."""
    wh.execute(st.render(statement, wh.sqlglot_dialect))


def create_staging_sql(
    plan: MergePlan, kind: str = "TABLE", dialect: str = "postgres"
) -> tuple[str, str]:
    """The statements that (re)create the staging table like the target, empty and without
    its constraints; `kind`: the warehouse's `staging_table`.

    >>> create_staging_sql(MergePlan("dw.f", "stg.f_1", ("k",), ("k",)), "UNLOGGED TABLE")[1]
    'CREATE UNLOGGED TABLE "stg"."f_1" AS SELECT * FROM "dw"."f" WHERE FALSE'
    """
    return (
        st.rendered(st.drop_table, (st.STAND_IN,), plan.staging, dialect),
        st.rendered(
            st.create_empty_like, (st.STAND_IN, plan.target, (), kind), plan.staging, dialect
        ),
    )


def create_staging(wh: Warehouse, plan: MergePlan) -> None:
    """Create the staging table like the target, without its constraints (empty)."""
    for sql in create_staging_sql(plan, wh.staging_table, wh.sqlglot_dialect):
        wh.execute(sql)


def append(wh: Warehouse, plan: MergePlan, frame: pl.DataFrame, into: str | None = None) -> None:
    """Bulk-load `frame` (the target's columns, any order) into the staging table, or `into`
    another table of the same columns (the target itself, on a first load)."""
    if frame.height:
        wh.load_arrow(into or plan.staging, frame.select(plan.columns).to_arrow())


def create_batch_staging(
    wh: Warehouse, plan: MergePlan, run_id: int
) -> tuple[MergePlan, tuple[str, ...]]:
    """Create the table that an entity's batches are appended to: into an empty target, where
    the warehouse can swap tables, the target's twin (returned as the plan's staging table, with
    the statements that swap it in); else the staging table (and no statements)."""
    if is_empty(wh, plan.target):
        twin = twin_name(plan.target, run_id)
        swap = wh.table_swap(plan.target, twin)
        if swap is not None:
            run_statement(wh, st.drop_table(twin))
            for sql in swap.create:
                wh.execute(sql)
            return replace(plan, staging=twin), swap.swap
    create_staging(wh, plan)
    return plan, ()


def stage(wh: Warehouse, plan: MergePlan, frame: pl.DataFrame) -> None:
    """Create the staging table like the target (no constraints) and bulk-load `frame` into it."""
    create_staging(wh, plan)
    append(wh, plan, frame)


def drop_staging(wh: Warehouse, plan: MergePlan) -> None:
    """Drop the staging table, with the tables that inherit from it (under the Spark engine on
    PostgreSQL, those its tasks COPYed into: `dwetl.run.spark.pg_staging`)."""
    drop = st.rendered(st.drop_table, (st.STAND_IN, True), plan.staging, wh.sqlglot_dialect)
    wh.execute(drop)


def leftover_patterns(entity: str, target: str) -> dict[str, re.Pattern[str]]:
    """By schema, the names a staging table of `entity` (or a table a Spark task attempt
    COPYed into: `pg_staging.attempt_table`), or a twin of its `target`, has.

    >>> sorted(n for n in ("f_42", "f_42_b3_t17", "f_withdrawn_42", "f_x")
    ...        if leftover_patterns("f", "dw.f")["stg"].fullmatch(n))
    ['f_42', 'f_42_b3_t17']
    """
    schema, _, table = target.rpartition(".")
    return {
        STAGING_SCHEMA: re.compile(rf"{re.escape(entity)}_\d+(_b\d+_t\d+)?", re.IGNORECASE),
        schema: re.compile(rf"{re.escape(table)}__loading_\d+", re.IGNORECASE),
    }


def tables_in(wh: Warehouse, schemas: Sequence[str]) -> frozenset[tuple[str, str]]:
    """(schema, table) of every table in `schemas` of the warehouse's own database."""
    rows = wh.fetchall(
        "SELECT DISTINCT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema = ANY(%s) AND table_catalog = current_database()",
        [list(schemas)],
    )
    return frozenset((str(where), str(name)) for where, name in rows)


def drop_leftover_staging(
    wh: Warehouse, entity: str, target: str, seen: frozenset[tuple[str, str]] | None = None
) -> list[str]:
    """Drop the staging tables of `entity`, and twins of its `target`, that earlier runs left
    (a run killed while it staged batches: those commit batch by batch); call it holding the
    entity's lock, so that no other run is using one. Returns the tables dropped.

    `seen`: the tables `tables_in` listed when this run started (one catalog query per run, not
    one per entity); where it holds no leftover of the entity, the catalog is not asked again. A
    table a concurrent run creates after that listing and leaves, killed, is then the next
    run's to drop."""
    leftover = leftover_patterns(entity, target)

    def matching(tables: frozenset[tuple[str, str]]) -> list[str]:
        return sorted(
            f"{where}.{name}"
            for where, name in tables
            if (pattern := leftover.get(where)) and pattern.fullmatch(name)
        )

    if seen is not None and not matching(seen):
        return []
    left = matching(tables_in(wh, list(leftover)))
    for table in left:
        log.warning("dropping %s, the staging table an earlier run of %s left", table, entity)
        run_statement(wh, st.drop_table(table, cascade=True))
    return left


def is_empty(wh: Warehouse, table: str) -> bool:
    """True when `table` holds no row."""
    return not wh.fetchall(st.render(st.any_row(table), wh.sqlglot_dialect))


def holds_only_unknown_members(wh: Warehouse, plan: MergePlan) -> bool:
    """True when the target holds no row but the unknown members `dwetl init` seeds (a negative
    surrogate key): what a dimension's first load finds. A table without a surrogate key: when
    it is empty."""
    if not plan.fixed:
        return is_empty(wh, plan.target)
    query = st.any_row(plan.target, at_least=(plan.fixed[0], 0))
    return not wh.fetchall(st.render(query, wh.sqlglot_dialect))


def _first_load(wh: Warehouse, plan: MergePlan, frame: pl.DataFrame) -> bool:
    """Whether `frame` goes straight into the target: it holds no row but the unknown members,
    and `frame` holds none of them (a source key equal to one's updates it: a merge)."""
    if not holds_only_unknown_members(wh, plan):
        return False
    return not plan.fixed or not frame.height or not frame.get_column(plan.fixed[0]).lt(0).any()


def land(wh: Warehouse, plan: MergePlan, frame: pl.DataFrame, *, apply: bool = True) -> Landed:
    """The load phase: into an empty target (or one holding only its unknown members) directly
    (unless `apply` is False: a dry run writes nothing), its keys deferred where the warehouse
    can; into the staging table otherwise."""
    if _first_load(wh, plan, frame):
        log.debug("%s is empty: the batch goes straight into it", plan.target)
        if apply and frame.height:
            with wh.constraints_deferred(plan.target, empty=True):
                append(wh, plan, frame, into=plan.target)
        return Landed(plan, frame.height, direct=True, into_empty=True)
    stage(wh, plan, frame)
    return Landed(plan, frame.height, direct=False)


def staged(wh: Warehouse, plan: MergePlan, rows: int, swap: tuple[str, ...] = ()) -> Landed:
    """Rows appended batch by batch (`append`) to the table `create_batch_staging` made, as
    `settle` takes them (`swap`: the statements it returned)."""
    if swap:
        return Landed(plan, rows, direct=False, into_empty=True, swap=swap)
    return Landed(plan, rows, direct=False, into_empty=is_empty(wh, plan.target))


def settle(wh: Warehouse, landed: Landed, *, apply: bool = True) -> MergeCounts:
    """The merge phase: a direct load's counts (all inserted); staged rows (unless `apply` is
    False) moved into an empty target (rows staged batch by batch) by swapping the twin they went
    into for it, or with one INSERT ... SELECT, its keys deferred where the warehouse can; else
    `merge` of the staged rows."""
    if landed.direct:
        return MergeCounts(landed.rows, 0, 0)
    if landed.into_empty:
        if apply and landed.rows:
            if landed.swap:
                for sql in landed.swap:
                    wh.execute(sql)
            else:
                with wh.constraints_deferred(landed.plan.target, empty=True):
                    wh.execute(insert_sql(landed.plan, wh.sqlglot_dialect))
        return MergeCounts(landed.rows, 0, 0)
    return merge(wh, landed.plan, apply=apply, staged=landed.rows)


def clean_up(wh: Warehouse, landed: Landed) -> None:
    """Drop the staging table, if the batch was staged."""
    if not landed.direct:
        drop_staging(wh, landed.plan)


def count_sql(plan: MergePlan, dialect: str = "postgres") -> str:
    """The query counting the staged rows: all, new, and changed ones; then, per compared
    column, the staged rows that change it."""
    args = (plan.target, st.STAND_IN, plan.key, plan.compared)
    return st.rendered(st.change_counts, args, plan.staging, dialect)


def count_changes(wh: Warehouse, plan: MergePlan) -> MergeCounts:
    """Staged rows that are new, changed, or equal to their target row, and the columns
    changed."""
    (total, inserted, updated, *per_column), *_ = wh.fetchall(count_sql(plan, wh.sqlglot_dialect))
    changed = tuple(c for c, n in zip(plan.compared, per_column, strict=True) if n)
    return MergeCounts(
        int(inserted), int(updated), int(total) - int(inserted) - int(updated), changed
    )


def insert_sql(plan: MergePlan, dialect: str = "postgres") -> str:
    """Every staged row into the target: a first load of staged rows.

    >>> insert_sql(MergePlan("dw.f", "stg.f_1", ("k", "v"), ("k",)))
    'INSERT INTO "dw"."f" ("k", "v") SELECT "k", "v" FROM "stg"."f_1"'
    """
    args = (plan.target, st.STAND_IN, plan.columns)
    return st.rendered(st.insert_select, args, plan.staging, dialect)


def merge_sql(plan: MergePlan, dialect: str = "postgres") -> str:
    """The MERGE statement that applies the staged rows to the target."""
    args = (plan.target, st.STAND_IN, plan.columns, plan.key, plan.compared, plan.updated_columns)
    return st.rendered(st.merge, args, plan.staging, dialect)


def upsert_sql(plan: MergePlan, dialect: str = "postgres") -> str:
    """The same merge as `INSERT ... ON CONFLICT (key) DO UPDATE`: an
    update only where the row IS DISTINCT FROM the staged one; needs a unique key on `key`.

    The staged rows go in key order. A loaded fact lies on disk about in key order, and each
    conflict reads and rewrites the target's page that holds the key: in key order a page is
    read, dirtied and written once, where in the staged rows' order (the transforms' joins
    shuffle them) a target larger than the server's buffers has its pages evicted and read
    again (docs/decisions/0007-merge-vs-upsert.md)."""
    args = (plan.target, st.STAND_IN, plan.columns, plan.key, plan.compared, plan.updated_columns)
    return st.rendered(st.upsert, args, plan.staging, dialect)


#: dialect -> below which share of the target's rows the staged rows are applied with
#: `upsert_sql` instead of MERGE (MERGE hash-joins the whole target; ON CONFLICT probes the key
#: index per staged row): the crossover measured by benchmarks/pg_load_paths.py
#: (docs/decisions/0007-merge-vs-upsert.md). DuckDB always MERGEs (not delete and re-insert:
#: docs/decisions/0019-duckdb-delta-by-merge.md).
UPSERT_BELOW_SHARE = {"postgresql": 0.25}

#: from how many inserts, as a share of the target's rows, a merge runs with the target's
#: foreign keys deferred (`Warehouse.constraints_deferred`: dropped, re-added after). Checked
#: row by row they cost many times what re-adding them costs per target row
#: (docs/decisions/0006-postgresql-copy-path.md), so deferring wins from a few percent; it
#: starts at a quarter because the dropped
#: keys lock the target and the dimensions they reference against readers until the commit,
#: which only a batch that large is worth.
DEFER_KEYS_FROM_SHARE = 0.25


def _rows(wh: Warehouse, table: str, *, up_to: int) -> int:
    """Rows of `table`, or `up_to` if it has that many or more (PostgreSQL counts by reading the
    whole table, where a small batch needs to know only that it is
    large)."""
    (rows,), *_ = wh.fetchall(st.render(st.count_up_to(table, up_to), wh.sqlglot_dialect))
    return int(rows)


def decisive_rows(staged: int) -> int:
    """A target row count from which on every choice `merge` makes for `staged` rows (upsert or
    MERGE, foreign keys deferred or not) comes out as for any larger target: counting the target
    can stop there.

    >>> decisive_rows(20_000)
    80001
    """
    shares = (DEFER_KEYS_FROM_SHARE, *UPSERT_BELOW_SHARE.values())
    return int(staged / min(shares)) + 1


def uses_upsert(dialect: str, staged: int, target_rows: int) -> bool:
    """Whether `staged` rows go into a target of `target_rows` rows by `upsert_sql`."""
    share = UPSERT_BELOW_SHARE.get(dialect)
    return share is not None and staged < share * target_rows


def defers_keys(inserted: int, target_rows: int) -> bool:
    """Whether a merge inserting `inserted` rows runs with the target's foreign keys deferred."""
    return inserted >= DEFER_KEYS_FROM_SHARE * target_rows


def form(wh: Warehouse, staged: int, target_rows: int) -> str:
    """How `staged` rows go into a target of `target_rows` rows: "upsert" (`upsert_sql`) or
    "merge" (`merge_sql`), the faster for the dialect and the sizes."""
    return "upsert" if uses_upsert(wh.dialect, staged, target_rows) else "merge"


def apply_sql(wh: Warehouse, plan: MergePlan, staged: int, target_rows: int | None = None) -> str:
    """The statement that applies `staged` rows to the target (of `target_rows` rows, counted if
    not given): the faster form for the dialect and the sizes (both rewrite only rows that
    differ)."""
    if wh.dialect in UPSERT_BELOW_SHARE:
        if target_rows is None:
            target_rows = _rows(wh, plan.target, up_to=decisive_rows(staged))
        if form(wh, staged, target_rows) == "upsert":
            return upsert_sql(plan, wh.sqlglot_dialect)
    return merge_sql(plan, wh.sqlglot_dialect)


def merge(
    wh: Warehouse, plan: MergePlan, *, apply: bool = True, staged: int | None = None
) -> MergeCounts:
    """Count, then (unless `apply` is False: a dry run) merge the staged rows into the target;
    a batch inserting a large share of the target's rows merges with its foreign keys deferred.

    `staged`: the number of staged rows, where the caller knows it. A batch too small to defer
    any key, even were all its rows new, is then applied first and counted from what the
    statement returns, where the dialect can (`Warehouse.apply_counted`): that spares the count,
    a join of the staged rows with the whole target."""
    target_rows = None
    if apply and staged:
        target_rows = _rows(wh, plan.target, up_to=decisive_rows(staged))
        if not defers_keys(staged, target_rows):
            sql = apply_sql(wh, plan, staged, target_rows)
            written = wh.apply_counted(sql, form(wh, staged, target_rows))
            if written is not None:
                inserted, updated = written
                return MergeCounts(inserted, updated, staged - inserted - updated)
    counts = count_changes(wh, plan)
    if apply and counts.inserted + counts.updated:
        # an update sets only the columns some staged row changes (and the lineage)
        plan = replace(
            plan, kept=tuple(c for c in plan.compared if c not in (counts.changed or ()))
        )
        total = counts.inserted + counts.updated + counts.unchanged
        if target_rows is None or total != staged:
            target_rows = _rows(wh, plan.target, up_to=decisive_rows(total))
        staged = total
        deferred = (
            wh.constraints_deferred(plan.target, empty=False)
            if defers_keys(counts.inserted, target_rows)
            else nullcontext()
        )
        with deferred:
            wh.execute(apply_sql(wh, plan, staged, target_rows))
    return counts


def plan_for(
    wh: Warehouse,
    target: str,
    staging: str,
    key: Sequence[str],
    surrogate_key: str | None,
) -> MergePlan:
    """The merge plan of `target`, its columns read from the warehouse."""
    columns = tuple(target_schema(wh, target).names())
    fixed = (surrogate_key,) if surrogate_key and surrogate_key not in key else ()
    return MergePlan(target, staging, columns, tuple(key), fixed)
