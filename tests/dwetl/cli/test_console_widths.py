"""The console at 80, 100 and 160 columns, through the real console script on a demo-sized
SQLite -> DuckDB sample: one line per entity, every name whole on one line, no line wider than
the terminal, no log dict on the console; and `dwetl rejects` text and CSV."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dwetl.entities.registry import all_entities

WIDTHS = (80, 100, 160)
#: a structured log line's fields (`counts={...}`) or a logged INFO line
LOG_LINE = re.compile(r"counts=\{|seconds=|\bINFO\b")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a demo's sample source and warehouse (2,000 items, damaged)."""
    folder = tmp_path_factory.mktemp("console")
    done = _dwetl("sample", "--rows", "2000", "--seed", "5", "--damage", "0.05", cwd=folder)
    assert done.returncode == 0, done.stderr
    done = _dwetl("init", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder


def _dwetl(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Any:
    """The real console script (the `dwetl` fixture's, usable by a module-scoped fixture)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DWETL_") and k != "COLUMNS"}
    return subprocess.run(
        [str(Path(sys.executable).with_name("dwetl")), *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _names() -> list[str]:
    return [e.name for e in all_entities()]


def _check_lines(text: str, columns: int, names: list[str]) -> None:
    lines = text.splitlines()
    assert lines, "no output"
    for line in lines:
        assert len(line) <= columns, f"{len(line)} > {columns}: {line!r}"
    for name in names:
        assert any(re.search(rf"(^|\s){name}(\s|$)", line) for line in lines), (name, text)
    assert not LOG_LINE.search(text), text


def _run(dwetl: Any, folder: Path, columns: int, *args: str) -> Any:
    return dwetl(*args, cwd=folder, env={"COLUMNS": str(columns)})


@pytest.mark.parametrize("columns", WIDTHS)
def test_run_summary_and_status_fit_the_terminal(demo: Path, dwetl: Any, columns: int) -> None:
    run = _run(dwetl, demo, columns, "run", "--full")
    assert run.returncode in (0, 3), run.stdout + run.stderr
    names = _names()
    _check_lines(run.stdout, columns, names)
    assert not LOG_LINE.search(run.stderr), run.stderr
    per_entity = [ln for ln in run.stdout.splitlines() if ln.split()[:1] in (["OK"], ["FAIL"])]
    assert len(per_entity) == len(names)  # one line per entity
    last = run.stdout.splitlines()[-1]
    assert "quarantined" in last and "dwetl rejects --run" in last, run.stdout
    assert re.search(r"run \d+ \w+", run.stdout)

    status = _run(dwetl, demo, columns, "status")
    assert status.returncode == 0, status.stderr
    _check_lines(status.stdout, columns, names)
    labelled = [ln for ln in status.stdout.splitlines() if ln.split()[:1] in (["OK"], ["FAIL"])]
    assert len(labelled) == len(names)  # one line per entity

    history = _run(dwetl, demo, columns, "history", "--last", "1")
    assert history.returncode == 0, history.stderr
    _check_lines(history.stdout, columns, names)

    rejects = _run(dwetl, demo, columns, "rejects")
    assert rejects.returncode == 0, rejects.stderr
    assert all(len(line) <= columns for line in rejects.stdout.splitlines())


def test_verbose_shows_the_info_lines(demo: Path, dwetl: Any) -> None:
    run = _run(dwetl, demo, 100, "-v", "run", "-e", "dim_loja")
    assert run.returncode in (0, 3), run.stderr
    assert "INFO" in run.stderr


def test_json_summary_keeps_its_shape(demo: Path, dwetl: Any) -> None:
    run = _run(dwetl, demo, 80, "run", "--json")
    data = json.loads(run.stdout)
    assert {e["entity"] for e in data["entities"]} == set(_names())
    assert {"reasons", "seconds", "extracted"} <= set(data["entities"][0])


def test_rejects_text_names_the_rule_and_the_value(demo: Path, dwetl: Any) -> None:
    _run(dwetl, demo, 100, "run")
    done = _run(dwetl, demo, 100, "rejects", "--entity", "dim_cliente")
    assert done.returncode == 0, done.stderr
    # the sample damages some customers' state code: 'XX' breaks CK_DIM_CLIENTE_uf's IN list
    assert "CK_DIM_CLIENTE_uf" in done.stdout, done.stdout
    assert "rule: CHECK (uf IN ('AC'" in done.stdout, done.stdout
    assert re.search(r"CK_DIM_CLIENTE_uf: uf='[^']*'", done.stdout), done.stdout
    assert "NOT NULL" in done.stdout or "NN_" not in done.stdout


def test_rejects_csv_has_one_row_per_open_key(demo: Path, dwetl: Any) -> None:
    _run(dwetl, demo, 100, "run")
    listed = json.loads(_run(dwetl, demo, 100, "rejects", "--json").stdout)
    done = _run(dwetl, demo, 100, "rejects", "--format", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(rows) == listed["count"] == listed["keys"] > 0
    keys = {(r["entity"], r["source_key"]) for r in rows}
    assert len(keys) == len(rows)
    uf = [r for r in rows if "CK_DIM_CLIENTE_uf" in r["reasons"]]
    assert uf and uf[0]["rules"].startswith("CHECK (uf IN")
    assert json.loads(uf[0]["row_json"])["uf"] in uf[0]["values"]
    as_json = _run(dwetl, demo, 100, "rejects", "--format", "json")
    assert json.loads(as_json.stdout) == listed


def test_readme_lists_rejects() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    assert re.search(r"^\| `dwetl rejects", readme, re.MULTILINE)
