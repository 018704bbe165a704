"""`dwetl demo` and `dwetl status` through the real console script, on the default paths."""

from __future__ import annotations

import json


def test_demo_loads_everything_and_status_shows_it(tmp_path, dwetl):
    demo = dwetl("demo", "--rows", "600", "--seed", "3", cwd=tmp_path)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert (tmp_path / "data" / "oltp.sqlite").exists()
    assert (tmp_path / "data" / "warehouse.duckdb").exists()
    assert not (tmp_path / "data" / "dw.duckdb").exists()
    assert "demo: run" in demo.stdout and "fact_vendas" in demo.stdout
    # the demo's damaged sample quarantines rows: its end says how many, and how to list them
    last = demo.stdout.splitlines()[-1]
    assert last.endswith(
        " rows quarantined in ctl.etl_reject; list them with: dwetl rejects --run 2"
    )

    status = dwetl("status", "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    entities = {e["entity"]: e for e in json.loads(status.stdout)["entities"]}
    assert len(entities) == 9
    for name, e in entities.items():
        assert e["active"] is True, name
        assert e["last_status"] == "success", name
        assert e["watermark"] is not None, name
        assert e["inserted"] > 0, name
        assert e["extracted"] == (
            e["inserted"] + e["updated"] + e["unchanged"] + e["rejected"] + e["folded"]
        ), name

    table = dwetl("status", cwd=tmp_path)
    assert table.returncode == 0 and "dim_desconto" in table.stdout


def test_status_before_init_is_a_usage_error(tmp_path, dwetl):
    done = dwetl("status", cwd=tmp_path)
    assert done.returncode == 2
    assert "dwetl init" in done.stderr and "Traceback" not in done.stderr


def test_status_shows_open_rejects_per_entity(etl, dwetl):
    etl.sample(1000, 13, 0.05)
    etl.init()
    assert dwetl("run", "--max-reject-ratio", "0.5", cwd=etl.folder, env=etl.env).returncode == 0
    done = dwetl("status", "--json", cwd=etl.folder, env=etl.env)
    assert done.returncode == 0, done.stderr
    shown = {e["entity"]: e["open_rejects"] for e in json.loads(done.stdout)["entities"]}
    stored = dict(
        etl.dw(
            "SELECT entity, COUNT(*) FROM ctl.etl_reject WHERE resolved_run_id IS NULL "
            "AND applied GROUP BY entity"
        )
    )
    assert sum(stored.values()) > 0
    assert shown == {name: stored.get(name, 0) for name in shown}
    text = dwetl("status", cwd=etl.folder, env=etl.env)
    assert "open rejects" in text.stdout
    assert f"{sum(stored.values()):,} rows quarantined and open; list them with: dwetl rejects" in (
        text.stdout
    )


def test_an_extract_folder_that_is_not_there_is_one_line_before_anything_runs(tmp_path, dwetl):
    demo = dwetl("demo", "--rows", "300", "--seed", "3", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    (tmp_path / "notes.txt").write_text("a file")
    for folder, problem in (("/nonexistent/sql", "does not exist"), ("notes.txt", "is a file")):
        for command in (("run", "--entity", "all"), ("check", "--source")):
            done = dwetl(*command, "--sql-dir", folder, cwd=tmp_path)
            assert done.returncode == 2, done.stdout + done.stderr
            assert done.stderr.startswith("error: the folder ") and problem in done.stderr
            assert "DWETL_SQL_DIR" in done.stderr and len(done.stderr.splitlines()) == 1
    history = json.loads(dwetl("history", "--json", cwd=tmp_path).stdout)
    assert len(history) == 2  # demo's init and run: the refused runs never started
