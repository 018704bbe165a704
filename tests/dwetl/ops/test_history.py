"""`dwetl history`: the runs a test made, read back from the run log with the summaries' counts."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

COUNTS = ("status", "extracted", "folded", "rejected", "inserted", "updated", "unchanged")
MORE = ("inferred", "watermark_from", "watermark_to", "reasons")


def _console_script(*args: str, cwd: Path, env: dict[str, str]) -> Any:
    # the `dwetl` fixture is per test; these tests share one warehouse (they only read it)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DWETL_")}
    return subprocess.run(
        [str(Path(sys.executable).with_name("dwetl")), *args],
        cwd=cwd,
        env={**full_env, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[dict[str, Any]]]:
    """A damaged sample loaded by two runs (the second after a source change): their summaries."""
    tmp_path = tmp_path_factory.mktemp("history")
    env = {
        "DWETL_SOURCE_URL": f"sqlite:///{tmp_path}/oltp.sqlite",
        "DWETL_DW_URL": f"duckdb:///{tmp_path}/dw.duckdb",
    }

    def run(*args: str) -> Any:
        return _console_script(*args, cwd=tmp_path, env=env)

    # the demo reads no configured URL: its files are named as options
    urls = ("--source", env["DWETL_SOURCE_URL"], "--dw", env["DWETL_DW_URL"])
    first = run("demo", "--rows", "400", "--damage", "0.05", "--json", *urls)
    assert first.returncode in (0, 3), first.stderr
    with sqlite3.connect(tmp_path / "oltp.sqlite") as con:
        # a new version of some customers, newer than the watermark
        con.execute(
            "INSERT INTO clientes SELECT id, nome || ' Filho', cpf, email, cidade, uf, "
            "data_cadastro, '2099-01-01 00:00:00' FROM clientes WHERE id <= 5"
        )
    second = run("run", "--entity", "all", "--json")
    assert second.returncode in (0, 3), second.stderr
    return run, [json.loads(first.stdout), json.loads(second.stdout)]


def _by_entity(entities: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["entity"]: e for e in entities}


def test_history_json_has_the_runs_with_the_counts_of_their_summaries(two_runs: Any) -> None:
    run, summaries = two_runs
    result = run("history", "--json", "--last", "10")
    assert result.returncode == 0, result.stderr
    listed = {r["run_id"]: r for r in json.loads(result.stdout)}
    for summary in summaries:
        recorded = listed[summary["run_id"]]
        assert recorded["command"] == "run" and recorded["status"] == summary["status"]
        assert recorded["dry_run"] is False
        want = _by_entity(summary["entities"])
        got = _by_entity(recorded["entities"])
        assert set(got) == set(want)
        for name, entity in want.items():
            for key in COUNTS + MORE:
                assert got[name][key] == entity[key], (summary["run_id"], name, key)
            assert set(got[name]["seconds"]) == set(entity["seconds"])
    # the second run read the five new customer versions
    second = _by_entity(listed[summaries[1]["run_id"]]["entities"])
    assert second["dim_cliente"]["extracted"] >= 5
    # newest first
    ids = [r["run_id"] for r in json.loads(result.stdout)]
    assert ids == sorted(ids, reverse=True)


def test_one_run_in_full_with_rejects_by_reason(two_runs: Any) -> None:
    run, summaries = two_runs
    first = summaries[0]
    assert any(e["rejected"] for e in first["entities"]), "the damaged sample must reject rows"
    result = run("history", str(first["run_id"]), "--json")
    assert result.returncode == 0, result.stderr
    one = json.loads(result.stdout)
    assert one["run_id"] == first["run_id"]
    for name, entity in _by_entity(first["entities"]).items():
        got = _by_entity(one["entities"])[name]
        assert got["reasons"] == entity["reasons"]
        if entity["status"] != "failed":
            # every reject row is in ctl.etl_reject; a row may break several constraints
            assert sum(got["reasons"].values()) >= got["rejected"]

    text = run("history", str(first["run_id"]))
    assert text.returncode == 0
    rejected = next(e for e in first["entities"] if e["reasons"])
    reason, count = next(iter(rejected["reasons"].items()))
    assert f"rejected  {reason}: {count}" in text.stdout
    assert f"run {first['run_id']}: run {first['status']}" in text.stdout


def test_history_text_lists_both_runs_and_filters_by_entity(two_runs: Any) -> None:
    run, summaries = two_runs
    text = run("history", "--last", "2")
    assert text.returncode == 0
    lines = text.stdout.splitlines()
    for summary in summaries:
        assert any(line.split()[:3] == [str(summary["run_id"]), "run", summary["status"]]
                   for line in lines)  # fmt: skip

    only = run("history", "--json", "--entity", "dim_cliente")
    assert only.returncode == 0
    runs = json.loads(only.stdout)
    assert {r["run_id"] for r in runs} >= {s["run_id"] for s in summaries}
    assert all([e["entity"] for e in r["entities"]] == ["dim_cliente"] for r in runs)


def test_an_unknown_run_is_bad_usage(two_runs: Any) -> None:
    run, _ = two_runs
    result = run("history", "999999")
    assert result.returncode == 2
    assert "no run 999999" in result.stderr and "Traceback" not in result.stderr
