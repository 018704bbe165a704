"""Shared fixtures: a real sample source and a fresh warehouse after `init`, on any backend pair.

`etl` (function scope) is a small harness over real databases, private to the test:

    etl.sample(rows=1000, seed=3, damage=0.02)   # the sample source (cached per params)
    etl.init()                                   # dwetl.ops.init.run_init on the warehouse
    summary = etl.run("all")                     # dwetl.run.runner.run, a RunSummary
    etl.dw("SELECT COUNT(*) FROM dw.dim_cliente")  # rows from the warehouse
    etl.src("SELECT COUNT(*) FROM clientes")       # rows from the source (SQLite's dialect)

By default the pair is SQLite -> DuckDB (files in the test's tmp folder). A test marked
`@pytest.mark.pairs(...)` runs once per named pair (no names: every pair in PAIRS); a server
pair gets fresh databases, created for the test and dropped after it. Source SQL is written in
SQLite's dialect and transpiled by sqlglot for PostgreSQL and MariaDB (parameters inlined as
literals). In CI (`CI=true`) a server that is down fails the test; elsewhere it skips it.
"""

from __future__ import annotations

import os
import queue
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import polars as pl
import pytest

from dwetl.core.config import Settings, load_settings

SampleFile = Callable[[int, int, float], Path]

#: source-warehouse backend pairs that matter (the first is the embedded default)
PAIRS = ("sqlite-duckdb", "postgresql-postgresql", "mysql-postgresql", "sqlite-postgresql")
DEFAULT_PAIR = PAIRS[0]
#: the local servers (ports overridable, so that a test can prove what a down server does)
PG_PORT = int(os.environ.get("DWETL_TEST_PG_PORT", "5432"))
MYSQL_PORT = int(os.environ.get("DWETL_TEST_MYSQL_PORT", "3306"))
PG_ADMIN = f"host=localhost port={PG_PORT} user=postgres dbname=postgres connect_timeout=5"
TS_FORMAT = "%Y-%m-%d %H:%M:%S"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "pairs(*names): run the test's `etl` on these backend pairs (default: all)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("pairs")
    if marker is None or "backend_pair" not in metafunc.fixturenames:
        return
    names = marker.args or PAIRS
    unknown = set(names) - set(PAIRS)
    assert not unknown, f"unknown backend pair(s) {unknown}; known: {PAIRS}"
    metafunc.parametrize("backend_pair", names, ids=names, indirect=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # however a test got its pair (marker or explicit parametrize), a server pair needs servers
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend_pair", DEFAULT_PAIR) != (
            DEFAULT_PAIR
        ):
            item.add_marker(pytest.mark.servers)


def fail_in_ci_else_skip(reason: str) -> NoReturn:
    """What a test does when something it needs is missing: in CI (`CI=true`) the servers and
    the machine's abilities are part of the job, so it fails; elsewhere it skips."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def server_down(what: str, exc: Exception) -> NoReturn:
    """A down server fails the test in CI (the servers are part of the job), else skips it."""
    fail_in_ci_else_skip(f"{what} is not reachable: {exc}")


@pytest.fixture(scope="session")
def unavailable() -> Callable[[str], NoReturn]:
    """`unavailable(reason)`: fail in CI, skip elsewhere (`fail_in_ci_else_skip`)."""
    return fail_in_ci_else_skip


@pytest.fixture(scope="session")
def server_unreachable() -> Callable[[str, Exception], NoReturn]:
    """`server_unreachable(what, exc)`: a down server fails in CI, skips elsewhere."""
    return server_down


def relaxed_commits(database: str) -> str:
    """The statement that lets a test database's commits return before their WAL is flushed:
    a test never survives a server crash, and a commit's flush is most of its time here (the
    other guarantees, atomicity and isolation, are untouched)."""
    return f"ALTER DATABASE {database} SET synchronous_commit = off"


class BackgroundDrops:
    """Drops test databases on a thread of their own: a PostgreSQL `DROP DATABASE` waits for a
    checkpoint (0.5-1.5 s here), which the next test need not wait for. `finish` (at the end of
    the session) waits for the drops still queued."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.failures: list[str] = []

    def drop(self, kind: str, name: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="drop-databases", daemon=True)
            self._thread.start()
        self._queue.put((kind, name))

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            kind, name = item
            try:
                ServerDatabases.drop(kind, name)
            except BaseException as exc:  # reported at the end of the session
                self.failures.append(f"{kind} {name}: {exc}")

    def finish(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None


BACKGROUND_DROPS = BackgroundDrops()


def pytest_sessionfinish(session: pytest.Session) -> None:
    BACKGROUND_DROPS.finish()
    if BACKGROUND_DROPS.failures:
        print("\ntest databases left behind:", *BACKGROUND_DROPS.failures, sep="\n  ")


class ServerDatabases:
    """Fresh PostgreSQL / MariaDB databases for one test, all dropped by `drop_all`."""

    def __init__(self) -> None:
        self.made: list[tuple[str, str]] = []

    def new(self, kind: str) -> str:
        """The URL of a new, empty database on the local `kind` server."""
        name = f"dwetl_test_{secrets.token_hex(6)}"
        if kind == "postgresql":
            self.create_pg(name)
            return f"postgresql://postgres@localhost:{PG_PORT}/{name}"
        # the sample writer's charset and collation (binary: accents and case kept distinct)
        self._mysql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        self.made.append((kind, name))
        return f"mysql://root@127.0.0.1:{MYSQL_PORT}/{name}"

    def create_pg(self, name: str, template: str | None = None) -> None:
        """Create the PostgreSQL database `name` (a copy of `template` if given), dropped by
        `drop_all`. A copy needs no session on the template: a moment's wait when one is
        still closing."""
        import psycopg

        sql = f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else "")
        for attempt in range(50):
            try:
                self._pg(sql)
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 49:
                    raise
                time.sleep(0.1)
        self.made.append(("postgresql", name))
        self._pg(relaxed_commits(name))

    def drop_all(self, wait: bool = False) -> None:
        """Drop this test's databases: in the background (`BACKGROUND_DROPS`), or before
        returning with `wait` (a role they grant to can then be dropped)."""
        for kind, name in reversed(self.made):
            if wait:
                self.drop(kind, name)
            else:
                BACKGROUND_DROPS.drop(kind, name)
        self.made.clear()

    @classmethod
    def drop(cls, kind: str, name: str) -> None:
        """Drop the `kind` server's database `name` now."""
        if kind == "postgresql":
            cls._pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        else:
            cls._mysql(f"DROP DATABASE IF EXISTS {name}")

    def replace_pg(self, name: str, template: str) -> None:
        """Replace this test's PostgreSQL database `name` by a copy of `template`: the old one
        renamed out of the way and dropped in the background (a drop waits for a checkpoint),
        or dropped now when a session still holds it."""
        import psycopg

        self.made.remove(("postgresql", name))
        old = f"{name}_old_{secrets.token_hex(3)}"
        try:
            self._pg(f"ALTER DATABASE {name} RENAME TO {old}")
        except psycopg.errors.ObjectInUse:
            self._pg(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        else:
            BACKGROUND_DROPS.drop("postgresql", old)
        self.create_pg(name, template=template)

    def copy_mysql(self, template: str, name: str) -> None:
        """Copy every table of the MariaDB database `template` into `name` (MariaDB has no
        database templates): definitions with their indexes, then rows."""
        import pymysql

        con = pymysql.connect(host="127.0.0.1", port=MYSQL_PORT, user="root", autocommit=True)
        with con, con.cursor() as cur:
            cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (template,),
            )
            for (table,) in cur.fetchall():
                cur.execute(f"DROP TABLE IF EXISTS `{name}`.`{table}`")
                cur.execute(f"CREATE TABLE `{name}`.`{table}` LIKE `{template}`.`{table}`")
                cur.execute(f"INSERT INTO `{name}`.`{table}` SELECT * FROM `{template}`.`{table}`")

    @staticmethod
    def _pg(sql: str) -> None:
        import psycopg

        try:
            con = psycopg.connect(PG_ADMIN, autocommit=True)
        except psycopg.Error as exc:
            server_down(f"PostgreSQL on localhost:{PG_PORT}", exc)
        with con:
            con.execute(sql)

    @staticmethod
    def _mysql(sql: str) -> None:
        import pymysql

        try:
            con = pymysql.connect(
                host="127.0.0.1", port=MYSQL_PORT, user="root", autocommit=True, connect_timeout=5
            )
        except pymysql.MySQLError as exc:
            server_down(f"MariaDB on 127.0.0.1:{MYSQL_PORT}", exc)
        with con, con.cursor() as cur:
            cur.execute(sql)


@pytest.fixture(scope="session")
def sample_file(tmp_path_factory: pytest.TempPathFactory) -> SampleFile:
    """`sample_file(rows, seed, damage)`: a sample SQLite source, generated once per session."""
    made: dict[tuple[int, int, float], Path] = {}

    def make(rows: int, seed: int, damage: float) -> Path:
        key = (rows, seed, damage)
        if key not in made:
            from dwetl.sample import generate_sample
            from dwetl.sample.write import writer_for

            path = tmp_path_factory.mktemp("sample") / f"oltp_{rows}_{seed}_{damage}.sqlite"
            url = load_settings(source=f"sqlite:///{path}", env={}).source
            writer = writer_for(url)
            writer.write(generate_sample(rows, seed, damage, legacy_bytes=writer.legacy_bytes))
            made[key] = path
        return made[key]

    return make


@pytest.fixture(scope="session")
def sample_data() -> Callable[[int, int, float], Any]:
    """`sample_data(rows, seed, damage)`: a Sample for a server source (UTF-8 only: a server
    database cannot hold the legacy bytes SQLite keeps), generated once per session."""
    made: dict[tuple[int, int, float], Any] = {}

    def make(rows: int, seed: int, damage: float) -> Any:
        key = (rows, seed, damage)
        if key not in made:
            from dwetl.sample import generate_sample

            made[key] = generate_sample(rows, seed, damage, legacy_bytes=False)
        return made[key]

    return make


class InitTemplates:
    """Warehouses on which `init` ran, made once per session (per xdist worker) and copied for
    each harness whose fresh warehouse is inited: `init` (DDL, seeding, checks) costs a second
    or more a test, a copy (a DuckDB file, a PostgreSQL `CREATE DATABASE ... TEMPLATE`) a
    fraction. Made from this checkout's DDL and code at the start of the session."""

    def __init__(self, folder: Path, databases: ServerDatabases) -> None:
        self.folder = folder
        self.databases = databases
        self._duckdb: Path | None = None
        self._postgresql: str | None = None
        self._samples: dict[tuple[Any, ...], str] = {}

    def _init(self, dw: str) -> None:
        from dwetl.ops.init import run_init

        source = f"sqlite:///{self.folder / 'no-source.sqlite'}"
        report = run_init(load_settings(source=source, dw=dw, cwd=self.folder, env={}))
        assert report.ok, report.as_dict()

    def copy_duckdb(self, target: Path) -> None:
        """`target` becomes a warehouse file on which init ran."""
        if self._duckdb is None:
            path = self.folder / "template.duckdb"
            self._init(f"duckdb:///{path}")
            self._duckdb = path
        shutil.copyfile(self._duckdb, target)

    def sample_template(self, kind: str, sample: Any, key: tuple[Any, ...]) -> str:
        """The name of a `kind` server database that holds `sample` (cached under `key`),
        written once per session: a test's source is a copy of it, as writing a sample costs a
        second or more (MariaDB's `LOAD DATA` and indexes) where a copy costs a fraction."""
        from dwetl.sample.write import write_sample

        template = self._samples.get((kind, *key))
        if template is None:
            if kind == "postgresql":
                template = f"dwetl_template_{secrets.token_hex(6)}"
                self.databases.create_pg(template)
                url = f"postgresql://postgres@localhost:{PG_PORT}/{template}"
            else:
                url = self.databases.new(kind)
                template = url.rsplit("/", 1)[1]
            write_sample(sample, url)
            self._samples[(kind, *key)] = template
        return template

    def create_postgresql(self, name: str) -> None:
        """Create the PostgreSQL database `name` as one on which init ran."""
        if self._postgresql is None:
            template = f"dwetl_template_{secrets.token_hex(6)}"
            self.databases.create_pg(template)
            self._init(f"postgresql://postgres@localhost:{PG_PORT}/{template}")
            self._postgresql = template
        self.databases.create_pg(name, template=self._postgresql)


def _server_sql(sql: str, params: Sequence[Any], dialect: str) -> str:
    """SQLite-dialect `sql` for a server, its `?` parameters inlined as literals."""
    import sqlglot
    from sqlglot import exp

    tree = exp.replace_placeholders(sqlglot.parse_one(sql, read="sqlite"), *params)
    return tree.sql(dialect=dialect)


class Etl:
    """A source and a warehouse private to one test, driven through dwetl's real functions."""

    def __init__(
        self,
        folder: Path,
        sample_file: SampleFile,
        pair: str = DEFAULT_PAIR,
        databases: ServerDatabases | None = None,
        sample_data: Callable[[int, int, float], Any] | None = None,
        templates: InitTemplates | None = None,
    ) -> None:
        self.folder = folder
        self.pair = pair
        self.source_kind, self.dw_kind = pair.split("-")
        self.source_path = folder / "oltp.sqlite"
        self.dw_path = folder / "dw.duckdb"
        self._sample_file = sample_file
        self._sample_data = sample_data
        servers = databases or ServerDatabases()
        self._servers, self._templates = servers, templates
        # a PostgreSQL source is created when first used: empty, or as a copy of a sample
        # template when `sample` comes first (no empty database to drop then)
        self._source_to_create: str | None = None
        if self.source_kind == "sqlite":
            self._source_url = f"sqlite:///{self.source_path}"
        elif self.source_kind == "postgresql":
            self._source_to_create = f"dwetl_test_{secrets.token_hex(6)}"
            self._source_url = f"postgresql://postgres@localhost:{PG_PORT}/{self._source_to_create}"
        else:
            self._source_url = servers.new(self.source_kind)
        # a PostgreSQL warehouse is created when first used: empty, or as a copy of the init
        # template when `init` comes first
        self._pg_to_create: str | None = None
        if self.dw_kind == "duckdb":
            self._dw_url = f"duckdb:///{self.dw_path}"
        elif self.dw_kind == "postgresql":
            self._pg_to_create = f"dwetl_test_{secrets.token_hex(6)}"
            self._dw_url = f"postgresql://postgres@localhost:{PG_PORT}/{self._pg_to_create}"
        else:
            self._dw_url = servers.new(self.dw_kind)

    @property
    def source_url(self) -> str:
        """The source's URL (the database exists from now on)."""
        if self._source_to_create is not None:
            self._servers.create_pg(self._source_to_create)
            self._source_to_create = None
        return self._source_url

    @property
    def dw_url(self) -> str:
        """The warehouse's URL (the database exists from now on)."""
        if self._pg_to_create is not None:
            self._servers.create_pg(self._pg_to_create)
            self._pg_to_create = None
        return self._dw_url

    @property
    def settings(self) -> Settings:
        """Settings pointing at this harness's databases (no env, no dwetl.toml)."""
        return load_settings(source=self.source_url, dw=self.dw_url, cwd=self.folder, env={})

    @property
    def env(self) -> dict[str, str]:
        """Environment for the console script: this harness's URLs."""
        return {"DWETL_SOURCE_URL": self.source_url, "DWETL_DW_URL": self.dw_url}

    def sample(self, rows: int = 1000, seed: int = 1, damage: float = 0.0) -> str:
        """A fresh, private copy of a cached sample as this harness's source; its URL."""
        if self.source_kind == "sqlite":
            shutil.copyfile(self._sample_file(rows, seed, damage), self.source_path)
        else:
            from dwetl.sample.write import write_sample

            assert self._sample_data is not None
            sample = self._sample_data(rows, seed, damage)
            database = self._source_url.rsplit("/", 1)[1]
            if self._templates is None:
                write_sample(sample, self.source_url)
                return self.source_url
            key = (rows, seed, damage)
            template = self._templates.sample_template(self.source_kind, sample, key)
            if self._source_to_create is not None:
                self._servers.create_pg(database, template=template)
                self._source_to_create = None
            elif self.source_kind == "postgresql":
                self._servers.replace_pg(database, template)
            else:
                self._servers.copy_mysql(template, database)
        return self.source_url

    def use_source_of(self, other: Etl) -> None:
        """Read `other`'s source (same rows) instead of a sample of this harness's own."""
        self.source_kind, self._source_url = other.source_kind, other.source_url
        self._source_to_create = None
        self.source_path = other.source_path

    def init(self) -> None:
        """`dwetl init` on this harness's warehouse: on a fresh one, a copy of the session's
        init template (the same tables and control rows); else `run_init` itself."""
        from dwetl.ops.init import run_init

        if self._templates is not None:
            if self._pg_to_create is not None:
                self._templates.create_postgresql(self._pg_to_create)
                self._pg_to_create = None
                return
            if self.dw_kind == "duckdb" and not self.dw_path.exists():
                self._templates.copy_duckdb(self.dw_path)
                return
        report = run_init(self.settings)
        assert report.ok, report.as_dict()

    def run(self, *entities: str, **options: Any) -> Any:
        """`dwetl.run.runner.run` on this harness (entities default to all)."""
        from dwetl.run.runner import run

        return run(self.settings, list(entities) or ["all"], **options)

    def dw(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Rows of a query on the warehouse."""
        from dwetl.warehouse import open_warehouse

        with open_warehouse(self.settings.dw, self.settings) as wh:
            return wh.fetchall(sql, params)

    def dw_execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run one statement on the warehouse (committed)."""
        from dwetl.warehouse import open_warehouse

        with open_warehouse(self.settings.dw, self.settings) as wh:
            wh.execute(sql, params)

    def dw_frame(self, sql: str) -> pl.DataFrame:
        """A query on the warehouse as a Polars frame."""
        from dwetl.warehouse import open_warehouse

        with open_warehouse(self.settings.dw, self.settings) as wh:
            return wh.fetch_polars(sql)

    def src(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query (or the effect of a statement, committed) on the source; `sql` is
        SQLite's dialect with `?` parameters, transpiled for a server source."""
        if self.source_kind == "sqlite":
            con = sqlite3.connect(self.source_path)
            try:
                rows = con.execute(sql, tuple(params)).fetchall()
                con.commit()
                return rows
            finally:
                con.close()
        url = self.settings.source
        if self.source_kind == "postgresql":
            import psycopg

            text = _server_sql(sql, params, "postgres")
            with psycopg.connect(url.raw) as pg:
                cur = pg.execute(text.encode())
                return cur.fetchall() if cur.description else []
        import pymysql

        text = _server_sql(sql, params, "mysql")
        con_ = pymysql.connect(
            host=url.host, port=url.port or 3306, user=url.user, database=url.database,
            charset="utf8mb4", autocommit=True,
        )  # fmt: skip
        with con_, con_.cursor() as cur:
            cur.execute(text)
            return list(cur.fetchall())

    def later(self, table: str) -> str:
        """One day after the newest `atualizado_em` of a source table, as the source's text:
        an update stamped with it is past every watermark."""
        (newest,), *_ = self.src(f"SELECT MAX(atualizado_em) FROM {table}")
        moment = newest if isinstance(newest, datetime) else datetime.fromisoformat(newest)
        return (moment + timedelta(days=1)).strftime(TS_FORMAT)


@pytest.fixture
def backend_pair(request: pytest.FixtureRequest) -> str:
    """The source-warehouse pair of this test ("sqlite-duckdb" unless marked `pairs`)."""
    return str(getattr(request, "param", DEFAULT_PAIR))


@pytest.fixture
def server_databases() -> Iterator[ServerDatabases]:
    """Fresh server databases for this test, dropped after it."""
    databases = ServerDatabases()
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def init_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InitTemplates]:
    """The session's init templates (see InitTemplates); the PostgreSQL one dropped at the end."""
    databases = ServerDatabases()
    yield InitTemplates(tmp_path_factory.mktemp("init-template"), databases)
    databases.drop_all()


@pytest.fixture
def etl(
    tmp_path: Path,
    sample_file: SampleFile,
    sample_data: Callable[[int, int, float], Any],
    backend_pair: str,
    server_databases: ServerDatabases,
    init_templates: InitTemplates,
) -> Etl:
    """A fresh source + warehouse harness for this test, on its backend pair."""
    return Etl(tmp_path, sample_file, backend_pair, server_databases, sample_data, init_templates)


@pytest.fixture
def new_etl(
    tmp_path: Path,
    sample_file: SampleFile,
    sample_data: Callable[[int, int, float], Any],
    backend_pair: str,
    server_databases: ServerDatabases,
    init_templates: InitTemplates,
) -> Callable[[str], Etl]:
    """`new_etl("name")`: another harness on the same pair (a second warehouse)."""

    def make(name: str) -> Etl:
        folder = tmp_path / name
        folder.mkdir()
        return Etl(folder, sample_file, backend_pair, server_databases, sample_data, init_templates)

    return make
