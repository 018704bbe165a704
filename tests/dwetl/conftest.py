"""Fixtures for dwetl tests: a fresh PostgreSQL database per test, the real console script."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest

PG_ADMIN = "host=localhost port=5432 user=postgres dbname=postgres connect_timeout=5"
DWETL = Path(sys.executable).with_name("dwetl")
ServerDown = Callable[[str, Exception], NoReturn]


@pytest.fixture(scope="session")
def pg_admin(server_unreachable: ServerDown) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the local PostgreSQL server's maintenance database."""
    try:
        con = psycopg.connect(PG_ADMIN, autocommit=True)
    except psycopg.Error as exc:
        server_unreachable("PostgreSQL on localhost:5432", exc)
    yield con
    con.close()


@pytest.fixture
def pg_database(pg_admin: psycopg.Connection) -> Iterator[str]:
    """The name of a new, empty PostgreSQL database, dropped after the test."""
    name = f"dwetl_test_{secrets.token_hex(6)}"
    pg_admin.execute(f"CREATE DATABASE {name}")
    yield name
    pg_admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """A warehouse URL for a fresh PostgreSQL database (trust auth: no password needed)."""
    return f"postgresql://postgres@localhost:5432/{pg_database}"


def run_dwetl(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the installed `dwetl` console script, as a user would, and capture its output."""
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith("DWETL_") and k != "COLUMNS"
    }
    full_env.update(env or {})
    return subprocess.run(
        [str(DWETL), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def dwetl() -> object:
    """`dwetl(*args, cwd=..., env=...)`: run the real console script in a subprocess."""
    return run_dwetl


@pytest.fixture(scope="session")
def mysql_server(server_unreachable: ServerDown) -> str:
    """The URL of the local MariaDB server's `mysql` database (root, no password)."""
    import pymysql

    try:
        pymysql.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=5).close()
    except pymysql.Error as exc:
        server_unreachable("MariaDB on 127.0.0.1:3306", exc)
    return "mysql://root@127.0.0.1:3306/mysql"
