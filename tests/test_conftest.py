"""The backend-pair harness itself: a server pair's test fails (never skips) in CI when its
server is down, and skips outside CI; the default pair needs no server at all."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
QUARANTINE = "tests/dwetl/run/test_quarantine.py"


def pytest_run(selection: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", QUARANTINE, "-k", selection, "-q", "-rfs", "-n", "0",
         "-p", "no:cacheprovider"],
        cwd=REPO, env={**clean, **env}, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("pair", "port_env", "server"),
    [
        ("mysql-postgresql", "DWETL_TEST_MYSQL_PORT", "MariaDB on 127.0.0.1:1"),
        ("postgresql-postgresql", "DWETL_TEST_PG_PORT", "PostgreSQL on localhost:1"),
    ],
)
def test_a_down_server_fails_in_ci_and_skips_elsewhere(pair, port_env, server):
    in_ci = pytest_run(pair, CI="true", **{port_env: "1"})
    assert in_ci.returncode == 1, in_ci.stdout + in_ci.stderr
    # a failure (in the test or its fixture's setup), never a skip
    assert re.search(r"\b1 (failed|error)\b", in_ci.stdout) and "skipped" not in in_ci.stdout
    assert f"{server} is not reachable" in in_ci.stdout

    elsewhere = pytest_run(pair, **{port_env: "1"})
    assert elsewhere.returncode == 0, elsewhere.stdout + elsewhere.stderr
    assert "1 skipped" in elsewhere.stdout and f"{server} is not reachable" in elsewhere.stdout


def test_the_default_pair_needs_no_server():
    done = pytest_run("sqlite-duckdb", CI="true", DWETL_TEST_PG_PORT="1", DWETL_TEST_MYSQL_PORT="1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
