"""`dwetl` commands as real processes of their own on a test harness's databases, for what only
a process shows: two runs at once, a signal."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DWETL = Path(sys.executable).with_name("dwetl")


def start(etl: Any, *args: str, **env: str) -> subprocess.Popen[str]:
    """`dwetl <args>` as its own process on the harness's databases (`env` added to theirs)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DWETL_")}
    full_env.update(etl.env, **env)
    return subprocess.Popen(
        [str(DWETL), *args], cwd=etl.folder, env=full_env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    """The process's end: exit code, stdout, stderr."""
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def held(gate: Path, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    """Wait until the run is held at `gate` (`DWETL_FAIL_AT=...:hold=<gate>` writes
    `<gate>.held` once there)."""
    deadline = time.monotonic() + timeout
    while not gate.with_name(gate.name + ".held").exists():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before the gate: {proc.communicate()}")
        assert time.monotonic() < deadline, "timed out waiting for the run to reach the gate"
        time.sleep(0.05)


def run_held_at(etl: Any, point: str, *args: str) -> tuple[subprocess.Popen[str], Path]:
    """`dwetl run <args>` held at `point` (`DWETL_FAIL_AT=<point>:hold=<gate>`), once it is
    there; and the gate, whose removal lets it go on."""
    gate = etl.folder / "gate"
    gate.touch()
    proc = start(etl, "run", *args, DWETL_FAIL_AT=f"{point}:hold={gate}")
    held(gate, proc)
    return proc, gate
