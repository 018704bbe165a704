"""What a DuckDB warehouse's statement cannot hold under its memory_limit goes to a folder beside
the warehouse file (`<file>.tmp`, as DuckDB does for a file it opens itself), never to `.tmp` in
the working folder: a scheduler's working folder may be `/`, or a repository."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dwetl.core.urls import parse_url
from dwetl.warehouse.duckdb import DuckDBWarehouse, spill_folder


def _url(path: Path):
    return parse_url(f"duckdb:///{path}", setting="test")


@contextmanager
def _warehouse(path: Path) -> Iterator[DuckDBWarehouse]:
    wh = DuckDBWarehouse.connect(_url(path))
    try:
        yield wh
    finally:
        wh.close()  # its instance is kept idle for the next open, as a notebook's would be


def _spill(wh: DuckDBWarehouse) -> None:
    """2M distinct texts grouped under a 48 MB limit: DuckDB must write part of them out."""
    wh.execute("CREATE TABLE t AS SELECT range AS i, md5(range::VARCHAR) AS s FROM range(2000000)")
    wh.execute("SET memory_limit = '48MB'")
    try:
        wh.execute("CREATE TABLE grouped AS SELECT s, COUNT(*) AS n FROM t GROUP BY s")
    finally:
        wh.execute("RESET memory_limit")
    assert wh.fetchall("SELECT COUNT(*), SUM(n) FROM grouped") == [(2_000_000, 2_000_000)]


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working folder: not the warehouse's."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_a_statement_over_the_memory_limit_spills_beside_the_warehouse_file(tmp_path, elsewhere):
    path = tmp_path / "dw" / "warehouse.duckdb"
    with _warehouse(path) as wh:
        _spill(wh)
        spilled_to = wh.fetchall("SELECT current_setting('temp_directory')")[0][0]

    assert Path(spilled_to) == spill_folder(path) == path.parent / "warehouse.duckdb.tmp"
    assert spill_folder(path).is_dir()
    assert list(elsewhere.iterdir()) == []  # no `.tmp` in the working folder


def test_no_spill_no_folder(tmp_path, elsewhere):
    path = tmp_path / "warehouse.duckdb"
    with _warehouse(path) as wh:
        wh.execute("CREATE TABLE t AS SELECT range AS i FROM range(1000)")
        wh.release_cache()  # switches the folder off and on again: that creates none either
    assert not spill_folder(path).exists()
    assert list(elsewhere.iterdir()) == []


def test_an_instance_kept_from_another_file_spills_beside_the_file_it_opens_now(
    tmp_path, elsewhere
):
    first, second = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    with _warehouse(first) as wh:
        wh.execute("CREATE TABLE t AS SELECT 1 AS i")  # no spill: its instance can move
    with _warehouse(second) as wh:
        _spill(wh)
    assert spill_folder(second).is_dir()
    assert not spill_folder(first).exists()
    assert list(elsewhere.iterdir()) == []


def test_an_instance_that_spilled_for_one_file_is_not_reused_for_another(tmp_path, elsewhere):
    first, second = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    with _warehouse(first) as wh:
        _spill(wh)  # DuckDB cannot switch this instance's folder any more
    with _warehouse(second) as wh:
        assert wh.fetchall("SELECT current_setting('temp_directory')") == [
            (str(spill_folder(second)),)
        ]
        _spill(wh)
    assert spill_folder(second).is_dir()
    assert list(elsewhere.iterdir()) == []
