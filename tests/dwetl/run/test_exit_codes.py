"""Exit codes and statuses a scheduler can trust, through the real console script: every entity
loaded (rows quarantined or not) is `success`, exit 0, with the quarantined rows counted and
the command that lists them; some entity not loaded is `partial`, exit 3; none loaded is
`failed`, exit 1."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

import pytest


def test_rows_quarantined_only_is_success_exit_0_with_the_count(etl, dwetl):
    etl.sample(1000, 13, 0.05)
    etl.init()
    done = dwetl("run", "--json", "--max-reject-ratio", "0.5", cwd=etl.folder, env=etl.env)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "success"
    assert {e["status"] for e in summary["entities"]} == {"success"}
    rejected = sum(e["rejected"] for e in summary["entities"])
    assert summary["quarantined"] == rejected > 0
    (stored,) = etl.dw("SELECT COUNT(*) FROM ctl.etl_reject WHERE run_id = %s", [summary["run_id"]])
    assert stored == (rejected,)
    assert etl.dw("SELECT status FROM ctl.etl_run WHERE run_id = %s", [summary["run_id"]]) == [
        ("success",)
    ]
    assert {s for (s,) in etl.dw("SELECT DISTINCT status FROM ctl.etl_run_entity")} == {"success"}

    # the text summary says how many and the exact command that lists them; the command works
    again = dwetl("run", "--full", "--max-reject-ratio", "0.5", cwd=etl.folder, env=etl.env)
    assert again.returncode == 0, again.stdout + again.stderr
    (line,) = [x for x in again.stdout.splitlines() if "list them with: " in x]
    command = line.split("list them with: ")[1].split()
    assert command[:3] == ["dwetl", "rejects", "--run"]
    listed = dwetl(*command[1:], "--json", cwd=etl.folder, env=etl.env)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["count"] == int(line.split()[0].replace(",", "")) > 0


def test_missing_source_table_for_one_entity_is_partial_exit_3(etl, dwetl):
    etl.sample(500, 12, 0.0)
    etl.init()
    etl.src("DROP TABLE vendedores")
    done = dwetl("run", "--json", cwd=etl.folder, env=etl.env)
    assert done.returncode == 3, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "partial"
    statuses = {e["entity"]: e["status"] for e in summary["entities"]}
    assert statuses["dim_vendedor"] == "failed"
    assert (
        "vendedores"
        in next(e for e in summary["entities"] if e["entity"] == "dim_vendedor")["error"]
    )
    assert statuses["dim_cliente"] == "success"
    assert etl.dw("SELECT status FROM ctl.etl_run WHERE run_id = %s", [summary["run_id"]]) == [
        ("partial",)
    ]


def test_nothing_loaded_is_failed_exit_1(etl, dwetl):
    etl.sample(300, 1, 0.0)
    etl.init()
    sqlite3.connect(etl.folder / "empty.sqlite").close()  # a source with none of the tables
    env = {**etl.env, "DWETL_SOURCE_URL": f"sqlite:///{etl.folder / 'empty.sqlite'}"}
    done = dwetl("run", "--json", cwd=etl.folder, env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "failed" and summary["quarantined"] == 0
    # the dimensions fail; the facts that need them are skipped: none loaded
    assert {e["status"] for e in summary["entities"]} == {"failed", "skipped"}


def test_error_text_with_brackets_is_shown_whole(etl, dwetl):
    """Rich markup must not eat `[extract] sql_dir` from an error in the summary table."""
    from dwetl.core.paths import sql_root

    etl.sample(300, 1, 0.0)
    etl.init()
    # a short folder: the table shows an error's first 160 characters
    with tempfile.TemporaryDirectory(dir="/tmp", prefix="s") as short:
        for path in (sql_root() / "extract").glob("*.sql"):
            if path.name != "dim_loja.sql":
                (Path(short) / path.name).write_text(path.read_text("utf-8"), "utf-8")
        done = dwetl("run", "--sql-dir", short, cwd=etl.folder, env=etl.env)
    assert done.returncode == 3, done.stdout + done.stderr
    text = "".join(done.stdout.replace("│", " ").split())  # the table folds long cells
    assert "DWETL_SQL_DIRor[extract]sql_dir" in text


@pytest.mark.parametrize("command", ["history", "rejects"])
def test_unknown_entity_is_exit_2_with_the_known_names(etl, dwetl, command):
    etl.sample(300, 1, 0.0)
    etl.init()
    done = dwetl(command, "--entity", "nonexistent", cwd=etl.folder, env=etl.env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: unknown entity 'nonexistent'")
    assert "dim_cliente" in line and "fact_metas" in line
    known = dwetl(command, "--entity", "dim_cliente", "--json", cwd=etl.folder, env=etl.env)
    assert known.returncode == 0, known.stderr
