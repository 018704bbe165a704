"""Smoke tests of the benchmark harness: a tiny source, a few tools, the results say what ran.

No timing is asserted (speed is compared side by side in benchmarks/, never in tests).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import checks, reload, scaling
from benchmarks.dwetl_steps import phase_seconds
from benchmarks.measure import console_script


def _smoke(tmp_path: Path, *options: str) -> dict[str, Any]:
    """The harness into DuckDB with `options`, results in tmp_path/results/smoke.*."""
    return reload.main(
        [
            "--dw", "duckdb", "--out", str(tmp_path / "results"), "--name", "smoke",
            "--work", str(tmp_path / "work"), "--no-warm-up", *options,
        ]
    )  # fmt: skip


def test_one_run_over_two_sizes_writes_one_result_and_its_scaling(tmp_path: Path) -> None:
    result = _smoke(tmp_path, "--sizes", "2k,3k", "--repeat", "2,1", "--tools", "floor")
    results = tmp_path / "results"
    written = json.loads((results / "smoke.json").read_text())
    assert written == json.loads(json.dumps(result, ensure_ascii=False))
    assert written["meta"]["sizes"] == [2000, 3000]
    assert written["meta"]["repeat"] == [2, 1]
    small, large = written["sizes"]
    assert [small["items"], large["items"]] == [2000, 3000]
    assert small["source_rows"]["venda_itens"] >= 2000
    assert [r["round"] for r in small["runs"]] == [0, 1]
    assert [r["round"] for r in large["runs"]] == [0]
    floor = small["summary"]["floor"]
    assert floor["wall_s"]["n"] == 2
    assert floor["wall_s"]["min"] <= floor["wall_s"]["median"] <= floor["wall_s"]["max"]
    assert floor["peak_rss_mb"]["median"] > 0
    assert set(floor["phases"]) == {"extract", "load"}
    # The floor moved every source row, all versions included.
    assert floor["rows"] == small["source_rows_total"]
    growth = written["across_sizes"]["growth"]["3,000 / 2,000 items"]
    assert growth["floor"] == (
        large["summary"]["floor"]["wall_s"]["median"] / floor["wall_s"]["median"]
    )
    report = (results / "smoke.md").read_text()
    assert "## 2,000 items" in report and "## 3,000 items" in report
    assert "| floor (connectorx + bulk insert) |" in report
    assert written["checks"]["rounds"]["status"] == "no checksums"  # dwetl did not run
    # the scaling table comes from this one file, both sizes side by side
    scaling_table = (results / "smoke-scaling.md").read_text()
    assert "| floor (connectorx + bulk insert) | " in scaling_table
    assert "2,000 items | 3,000 items" in scaling_table
    assert scaling.load(results / "smoke.json").keys() == {2000, 3000}
    # Each run's warehouse is dropped afterwards; only the source's folder content may remain.
    assert not list((tmp_path / "work").glob("bench_floor_*"))


def test_scaling_refuses_a_file_that_is_not_one_run_over_sizes(tmp_path: Path) -> None:
    old = tmp_path / "2026-12-05-duckdb-5M.json"
    old.write_text(json.dumps({"meta": {"items": 5_000_000, "dw": "duckdb"}, "summary": {}}))
    with pytest.raises(SystemExit, match="not a results file of one run over sizes"):
        scaling.main([str(old)])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sizes", "5M,1M"], "--sizes must grow"),
        (["--sizes", "1M,5M", "--repeat", "3,2,1"], "one per size"),
        (["--items", "1M", "--changed", "lots"], "not a size"),
    ],
)
def test_the_command_line_refuses_sizes_and_rounds_that_do_not_match(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        reload.parse_args(argv)
    assert message in capsys.readouterr().err


def test_changed_items_are_a_share_of_each_size_or_one_count_for_all() -> None:
    assert reload.changed_items("1%", 5_000_000) == 50_000
    assert reload.changed_items("50k", 20_000_000) == 50_000
    assert reload.parse_args(["--sizes", "1M,5M,20M", "--repeat", "3,2,1"]).repeat == {
        1_000_000: 3,
        5_000_000: 2,
        20_000_000: 1,
    }


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
    result = _smoke(tmp_path, "--items", "2000", "--tools", "floor,warehouse_floor")
    (size,) = result["sizes"]
    exported = size["warehouse_rows"]
    assert set(exported) >= {"dim_cliente", "fact_vendas", "fact_descontos", "fact_metas"}
    # every order item but the rejected and the folded ones reached fact_vendas
    assert 1800 <= exported["fact_vendas"] <= 2000
    entry = size["summary"]["warehouse_floor"]
    assert entry["rows"] == sum(exported.values())
    assert set(entry["phases"]) == {"init", "load"}
    assert size["ratios"]["warehouse_floor / floor"] == (
        entry["wall_s"]["median"] / size["summary"]["floor"]["wall_s"]["median"]
    )
    table = (tmp_path / "results" / "smoke.md").read_text()
    assert "| warehouse floor (dwetl's rows into keyed tables) |" in table
    # the reference warehouse the rows came from, and each run's, are dropped
    assert not list((tmp_path / "work").glob("bench_*.duckdb"))


def test_dwetl_rounds_load_exactly_the_changed_items_and_check_the_warehouse(
    tmp_path: Path,
) -> None:
    # the "previous commit": a checkout whose .venv holds a dwetl (this one's, here)
    before = tmp_path / "before"
    (before / ".venv" / "bin").mkdir(parents=True)
    (before / ".venv" / "bin" / "dwetl").symlink_to(console_script("dwetl"))
    # a baseline whose fact_vendas is not this warehouse's: the run must say so, loudly
    baseline = tmp_path / "baseline.json"
    wrong = {"fact_vendas": {"rows": 1, "checksum": "0"}}
    baseline.write_text(
        json.dumps(
            {
                "meta": {"source": "sqlite", "dw": "duckdb", "seed": 42, "damage": 0.0},
                "sizes": [
                    {"items": 2000, "changed_items": 25, "checksums": {"full": wrong}},
                ],
            }
        )
    )
    result = _smoke(
        tmp_path, "--items", "2000", "--damage", "0", "--tools", "dwetl",
        "--changed", "25", "--baseline", str(baseline), "--before", str(before),
    )  # fmt: skip
    (size,) = result["sizes"]
    runs = {r["tool"]: r for r in size["runs"]}
    assert list(runs) == [
        "dwetl_before_full", "dwetl_before_unchanged", "dwetl_before_incremental",
        "dwetl_full", "dwetl_unchanged", "dwetl_incremental",
    ]  # fmt: skip
    full, unchanged, incremental = (
        runs["dwetl_full"],
        runs["dwetl_unchanged"],
        runs["dwetl_incremental"],
    )
    changes = [sum(e[k] for k in ("inserted", "updated")) for e in unchanged["summary"]["entities"]]
    # nothing changed: nothing written, and far fewer rows read than the full reload's
    assert changes == [0] * len(changes)
    assert 0 < unchanged["rows"] < full["rows"] / 10
    # the incremental run updates the 25 changed items' fact rows (and the discounts on them,
    # whose atualizado_em is their item's), no dimension
    assert incremental["source_rows_changed"] == size["changed_items"] == 25
    written = {
        e["entity"]: e["inserted"] + e["updated"] for e in incremental["summary"]["entities"]
    }
    assert written.pop("fact_vendas") == 25
    assert written.pop("fact_descontos") <= 25
    assert set(written.values()) == {0}
    # the previous commit's run came first and put the source back: the same 25 rows again,
    # and the same warehouses
    assert runs["dwetl_before_incremental"]["source_rows_changed"] == 25
    assert runs["dwetl_before_full"]["checksums"] == full["checksums"]
    assert runs["dwetl_before_incremental"]["checksums"] == incremental["checksums"]
    assert result["checks"]["before"] == {"status": "equal", "lines": []}
    assert "dwetl_incremental / dwetl_before_incremental" in size["ratios"]
    assert size["ratios"]["dwetl_unchanged / dwetl_full"] == (unchanged["wall_s"] / full["wall_s"])
    # both warehouse states checksummed, every dw table
    assert set(size["checksums"]) == {"full", "incremental"}
    assert size["checksums"]["full"]["fact_vendas"] == full["checksums"]["fact_vendas"]
    assert size["checksums"]["full"]["fact_vendas"]["rows"] == 2000
    assert size["checksums"]["full"].keys() == size["checksums"]["incremental"].keys()
    # the baseline's fact_vendas differs; the incremental run's was not in it
    assert result["checks"]["baseline"]["status"] == "differs"
    assert any(
        "after the full run: dw.fact_vendas has 2,000 rows" in line
        for line in result["checks"]["baseline"]["lines"]
    )
    assert reload.exit_code(result) == 1
    report = (tmp_path / "results" / "smoke.md").read_text()
    assert "**THE WAREHOUSE DIFFERS FROM THE BASELINE**" in report
    # and against itself as the baseline, it is equal
    assert checks.against_baseline(result, result)["status"] == "equal"
    assert "| dwetl run, nothing changed |" in report
