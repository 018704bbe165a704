"""Fixtures for dwetl tests: a fresh PostgreSQL database per test, the real console script."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import subprocess
import sys
import traceback
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

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
def pg_database(server_databases: Any) -> str:
    """The name of a new, empty PostgreSQL database, dropped after the test."""
    name = f"dwetl_test_{secrets.token_hex(6)}"
    server_databases.create_pg(name)
    return name


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


def invoke_dwetl(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`run_dwetl` in this process: the console script's entry point (`dwetl.cli.app.main`)
    with Typer's CliRunner isolation (argv, stdin/stdout/stderr, environment as `run_dwetl`
    sets it, working folder), its exit code as SystemExit gives it, an uncaught exception as a
    traceback and exit 1. It saves starting Python and importing dwetl (a second or more a
    call); what only a process shows (a kill, a file size limit, two processes at once, the
    console script itself) goes through `run_dwetl`, and so does a run that asks to be killed
    (`DWETL_FAIL_AT=...:kill`). `timeout` is `run_dwetl`'s only."""
    from typer._click import formatting
    from typer.testing import CliRunner

    from dwetl.cli.app import main
    from dwetl.cli.process_exit import exit_status
    from dwetl.core import logs

    if (env or {}).get("DWETL_FAIL_AT", "").endswith(":kill"):
        return run_dwetl(*args, cwd=cwd, env=env, timeout=timeout)
    overrides: dict[str, str | None] = {
        k: None for k in os.environ if k.startswith("DWETL_") or k == "COLUMNS"
    }
    overrides.update(env or {})
    logger = logging.getLogger(logs.LOGGER)
    saved = (list(logger.handlers), logger.level, logger.propagate, dict(logs._defaults))
    argv, main_module = sys.argv, sys.modules["__main__"]
    with CliRunner().isolation(env=overrides) as (out, err, _), contextlib.chdir(cwd):
        # click names the program after argv[0] unless __main__ is a `python -m` package
        sys.argv, sys.modules["__main__"] = [str(DWETL), *args], types.ModuleType("__main__")
        formatting.FORCED_WIDTH = None  # the isolation's 80: help follows COLUMNS, as a process
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exit_status(exc.code)
        except Exception:
            traceback.print_exc()
            code = 1
        finally:
            sys.argv, sys.modules["__main__"] = argv, main_module
            sys.stdout.flush()
            sys.stderr.flush()
            for handler in list(logger.handlers):
                if handler not in saved[0]:
                    logger.removeHandler(handler)
                    handler.close()
            logger.setLevel(saved[1])
            logger.propagate = saved[2]
            logs._defaults.clear()
            logs._defaults.update(saved[3])
        stdout = out.getvalue().decode("utf-8", "replace").replace("\r\n", "\n")
        stderr = err.getvalue().decode("utf-8", "replace").replace("\r\n", "\n")
    return subprocess.CompletedProcess(["dwetl", *args], code, stdout, stderr)


@pytest.fixture
def dwetl() -> object:
    """`dwetl(*args, cwd=..., env=...)`: the console script's entry point, run in this process
    (`invoke_dwetl`)."""
    return invoke_dwetl


@pytest.fixture
def dwetl_process() -> object:
    """`dwetl_process(*args, cwd=..., env=..., timeout=...)`: the real console script in a
    subprocess (`run_dwetl`), for what only a process shows."""
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
