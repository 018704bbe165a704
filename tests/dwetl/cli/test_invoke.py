"""The tests' in-process `dwetl` (tests/dwetl/conftest.py: invoke_dwetl) answers as the console
script does: the same exit code, stdout and stderr, and it leaves the process as it found it."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest

from dwetl.core import logs

CASES = [
    ("version",),
    ("--help",),
    ("run", "--bogus"),  # a usage error: exit 2
    ("check", "--dw", "duckdb:///nowhere/none.duckdb"),  # a DwetlError: one line, its code
    ("status", "--json", "--dw", "duckdb:///nowhere/none.duckdb"),
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(c) for c in CASES])
def test_in_process_answers_as_the_console_script(
    args: tuple[str, ...], tmp_path: Path, dwetl: Any, dwetl_process: Any
) -> None:
    inside = dwetl(*args, cwd=tmp_path, env={"COLUMNS": "100"})
    process = dwetl_process(*args, cwd=tmp_path, env={"COLUMNS": "100"})
    assert (inside.returncode, inside.stdout, inside.stderr) == (
        process.returncode,
        process.stdout,
        process.stderr,
    )


def test_in_process_leaves_env_folder_and_logging_as_they_were(
    tmp_path: Path, dwetl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DWETL_DW_URL", "duckdb:///elsewhere.duckdb")
    logger = logging.getLogger(logs.LOGGER)
    before = (os.getcwd(), list(logger.handlers), logger.propagate, dict(logs._defaults))
    log_file = tmp_path / "dwetl.log"
    done = dwetl("--log-file", str(log_file), "-v", "check", cwd=tmp_path)
    assert done.returncode != 0
    # the run saw no DWETL_ variable of this process (as run_dwetl's environment)
    assert "elsewhere" not in done.stdout + done.stderr
    assert os.environ["DWETL_DW_URL"] == "duckdb:///elsewhere.duckdb"
    after = (os.getcwd(), list(logger.handlers), logger.propagate, dict(logs._defaults))
    assert after == before
