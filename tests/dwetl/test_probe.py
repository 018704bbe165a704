"""Reaching the source: each scheme with its real database, a missing file, a closed port."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

from dwetl.config import load_settings
from dwetl.probe import probe_source

FAST = {"DWETL_CONNECT_ATTEMPTS": "2", "DWETL_CONNECT_BACKOFF_SECONDS": "0.01"}


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
