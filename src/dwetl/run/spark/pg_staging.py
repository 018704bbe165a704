"""Staging on a PostgreSQL warehouse under the Spark engine: each task COPYs its batch's valid rows
into an UNLOGGED table of its own attempt, over a connection of its own; the driver attaches
the tables of the attempts Spark reports as done to the entity's staging table (`ALTER TABLE
... INHERIT`: no row is copied), so that the merge, which reads the staging table, reads exactly
their rows. An attempt that failed, even after its COPY, or that lost to another (speculation),
is never attached: its table is dropped with the staging table after the commit or the failure,
or, where the run was killed, by the entity's next run (`merge.drop_leftover_staging`).
Measured against one shared table with a (batch, attempt) column:
docs/decisions/0013-spark-postgresql-staging.md.

The warehouse must accept one connection per running task besides the driver's. The task gets
the warehouse URL with the job (its password never logged: the task remembers it for
`masking.scrub`, and psycopg's messages do not carry it)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

import polars as pl

from dwetl.core import masking
from dwetl.core.urls import DbUrl
from dwetl.run import merge
from dwetl.run.load import one_line
from dwetl.warehouse import statements as st
from dwetl.warehouse.base import Warehouse

log = logging.getLogger(__name__)


def attempt_table(staging: str, batch: int, attempt_id: int) -> str:
    """The table a task attempt COPYs its batch into (`attempt_id`: Spark's task attempt id,
    unique within the SparkContext, so that no two attempts ever share a table).

    >>> attempt_table("stg.fact_vendas_42", 3, 17)
    'stg.fact_vendas_42_b3_t17'
    """
    return f"{staging}_b{batch}_t{attempt_id}"


def _attempt_pattern(staging: str) -> re.Pattern[str]:
    """The names (without schema) of `staging`'s attempt tables."""
    return re.compile(rf"{re.escape(staging.rpartition('.')[2])}_b\d+_t\d+", re.IGNORECASE)


@dataclass(frozen=True)
class TaskCopy:
    """What a task needs to COPY its valid rows into a table of its own attempt (pickled into
    every task of a job)."""

    url: DbUrl
    #: the entity's merge plan: its columns, and its staging table, which the driver created
    #: (and committed) before the job, and which the attempt's table is created like
    plan: merge.MergePlan

    def copy(self, valid: pl.DataFrame, batch: int, attempt_id: int) -> str | None:
        """`valid` COPYed into a new table of this attempt, created and filled in one
        transaction (an attempt that fails on the way leaves nothing); its name (None: no
        row, no table)."""
        if not valid.height:
            return None
        # imported here: the class is built on the driver too, where the warehouse is open
        from dwetl.warehouse.postgresql import PostgreSQLWarehouse

        masking.remember(self.url.password)  # a worker process parsed no URL
        table = attempt_table(self.plan.staging, batch, attempt_id)
        wh = PostgreSQLWarehouse.connect(self.url)
        try:
            with wh.transaction():
                create = (st.STAND_IN, self.plan.staging, (), wh.staging_table)
                wh.execute(st.rendered(st.create_empty_like, create, table, wh.sqlglot_dialect))
                merge.append(wh, replace(self.plan, staging=table), valid)
        finally:
            wh.close()
        return table


def attach(wh: Warehouse, table: str, staging: str) -> None:
    """The attempt's `table` made part of `staging`: a query of `staging` reads its rows too,
    and dropping `staging` (`merge.drop_staging`, CASCADE) drops it. sqlglot has no node for
    INHERIT: the names are quoted by sqlglot's table nodes."""
    child, parent = (st.render(st.table(name), wh.sqlglot_dialect) for name in (table, staging))
    wh.execute(f"ALTER TABLE {child} INHERIT {parent}")


def drop_all(wh: Warehouse, staging: str) -> None:
    """The staging table, and every attempt table of it (attached or not), dropped: after the
    entity's commit or failure. One that cannot be dropped now (a lost connection) is the
    entity's next run's to drop."""
    try:
        schema = staging.rpartition(".")[0]
        pattern = _attempt_pattern(staging)
        tables = [f"{schema}.{name}" for where, name in merge.tables_in(wh, [schema])
                  if where == schema and pattern.fullmatch(name)]  # fmt: skip
        for table in [staging, *sorted(tables)]:
            wh.execute(st.rendered(st.drop_table, (st.STAND_IN, True), table, wh.sqlglot_dialect))
    except Exception as exc:
        log.warning("%s (and its tasks' tables) left for the next run to drop: %s", staging,
                    one_line(exc))  # fmt: skip
