"""A run on a database that `init` never saw (a server's: only connecting tells) is one line
naming the warehouse. (A DuckDB file that does not exist is refused before connecting, as by
every command but `init`: tests/dwetl/ops/test_read_only_commands.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def test_a_run_on_a_database_init_never_saw_names_it(
    tmp_path: Path, dwetl: Any, pg_url: str
) -> None:
    result = dwetl("run", "--entity", "all", "--dw", pg_url, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"error: warehouse {pg_url} has no ctl.etl_control: run `dwetl init` first"
    )
