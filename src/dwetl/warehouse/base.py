"""The warehouse interface: everything the runner, `init` and `check` need from a DW dialect.

Each dialect (DuckDB, PostgreSQL, later SQL Server) implements this once; code above it never
asks which dialect it talks to. SQL shared by all dialects is written in PostgreSQL's dialect
and passed through `transpile`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from dwetl.core.urls import DbUrl


def go_on() -> None:
    """`entity_lock`'s default `waiting`: wait on."""


@dataclass(frozen=True)
class TableSwap:
    """How an empty target takes a twin table's rows without copying them
    (`Warehouse.table_swap`)."""

    #: create the twin: the target's columns, defaults, NOT NULLs and CHECKs, without its keys
    create: tuple[str, ...]
    #: put the twin in the target's place and add the target's keys to it
    swap: tuple[str, ...]


class Warehouse(ABC):
    """An open connection to the warehouse in one dialect."""

    #: short name: "duckdb" | "postgresql"
    dialect: ClassVar[str]
    #: the sqlglot dialect name used to transpile the shipped (PostgreSQL-dialect) SQL
    sqlglot_dialect: ClassVar[str]
    #: whether the database itself enforces the DDL's foreign keys. Where it does not (DuckDB),
    #: the warehouse has none in its catalog: dwetl's validation (`FK_*` rules, checked against
    #: the parent keys read from the warehouse) is what enforces them, and `dwetl check` does
    #: not ask for them
    enforces_foreign_keys: ClassVar[bool] = True
    #: what a run's staging table is created as. It is scratch space (dropped by the run, or a
    #: leftover the next run drops), so where the database can skip its write-ahead log for it
    #: (PostgreSQL: UNLOGGED, which a crash empties) it does
    staging_table: ClassVar[str] = "TABLE"
    #: whether rows written in a transaction stay in the client process's memory until it
    #: commits (DuckDB, an embedded database). Where they do not (PostgreSQL: they are in the
    #: server's table), a first load in batches writes them all into the target in the
    #: entity's one transaction; where they do, each batch is staged and committed instead, so
    #: that memory stays bounded by the batch (`dwetl.run.entity`)
    holds_uncommitted_rows: ClassVar[bool] = False
    #: whether a run's connection carries its name from the run's start to its end (PostgreSQL:
    #: application_name `dwetl run N pid P`, seen by any session), so that a run with no
    #: session left is known to be gone wherever its process ran (`dwetl.ops.abandoned`)
    sessions_name_runs: ClassVar[bool] = False

    #: seconds the (retried) connection took; set by `dwetl.warehouse.open_warehouse`
    connect_seconds: float = 0.0
    #: the run using this connection (set by `dwetl.ops.runlog.start_run`); entity locks record it
    run_id: int | None = None

    @classmethod
    @abstractmethod
    def connect(cls, url: DbUrl, *, read_only: bool = False) -> Warehouse:
        """Open one connection (no retry: `dwetl.warehouse.open_warehouse` retries).

        `read_only`: for a command that only reads; opening must then create nothing."""

    @classmethod
    def missing(cls, url: DbUrl) -> str | None:
        """Why `url` names no warehouse yet, where that shows without connecting (a file that
        does not exist), as one line; None where it is there, or where only connecting can
        tell (a server's database). Only `init` creates a warehouse."""
        return None

    @classmethod
    @contextmanager
    def write_lock(cls, url: DbUrl, timeout_s: float) -> Iterator[None]:
        """Around a command that writes the warehouse (`run`, `init`, `rollout`), before it
        connects and until its connections close: where the database lets one process at a
        time open it (DuckDB), the right to do so, waiting up to `timeout_s` for another
        process, then raising DwetlError naming it. The default holds nothing: a server
        serves many sessions, and `entity_lock` keeps two runs off one entity."""
        yield

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run one statement (placeholders are `%s` style for every dialect)."""

    @abstractmethod
    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one query and return its rows."""

    @abstractmethod
    def fetch_polars(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """Run one query and return the result as a Polars frame (through Arrow)."""

    def fetch_polars_with(self, sql: str, name: str, values: pl.Series) -> pl.DataFrame:
        """Run query `sql`, which reads `values` as the one-column table `name` (its column
        named as the series: `... IN (SELECT "k" FROM "name")`), and return its result as
        `fetch_polars` does. The default binds the values as one array, unnested in a WITH
        in front of `sql` (`sql` has no WITH of its own, nor any other placeholder)."""
        unnested = f'WITH "{name}" ("{values.name}") AS (SELECT UNNEST(%s)) '
        return self.fetch_polars(unnested + sql, [values.to_list()])

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """BEGIN ... COMMIT, or ROLLBACK when the block raises. Not re-entrant."""

    @abstractmethod
    def transpile(self, sql: str) -> list[str]:
        """PostgreSQL-dialect SQL (one or more statements) as statements for this dialect."""

    @abstractmethod
    def table_exists(self, qualified_name: str) -> bool:
        """True when `schema.table` exists."""

    @abstractmethod
    def load_arrow(self, qualified_name: str, data: pa.Table) -> None:
        """Bulk-append an Arrow table to an existing table (DuckDB Arrow scan; PostgreSQL COPY).

        Columns are matched by name; the table may have more columns (they take defaults).
        """

    @contextmanager
    def constraints_deferred(self, table: str, *, empty: bool) -> Iterator[bool]:
        """Around a bulk write into `table`, inside the caller's transaction: where the dialect
        can, the table's foreign keys (and, when the table is `empty`, its other keys and
        indexes) dropped, then re-created as they were when the block ends (which re-validates
        them); yields whether it did. A block that raises leaves them to the rollback. The
        default defers nothing (DuckDB cannot drop a constraint)."""
        yield False

    def apply_counted(self, statement: str, form: str) -> tuple[int, int] | None:
        """Run `statement`, which applies staged rows to a target (`form` "upsert": an
        INSERT ... ON CONFLICT DO UPDATE ... WHERE, or "merge": a MERGE, as `dwetl.run.merge`
        builds them), and return (rows inserted, rows updated) where the dialect can tell them
        from the statement itself; None, having run nothing, where it cannot (the caller then
        counts with a join of staging and target first). The default cannot: DuckDB's MERGE
        can return each row's action, but `RETURNING merge_action` costs far more than the count
        (docs/decisions/0005-duckdb-bulk-load.md)."""
        return None

    def table_swap(self, target: str, twin: str) -> TableSwap | None:
        """Where a first load in batches that the warehouse stages (`holds_uncommitted_rows`)
        can spare the copy out of staging: statements that create `twin` (a table in the
        target's schema) as the empty target's twin without its keys, and that later, in the
        entity's transaction, put it in the target's place with the keys added. None where the
        dialect cannot, or the target has what a swap would lose (the default): the batches are
        then staged and moved with one INSERT ... SELECT."""
        return None

    def refresh_statistics(self, table: str) -> None:
        """Bring the planner's statistics of `table` (`schema.table`) up to date after a run
        changed many of its rows, outside any transaction. Where the warehouse keeps them
        itself as it writes (DuckDB), nothing to do."""
        return None

    def release_cache(self) -> None:
        """Give back the memory the warehouse keeps in this process of rows it has written and
        committed (an embedded database's cache of its file): called between a batched load's
        committed batches, so that the load's memory stays near one batch. A server keeps its
        cache in its own process: nothing to do."""
        return None

    @contextmanager
    def without_nested_loops(self) -> Iterator[None]:
        """Around one statement, inside the caller's transaction, that joins a side whose size
        the planner may misjudge (a table whose statistics are stale): where the dialect plans
        from statistics, it is told not to nest loops, which an estimate of one row for a side of
        thousands makes quadratic. The default does nothing (DuckDB plans from actual sizes)."""
        yield

    @abstractmethod
    def entity_lock(
        self, entity: str, timeout_s: float, *, waiting: Callable[[], None] = go_on
    ) -> AbstractContextManager[None]:
        """Hold the exclusive right to load `entity` (a second holder waits up to `timeout_s`,
        then raises DwetlError naming the entity and, where known, the other run). While it
        waits, `waiting` is called between tries: what it raises ends the wait (a run asked to
        stop)."""

    def name_session(self, run_id: int) -> None:
        """Mark this connection as run `run_id`'s (where `sessions_name_runs`); inside the
        transaction that records the run, so that both commit or neither. The default does
        nothing."""
        return None

    @abstractmethod
    def run_holds_locks(self, run_id: int) -> bool:
        """Whether run `run_id` still holds a lock (or, where `sessions_name_runs`, a session)
        in this warehouse. Reads only: it creates and changes nothing."""

    @abstractmethod
    def close(self) -> None:
        """Close the connection."""

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def iter_statements(self, sql: str) -> Iterator[str]:
        """Each statement of `sql` (PostgreSQL dialect) transpiled for this dialect."""
        yield from self.transpile(sql)
