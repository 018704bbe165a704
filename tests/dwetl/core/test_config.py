"""Settings: URL parsing, precedence option > env > dwetl.toml > default, one-line errors."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from dwetl.core.config import load_settings, parse_url
from dwetl.core.errors import UsageError
from dwetl.core.paths import sql_root


def test_defaults_are_embedded_files_under_cwd(tmp_path: Path) -> None:
    s = load_settings(cwd=tmp_path, env={})
    assert s.source.scheme == "sqlite" and s.source.path == tmp_path / "data" / "oltp.sqlite"
    assert s.dw.scheme == "duckdb" and s.dw.path == tmp_path / "data" / "warehouse.duckdb"
    assert s.sql_dir == sql_root() / "extract"
    assert s.ddl_dir == sql_root() / "ddl"
    assert (s.connect_attempts, s.connect_backoff_s, s.connect_backoff_max_s) == (5, 0.5, 8.0)
    assert (s.watermark_overlap_s, s.max_reject_ratio, s.lock_timeout_s) == (300, 0.05, 60)


def test_an_existing_earlier_default_warehouse_is_kept_with_one_notice(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "dw.duckdb").touch()
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign, assignment]
    logging.getLogger("dwetl").addHandler(handler)
    try:
        for _ in range(2):
            settings = load_settings(cwd=tmp_path, env={})
            assert settings.dw.path == tmp_path / "data" / "dw.duckdb"
    finally:
        logging.getLogger("dwetl").removeHandler(handler)
    (notice,) = [r.getMessage() for r in records]
    assert "using the existing warehouse data/dw.duckdb" in notice
    assert "the default is now data/warehouse.duckdb" in notice
    # an explicit URL is never second-guessed, and once the new default exists it wins
    env = {"DWETL_DW_URL": "duckdb:///data/other.duckdb"}
    assert load_settings(cwd=tmp_path, env=env).dw.path == tmp_path / "data" / "other.duckdb"
    (tmp_path / "data" / "warehouse.duckdb").touch()
    assert load_settings(cwd=tmp_path, env={}).dw.path == tmp_path / "data" / "warehouse.duckdb"


def test_option_beats_env_beats_toml(tmp_path: Path) -> None:
    (tmp_path / "dwetl.toml").write_text(
        '[dw]\nurl = "duckdb:///toml.duckdb"\n[source]\nurl = "sqlite:///toml.sqlite"\n'
        "[connect]\nattempts = 7\nbackoff_seconds = 0.25\n"
        '[run]\nlock_timeout_seconds = 5\n[extract]\nsql_dir = "myextract"\n'
    )
    env = {"DWETL_DW_URL": "duckdb:///env.duckdb"}
    s = load_settings(cwd=tmp_path, env=env)
    assert s.dw.path == tmp_path / "env.duckdb"
    assert s.source.path == tmp_path / "toml.sqlite"
    assert s.connect_attempts == 7 and s.connect_backoff_s == 0.25 and s.lock_timeout_s == 5
    assert s.sql_dir == tmp_path / "myextract"
    s = load_settings(dw="duckdb:////abs/opt.duckdb", cwd=tmp_path, env=env)
    assert s.dw.path == Path("/abs/opt.duckdb")


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


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("oracle://u:s3cret@h/db", "unknown database scheme 'oracle'"),
        ("postgresql://u:s3cret@h:notaport/db", "malformed database URL"),
        ("just-a-path.duckdb", "malformed database URL"),
        ("postgresql://u:s3cret@h:5432/", "must name one database"),
        ("duckdb://somehost/x.duckdb", "no host"),
    ],
)
def test_bad_url_names_the_setting_and_hides_password(
    tmp_path: Path, text: str, fragment: str
) -> None:
    cases: list[tuple[dict[str, Any], dict[str, str], str]] = [
        ({"dw": text}, {}, "--dw"),
        ({}, {"DWETL_DW_URL": text}, "DWETL_DW_URL"),
    ]
    for kwargs, env, origin in cases:
        with pytest.raises(UsageError) as info:
            load_settings(cwd=tmp_path, env=env, **kwargs)
        message = str(info.value)
        assert message.startswith(f"{origin}: ") and fragment in message
        assert "s3cret" not in message and "\n" not in message
        assert info.value.exit_code == 2
    (tmp_path / "dwetl.toml").write_text(f'[dw]\nurl = "{text}"\n')
    with pytest.raises(UsageError, match=r"^dwetl\.toml \[dw\] url: "):
        load_settings(cwd=tmp_path, env={})


def test_bad_numbers_and_unknown_toml_keys(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="DWETL_CONNECT_ATTEMPTS: expected a whole number"):
        load_settings(cwd=tmp_path, env={"DWETL_CONNECT_ATTEMPTS": "many"})
    with pytest.raises(UsageError, match="DWETL_CONNECT_ATTEMPTS: must be >= 1"):
        load_settings(cwd=tmp_path, env={"DWETL_CONNECT_ATTEMPTS": "0"})
    (tmp_path / "dwetl.toml").write_text("[run]\nmax_reject_ratio = 2\n")
    with pytest.raises(UsageError, match=r"\[run\] max_reject_ratio: must be between 0 and 1"):
        load_settings(cwd=tmp_path, env={})
    (tmp_path / "dwetl.toml").write_text("[connect]\nattempt = 3\n")
    with pytest.raises(UsageError, match=r"unknown setting \[connect\] attempt"):
        load_settings(cwd=tmp_path, env={})
    (tmp_path / "dwetl.toml").write_text("[dw\n")
    with pytest.raises(UsageError, match="not valid TOML"):
        load_settings(cwd=tmp_path, env={})


def test_batch_rows_option_beats_env_beats_toml_and_zero_never_batches(tmp_path: Path) -> None:
    assert load_settings(cwd=tmp_path, env={}).batch_rows == 1_000_000
    (tmp_path / "dwetl.toml").write_text("[run]\nbatch_rows = 500000\n")
    assert load_settings(cwd=tmp_path, env={}).batch_rows == 500_000
    env = {"DWETL_BATCH_ROWS": "250000"}
    assert load_settings(cwd=tmp_path, env=env).batch_rows == 250_000
    assert load_settings(cwd=tmp_path, env=env, batch_rows=0).batch_rows == 0
    with pytest.raises(UsageError, match="--batch-rows: must be >= 0, got -1"):
        load_settings(cwd=tmp_path, env=env, batch_rows=-1)
    with pytest.raises(UsageError, match="DWETL_BATCH_ROWS: expected a whole number, got '1e6'"):
        load_settings(cwd=tmp_path, env={"DWETL_BATCH_ROWS": "1e6"})
