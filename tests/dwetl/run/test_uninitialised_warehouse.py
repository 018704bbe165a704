"""A command that writes an initialised warehouse (`run`, `rollout enable`, `rollout disable`)
never creates one: on a DuckDB file that does not exist (a mistyped path) it is exit 2 and one
line naming the file, nothing created; on a database that `init` never saw, one line naming
it. Only `init` creates a warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

WRITERS = (("run", "--entity", "all"), ("rollout", "enable", "dim_loja"),
           ("rollout", "disable", "dim_loja"))  # fmt: skip


@pytest.mark.parametrize("command", WRITERS, ids=" ".join)
def test_a_missing_duckdb_warehouse_is_exit_2_and_stays_missing(
    tmp_path: Path, dwetl: Any, command: tuple[str, ...]
) -> None:
    url = "duckdb:///typo/dw.duckdb"
    result = dwetl(*command, "--dw", url, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"error: warehouse {url}: {tmp_path}/typo/dw.duckdb does not exist "
        "(run `dwetl init` first to create it)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_run_on_a_database_init_never_saw_names_it(
    tmp_path: Path, dwetl: Any, pg_url: str
) -> None:
    result = dwetl("run", "--entity", "all", "--dw", pg_url, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"error: warehouse {pg_url} has no ctl.etl_control: run `dwetl init` first"
    )
