"""The same run on a PostgreSQL warehouse: the same counts as DuckDB, and idempotent."""

from __future__ import annotations

import pytest

from dwetl.core.config import load_settings
from dwetl.ops.init import run_init
from dwetl.run.runner import run

pytestmark = pytest.mark.servers


def counts(summary) -> dict[str, tuple[int, ...]]:
    return {
        e.entity: (e.extracted, e.folded, e.rejected, e.inserted, e.updated, e.inferred)
        for e in summary.entities
    }


def test_postgresql_warehouse_loads_like_duckdb(etl, pg_url):
    etl.sample(800, 17, 0.03)
    etl.init()
    on_duckdb = etl.run("all", max_reject_ratio=0.5)
    settings = load_settings(source=f"sqlite:///{etl.source_path}", dw=pg_url, env={})
    assert run_init(settings).ok

    on_pg = run(settings, ["all"], max_reject_ratio=0.5)

    assert on_pg.status == on_duckdb.status == "success"
    assert on_pg.quarantined == on_duckdb.quarantined > 0
    assert counts(on_pg) == counts(on_duckdb)
    again = run(settings, ["all"], max_reject_ratio=0.5)
    assert all(e.inserted == e.updated == 0 for e in again.entities)
