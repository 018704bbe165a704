"""The commands that only read (`status`, `history`, `rejects`, `check`, `rollout status`) never
create or change anything: a warehouse that does not exist is exit 2 and one line, the path
still absent after (as for the commands that write an initialised warehouse, `run` and
`rollout enable` / `disable`: only `init` creates one); an existing one is opened read-only
(its folder the same file by file)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from dwetl.core.config import load_settings
from dwetl.ops.init import run_init

READ_ONLY = (
    ("status",),
    ("history",),
    ("history", "1"),
    ("rejects",),
    ("check",),
    ("rollout", "status"),
)


def _error_line(result: Any) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return str(lines[0])


#: the commands that write a warehouse `init` made, and never make one
WRITERS = (("run", "--entity", "all"), ("rollout", "enable", "dim_loja"),
           ("rollout", "disable", "dim_loja"))  # fmt: skip


@pytest.mark.parametrize("command", READ_ONLY + WRITERS, ids=" ".join)
def test_a_missing_warehouse_is_exit_2_and_stays_missing(
    tmp_path: Path, dwetl: Any, command: tuple[str, ...]
) -> None:
    url = "duckdb:///nowhere/deeper/dw.duckdb"
    result = dwetl(*command, "--dw", url, cwd=tmp_path)
    line = _error_line(result)
    assert line == (
        f"error: warehouse {url}: {tmp_path}/nowhere/deeper/dw.duckdb does not exist "
        "(run `dwetl init` first to create it)"
    )
    assert not (tmp_path / "nowhere").exists()
    assert list(tmp_path.iterdir()) == []


def test_three_slashes_to_an_absolute_file_says_which_was_meant(tmp_path: Path, dwetl: Any) -> None:
    dw = tmp_path / "dw.duckdb"
    run_init(load_settings(source="sqlite:///none.sqlite", dw=f"duckdb:///{dw}", env={}))
    work = tmp_path / "work"
    work.mkdir()
    slipped = f"duckdb://{dw}"  # duckdb:///tmp/...: relative to the working folder
    assert slipped.startswith("duckdb:///") and not slipped.startswith("duckdb:////")
    result = dwetl("status", "--dw", slipped, cwd=work)
    line = _error_line(result)
    assert line.endswith(
        f"(duckdb:/// is relative to the working folder: did you mean duckdb:///{dw}?)"
    )
    assert list(work.iterdir()) == []
    # the URL it suggests is the warehouse
    assert dwetl("status", "--dw", f"duckdb:///{dw}", cwd=work).returncode == 0


def _fingerprint(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_read_only_commands_leave_an_existing_warehouse_as_it_was(
    tmp_path: Path, dwetl: Any
) -> None:
    folder = tmp_path / "dw"
    url = f"duckdb:///{folder / 'dw.duckdb'}"
    run_init(load_settings(source="sqlite:///none.sqlite", dw=url, cwd=tmp_path, env={}))
    before = _fingerprint(folder)
    for command in READ_ONLY:
        result = dwetl(*command, "--dw", url, cwd=tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        assert _fingerprint(folder) == before, command
