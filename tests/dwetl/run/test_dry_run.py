"""`--dry-run` does everything but write the warehouse, and says what a real run would do."""

from __future__ import annotations

import json

import pytest


def warehouse_state(etl) -> dict[str, object]:
    return {
        "control": etl.dw("SELECT entity, watermark_value, last_status FROM ctl.etl_control"),
        "run_entities": etl.dw("SELECT COUNT(*) FROM ctl.etl_run_entity"),
        "rejects": etl.dw("SELECT COUNT(*) FROM ctl.etl_reject"),
        "rows": etl.dw(
            "SELECT (SELECT COUNT(*) FROM dw.dim_cliente), (SELECT COUNT(*) FROM dw.dim_data), "
            "(SELECT COUNT(*) FROM dw.fact_vendas), (SELECT COUNT(*) FROM dw.fact_metas)"
        ),
        "stg": etl.dw("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'stg'"),
    }


def counts(summary) -> dict[str, tuple[int, ...]]:
    return {
        e.entity: (
            e.extracted,
            e.folded,
            e.rejected,
            e.inserted,
            e.updated,
            e.unchanged,
            e.inferred,
        )
        for e in summary.entities
    }


@pytest.mark.pairs("sqlite-duckdb", "sqlite-postgresql")  # a first load: no staging, no MERGE
def test_dry_run_writes_nothing_and_predicts_the_real_run(etl, dwetl):
    etl.sample(1000, 15, 0.03)
    etl.init()
    before = warehouse_state(etl)

    done = dwetl("run", "--dry-run", "--json", "--max-reject-ratio", "0.5",
                 cwd=etl.folder, env=etl.env)  # fmt: skip

    assert done.returncode == 0, done.stderr  # the damaged sample: rows quarantined
    dry = json.loads(done.stdout)
    assert dry["dry_run"] is True
    assert warehouse_state(etl) == before
    assert etl.dw("SELECT dry_run, status FROM ctl.etl_run WHERE command = 'run'") == [
        (True, "success")
    ]

    real = etl.run("all", max_reject_ratio=0.5)
    predicted = {
        e["entity"]: tuple(
            e[k]
            for k in ("extracted", "folded", "rejected", "inserted", "updated", "unchanged",
                      "inferred")
        )
        for e in dry["entities"]
    }  # fmt: skip
    assert predicted == counts(real)
    assert sum(c[3] for c in predicted.values()) > 0


def test_dry_run_after_a_load_predicts_no_change(etl):
    etl.sample(500, 16, 0.0)
    etl.init()
    etl.run("all")
    dry = etl.run("all", dry_run=True)
    assert dry.status == "success"
    assert all(e.inserted == e.updated == 0 for e in dry.entities)
