"""DDL scripts: found in number order, checksummed, split into statements safely."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dwetl.core.errors import UsageError
from dwetl.core.paths import ddl_root
from dwetl.core.sqltext import first_line, split_statements
from dwetl.warehouse.ddl import list_scripts


def test_shipped_scripts_in_order_with_sha256() -> None:
    scripts = list_scripts(ddl_root())
    assert [s.name for s in scripts] == [
        "001_schemas.sql",
        "002_control.sql",
        "003_dimensions.sql",
        "004_facts.sql",
        "005_reject_per_key.sql",
        "006_schema_text.sql",
        "007_run_entity_future_ties.sql",
        "008_run_process.sql",
        "009_open_reject_index.sql",
        "010_blocked_reject_index.sql",
    ]
    for script in scripts:
        assert script.checksum == hashlib.sha256(script.path.read_bytes()).hexdigest()


def test_number_order_not_name_order_and_other_files_ignored(tmp_path: Path) -> None:
    (tmp_path / "010_later.sql").write_text("SELECT 10;")
    (tmp_path / "002_first.sql").write_text("SELECT 2;")
    (tmp_path / "README.md").write_text("not a script")
    (tmp_path / "7_bad_name.sql").write_text("SELECT 7;")
    assert [s.name for s in list_scripts(tmp_path)] == ["002_first.sql", "010_later.sql"]


def test_folder_problems_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        list_scripts(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("a file")
    with pytest.raises(UsageError, match=r"notes\.txt is a file, not a folder"):
        list_scripts(tmp_path / "notes.txt")
    (tmp_path / "notes.txt").unlink()
    with pytest.raises(UsageError, match=r"has no NNN_name\.sql scripts"):
        list_scripts(tmp_path)
    (tmp_path / "001_a.sql").write_text("SELECT 1;")
    (tmp_path / "001_b.sql").write_text("SELECT 1;")
    with pytest.raises(UsageError, match=r"001_a\.sql and 001_b\.sql share number 001"):
        list_scripts(tmp_path)


def test_split_statements_respects_strings_and_comments() -> None:
    sql = (
        "-- header; with a semicolon\n"
        "CREATE TABLE t (a VARCHAR(5) CHECK (a IN ('x;y', 'z')));\n"
        "/* block; comment */ INSERT INTO t VALUES ('x;y');\n"
        "SELECT 1"
    )
    assert split_statements(sql) == [
        "CREATE TABLE t (a VARCHAR(5) CHECK (a IN ('x;y', 'z')))",
        "INSERT INTO t VALUES ('x;y')",
        "SELECT 1",
    ]
    statements = split_statements((ddl_root() / "003_dimensions.sql").read_text("utf-8"))
    assert len(statements) == 12 and statements[0].startswith(
        "CREATE TABLE IF NOT EXISTS dw.dim_data"
    )


def test_first_line_is_short() -> None:
    assert first_line("CREATE TABLE x (\n a INT)") == "CREATE TABLE x ("
    long = "INSERT INTO t VALUES (" + "1, " * 50 + "1)"
    assert len(first_line(long)) == 80 and first_line(long).endswith("...")
