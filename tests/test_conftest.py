"""The backend-pair harness itself: a server pair's test fails (never skips) in CI when its
server is down, and skips outside CI; the default pair needs no server at all.

Each case is a pytest run of its own, with both servers' ports pointed at port 1 (nothing
listens there): one run as CI, one as elsewhere. The MariaDB pair is the only one that touches
MariaDB, so its server's name in the output can only come from that pair's test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
QUARANTINE = "tests/dwetl/run/test_quarantine.py"
SERVER_PAIRS = {"mysql-postgresql": "MariaDB on 127.0.0.1:1", "postgresql-postgresql":
                "PostgreSQL on localhost:1"}  # fmt: skip
BOTH_DOWN = {"DWETL_TEST_PG_PORT": "1", "DWETL_TEST_MYSQL_PORT": "1"}


def pytest_run(pairs: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", QUARANTINE, "-k", " or ".join(pairs), "-q", "-rfEs",
         "-n", "0", "-p", "no:cacheprovider"],
        cwd=REPO, env={**clean, **env}, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _count(outcome: str, output: str) -> int:
    """How many tests the run's summary line counts as `outcome` (failed, error, passed...)."""
    found = re.search(rf"\b(\d+) {outcome}s?\b", output)
    return int(found.group(1)) if found else 0


@pytest.fixture(scope="module")
def in_ci() -> subprocess.CompletedProcess[str]:
    """Both servers down, CI=true: the default pair and both server pairs."""
    return pytest_run(["sqlite-duckdb", *SERVER_PAIRS], CI="true", **BOTH_DOWN)


def test_a_down_server_fails_in_ci(in_ci: subprocess.CompletedProcess[str]) -> None:
    output = in_ci.stdout + in_ci.stderr
    assert in_ci.returncode == 1, output
    # a failure (in the test or its fixture's setup) per server pair, never a skip
    assert _count("failed", in_ci.stdout) + _count("error", in_ci.stdout) == 2, output
    assert "skipped" not in in_ci.stdout, output
    for server in SERVER_PAIRS.values():
        assert f"{server} is not reachable" in in_ci.stdout, output


def test_the_default_pair_needs_no_server(in_ci: subprocess.CompletedProcess[str]) -> None:
    # the server pairs cannot pass with their servers down: the one that passed is the default
    assert _count("passed", in_ci.stdout) == 1, in_ci.stdout + in_ci.stderr


def test_a_down_server_skips_outside_ci() -> None:
    elsewhere = pytest_run(list(SERVER_PAIRS), **BOTH_DOWN)
    output = elsewhere.stdout + elsewhere.stderr
    assert elsewhere.returncode == 0, output
    assert _count("skipped", elsewhere.stdout) == 2, output
    for server in SERVER_PAIRS.values():
        assert f"{server} is not reachable" in elsewhere.stdout, output
