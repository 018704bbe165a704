"""Runs a killed process left `running` are found abandoned: shown so by `history` and
`status` (which only read), recorded so by the next `dwetl run`; a live run never is."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dwetl.ops.abandoned import find_abandoned
from dwetl.warehouse import open_warehouse

KILL_AT_COMMIT = {"DWETL_FAIL_AT": "commit:fact_vendas:kill"}


def _history(dwetl, etl) -> list[dict[str, Any]]:
    done = dwetl("history", "--json", cwd=etl.folder, env=etl.env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.pairs("sqlite-duckdb", "sqlite-postgresql")
def test_killed_run_is_shown_abandoned_then_recorded_by_the_next_run(etl, dwetl):
    etl.sample(2000, 5, 0.02)
    etl.init()
    killed = dwetl("run", "--json", cwd=etl.folder, env={**etl.env, **KILL_AT_COMMIT})
    assert killed.returncode == -9, killed.stdout + killed.stderr  # SIGKILL, mid-run
    ((run_id,),) = etl.dw("SELECT run_id FROM ctl.etl_run WHERE status = 'running'")

    # history: abandoned (a PostgreSQL backend may take a moment to see its client gone)
    deadline = time.monotonic() + 15
    while (shown := _history(dwetl, etl)[0])["status"] == "running":
        assert time.monotonic() < deadline, shown
        time.sleep(0.2)
    assert (shown["run_id"], shown["status"]) == (run_id, "abandoned")
    assert shown["pid"] and shown["hostname"] == socket.gethostname()
    assert shown["abandoned_at"] is not None
    assert f"process {shown['pid']} on {shown['hostname']}" in shown["error"]
    assert "not recorded" in shown["error"]
    # ... but not recorded: history only reads
    assert etl.dw("SELECT status, abandoned_at FROM ctl.etl_run WHERE run_id = %s", [run_id]) == [
        ("running", None)
    ]
    status = dwetl("status", "--json", cwd=etl.folder, env=etl.env)
    assert status.returncode == 0, status.stderr
    (unfinished,) = json.loads(status.stdout)["unfinished_runs"]
    assert (unfinished["run_id"], unfinished["status"]) == (run_id, "abandoned")

    # the next run records it, with when and how it was found
    again = dwetl("run", "--json", cwd=etl.folder, env=etl.env)
    assert again.returncode == 0, again.stdout + again.stderr
    next_id = json.loads(again.stdout)["run_id"]
    ((status_, found_at, error),) = etl.dw(
        "SELECT status, abandoned_at, error FROM ctl.etl_run WHERE run_id = %s", [run_id]
    )
    assert status_ == "failed" and found_at is not None  # what the CHECK admits; reads abandoned
    assert error.startswith(f"abandoned: its process {shown['pid']} on ")
    assert f"found by dwetl run {next_id}" in error
    listed = {r["run_id"]: r for r in _history(dwetl, etl)}
    assert listed[run_id]["status"] == "abandoned"
    assert "not recorded" not in listed[run_id]["error"]
    assert listed[next_id]["status"] == "success"
    status = dwetl("status", "--json", cwd=etl.folder, env=etl.env)
    assert json.loads(status.stdout)["unfinished_runs"] == []


def _running_row(etl, run_id: int, pid: int, started_at: datetime) -> None:
    etl.dw_execute(
        "INSERT INTO ctl.etl_run (run_id, command, status, started_at, hostname, pid) "
        "VALUES (%s, 'run', 'running', %s, %s, %s)",
        [run_id, started_at, socket.gethostname(), pid],
    )


def _found(etl) -> dict[int, str]:
    with open_warehouse(etl.settings.dw, etl.settings) as wh:
        return {a.run_id: a.how for a in find_abandoned(wh, found_by="test")}


def test_only_a_gone_process_is_abandoned(etl):
    etl.sample(300, 1, 0.0)
    etl.init()
    now = datetime.now(UTC).replace(tzinfo=None)
    dead = subprocess.Popen(["true"])
    dead.wait()  # reaped: its pid is free
    _running_row(etl, 100, os.getpid(), now)  # this very process: alive
    _running_row(etl, 101, dead.pid, now)  # gone
    _running_row(etl, 103, os.getpid(), now - timedelta(days=1))  # the pid, reused since
    found = _found(etl)
    assert set(found) == {101, 103}, found
    assert found[101].startswith(f"abandoned: its process {dead.pid} on ")
    assert "is gone and the run holds no lock; found by test at " in found[101]
    assert "(pid reused)" in found[103]
