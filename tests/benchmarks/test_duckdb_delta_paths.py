"""The delta benchmark of decision 0019 compares like with like: on a warehouse dwetl loaded, both
forms apply the same valid changes run after run and keep the same rows, and the warehouse it
was given is left as it was. No timing is asserted."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from benchmarks import duckdb_delta_paths

pytestmark = pytest.mark.pairs("sqlite-duckdb")


def _fact_checksum(path: Path) -> int:
    con = duckdb_delta_paths.read_only(path)
    try:
        fact = duckdb_delta_paths.fact_in(con)
        ((total,),) = con.execute(f"SELECT SUM(HASH(t)) FROM {fact} AS t").fetchall()
        return int(total)
    finally:
        con.close()


def test_both_forms_keep_the_same_rows_run_after_run(etl, tmp_path, monkeypatch):
    etl.sample(rows=2000, seed=3, damage=0.02)
    etl.init()
    etl.run("all", full=True)
    warehouse = Path(etl.dw_url.removeprefix("duckdb:///"))
    before = _fact_checksum(warehouse)
    monkeypatch.setattr(duckdb_delta_paths, "RESULTS", tmp_path)
    argv = ["duckdb_delta_paths", "--warehouse", str(warehouse), "--runs", "3", "--share", "0.1"]
    monkeypatch.setattr(sys, "argv", argv)

    duckdb_delta_paths.main()  # exits 1 where the two forms leave different rows

    (written,) = tmp_path.glob("duckdb_delta_paths-*.json")
    result = json.loads(written.read_text())
    # every run changed about a tenth of the items (other ones each run), each form applied them
    assert len(result["staged_rows"]) == 3
    assert all(150 <= rows <= 250 for rows in result["staged_rows"])
    assert [len(result[how]["seconds"]) for how in ("merge", "replace")] == [3, 3]
    assert result["fact_rows"] > 1500
    assert _fact_checksum(warehouse) == before
