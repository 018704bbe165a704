"""DuckDB keeps the blocks it wrote cached in the process up to its memory_limit (80% of the
machine's memory), so a batched load grew by every batch it committed. `release_cache`, called
between committed batches, gives that memory back; the rows stay, and so does the limit."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from dwetl.core.urls import parse_url
from dwetl.warehouse.duckdb import DuckDBWarehouse

ROWS = 1_000_000


@pytest.fixture
def url(tmp_path: Path):
    return parse_url(f"duckdb:///{tmp_path / 'dw.duckdb'}", setting="test")


@pytest.fixture
def wh(url):
    warehouse = DuckDBWarehouse.connect(url)
    warehouse.execute("CREATE TABLE f (k BIGINT NOT NULL, v DOUBLE, w VARCHAR)")
    # values that do not compress to nothing, as a fact's do not
    rows = pa.table(
        {
            "k": pa.array(range(ROWS), pa.int64()),
            "v": pc.random(ROWS),
            "w": pc.cast(pc.random(ROWS), pa.string()),
        }
    )
    with warehouse.transaction():  # as a batch goes into staging (`merge.append`)
        warehouse.load_arrow("f", rows)
    # a temporary table, as a run keeps some: no block of the file, it leaves only to a spill file
    warehouse.execute("CREATE TEMP TABLE held AS SELECT range AS sk FROM range(1000000)")
    yield warehouse
    warehouse.close()


def _cached_mb(wh: DuckDBWarehouse) -> float:
    ((used,),) = wh.fetchall(
        "SELECT COALESCE(SUM(memory_usage_bytes), 0) / 2^20 FROM duckdb_memory() "
        "WHERE tag = 'BASE_TABLE'"
    )
    return float(used)


def _setting(wh: DuckDBWarehouse, name: str) -> str:
    ((value,),) = wh.fetchall("SELECT current_setting(%s)", [name])
    return str(value)


def _limit(wh: DuckDBWarehouse) -> str:
    return _setting(wh, "memory_limit")


def test_committed_rows_leave_the_cache_and_stay_in_the_file(wh, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    limit, spill_to = _limit(wh), _setting(wh, "temp_directory")
    cached = _cached_mb(wh)
    assert cached > 5, cached  # what the load left cached: 16 MB for 1M rows of these three columns

    wh.release_cache()

    assert _cached_mb(wh) < 1
    assert (_limit(wh), _setting(wh, "temp_directory")) == (limit, spill_to)
    # nothing spilled, and no temporary folder started in the working folder
    assert ".tmp" not in {p.name for p in tmp_path.iterdir()}
    assert wh.fetchall("SELECT COUNT(*), SUM(k) FROM f") == [(ROWS, ROWS * (ROWS - 1) // 2)]


def test_the_cache_stays_while_another_connection_or_a_transaction_may_need_memory(wh, url):
    cached = _cached_mb(wh)
    other = DuckDBWarehouse.connect(url)  # the same file in this process: one DuckDB instance
    try:
        wh.release_cache()
        assert _cached_mb(wh) >= cached
    finally:
        other.close()

    with wh.transaction():
        wh.release_cache()
        assert _cached_mb(wh) >= cached

    wh.release_cache()
    assert _cached_mb(wh) < 1
