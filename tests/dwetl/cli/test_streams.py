"""A reader that stops reading (`dwetl history | head -2`, a consumer that fails) is no error of
the command: what is left to print goes nowhere, and the exit status is the command's own."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest
from dwetl_processes import DWETL

from dwetl.cli.streams import ReaderMayLeave


def with_reader_gone(etl: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """`dwetl <args>` whose stdout is a pipe nobody reads any more (closed before it writes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DWETL_")}
    env.update(etl.env)
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [str(DWETL), *args], cwd=etl.folder, env=env, stdout=write, stderr=subprocess.PIPE,
            text=True, timeout=300, check=False,
        )  # fmt: skip
    finally:
        os.close(write)


@pytest.mark.pairs("sqlite-duckdb")
def test_a_closed_pipe_ends_neither_a_listing_nor_a_run_in_error(etl: Any) -> None:
    etl.sample(500, 65, 0.02)
    etl.init()

    ran = with_reader_gone(etl, "run", "--entity", "all", "--json")
    assert (ran.returncode, ran.stderr) == (0, "")
    assert etl.dw("SELECT status FROM ctl.etl_run WHERE command = 'run'") == [("success",)]

    listed = with_reader_gone(etl, "history")
    assert (listed.returncode, listed.stderr) == (0, ""), listed.stderr
    rejects = with_reader_gone(etl, "rejects")
    assert (rejects.returncode, rejects.stderr) == (0, "")


def test_writes_after_the_reader_left_go_nowhere() -> None:
    read, write = os.pipe()
    os.close(read)
    with os.fdopen(write, "w") as raw:
        stream = ReaderMayLeave(raw)
        assert stream.write("first line\n") == len("first line\n")
        stream.flush()
        assert stream.reader_left
        stream.write("and more\n")
        raw.flush()  # what it buffered now reaches /dev/null, not the closed pipe
