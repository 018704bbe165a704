"""Permanent connection errors fail at once, one line, exit 2; only refusals are retried.

Every command here runs the real console script with retries configured to 5 attempts and a
20 s backoff: a command that retried even once would take 20 s more. The bound on each
command's elapsed time (`NO_RETRY_S`) is far below that, and the missing WARNING lines prove
the same directly. The refused port, the one transient case, is retried and says so.
"""

from __future__ import annotations

import secrets
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dwetl.core.config import load_settings
from dwetl.ops.init import run_init

#: retrying would sleep 20 s after the first failure, then 20 s more each time
SLOW_RETRIES = {
    "DWETL_CONNECT_ATTEMPTS": "5",
    "DWETL_CONNECT_BACKOFF_SECONDS": "20",
    "DWETL_CONNECT_BACKOFF_MAX_SECONDS": "20",
}
#: a command that never retries: start-up (about 2 s, more on a busy machine) and one try
NO_RETRY_S = 19.0


def _timed(dwetl: Any, *args: str, cwd: Path) -> tuple[Any, float]:
    started = time.monotonic()
    result = dwetl(*args, cwd=cwd, env=SLOW_RETRIES)
    return result, time.monotonic() - started


def _one_line_error(result: Any, code: int, starts: str) -> str:
    """The command's stderr is one `error:` line (no traceback, no retry warning)."""
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {starts}"), lines[0]
    assert "Traceback" not in result.stderr and "attempt" not in result.stderr
    return str(lines[0])


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An initialised DuckDB warehouse (its source missing: init only notes it)."""
    folder = tmp_path_factory.mktemp("warehouse")
    url = f"duckdb:///{folder / 'dw.duckdb'}"
    run_init(load_settings(source="sqlite:///none.sqlite", dw=url, cwd=folder, env={}))
    yield url


def _last_run(dw: str) -> tuple[Any, ...]:
    from dwetl.warehouse import open_warehouse

    settings = load_settings(dw=dw, env={})
    with open_warehouse(settings.dw, settings) as wh:
        rows = wh.fetchall(
            "SELECT status, error, (SELECT COUNT(*) FROM ctl.etl_run_entity e "
            "WHERE e.run_id = r.run_id) FROM ctl.etl_run r ORDER BY run_id DESC LIMIT 1"
        )
    return rows[0]


def test_a_missing_sqlite_source_fails_the_run_before_any_entity(
    tmp_path: Path, dwetl: Any, warehouse: str
) -> None:
    result, seconds = _timed(
        dwetl, "run", "--source", "sqlite:///nope.sqlite", "--dw", warehouse, cwd=tmp_path
    )
    line = _one_line_error(result, 2, "source sqlite:///nope.sqlite: ")
    assert f"{tmp_path / 'nope.sqlite'} does not exist" in line and "dwetl sample" in line
    assert seconds < NO_RETRY_S
    status, error, entities = _last_run(warehouse)
    assert (status, entities) == ("failed", 0)  # recorded, and no entity was tried
    assert "nope.sqlite" in error


def test_a_file_that_is_not_duckdb_is_refused_at_once(tmp_path: Path, dwetl: Any) -> None:
    junk = tmp_path / "notes.duckdb"
    junk.write_bytes(b"not a database, just notes\n" * 200)
    result, seconds = _timed(dwetl, "init", "--dw", "duckdb:///notes.duckdb", cwd=tmp_path)
    line = _one_line_error(result, 2, "warehouse duckdb:///notes.duckdb: ")
    assert "not a valid DuckDB database file" in line and "not retried" in line
    assert seconds < NO_RETRY_S
    assert junk.read_bytes() == b"not a database, just notes\n" * 200


def test_a_sqlite_file_as_the_warehouse_downloads_nothing(tmp_path: Path, dwetl: Any) -> None:
    source = tmp_path / "oltp.sqlite"
    with sqlite3.connect(source) as con:
        con.execute("CREATE TABLE clientes (id INTEGER)")
    con.close()
    before = source.read_bytes()
    result, seconds = _timed(dwetl, "init", "--dw", "duckdb:///oltp.sqlite", cwd=tmp_path)
    line = _one_line_error(result, 2, "warehouse duckdb:///oltp.sqlite: ")
    assert "is a SQLite database, not a DuckDB one" in line
    assert "extension" not in result.stderr.lower()
    assert seconds < NO_RETRY_S
    assert source.read_bytes() == before


@pytest.mark.parametrize("command", ["init", "run", "status"])
def test_a_folder_as_the_warehouse_is_named_a_folder(
    tmp_path: Path, dwetl: Any, command: str
) -> None:
    """DuckDB said 'Could not read from file: Is a directory', then 'not retried: it is no
    refused connection, timeout or starting server' (init), or the path 'does not exist'."""
    (tmp_path / "dw").mkdir()
    result, seconds = _timed(dwetl, command, "--dw", "duckdb:///dw", cwd=tmp_path)
    line = _one_line_error(result, 2, "warehouse duckdb:///dw: ")
    assert line.endswith(f"{tmp_path / 'dw'} is a folder; the URL must name the database file")
    assert seconds < NO_RETRY_S


def test_a_duckdb_connection_never_loads_an_extension(tmp_path: Path) -> None:
    from dwetl.warehouse import open_warehouse

    settings = load_settings(dw="duckdb:///dw.duckdb", cwd=tmp_path, env={})
    with open_warehouse(settings.dw, settings) as wh:
        rows = wh.fetchall(
            "SELECT name, value FROM duckdb_settings() WHERE name IN "
            "('autoload_known_extensions', 'autoinstall_known_extensions') ORDER BY name"
        )
    assert rows == [
        ("autoinstall_known_extensions", "false"),
        ("autoload_known_extensions", "false"),
    ]


@pytest.mark.servers
def test_a_postgresql_database_that_does_not_exist_is_not_retried(
    tmp_path: Path, dwetl: Any, pg_admin: object, warehouse: str
) -> None:
    name = f"dwetl_missing_{secrets.token_hex(4)}"
    url = f"postgresql://postgres@localhost:5432/{name}"
    result, seconds = _timed(dwetl, "status", "--dw", url, cwd=tmp_path)
    line = _one_line_error(result, 2, f"warehouse {url}: ")
    assert f'database "{name}" does not exist' in line
    assert seconds < NO_RETRY_S
    # as the source of a run: the same, before any entity
    result, seconds = _timed(dwetl, "run", "--source", url, "--dw", warehouse, cwd=tmp_path)
    _one_line_error(result, 2, f"source {url}: ")
    assert seconds < NO_RETRY_S


@pytest.mark.servers
def test_a_mariadb_database_that_does_not_exist_is_not_retried(
    tmp_path: Path, dwetl: Any, mysql_server: str, warehouse: str
) -> None:
    name = f"dwetl_missing_{secrets.token_hex(4)}"
    url = f"mysql://root@127.0.0.1:3306/{name}"
    result, seconds = _timed(dwetl, "run", "--source", url, "--dw", warehouse, cwd=tmp_path)
    line = _one_line_error(result, 2, f"source {url}: ")
    assert f"Unknown database '{name}'" in line
    assert seconds < NO_RETRY_S


@pytest.fixture
def mariadb_user(mysql_server: str) -> Iterator[str]:
    """A MariaDB user with a password (its name), dropped after the test."""
    import pymysql

    user = f"dwetl_{secrets.token_hex(4)}"
    con = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    with con, con.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'right-Pass-1'")
        cur.execute(f"GRANT SELECT ON mysql.* TO '{user}'@'%'")
    yield user
    con = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    with con, con.cursor() as cur:
        cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")


@pytest.mark.servers
def test_a_wrong_mariadb_password_is_not_retried_nor_shown(
    tmp_path: Path, dwetl: Any, mariadb_user: str, warehouse: str
) -> None:
    import pymysql

    # the right password works: only the wrong one is refused
    pymysql.connect(
        host="127.0.0.1", port=3306, user=mariadb_user, password="right-Pass-1", database="mysql"
    ).close()
    url = f"mysql://{mariadb_user}:wrong-Pass-9@127.0.0.1:3306/mysql"
    result, seconds = _timed(dwetl, "run", "--source", url, "--dw", warehouse, cwd=tmp_path)
    line = _one_line_error(
        result, 2, f"source mysql://{mariadb_user}:***@127.0.0.1:3306/mysql: Access denied"
    )
    assert "wrong-Pass-9" not in result.stdout + result.stderr
    assert "password" in line
    assert seconds < NO_RETRY_S


def test_a_refused_port_is_retried_once_per_run_not_per_entity(
    tmp_path: Path, dwetl: Any, warehouse: str
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"mysql://root:pw-9z@127.0.0.1:{port}/erp"
    fast = {
        "DWETL_CONNECT_ATTEMPTS": "3",
        "DWETL_CONNECT_BACKOFF_SECONDS": "0.05",
        "DWETL_CONNECT_BACKOFF_MAX_SECONDS": "0.1",
    }
    result = dwetl("run", "--source", url, "--dw", warehouse, cwd=tmp_path, env=fast)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    shown = f"source mysql://root:***@127.0.0.1:{port}/erp"
    retries = [line for line in lines if "WARNING" in line]
    assert len(retries) == 2  # the source is reached once per run: 2 retries, not 2 × 9
    assert all(shown in line and "refused" in line.lower() for line in retries)
    assert "attempt 1 of 3 failed" in retries[0] and "attempt 2 of 3 failed" in retries[1]
    assert lines[-1].startswith(f"error: {shown} unreachable after 3 attempts: ")
    assert "Traceback" not in result.stderr and "pw-9z" not in result.stderr
    assert _last_run(warehouse)[0] == "failed"
