"""A password given in a URL never appears in stdout, stderr, the log or the run log."""

from __future__ import annotations

import io
import json
import logging
import socket
from pathlib import Path
from typing import Any

import pytest
import typer

from dwetl.cli.app import _register, app
from dwetl.config import load_settings
from dwetl.dialects import open_warehouse
from dwetl.logs import setup_logging

SECRET = "s3cret-Pw"
FAST = {
    "DWETL_CONNECT_ATTEMPTS": "2",
    "DWETL_CONNECT_BACKOFF_SECONDS": "0.01",
    "DWETL_CONNECT_BACKOFF_MAX_SECONDS": "0.01",
    "DWETL_LOCK_TIMEOUT_SECONDS": "1",
}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def url_options() -> dict[str, set[str]]:
    """Every CLI command that takes a database URL, with the URL options it takes."""
    _register()
    group = typer.main.get_command(app)
    found = {}
    for name, command in getattr(group, "commands", {}).items():
        options = {o for p in command.params for o in p.opts if o in ("--dw", "--source")}
        if options:
            found[name] = options
    return found


def test_init_on_postgresql_with_a_password_never_shows_it(
    tmp_path: Path, pg_database: str, dwetl: Any
) -> None:
    dw = f"postgresql://postgres:{SECRET}@localhost:5432/{pg_database}"
    source = f"postgresql://postgres:{SECRET}@localhost:5432/postgres"
    for args in (["--json"], []):
        result = dwetl("init", "--dw", dw, "--source", source, *args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert SECRET not in result.stdout + result.stderr
        assert f"postgresql://postgres:***@localhost:5432/{pg_database}" in result.stdout
    settings = load_settings(dw=dw, cwd=tmp_path, env={})
    with open_warehouse(settings.dw, settings) as wh:
        rows = wh.fetchall("SELECT * FROM ctl.etl_run")
    assert len(rows) == 2 and SECRET not in json.dumps(rows, default=str)
    assert "postgres:***@" in json.dumps(rows, default=str)


def test_unreachable_source_is_reported_without_its_password(tmp_path: Path, dwetl: Any) -> None:
    source = f"mysql://root:{SECRET}@127.0.0.1:{closed_port()}/erp"
    result = dwetl("init", "--source", source, cwd=tmp_path, env=FAST)
    assert result.returncode == 1
    assert SECRET not in result.stdout + result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: init check failed: source mysql://root:***@127.0.0.1:")
    assert "unreachable after 2 attempts" in last


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://app:{SECRET}@db:notaport/dw",
        f"oracle://app:{SECRET}@db/dw",
        f"postgresql://app:{SECRET}@db:5432/",
    ],
)
def test_malformed_url_error_hides_the_password(tmp_path: Path, dwetl: Any, url: str) -> None:
    result = dwetl("init", "--dw", url, cwd=tmp_path)
    assert result.returncode == 2
    assert SECRET not in result.stdout + result.stderr
    assert result.stderr.startswith("error: --dw: ") and result.stderr.count("\n") == 1


@pytest.mark.parametrize("command", sorted(url_options()))
def test_no_command_prints_a_password(tmp_path: Path, dwetl: Any, command: str) -> None:
    port = closed_port()
    args = [command]
    options = url_options()[command]
    if "--dw" in options:
        args += ["--dw", f"postgresql://etl:{SECRET}@127.0.0.1:{port}/dw"]
    if "--source" in options:
        args += ["--source", f"postgresql://etl:{SECRET}@127.0.0.1:{port}/erp"]
    result = dwetl(*args, cwd=tmp_path, env=FAST, timeout=300)
    assert SECRET not in result.stdout + result.stderr, command
    assert "Traceback" not in result.stderr, command


def test_log_records_are_masked_even_when_a_caller_forgets(tmp_path: Path) -> None:
    settings = load_settings(dw=f"postgresql://u:{SECRET}@h/dw", cwd=tmp_path, env={})
    stream = io.StringIO()
    logger = setup_logging(fmt="json", stream=stream)
    try:
        logger.warning("connecting to %s", settings.dw.raw)
        try:
            raise RuntimeError(f"failed: password={SECRET}")
        except RuntimeError:
            logger.exception("it broke")
    finally:
        setup_logging(stream=io.StringIO())
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0]["message"] == "connecting to postgresql://u:***@h/dw"
    assert lines[0]["level"] == "warning" and lines[0]["logger"] == "dwetl"
    assert "it broke" in lines[1]["message"] and SECRET not in stream.getvalue()
    logging.getLogger("dwetl").handlers.clear()
