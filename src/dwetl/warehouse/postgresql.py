"""The PostgreSQL warehouse (psycopg 3): COPY for bulk loads, advisory locks per entity."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import polars as pl
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql as pgsql

from dwetl.core.errors import DwetlError
from dwetl.core.queries import named_queries
from dwetl.core.sqltext import split_statements
from dwetl.core.urls import DbUrl
from dwetl.warehouse.base import Warehouse, go_on

log = logging.getLogger(__name__)

_LOCK_POLL_S = 0.2
_COPY_BATCH_ROWS = 100_000
_CONNECT_TIMEOUT_S = 10
#: how long dropping a table's keys waits for its locks (ACCESS EXCLUSIVE on the table and on
#: the tables its foreign keys reference, held to the commit) before the load goes on with the
#: keys in place: a long reader of a dimension must neither stall the load nor have every later
#: reader queue behind the waiting ALTER TABLE.
_DEFER_LOCK_TIMEOUT = "2s"

#: (kind, name, definition) of a dropped constraint or index: kind "foreign key" or "key"
#: (primary / unique; name as the catalog spells it, definition from pg_get_constraintdef) or
#: "index" (quoted schema-qualified name, definition from pg_get_indexdef)
Dropped = tuple[str, str, str]


def lock_key(entity: str) -> int:
    """A stable signed 64-bit advisory-lock key for an entity (the same in every process).

    >>> lock_key("dim_cliente") == lock_key("dim_cliente")
    True
    """
    digest = hashlib.sha256(f"dwetl:{entity}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgreSQLWarehouse(Warehouse):
    """A warehouse in a PostgreSQL (15+) database."""

    dialect: ClassVar[str] = "postgresql"
    sqlglot_dialect: ClassVar[str] = "postgres"
    staging_table: ClassVar[str] = "UNLOGGED TABLE"
    sessions_name_runs: ClassVar[bool] = True

    def __init__(self, con: psycopg.Connection[Any]) -> None:
        self._con = con
        self._in_transaction = False
        self._told_not_owner = False

    @classmethod
    def connect(cls, url: DbUrl, *, read_only: bool = False) -> PostgreSQLWarehouse:
        """Open one autocommit connection (transactions are explicit, see `transaction`).
        Connecting to a server creates nothing, so `read_only` changes nothing here."""
        options: dict[str, Any] = {
            "connect_timeout": _CONNECT_TIMEOUT_S,
            "application_name": "dwetl",
        }
        options.update(dict(url.query))
        con = psycopg.connect(
            host=url.host,
            port=url.port,
            user=url.user,
            password=url.password,
            dbname=url.database,
            autocommit=True,
            **options,
        )
        return cls(con)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run one statement (placeholders are `%s` style for every dialect)."""
        self._con.execute(sql, params)

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one query and return its rows."""
        return self._con.execute(sql, params).fetchall()

    def fetch_polars(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """Run one query and return the result as a Polars frame."""
        cur = self._con.execute(sql, params)
        names = [column.name for column in cur.description or ()]
        rows = cur.fetchall()
        return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)

    def refresh_statistics(self, table: str) -> None:
        """ANALYZE `table`, in a statement of its own (its lock, which only another ANALYZE or
        a schema change waits for, lasts that long). PostgreSQL analyzes a table only when
        autovacuum does: it may be off, or not yet have come after a bulk write, and a table
        it never analyzed is planned as a few rows (docs/decisions/0021)."""
        if self._in_transaction:
            raise RuntimeError("refresh_statistics() runs outside a transaction")
        schema, _, name = table.rpartition(".")
        self._con.execute(pgsql.SQL("ANALYZE {}").format(pgsql.Identifier(schema, name)))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT, or ROLLBACK when the block raises. Not re-entrant."""
        if self._in_transaction:
            raise RuntimeError("transaction() is not re-entrant")
        self._in_transaction = True
        try:
            with self._con.transaction():
                yield
        finally:
            self._in_transaction = False

    def transpile(self, sql: str) -> list[str]:
        """The shared SQL is PostgreSQL already: only split into statements, never rewritten."""
        return split_statements(sql)

    def table_exists(self, qualified_name: str) -> bool:
        """True when `schema.table` exists."""
        row = self._con.execute(
            "SELECT to_regclass(%s) IS NOT NULL", [_regclass(qualified_name)]
        ).fetchone()
        return bool(row and row[0])

    def load_arrow(self, qualified_name: str, data: pa.Table) -> None:
        """Bulk-append `data` with COPY, columns matched by name: in PostgreSQL's binary format
        where every column's Arrow type is its column's wire type (`binary_copy_schema`), else
        as CSV written by Arrow.

        The binary form spares the server parsing text
        (docs/decisions/0006-postgresql-copy-path.md)."""
        target = _qualified(qualified_name)
        columns = pgsql.SQL(", ").join(pgsql.Identifier(name) for name in data.column_names)
        wire = binary_copy_schema(self._column_types(qualified_name), data.schema)
        if wire is not None:
            self._copy_binary(target, columns, data.cast(wire))
            return
        copy_sql = pgsql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(target, columns)
        options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
        with self._con.cursor() as cur, cur.copy(copy_sql) as copy:
            for batch in data.to_batches(max_chunksize=_COPY_BATCH_ROWS):
                buffer = io.BytesIO()
                pacsv.write_csv(batch, buffer, options)
                copy.write(buffer.getbuffer())

    def _copy_binary(
        self, target: pgsql.Composable, columns: pgsql.Composable, data: pa.Table
    ) -> None:
        # imported here: only a PostgreSQL warehouse needs the encoder
        from pgpq import ArrowToPostgresBinaryEncoder

        encoder = ArrowToPostgresBinaryEncoder(data.schema)
        copy_sql = pgsql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(target, columns)
        with self._con.cursor() as cur, cur.copy(copy_sql) as copy:
            copy.write(encoder.write_header())
            # the encoder holds the GIL while it works: batches of _COPY_BATCH_ROWS keep each
            # hold short when the COPY runs behind the loading thread (write_behind.py)
            for batch in data.to_batches(max_chunksize=_COPY_BATCH_ROWS):
                copy.write(encoder.write_batch(batch))
            copy.write(encoder.finish())

    def _column_types(self, qualified_name: str) -> dict[str, str]:
        """Column name -> its type as `information_schema.columns.data_type` names it."""
        schema, _, table = qualified_name.rpartition(".")
        rows = self._con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s",
            [schema or "public", table],
        ).fetchall()
        return {str(name): str(kind) for name, kind in rows}

    def apply_counted(self, statement: str, form: str) -> tuple[int, int] | None:
        """An upsert, counted from what it returns: a row it inserted is a new row version no
        transaction has locked (`xmax = 0`), while one it updated carries the lock that ON
        CONFLICT took on the row it replaced. The count query this spares joined the staged rows
        to the whole target (docs/decisions/0007-merge-vs-upsert.md). A MERGE is
        not counted (PostgreSQL 15's MERGE returns no rows)."""
        if form != "upsert":
            return None
        counted = pgsql.SQL(
            "WITH written AS ({} RETURNING (xmax = 0) AS inserted) "
            "SELECT COUNT(*) FILTER (WHERE inserted), COUNT(*) FROM written"
        ).format(pgsql.SQL(statement))  # built by dwetl, not input
        row = self._con.execute(counted).fetchone()
        assert row is not None
        inserted, written = row
        return int(inserted), int(written) - int(inserted)

    @contextmanager
    def without_nested_loops(self) -> Iterator[None]:
        """`enable_nestloop` off for the block (SET LOCAL: it ends with the transaction at the
        latest), then as it was. PostgreSQL analyzes a table only when autovacuum does (it may be
        off, or not yet have run after a bulk load): resolving 825 open rejects against 4,580
        loaded keys was a nested loop for an estimate of one row (docs/decisions/0007)."""
        (before,), *_ = self.fetchall("SELECT current_setting('enable_nestloop')")
        self.fetchall("SELECT set_config('enable_nestloop', 'off', true)")
        yield
        # not reached when the block raises: the rollback that follows restores the setting
        self.fetchall("SELECT set_config('enable_nestloop', %s, true)", [before])

    @contextmanager
    def constraints_deferred(self, table: str, *, empty: bool) -> Iterator[bool]:
        """Drop `table`'s foreign keys (`empty`: its other keys and indexes too) for the block,
        then re-create them from the definitions the catalog had (one validating join each).
        Only as the table's owner, and only when the locks come within `_DEFER_LOCK_TIMEOUT`;
        otherwise the block runs with them in place (yields False)."""
        if not self._in_transaction:
            raise RuntimeError("constraints_deferred() needs the caller's transaction")
        dropped = self._drop_for_load(table, empty=empty)
        yield bool(dropped)
        self._recreate(table, dropped)

    def _drop_for_load(self, table: str, *, empty: bool) -> list[Dropped]:
        queries = named_queries("run/bulk_load_postgresql.sql")
        row = self._con.execute(queries["may_alter"], [_regclass(table)]).fetchone()
        if row is None:
            return []
        allowed, owner = row
        if not allowed:
            if not self._told_not_owner:
                self._told_not_owner = True
                log.info(
                    "%s: loading with its foreign keys checked row by row: this role does not own "
                    "it (owner %s), so it cannot drop and re-create them around a bulk load "
                    "(a first load into an empty table is faster as the owner)",
                    table,
                    owner,
                )
            return []
        found: list[Dropped] = list(self._con.execute(queries["foreign_keys"], [_regclass(table)]))
        if empty:
            found += list(self._con.execute(queries["indexes"], [_regclass(table)] * 2))
        if not found:
            return []
        constraints = [pgsql.Identifier(name) for kind, name, _ in found if kind != "index"]
        try:
            with self._con.transaction():  # a savepoint: locks not granted in time undo the drops
                (previous,) = self._con.execute("SHOW lock_timeout").fetchone() or ("0",)
                self._set_local("lock_timeout", _DEFER_LOCK_TIMEOUT)
                if constraints:
                    drops = pgsql.SQL(", ").join(
                        pgsql.SQL("DROP CONSTRAINT {}").format(name) for name in constraints
                    )
                    self._con.execute(
                        pgsql.SQL("ALTER TABLE {} {}").format(_qualified(table), drops)
                    )
                for kind, name, _ in found:
                    if kind == "index":
                        self._con.execute(pgsql.SQL("DROP INDEX {}").format(pgsql.SQL(name)))
                self._set_local("lock_timeout", previous)
        except psycopg.errors.LockNotAvailable:
            log.info(
                "%s: loading with its foreign keys checked row by row: its locks (or those of the "
                "tables it references) were not granted within %s",
                table,
                _DEFER_LOCK_TIMEOUT,
            )
            return []
        return found

    def _recreate(self, table: str, dropped: list[Dropped]) -> None:
        """Indexes, then keys, then foreign keys (validated by one join each), as they were."""
        for kind, _, definition in dropped:
            if kind == "index":
                self._con.execute(pgsql.SQL(definition))
        adds = [
            pgsql.SQL("ADD CONSTRAINT {} {}").format(pgsql.Identifier(name), pgsql.SQL(definition))
            for wanted in ("key", "foreign key")
            for kind, name, definition in dropped
            if kind == wanted
        ]
        if adds:
            self._con.execute(
                pgsql.SQL("ALTER TABLE {} {}").format(_qualified(table), pgsql.SQL(", ").join(adds))
            )

    def _set_local(self, name: str, value: str) -> None:
        self._con.execute("SELECT set_config(%s, %s, true)", [name, value])

    @contextmanager
    def entity_lock(
        self, entity: str, timeout_s: float, *, waiting: Callable[[], None] = go_on
    ) -> Iterator[None]:
        """A session advisory lock on `entity`; waits up to `timeout_s` for another holder,
        calling `waiting` between tries."""
        key = lock_key(entity)
        deadline = time.monotonic() + timeout_s
        while True:
            row = self._con.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
            if row and row[0]:
                break
            if time.monotonic() >= deadline:
                raise DwetlError(
                    f"entity {entity} is being loaded by another dwetl ({self._holder(key)}); "
                    f"gave up after waiting {timeout_s:g} s"
                )
            waiting()
            time.sleep(_LOCK_POLL_S)
        run = f"run {self.run_id} " if self.run_id is not None else ""
        self._set_name(f"dwetl {run}pid {os.getpid()}")
        try:
            yield
        finally:
            if not self._con.closed:  # a lost session's locks went with it
                self._con.execute("SELECT pg_advisory_unlock(%s)", [key])

    def name_session(self, run_id: int) -> None:
        """application_name `dwetl run N pid P` (as the entity locks name their holder)."""
        self._set_name(f"dwetl run {run_id} pid {os.getpid()}")

    def _set_name(self, label: str) -> None:
        self._con.execute("SELECT set_config('application_name', %s, false)", [label])

    def run_holds_locks(self, run_id: int) -> bool:
        """Whether a session named for run `run_id` is connected (it holds the run's advisory
        locks; a run's connection carries the name from its start)."""
        row = self._con.execute(
            "SELECT 1 FROM pg_stat_activity WHERE application_name LIKE %s "
            "AND datname = current_database() AND pid <> pg_backend_pid() LIMIT 1",
            [f"dwetl run {run_id} pid %"],
        ).fetchone()
        return row is not None

    def _holder(self, key: int) -> str:
        # A bigint advisory key is stored as classid (high 32 bits) and objid (low 32 bits).
        row = self._con.execute(
            "SELECT a.application_name, a.pid, a.client_addr::text FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.classid = %s AND l.objid = %s "
            # advisory locks are per database: another database's holder is not this one's
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [(key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF],
        ).fetchone()
        if row is None:
            return "holder unknown"
        name, pid, addr = row
        return f"{name or 'session'}, backend pid {pid}" + (f" from {addr}" if addr else "")

    def close(self) -> None:
        """Close the connection."""
        self._con.close()


def _is_text(dtype: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(dtype)
        or pa.types.is_large_string(dtype)
        or pa.types.is_string_view(dtype)
    )


#: information_schema's name of a column type -> whether an Arrow type is that type's binary COPY
#: form as it is (`pgpq` encodes each Arrow type as one PostgreSQL type)
_WIRE: dict[str, Callable[[pa.DataType], bool]] = {
    "double precision": pa.types.is_float64,
    "real": pa.types.is_float32,
    # numeric_recv applies the column's precision and scale, rounding as it does for text
    "numeric": pa.types.is_decimal128,
    "character varying": _is_text,
    "character": _is_text,
    "text": _is_text,
    "timestamp without time zone": lambda t: (
        pa.types.is_timestamp(t) and t.unit in ("s", "ms", "us") and t.tz is None
    ),
    "date": pa.types.is_date32,
    "boolean": pa.types.is_boolean,
}
#: an integer column's binary COPY form, which an integer of any width is cast to
_INTEGERS = {"bigint": pa.int64(), "integer": pa.int32(), "smallint": pa.int16()}


def binary_copy_schema(columns: Mapping[str, str], schema: pa.Schema) -> pa.Schema | None:
    """The Arrow schema in which `schema`'s columns are the binary COPY form of the target's
    `columns` (name -> information_schema data type), or None where one is not (it goes as CSV,
    which the server converts). An integer is narrowed to its column's width (a safe cast: a
    value that does not fit is an error, never wrapped).

    >>> wire = binary_copy_schema({"id": "bigint", "qtd": "integer", "nome": "text"},
    ...     pa.schema([("id", pa.int64()), ("qtd", pa.int64()), ("nome", pa.large_string())]))
    >>> [str(t) for t in wire.types]
    ['int64', 'int32', 'large_string']
    >>> binary_copy_schema({"valor": "numeric"}, pa.schema([("valor", pa.float64())])) is None
    True
    """
    fields = []
    for field in schema:
        kind = columns.get(field.name)
        if kind in _INTEGERS and pa.types.is_integer(field.type):
            fields.append(field.with_type(_INTEGERS[kind]))
        elif kind in _WIRE and _WIRE[kind](field.type):
            fields.append(field)
        else:
            return None
    return pa.schema(fields)


def _qualified(name: str) -> pgsql.Identifier:
    """`schema.table` (or `table`) as a quoted identifier."""
    schema, _, table = name.rpartition(".")
    return pgsql.Identifier(schema, table) if schema else pgsql.Identifier(table)


def _regclass(name: str) -> str:
    """`schema.table` as `to_regclass` reads it: each part quoted, so that a name needing quotes
    (a space, upper case) names the table it does in the statements dwetl builds.

    >>> _regclass("dw.Order Items")
    '"dw"."Order Items"'
    """
    schema, _, table = name.rpartition(".")
    parts = [schema, table] if schema else [table]
    return ".".join('"' + part.replace('"', '""') + '"' for part in parts)
