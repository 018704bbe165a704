"""Database URLs: their parts, the password masked wherever shown, connectorx's form."""

from __future__ import annotations

from pathlib import Path

import pytest

from dwetl.core.urls import parse_url


def test_server_url_parts_and_masking() -> None:
    u = parse_url("postgresql://app:p%40ss w@db.local:5433/dw?sslmode=require", setting="--dw")
    assert (u.scheme, u.host, u.port, u.user, u.database) == (
        "postgresql",
        "db.local",
        5433,
        "app",
        "dw",
    )
    assert u.password == "p@ss w"
    assert str(u) == u.masked == "postgresql://app:***@db.local:5433/dw?sslmode=require"
    assert "p@ss" not in repr(u) and "p%40ss" not in repr(u)
    assert u.connectorx_url == "postgresql://app:p%40ss%20w@db.local:5433/dw?sslmode=require"
    assert parse_url("mariadb://root@h/x", setting="x").scheme == "mysql"
    assert parse_url("mysql://root@h/x", setting="x").port == 3306


def test_file_url_for_connectorx(tmp_path: Path) -> None:
    u = parse_url(f"sqlite:///{tmp_path}/a.sqlite", setting="--source")
    assert u.path == tmp_path / "a.sqlite"
    assert u.connectorx_url == f"sqlite://{tmp_path}/a.sqlite"


def test_a_file_url_in_the_home_folder_is_there_not_a_folder_named_tilde(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`duckdb:///~/dw.duckdb` made a folder named `~` in the working folder (removing it
    with `rm -r ~` removes the home folder)."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    work = tmp_path / "work"
    u = parse_url("duckdb:///~/dw.duckdb", setting="--dw", cwd=work)
    assert u.path == home / "dw.duckdb"
    assert parse_url("sqlite:///~/erp/oltp.sqlite", setting="--source", cwd=work).path == (
        home / "erp" / "oltp.sqlite"
    )
    assert parse_url("duckdb:///data/~dw.duckdb", setting="--dw", cwd=work).path == (
        work / "data" / "~dw.duckdb"
    )
