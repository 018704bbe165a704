"""The CLI starts light: importing it, and asking it or any command for help, imports none of the
heavy libraries (a command imports them when it runs), so `dwetl --help` takes a fraction of a
second (timed in `benchmarks/cli_start.py`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import typer

from dwetl.cli.app import app
from tests.conftest import InitTemplates

HEAVY = ("polars", "pyarrow", "duckdb", "connectorx", "sqlglot", "psycopg", "numpy", "rich")

_PROBE = """
import json, sys
import dwetl.cli.app
imported = {"import": sorted(m for m in HEAVY if m in sys.modules)}
for args in COMMANDS:
    try:
        dwetl.cli.app.app(args, prog_name="dwetl", standalone_mode=False)
    except SystemExit:
        pass
    imported[" ".join(args)] = sorted(m for m in HEAVY if m in sys.modules)
print("IMPORTED " + json.dumps(imported))
"""


def _commands() -> list[list[str]]:
    """`--help` of the app and of every command and subcommand."""
    group = typer.main.get_command(app)
    found = [["--help"]]
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        found.append([name, "--help"])
        found += [[name, sub, "--help"] for sub in getattr(command, "commands", {})]
    return found


def test_import_and_help_import_no_heavy_library() -> None:
    commands = _commands()
    assert ["run", "--help"] in commands and ["rollout", "enable", "--help"] in commands
    code = f"HEAVY = {HEAVY!r}\nCOMMANDS = {commands!r}\n{_PROBE}"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    (line,) = [ln for ln in done.stdout.splitlines() if ln.startswith("IMPORTED ")]
    imported = json.loads(line.removeprefix("IMPORTED "))
    assert set(imported) == {"import", *(" ".join(c) for c in commands)}
    assert {what: mods for what, mods in imported.items() if mods} == {}


def test_status_of_a_duckdb_warehouse_imports_only_duckdb(
    tmp_path: Path, init_templates: InitTemplates
) -> None:
    """A command that only queries the warehouse needs its driver, not Polars, Arrow or sqlglot
    (they cost most of a second of start-up)."""
    init_templates.copy_duckdb(tmp_path / "dw.duckdb")
    commands = [["status", "--dw", f"duckdb:///{tmp_path / 'dw.duckdb'}"]]
    code = f"HEAVY = {HEAVY!r}\nCOMMANDS = {commands!r}\n{_PROBE}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DWETL_")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False,
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (line,) = [ln for ln in done.stdout.splitlines() if ln.startswith("IMPORTED ")]
    assert json.loads(line.removeprefix("IMPORTED "))[" ".join(commands[0])] == ["duckdb"]
