"""The run log: run ids, masked URLs, who and where, and the closing of a run."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from dwetl.core.config import load_settings
from dwetl.ops.init import run_init
from dwetl.ops.runlog import finish_run, os_user, start_run
from dwetl.warehouse import open_warehouse


def test_runs_numbered_and_closed_with_masked_urls(tmp_path: Path) -> None:
    settings = load_settings(
        dw="duckdb:///dw.duckdb",
        source="postgresql://etl:hunter22@erp:5432/erp",
        cwd=tmp_path,
        env={"DWETL_CONNECT_ATTEMPTS": "1"},
    )
    run_init(settings)  # run 1 (the source is unreachable: recorded, not fatal here)
    with open_warehouse(settings.dw, settings) as wh:
        first = start_run(wh, "run", settings, full=True)
        second = start_run(wh, "run", settings, dry_run=True)
        assert (first, second) == (2, 3) and wh.run_id == 3
        finish_run(wh, first, "partial", details={"entities": {"dim_loja": 3}}, error="x hunter22")
        rows = wh.fetchall(
            "SELECT run_id, command, status, os_user, hostname, source_url, dw_url, full_reload, "
            "dry_run, details, error, finished_at IS NOT NULL FROM ctl.etl_run "
            "WHERE run_id IN (2, 3) ORDER BY run_id"
        )
    assert rows[0][:9] == (
        2,
        "run",
        "partial",
        os_user(),
        socket.gethostname(),
        "postgresql://etl:***@erp:5432/erp",
        "duckdb:///dw.duckdb",
        True,
        False,
    )
    assert json.loads(rows[0][9]) == {"entities": {"dim_loja": 3}}
    assert rows[0][10] == "x ***" and rows[0][11] is True
    assert rows[1][2] == "running" and rows[1][8] is True and rows[1][11] is False
