"""An empty DuckDB target loaded in batches takes the twin its batches went into
(`Warehouse.table_swap`): the twin is created with the target's columns, NOT NULLs, defaults and
CHECKs but no key, and the swap gives it the target's name and primary key; a target with what a
swap would lose (a UNIQUE key, an index, a comment) is not swapped."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dwetl.core.urls import parse_url
from dwetl.run import merge
from dwetl.warehouse.duckdb import DuckDBWarehouse

TARGET = (
    "CREATE TABLE dw.f (k BIGINT, v INTEGER NOT NULL DEFAULT 1, w VARCHAR, "
    "PRIMARY KEY (k), CHECK (v > 0))"
)


@pytest.fixture
def wh(tmp_path: Path):
    url = parse_url(f"duckdb:///{tmp_path / 'dw.duckdb'}", setting="test")
    warehouse = DuckDBWarehouse.connect(url)
    warehouse.execute("CREATE SCHEMA dw")
    warehouse.execute("CREATE SCHEMA stg")
    yield warehouse
    warehouse.close()


def _shape(wh: DuckDBWarehouse, table: str) -> list[tuple[object, ...]]:
    schema, name = table.split(".")
    columns = wh.fetchall(
        "SELECT column_name, data_type, is_nullable, column_default FROM duckdb_columns() "
        "WHERE schema_name = %s AND table_name = %s ORDER BY column_index",
        [schema, name],
    )
    constraints = wh.fetchall(
        "SELECT constraint_type, constraint_text FROM duckdb_constraints() "
        "WHERE schema_name = %s AND table_name = %s ORDER BY constraint_type, constraint_text",
        [schema, name],
    )
    return columns + constraints


def test_the_twin_swapped_in_is_the_target_with_its_rows(wh):
    wh.execute(TARGET)
    before = _shape(wh, "dw.f")
    swap = wh.table_swap("dw.f", "dw.f__loading_7")
    assert swap is not None

    for sql in swap.create:
        wh.execute(sql)
    # no key while the batches go in, its CHECKs and NOT NULLs in place
    wh.execute("INSERT INTO dw.f__loading_7 (k, v, w) VALUES (1, 2, 'a'), (1, 3, 'b')")
    with pytest.raises(duckdb.ConstraintException, match="CHECK"):
        wh.execute("INSERT INTO dw.f__loading_7 (k, v) VALUES (2, 0)")
    with pytest.raises(duckdb.ConstraintException, match="NOT NULL"):
        wh.execute("INSERT INTO dw.f__loading_7 (k, v) VALUES (2, NULL)")
    wh.execute("DELETE FROM dw.f__loading_7 WHERE w = 'b'")
    wh.execute("INSERT INTO dw.f__loading_7 (k) VALUES (2)")  # the default

    with wh.transaction():
        for sql in swap.swap:
            wh.execute(sql)

    assert _shape(wh, "dw.f") == before
    assert wh.fetchall("SELECT k, v, w FROM dw.f ORDER BY k") == [(1, 2, "a"), (2, 1, None)]
    assert not wh.table_exists("dw.f__loading_7")
    with pytest.raises(duckdb.ConstraintException, match="primary key"):
        wh.execute("INSERT INTO dw.f (k, v) VALUES (1, 5)")


def test_a_swap_that_fails_leaves_the_target_and_the_twin(wh):
    wh.execute(TARGET)
    swap = wh.table_swap("dw.f", "dw.f__loading_7")
    assert swap is not None
    for sql in swap.create:
        wh.execute(sql)
    wh.execute("INSERT INTO dw.f__loading_7 (k, v) VALUES (1, 2), (1, 3)")  # a duplicate key

    with pytest.raises(duckdb.ConstraintException), wh.transaction():
        for sql in swap.swap:
            wh.execute(sql)

    assert wh.fetchall("SELECT COUNT(*) FROM dw.f") == [(0,)]
    assert wh.fetchall("SELECT COUNT(*) FROM dw.f__loading_7") == [(2,)]


@pytest.mark.parametrize(
    "extra",
    [
        "ALTER TABLE dw.f ADD COLUMN u INTEGER UNIQUE",
        "CREATE INDEX f_w ON dw.f (w)",
        "COMMENT ON TABLE dw.f IS 'vendas'",
        "COMMENT ON COLUMN dw.f.w IS 'canal'",
    ],
)
def test_a_target_with_what_a_swap_would_lose_is_not_swapped(wh, extra):
    wh.execute(TARGET.replace("PRIMARY KEY (k), ", "") if "UNIQUE" in extra else TARGET)
    wh.execute(extra)

    assert wh.table_swap("dw.f", "dw.f__loading_7") is None


def test_batches_go_into_a_twin_only_when_the_target_is_empty(wh):
    wh.execute(TARGET)
    plan = merge.MergePlan("dw.f", "stg.f_7", ("k", "v", "w"), ("k",))

    with wh.transaction():
        twin, swap = merge.create_batch_staging(wh, plan, 7)
    assert (twin.staging, bool(swap)) == ("dw.f__loading_7", True)
    merge.append(wh, twin, wh.fetch_polars("SELECT 1::BIGINT AS k, 4 AS v, 'x' AS w"))
    with wh.transaction():
        counts = merge.settle(wh, merge.staged(wh, twin, 1, swap))
    assert counts == merge.MergeCounts(1, 0, 0)
    assert wh.fetchall("SELECT k, v, w FROM dw.f") == [(1, 4, "x")]

    with wh.transaction():
        staging, swap = merge.create_batch_staging(wh, plan, 8)
    assert (staging, swap) == (plan, ())
    assert wh.table_exists("stg.f_7")


def test_a_twin_a_killed_run_left_is_dropped_with_its_staging_tables(wh):
    wh.execute(TARGET)
    for table in ("dw.f__loading_3", "stg.f_4", "dw.f__loading_x", "dw.g__loading_3"):
        wh.execute(f"CREATE TABLE {table} (k BIGINT)")

    dropped = merge.drop_leftover_staging(wh, "f", "dw.f")

    assert dropped == ["dw.f__loading_3", "stg.f_4"]
    assert wh.table_exists("dw.f__loading_x") and wh.table_exists("dw.g__loading_3")


def test_leftovers_are_looked_for_in_the_run_start_listing_then_dropped_as_found_now(wh):
    wh.execute(TARGET)
    wh.execute("CREATE TABLE stg.f_4 (k BIGINT)")
    seen = merge.tables_in(wh, ["stg", "dw"])
    wh.execute("CREATE TABLE dw.f__loading_5 (k BIGINT)")  # after the listing

    assert merge.drop_leftover_staging(wh, "g", "dw.g", seen) == []
    assert merge.drop_leftover_staging(wh, "f", "dw.f", seen) == ["dw.f__loading_5", "stg.f_4"]
    assert merge.drop_leftover_staging(wh, "f", "dw.f", frozenset()) == []
    wh.execute("CREATE TABLE stg.f_6 (k BIGINT)")
    assert merge.drop_leftover_staging(wh, "f", "dw.f", frozenset()) == []  # next run's to drop
    assert wh.table_exists("stg.f_6")
