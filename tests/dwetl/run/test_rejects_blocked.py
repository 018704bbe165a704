"""An entity that fails (here on --max-reject-ratio) keeps counts that add up in the run log
(extracted = blocked + rejected + folded) and its rejected rows, outside its rolled-back
transaction and marked as not applied: `dwetl rejects --run N` lists them. They are no open
reject of their key, and the entity's next committed run closes them."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from dwetl.run.runner import run

COUNTS = (
    "SELECT status, extracted, blocked, rejected, folded, inserted, updated, unchanged, error "
    "FROM ctl.etl_run_entity WHERE run_id = %s AND entity = %s"
)
BLOCKED = (
    "SELECT COUNT(*), COUNT(DISTINCT source_key) FROM ctl.etl_reject "
    "WHERE run_id = %s AND entity = %s AND NOT applied AND resolved_run_id IS NULL"
)


def rejects_json(dwetl: Any, etl: Any, *args: str) -> dict[str, Any]:
    result = dwetl("rejects", "--json", *args, cwd=etl.folder, env=etl.env)
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.mark.pairs("sqlite-duckdb", "postgresql-postgresql")
def test_a_ratio_failure_keeps_its_counts_and_its_rejects_not_applied(etl, dwetl):
    etl.sample(1000, 8, 0.05)
    etl.init()
    failed = etl.run("dim_desconto", max_reject_ratio=0.0)

    (result,) = failed.entities
    assert result.status == "failed" and f"dwetl rejects --run {failed.run_id}" in result.error
    ((status, extracted, blocked, rejected, folded, ins, upd, unch, error),) = etl.dw(
        COUNTS, [failed.run_id, "dim_desconto"]
    )
    assert (status, ins, upd, unch) == ("failed", 0, 0, 0)
    assert rejected > 0 and blocked > 0
    assert extracted == blocked + rejected + folded
    assert "above the limit" in error
    assert result.to_dict()["blocked"] == blocked
    assert etl.dw("SELECT COUNT(*) FROM dw.dim_desconto WHERE id_desconto_origem > 0") == [(0,)]
    assert etl.dw(BLOCKED, [failed.run_id, "dim_desconto"]) == [(rejected, rejected)]

    listed = rejects_json(dwetl, etl, "--run", str(failed.run_id))
    assert listed["count"] == listed["blocked"] == rejected
    assert listed["keys"] == 0  # nothing reached the quarantine
    assert all(r["applied"] is False and r["reasons"] for r in listed["rejects"])
    assert sum(listed["by_reason"].values()) >= rejected
    text = dwetl("rejects", "--run", str(failed.run_id), cwd=etl.folder, env=etl.env).stdout
    assert f"(not applied: dim_desconto failed in run {failed.run_id})" in text

    loaded = etl.run("dim_desconto", max_reject_ratio=1.0)

    assert loaded.entities[0].rejected == rejected
    assert etl.dw(BLOCKED, [failed.run_id, "dim_desconto"]) == [(0, 0)]
    assert etl.dw("SELECT DISTINCT resolved_run_id FROM ctl.etl_reject WHERE NOT applied") == [
        (loaded.run_id,)
    ]
    now_open = rejects_json(dwetl, etl)
    assert (now_open["keys"], now_open["blocked"], now_open["count"]) == (rejected, 0, rejected)


def test_a_batched_fact_that_fails_keeps_every_batchs_rejects(etl, dwetl):
    etl.sample(1500, 41, 0.02)
    etl.init()
    dims = ["dim_data", "dim_cliente", "dim_produto", "dim_loja", "dim_vendedor"]
    assert etl.run(*dims, max_reject_ratio=1.0).status != "failed"
    settings = dataclasses.replace(etl.settings, batch_rows=300)
    failed = run(settings, ["fact_vendas"], max_reject_ratio=0.0)

    (result,) = failed.entities
    assert result.status == "failed" and result.batches > 1 and result.rejected > 0
    ((_, extracted, blocked, rejected, folded, *_),) = etl.dw(
        COUNTS, [failed.run_id, "fact_vendas"]
    )
    assert extracted == blocked + rejected + folded and blocked > 0
    assert etl.dw(BLOCKED, [failed.run_id, "fact_vendas"]) == [(rejected, rejected)]
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas") == [(0,)]
    assert rejects_json(dwetl, etl, "--run", str(failed.run_id))["blocked"] == rejected
