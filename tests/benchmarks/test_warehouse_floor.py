"""The warehouse floor rebuilds the very warehouse a dwetl run wrote, keys included.

No timing is asserted: the tool is only worth its figure if what it loads is what dwetl loaded,
into tables that hold the DDL's keys, by the first-load path dwetl takes (batched included).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from benchmarks.tools import warehouse_floor
from dwetl.entities.registry import all_entities

TARGETS = [(spec.target_table, spec.natural_key) for spec in all_entities()]


def _table(etl, target: str, key: tuple[str, ...]) -> pl.DataFrame:
    return etl.dw_frame(f"SELECT * FROM {target} ORDER BY {', '.join(key)}")


@pytest.mark.pairs("sqlite-duckdb", "sqlite-postgresql")
def test_the_rows_dwetl_loaded_go_into_a_fresh_warehouse_unchanged_and_keyed(
    etl, new_etl: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    etl.sample(rows=3000, seed=7, damage=0.02)
    etl.init()
    etl.run("all", full=True)
    rows = tmp_path / "rows"
    exported = warehouse_floor.export(etl.dw_url, rows)
    # batches of 1,000 rows: the facts take the batched first load (DuckDB's twin, swapped in;
    # PostgreSQL's COPYs straight into the target, its keys dropped and re-created)
    monkeypatch.setenv("DWETL_BATCH_ROWS", "1000")

    copy = new_etl("copy")
    result = warehouse_floor.load(copy.dw_url, rows, etl.source_url)

    assert result["rows"] == sum(exported.values())
    assert set(result["phases"]) == {"init", "load"}
    assert exported["fact_vendas"] > 3000 - 200  # all but the rejects
    for target, key in TARGETS:
        original, reloaded = _table(etl, target, key), _table(copy, target, key)
        assert reloaded.height == original.height, target
        assert reloaded.equals(original), target
    if copy.dw_kind == "postgresql":
        keys = copy.dw(
            "SELECT contype, COUNT(*), BOOL_AND(convalidated) FROM pg_constraint "
            "WHERE conrelid = 'dw.fact_vendas'::regclass AND contype IN ('p', 'f') "
            "GROUP BY contype ORDER BY contype"
        )
        assert keys == [("f", 5, True), ("p", 1, True)]
    else:
        keys = copy.dw(
            "SELECT constraint_type FROM duckdb_constraints() "
            "WHERE schema_name = 'dw' AND table_name = 'fact_vendas' "
            "AND constraint_type = 'PRIMARY KEY'"
        )
        assert keys == [("PRIMARY KEY",)]
        twins = copy.dw(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE '%loading%'"
        )
        assert twins == []
