"""Reaching the source: each scheme with its real database, a missing file, a closed port."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest

from dwetl.core.config import load_settings
from dwetl.core.errors import ConnectionFailed, UsageError
from dwetl.source.probe import probe_source, reach_source

FAST = {"DWETL_CONNECT_ATTEMPTS": "2", "DWETL_CONNECT_BACKOFF_SECONDS": "0.01"}
#: a retry would wait a minute: a test that ends at once was not retried
SLOW = {"DWETL_CONNECT_ATTEMPTS": "5", "DWETL_CONNECT_BACKOFF_SECONDS": "60"}


def test_sqlite_source_found_or_not(tmp_path: Path) -> None:
    settings = load_settings(source="sqlite:///erp/oltp.sqlite", cwd=tmp_path, env={})
    probe = probe_source(settings)
    assert probe.status == "not found" and "dwetl sample" in probe.detail
    assert not (tmp_path / "erp").exists()  # probing never creates the file
    (tmp_path / "erp").mkdir()
    sqlite3.connect(tmp_path / "erp" / "oltp.sqlite").execute(
        "CREATE TABLE t (a)"
    ).connection.close()
    probe = probe_source(settings)
    assert probe.status == "reachable" and probe.seconds is not None


def test_server_sources_reachable(tmp_path: Path, pg_admin: object, mysql_server: str) -> None:
    for url in ("postgresql://postgres@localhost:5432/postgres", mysql_server):
        probe = probe_source(load_settings(source=url, cwd=tmp_path, env=FAST))
        assert probe.status == "reachable", (url, probe.detail)


def test_closed_port_is_unreachable_after_the_attempts(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"mysql://root:pw1234@127.0.0.1:{port}/erp"
    probe = probe_source(load_settings(source=url, cwd=tmp_path, env=FAST))
    assert probe.status == "unreachable"
    assert probe.detail.startswith(
        f"source mysql://root:***@127.0.0.1:{port}/erp unreachable after 2"
    )
    assert "pw1234" not in probe.detail


def test_a_missing_source_file_is_refused_at_once_naming_it(tmp_path: Path) -> None:
    settings = load_settings(source="sqlite:///nowhere.sqlite", cwd=tmp_path, env=SLOW)
    with pytest.raises(UsageError) as error:
        reach_source(settings)
    assert str(error.value) == (
        f"source sqlite:///nowhere.sqlite: {tmp_path / 'nowhere.sqlite'} does not exist "
        "(create it with `dwetl sample`, or point --source / DWETL_SOURCE_URL at the ERP)"
    )
    assert not (tmp_path / "nowhere.sqlite").exists()


def test_a_folder_as_the_source_is_named_a_folder(tmp_path: Path) -> None:
    """It was said not to exist."""
    (tmp_path / "erp").mkdir()
    settings = load_settings(source="sqlite:///erp", cwd=tmp_path, env=SLOW)
    with pytest.raises(UsageError) as error:
        reach_source(settings)
    assert str(error.value) == (
        f"source sqlite:///erp: {tmp_path / 'erp'} is a folder; the URL must name the database file"
    )


def test_an_unreachable_server_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = "postgresql://etl:segredo@127.0.0.1:1/erp"
    with pytest.raises(ConnectionFailed) as error:
        reach_source(load_settings(source=url, cwd=tmp_path, env=FAST))
    message = str(error.value)
    assert message.startswith("source postgresql://etl:***@127.0.0.1:1/erp unreachable after 2")
    assert "segredo" not in message and "\n" not in message
