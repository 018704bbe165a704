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

    status = dwetl("status", "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    entities = {e["entity"]: e for e in json.loads(status.stdout)["entities"]}
    assert len(entities) == 9
    for name, e in entities.items():
        assert e["active"] is True, name
        assert e["last_status"] in ("success", "partial"), name
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
