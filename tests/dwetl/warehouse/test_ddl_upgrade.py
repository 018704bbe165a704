"""008_run_process.sql upgrades a warehouse an earlier dwetl made and used: the run log keeps
its rows, `check` is clean, and what the earlier version recorded reads in this one's terms."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import datetime

import pytest

from dwetl.core.paths import ddl_root
from dwetl.ops.abandoned import PID_SCRIPT
from dwetl.ops.init import run_init
from dwetl.warehouse.ddl import list_scripts

#: the scripts of the dwetl before this one
EARLIER = [s.name for s in list_scripts(ddl_root()) if s.name < PID_SCRIPT]


@pytest.mark.pairs("sqlite-duckdb", "sqlite-postgresql")
def test_upgrade_keeps_the_run_log_and_history_reads_the_earlier_statuses(etl, dwetl, tmp_path):
    etl.sample(300, 1, 0.0)
    earlier = tmp_path / "ddl-004"
    earlier.mkdir()
    for name in EARLIER:
        shutil.copy(ddl_root() / name, earlier / name)
    assert run_init(replace(etl.settings, ddl_dir=earlier)).ok
    # what an earlier dwetl wrote: a run whose entities loaded, one with rows quarantined
    # (`partial` then), and one whose entity failed
    at = datetime(2026, 11, 1, 2, 30)
    for run_id, status in ((2, "partial"), (3, "partial")):
        etl.dw_execute(
            "INSERT INTO ctl.etl_run (run_id, command, status, started_at, finished_at, "
            "hostname) VALUES (%s, 'run', %s, %s, %s, 'old-host')",
            [run_id, status, at, at],
        )
    rows = [(2, "dim_loja", "partial", 3), (2, "dim_data", "success", 0)]
    rows += [(3, "dim_loja", "partial", 3), (3, "dim_cliente", "failed", 0)]
    for run_id, entity, status, rejected in rows:
        etl.dw_execute(
            "INSERT INTO ctl.etl_run_entity (run_id, entity, status, started_at, extracted, "
            "rejected, inserted) VALUES (%s, %s, %s, %s, %s, %s, 10)",
            [run_id, entity, status, at, 10 + rejected, rejected],
        )
    etl.dw_execute(
        "INSERT INTO ctl.etl_reject (reject_id, run_id, entity, source_key, reasons, row_json, "
        "rejected_at) VALUES (1, 2, 'dim_loja', '7', '[\"CK_DIM_LOJA_uf\"]', '{}', %s)",
        [at],
    )

    refused = dwetl("run", cwd=etl.folder, env=etl.env)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "ctl.etl_run.pid" in refused.stderr and "dwetl init" in refused.stderr

    upgraded = dwetl("init", cwd=etl.folder, env=etl.env)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert dwetl("check", cwd=etl.folder, env=etl.env).returncode == 0
    assert etl.dw("SELECT COUNT(*) FROM ctl.etl_run_entity") == [(4,)]
    assert etl.dw("SELECT COUNT(*) FROM ctl.etl_reject") == [(1,)]
    assert etl.dw("SELECT status, pid FROM ctl.etl_run WHERE run_id = 2") == [("partial", None)]

    listed = dwetl("history", "--json", cwd=etl.folder, env=etl.env)
    assert listed.returncode == 0, listed.stderr
    runs = {r["run_id"]: r for r in json.loads(listed.stdout)}
    assert runs[2]["status"] == "success" and runs[2]["quarantined"] == 3
    assert {e["entity"]: e["status"] for e in runs[2]["entities"]} == {
        "dim_loja": "success",
        "dim_data": "success",
    }
    assert runs[3]["status"] == "partial"
    assert {e["entity"]: e["status"] for e in runs[3]["entities"]} == {
        "dim_loja": "success",
        "dim_cliente": "failed",
    }
    # the new states are accepted, the run loads as before
    assert dwetl("run", cwd=etl.folder, env=etl.env).returncode == 0
    if etl.dw_kind == "postgresql":  # the rebuilt run log is referenced again
        names = {
            n
            for (n,) in etl.dw(
                "SELECT conname FROM pg_constraint WHERE confrelid = 'ctl.etl_run'::regclass"
            )
        }
        assert names == {"fk_etl_run_entity_run", "fk_etl_reject_run"}
