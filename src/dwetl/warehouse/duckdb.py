"""The DuckDB file warehouse: Arrow scans for bulk loads; one process at a time on the file."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import duckdb

from dwetl.core.errors import CannotConnect, DwetlError, UsageError
from dwetl.core.queries import named_queries
from dwetl.core.urls import DbUrl, missing_file
from dwetl.warehouse import duckdb_lock
from dwetl.warehouse.base import TableSwap, Warehouse, go_on

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

_LOCK_POLL_S = 0.1
#: the catalog name the warehouse file is attached under. Opened directly, a file named
#: `dw.duckdb` becomes catalog `dw`, which clashes with schema `dw` ("Ambiguous reference").
CATALOG = "dwetl_dw"

# A file can be attached once per process: every Warehouse on the same file is a cursor of one
# shared in-memory database holding the attachment, detached when its last user closes.
_shared_guard = threading.Lock()
_shared: dict[Path, tuple[duckdb.DuckDBPyConnection, list[int], bool]] = {}
# In-memory databases with nothing attached, for the next open: starting one costs several
# times what an ATTACH does, and a process that opens the warehouse again and again (a notebook,
# the tests) would pay it each time (docs/decisions/0015-duckdb-idle-instances.md)
_idle: list[duckdb.DuckDBPyConnection] = []
_IDLE_MAX = 2
# Entity locks of this process, (file, entity) -> who holds it: only this process can have
# the file open, so they need not leave it
_entities_free = threading.Condition()
_entities: dict[tuple[Path, str], str] = {}


#: DuckDB loads and even downloads an extension when it meets a file it needs one for (a SQLite
#: file given as the warehouse sends it retrying a download of `sqlite_scanner`). dwetl needs
#: none: a file that is not DuckDB's own is an error at once, and nothing is ever downloaded.
NO_EXTENSIONS: dict[str, str | bool | int | float | list[str]] = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
}
_SQLITE_MAGIC = b"SQLite format 3\x00"


def spill_folder(path: Path) -> Path:
    """Where DuckDB writes what outgrows its memory_limit while the warehouse file `path` is
    attached: `<file>.tmp` beside it, as DuckDB does for a file it opens itself. An in-memory
    instance would write to `.tmp` in the working folder: a scheduler's (`/` under systemd),
    perhaps not writable, and no place for a warehouse's rows.

    >>> spill_folder(Path("/data/warehouse.duckdb")).as_posix()
    '/data/warehouse.duckdb.tmp'
    """
    return path.with_name(f"{path.name}.tmp")


def _instance(spill: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory instance with nothing attached that spills to `spill`: an idle one where one
    can switch to it (DuckDB refuses once an instance has spilled: that one is closed)."""
    while _idle:
        base = _idle.pop()
        try:
            base.execute("SET temp_directory = ?", [str(spill)])
        except duckdb.Error:
            base.close()
            continue
        return base
    return duckdb.connect(":memory:", config={**NO_EXTENSIONS, "temp_directory": str(spill)})


def _open_shared(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    with _shared_guard:
        if path not in _shared:
            base = _instance(spill_folder(path))
            try:
                mode = " (READ_ONLY)" if read_only else ""
                base.execute(f"ATTACH ? AS {CATALOG}{mode}", [str(path)])
            except duckdb.IOException as exc:
                base.close()
                raise _held_elsewhere(path, exc) from None
            except duckdb.Error:
                base.close()
                raise
            _shared[path] = (base, [0], read_only)
        base, users, attached_read_only = _shared[path]
        if attached_read_only and not read_only:
            raise RuntimeError(f"{path} is open read-only in this process: cannot write it too")
        con = base.cursor()
        users[0] += 1
    con.execute(f"USE {CATALOG}")
    return con


def _close_shared(path: Path, con: duckdb.DuckDBPyConnection) -> None:
    con.close()
    with _shared_guard:
        base, users, _ = _shared[path]
        users[0] -= 1
        if users[0] == 0:
            del _shared[path]
            _detach(base)


def _detach(base: duckdb.DuckDBPyConnection) -> None:
    """Let go of the file attached to `base` (checkpointed, unlocked, as a close does) and keep
    `base` for the next open; closed instead when enough are kept or the detach fails (the
    close then does what it always did: a checkpoint that fails leaves the WAL to replay)."""
    try:
        base.execute(f"DETACH {CATALOG}")
    except duckdb.Error:
        base.close()
        return
    if len(_idle) < _IDLE_MAX:
        _idle.append(base)
    else:
        base.close()


def _require_duckdb_file(url: DbUrl) -> None:
    """A SQLite file given as the warehouse is refused before DuckDB sees it (DuckDB would
    want its SQLite extension for it), and so is a folder."""
    assert url.path is not None
    if url.path.is_dir():
        raise UsageError(missing_file("warehouse", url, ""))
    try:
        with url.path.open("rb") as file:
            head = file.read(len(_SQLITE_MAGIC))
    except OSError:
        return  # missing, a folder, unreadable: DuckDB's own error says which
    if head == _SQLITE_MAGIC:
        raise CannotConnect(
            f"warehouse {url.masked}: {url.path} is a SQLite database, not a DuckDB one; "
            "point --dw / DWETL_DW_URL at the DuckDB warehouse (a new path: `dwetl init` "
            "creates it)"
        )


def _held_elsewhere(path: Path, exc: duckdb.IOException) -> Exception:
    """DuckDB's lock conflict with a process that is not dwetl (the DuckDB CLI, a notebook) as
    one line naming it; any other I/O error as it is."""
    found = re.search(r"Conflicting lock is held in (.+?) \(PID (\d+)\)", str(exc))
    if found is None:
        return exc
    return duckdb_lock.WarehouseBusy(
        f"warehouse {path} is open in another program ({found[1]}, pid {found[2]}); DuckDB "
        "lets one process open the file at a time: close it there and try again"
    )


def qmark(sql: str) -> str:
    """`%s` placeholders (the shared style) as DuckDB's `?`; `%%` as a literal `%`.

    >>> qmark("SELECT * FROM t WHERE a = %s AND b LIKE 'x%%'")
    "SELECT * FROM t WHERE a = ? AND b LIKE 'x%'"
    """
    return sql.replace("%s", "?").replace("%%", "%")


class DuckDBWarehouse(Warehouse):
    """A warehouse in one DuckDB file."""

    dialect: ClassVar[str] = "duckdb"
    sqlglot_dialect: ClassVar[str] = "duckdb"
    #: DuckDB enforces a foreign key through an ART index on the referencing columns (a fact's
    #: few, heavily repeated sk values), which makes a bulk load many times slower and larger
    #: (docs/decisions/0004-duckdb-no-foreign-keys.md). DuckDB can neither drop, defer nor add a
    #: foreign key after CREATE TABLE, and runs an UPDATE of an indexed or checked column of a
    #: referenced row as DELETE + INSERT, which the referencing keys refuse. So `transpile`
    #: leaves the DDL's foreign keys out, as Snowflake, BigQuery and Redshift never enforce
    #: theirs; dwetl's validation enforces them before every load.
    enforces_foreign_keys: ClassVar[bool] = False
    #: DuckDB 2.0.1 keeps a transaction's appended rows in the process's memory until it
    #: commits, whatever its memory_limit, so batches are committed into staging
    #: (docs/decisions/0005-duckdb-bulk-load.md)
    holds_uncommitted_rows: ClassVar[bool] = True

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        self._con = con
        self.path = path
        self._in_transaction = False
        self._closed = False
        self._run_id: int | None = None

    @classmethod
    def connect(cls, url: DbUrl, *, read_only: bool = False) -> DuckDBWarehouse:
        """Open the DuckDB file of `url`: creating it (and its folder) when missing; or, for
        `read_only`, only an existing file, opened so that nothing can be written. Another
        process holding it (`duckdb_lock`) is a WarehouseBusy naming it, at once: a run waits
        for the file in `write_lock`, before it connects."""
        assert url.path is not None, "a duckdb URL always names a file"
        missing = cls.missing(url) if read_only else None
        if missing is not None:
            raise UsageError(missing)
        _require_duckdb_file(url)
        if not read_only:
            url.path.parent.mkdir(parents=True, exist_ok=True)
        duckdb_lock.acquire(url.path, wait_s=0)
        try:
            return cls(_open_shared(url.path, read_only=read_only), url.path)
        except BaseException:
            duckdb_lock.release(url.path)
            raise

    @classmethod
    def missing(cls, url: DbUrl) -> str | None:
        """The file is the warehouse: none there is none yet (`dwetl init` creates it); a
        folder there is none either."""
        assert url.path is not None, "a duckdb URL always names a file"
        if url.path.exists() and not url.path.is_dir():
            return None
        return missing_file("warehouse", url, "run `dwetl init` first to create it")

    @classmethod
    @contextmanager
    def write_lock(cls, url: DbUrl, timeout_s: float) -> Iterator[None]:
        """The file's lock (`duckdb_lock`) for the block: DuckDB lets one process at a time
        open the file, so a second run waits here up to `timeout_s` for the first to end,
        then raises WarehouseBusy naming it (run id, pid, since when, the entity it loads)."""
        assert url.path is not None, "a duckdb URL always names a file"
        url.path.parent.mkdir(parents=True, exist_ok=True)
        with duckdb_lock.held(url.path, wait_s=timeout_s):
            yield

    @property
    def run_id(self) -> int | None:
        """The run using this connection; setting it records it in the file's lock."""
        return self._run_id

    @run_id.setter
    def run_id(self, value: int | None) -> None:
        self._run_id = value
        duckdb_lock.note(self.path, run_id=value)

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run one statement (placeholders are `%s` style for every dialect)."""
        if params is None:
            self._con.execute(sql)
        else:
            self._con.execute(qmark(sql), list(params))

    def fetchall(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one query and return its rows."""
        if params is None:
            return self._con.execute(sql).fetchall()
        return self._con.execute(qmark(sql), list(params)).fetchall()

    def fetch_polars(self, sql: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """Run one query and return the result as a Polars frame (through Arrow)."""
        import polars as pl

        relation = self._con.sql(sql if params is None else qmark(sql), params=params)
        frame = pl.from_arrow(relation.to_arrow_table())
        assert isinstance(frame, pl.DataFrame)
        return frame

    def fetch_polars_with(self, sql: str, name: str, values: pl.Series) -> pl.DataFrame:
        """Run query `sql`, which reads `values` as the table `name`: here an Arrow table
        registered under that name, with no copy: DuckDB binds a list parameter value by value,
        far slower than it scans Arrow (docs/decisions/0008-key-maps.md)."""
        self._con.register(name, values.to_frame().to_arrow())
        try:
            return self.fetch_polars(sql)
        finally:
            self._con.unregister(name)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN ... COMMIT, or ROLLBACK when the block raises. Not re-entrant."""
        if self._in_transaction:
            raise RuntimeError("transaction() is not re-entrant")
        self._con.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        try:
            yield
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        else:
            self._con.execute("COMMIT")
        finally:
            self._in_transaction = False

    def transpile(self, sql: str) -> list[str]:
        """PostgreSQL-dialect SQL (one or more statements) as DuckDB statements; a CREATE
        TABLE loses its foreign keys (see `enforces_foreign_keys`), and a partial index is
        left out (`duckdb_ddl.is_partial_index`)."""
        import sqlglot
        from sqlglot import exp
        from sqlglot.errors import ErrorLevel

        from dwetl.warehouse.duckdb_ddl import is_partial_index, without_foreign_keys

        statements = []
        for tree in sqlglot.parse(sql, read="postgres"):
            if tree is None or is_partial_index(tree):
                continue
            # sqlglot 30 warns "Unsupported ALTER COLUMN syntax" for every SET NOT NULL, which
            # it writes right all the same: an ALTER is written without its warnings
            level = ErrorLevel.IGNORE if isinstance(tree, exp.Alter) else ErrorLevel.WARN
            text = without_foreign_keys(tree).sql(dialect="duckdb", unsupported_level=level)
            if text.strip():
                statements.append(text)
        return statements

    def table_exists(self, qualified_name: str) -> bool:
        """True when `schema.table` exists."""
        schema, _, table = qualified_name.rpartition(".")
        rows = self._con.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_catalog = ? "
            "AND lower(table_schema) = lower(?) AND lower(table_name) = lower(?)",
            [CATALOG, schema or "main", table],
        ).fetchall()
        return bool(rows)

    def load_arrow(self, qualified_name: str, data: pa.Table) -> None:
        """Bulk-append `data` through DuckDB's Arrow scan, columns matched by name.

        The columns go in one chunk each: validation hands its rows over in the morsels of
        Polars' engine, which DuckDB appends more slowly than one chunk, the copy included
        (docs/decisions/0005-duckdb-bulk-load.md)."""
        from dwetl.warehouse import statements

        view = f"__dwetl_load_{os.getpid()}_{id(self)}"  # one load at a time per connection
        self._con.register(view, data.combine_chunks())
        try:
            self._con.execute(statements.insert_by_name(qualified_name, view, "duckdb"))
        finally:
            self._con.unregister(view)

    def release_cache(self) -> None:
        """DuckDB keeps the blocks it writes cached in the process up to its memory_limit (80%
        of the machine's memory by default), so a batched load grew by each batch it committed
        (23 MB per 1M fact rows, all the load long). Lowering the limit evicts them (they are
        on disk), and the default comes back at once. Only where this connection is the file's
        one user in the process (the guard held: nobody opens another meanwhile): a query on
        another connection could fail to allocate under the lowered limit."""
        with _shared_guard:
            _, users, _ = _shared[self.path]
            if self._in_transaction or users[0] != 1:
                return
            ((spill_to,),) = self._con.execute(
                "SELECT current_setting('temp_directory')"
            ).fetchall()
            try:
                # what can leave only for a spill file stays: else DuckDB would start its
                # temporary folder (`spill_folder`) for it, and a spill file it never needed
                self._con.execute("SET temp_directory = ''")
            except duckdb.Error:
                spill_to = None  # a statement spilled already: the folder is there to stay
            try:
                self._con.execute("SET memory_limit = '1MB'")
            except duckdb.Error:
                pass  # what is still pinned stays; the blocks that could go went
            finally:
                self._con.execute("RESET memory_limit")
                if spill_to is not None:
                    self._con.execute("SET temp_directory = ?", [spill_to])

    def table_swap(self, target: str, twin: str) -> TableSwap | None:
        """The batches go into a twin of the empty target, committed batch by batch (see
        `holds_uncommitted_rows`), which the entity's transaction then renames into the
        target's place, adding its primary key: no copy, where INSERT ... SELECT into the keyed
        target copies every row (docs/decisions/0005-duckdb-bulk-load.md). Not for a target
        with a UNIQUE key (DuckDB cannot add one to a table), indexes or comments."""
        schema, _, table = target.rpartition(".")
        twin_schema, _, twin_table = twin.rpartition(".")
        if twin_schema != schema:
            raise ValueError(f"{twin}: a twin of {target} must be in schema {schema}")
        import sqlglot

        from dwetl.warehouse.duckdb_ddl import without_primary_key

        queries = named_queries("run/table_swap_duckdb.sql")
        found = self.fetchall(queries["definition"], [schema, table])
        if not found or found[0][1]:
            return None
        primary: list[str] = []
        for kind, columns in self.fetchall(queries["keys"], [schema, table]):
            if kind != "PRIMARY KEY":
                return None
            primary = list(columns)
        create = without_primary_key(sqlglot.parse_one(found[0][0], read="duckdb"), twin_table)
        swap = [f"DROP TABLE {target}", f"ALTER TABLE {twin} RENAME TO {table}"]
        if primary:
            swap.append(f"ALTER TABLE {target} ADD PRIMARY KEY ({', '.join(primary)})")
        return TableSwap(create=(create.sql("duckdb"),), swap=tuple(swap))

    @contextmanager
    def entity_lock(
        self, entity: str, timeout_s: float, *, waiting: Callable[[], None] = go_on
    ) -> Iterator[None]:
        """The right to load `entity` among this process's connections (waits up to
        `timeout_s`); no other process can have the file open (`duckdb_lock`). The entity is
        recorded in the file's lock, so that whoever waits for the file sees what loads.
        `waiting` is called between tries."""
        key = (self.path, entity)
        deadline = time.monotonic() + timeout_s
        with _entities_free:
            while key in _entities:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DwetlError(
                        f"entity {entity} is being loaded by another dwetl "
                        f"({_entities[key]}); gave up after waiting {timeout_s:g} s"
                    )
                waiting()
                _entities_free.wait(min(left, _LOCK_POLL_S))
            run = f"run {self.run_id}, " if self.run_id is not None else ""
            since = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            _entities[key] = f"{run}pid {os.getpid()} on {socket.gethostname()}, since {since}"
        try:
            with duckdb_lock.loading(self.path, entity):
                yield
        finally:
            with _entities_free:
                del _entities[key]
                _entities_free.notify_all()

    def run_holds_locks(self, run_id: int) -> bool:
        """Whether run `run_id` holds this warehouse file's lock (`duckdb_lock`). A run holds it
        from before it connects until it has closed, and this process took it to open the file:
        so only a run of this very process can (a killed holder's lock went with it)."""
        record = duckdb_lock.holder(self.path) or {}
        return record.get("run_id") == run_id and record.get("pid") == os.getpid()

    def close(self) -> None:
        """Close the connection (and the file, when no other Warehouse of this process uses it)."""
        if not self._closed:
            self._closed = True
            try:
                _close_shared(self.path, self._con)
            finally:
                duckdb_lock.release(self.path)
