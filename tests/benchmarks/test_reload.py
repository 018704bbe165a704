"""Smoke tests of the benchmark harness: a tiny source, a few tools, the JSON has its fields.

No timing is asserted (speed is compared side by side in benchmarks/, never in tests).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks import reload
from benchmarks.dwetl_steps import phase_seconds


def _smoke(tmp_path: Path, tools: str, repeat: int = 1) -> dict[str, Any]:
    """The harness on 2,000 items into DuckDB, results in tmp_path/results/smoke.*."""
    return reload.main(
        [
            "--items", "2000", "--dw", "duckdb", "--tools", tools, "--repeat", str(repeat),
            "--out", str(tmp_path / "results"), "--name", "smoke",
            "--work", str(tmp_path / "work"), "--no-warm-up",
        ]
    )  # fmt: skip


def test_floor_on_2k_items_writes_a_complete_result(tmp_path: Path) -> None:
    result = _smoke(tmp_path, "floor", repeat=2)
    written = json.loads((tmp_path / "results" / "smoke.json").read_text())
    assert written == json.loads(json.dumps(result, ensure_ascii=False))
    assert written["meta"]["items"] == 2000
    assert written["meta"]["source_rows"]["venda_itens"] >= 2000
    assert [r["round"] for r in written["runs"]] == [0, 1]
    floor = written["summary"]["floor"]
    assert floor["wall_s"]["n"] == 2
    assert floor["wall_s"]["min"] <= floor["wall_s"]["median"] <= floor["wall_s"]["max"]
    assert floor["peak_rss_mb"]["median"] > 0
    assert set(floor["phases"]) == {"extract", "load"}
    # The floor moved every source row, all versions included.
    assert floor["rows"] == written["meta"]["source_rows_total"]
    table = (tmp_path / "results" / "smoke.md").read_text()
    assert "| floor (connectorx + bulk insert) |" in table
    # Each run's warehouse is dropped afterwards; only the source's folder content may remain.
    assert not list((tmp_path / "work").glob("bench_floor_*"))


def test_phase_seconds_sums_the_run_summary_over_entities() -> None:
    summary = {
        "status": "partial",
        "entities": [
            {"entity": "dim_cliente", "extracted": 10, "seconds": {"extract": 1.0, "load": 0.5}},
            {"entity": "fact_vendas", "extracted": 99, "seconds": {"extract": 2.0, "load": 1.5}},
        ],
    }
    assert phase_seconds(summary) == {"extract": 3.0, "load": 2.0}


def test_the_warehouse_floor_loads_the_rows_a_dwetl_reload_wrote(tmp_path: Path) -> None:
    result = _smoke(tmp_path, "floor,warehouse_floor")
    exported = result["meta"]["warehouse_rows"]
    assert set(exported) >= {"dim_cliente", "fact_vendas", "fact_descontos", "fact_metas"}
    # every order item but the rejected and the folded ones reached fact_vendas
    assert 1800 <= exported["fact_vendas"] <= 2000
    entry = result["summary"]["warehouse_floor"]
    assert entry["rows"] == sum(exported.values())
    assert set(entry["phases"]) == {"init", "load"}
    assert result["ratios"]["warehouse_floor / floor"] == (
        entry["wall_s"]["median"] / result["summary"]["floor"]["wall_s"]["median"]
    )
    table = (tmp_path / "results" / "smoke.md").read_text()
    assert "| warehouse floor (dwetl's rows into keyed tables) |" in table
    # the reference warehouse the rows came from, and each run's, are dropped
    assert not list((tmp_path / "work").glob("bench_*.duckdb"))


def test_dwetl_rounds_time_a_run_with_nothing_changed_between_full_and_incremental(
    tmp_path: Path,
) -> None:
    result = _smoke(tmp_path, "dwetl")
    runs = {r["tool"]: r for r in result["runs"]}
    assert list(runs) == ["dwetl_full", "dwetl_unchanged", "dwetl_incremental"]
    full, unchanged, incremental = runs.values()
    changes = [sum(e[k] for k in ("inserted", "updated")) for e in unchanged["summary"]["entities"]]
    # nothing changed: nothing written, and far fewer rows read than the full reload's
    assert changes == [0] * len(changes)
    assert 0 < unchanged["rows"] < full["rows"] / 10
    # the incremental after the 1% touch does write
    assert sum(e["updated"] for e in incremental["summary"]["entities"]) > 0
    assert result["ratios"]["dwetl_unchanged / dwetl_full"] == (
        unchanged["wall_s"] / full["wall_s"]
    )
    assert "| dwetl run, nothing changed |" in (tmp_path / "results" / "smoke.md").read_text()
