"""A full disk stops a run with one line naming the file and the cause, the run recorded as
failed, and the warehouse readable (and loadable once there is room) after.

Two ways to fill the disk, both with the real console script: a file size limit on the dwetl
process (RLIMIT_FSIZE, SIGXFSZ ignored, so a write past it fails with EFBIG: any user, any
machine), and a small tmpfs holding the warehouse (ENOSPC, the real thing: needs root to mount;
CI runs as root, so there it must work).
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dwetl.core.config import load_settings
from dwetl.ops.init import run_init

DWETL = Path(sys.executable).with_name("dwetl")
#: a log line (INFO per entity, today on stderr); anything else on stderr is the error line
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (INFO|WARNING) ")


def _dwetl(*args: str, cwd: Path, file_limit: int | None = None) -> Any:
    def limited() -> None:
        if file_limit is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    env = {k: v for k, v in os.environ.items() if not k.startswith("DWETL_")}
    return subprocess.run(
        [str(DWETL), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=limited,
    )


def _error_line(result: Any) -> str:
    """The one line that is not a log line: `error: ...`, and no traceback anywhere."""
    assert "Traceback" not in result.stderr, result.stderr
    others = [line for line in result.stderr.splitlines() if not LOG_LINE.match(line)]
    assert len(others) == 1 and others[0].startswith("error: "), result.stderr
    return others[0]


@pytest.fixture
def warehouse(tmp_path: Path, sample_file: Any) -> Path:
    """A 1,000-item sample source and an initialised DuckDB warehouse, both in `tmp_path`."""
    shutil.copy(sample_file(1000, 1, 0.02), tmp_path / "oltp.sqlite")
    dw = tmp_path / "dw" / "dw.duckdb"
    run_init(
        load_settings(source="sqlite:///oltp.sqlite", dw=f"duckdb:///{dw}", cwd=tmp_path, env={})
    )
    return dw


def _runs(dw: Path, cwd: Path) -> list[dict[str, Any]]:
    result = _dwetl("history", "--json", "--dw", f"duckdb:///{dw}", cwd=cwd)
    assert result.returncode == 0, result.stderr  # the warehouse is readable
    return list(json.loads(result.stdout))


def test_a_file_size_limit_stops_the_run_in_one_line(tmp_path: Path, warehouse: Path) -> None:
    url = f"duckdb:///{warehouse}"
    result = _dwetl(
        "run", "--json", "--source", "sqlite:///oltp.sqlite", "--dw", url,
        cwd=tmp_path, file_limit=200_000,
    )  # fmt: skip
    assert result.returncode == 1
    line = _error_line(result)
    assert line.startswith(f"error: {warehouse}.wal: File too large: the run stopped at ")
    assert "free space there and run again" in line and "could not be recorded" not in line
    summary = json.loads(result.stdout)
    assert summary["status"] == "failed" and "File too large" in summary["error"]
    stopped = summary["entities"][-1]
    assert stopped["status"] == "failed" and "File too large" in stopped["error"]

    last = _runs(warehouse, tmp_path)[0]
    assert (last["run_id"], last["status"]) == (summary["run_id"], "failed")
    assert "File too large" in last["error"]
    assert [e["status"] for e in last["entities"]][-1] == "failed"
    assert _dwetl("status", "--dw", url, cwd=tmp_path).returncode == 0

    # with room again the next run loads everything, and the warehouse is whole
    again = _dwetl("run", "--source", "sqlite:///oltp.sqlite", "--dw", url, cwd=tmp_path)
    assert again.returncode in (0, 3), again.stderr
    assert _dwetl("check", "--dw", url, cwd=tmp_path).returncode == 0
    assert _runs(warehouse, tmp_path)[0]["status"] in ("success", "partial")


@pytest.fixture
def small_disk(tmp_path: Path, warehouse: Path, unavailable: Any) -> Iterator[Path]:
    """A tmpfs with room for the warehouse after init and 200 KB more, the warehouse moved
    onto it; unmounted after the test."""
    mount = tmp_path / "small"
    mount.mkdir()
    size_kb = warehouse.stat().st_size // 1024 + 200
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        reason = f"cannot mount a small tmpfs here: {done.stderr.strip() or done.returncode}"
        unavailable(f"{reason} (CI runs as root: it must)")
    try:
        shutil.copy(warehouse, mount / "dw.duckdb")
        yield mount / "dw.duckdb"
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_stops_the_run_and_the_warehouse_stays_readable(
    tmp_path: Path, small_disk: Path
) -> None:
    url = f"duckdb:///{small_disk}"
    args = ("run", "--json", "--source", "sqlite:///oltp.sqlite", "--dw", url)
    result = _dwetl(*args, cwd=tmp_path)
    assert result.returncode == 1
    line = _error_line(result)
    assert re.match(rf"error: ({re.escape(str(small_disk))}\S*|warehouse {url}): ", line), line
    assert "No space left on device" in line
    assert json.loads(result.stdout)["status"] == "failed"
    assert _runs(small_disk, tmp_path)[0]["status"] == "failed"
    assert _dwetl("status", "--dw", url, cwd=tmp_path).returncode == 0

    # run again on the full disk: one line again, whatever write it fails at first
    again = _dwetl(*args, cwd=tmp_path)
    assert again.returncode == 1
    assert "No space left on device" in _error_line(again)
    assert _dwetl("status", "--dw", url, cwd=tmp_path).returncode == 0
