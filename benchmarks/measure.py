"""Run one tool in its own process and measure it: wall time, peak RSS, what it reported.

Each tool runs as a child process so its peak resident memory is its own: `os.wait4` returns
the child's resource usage (`ru_maxrss`, the largest RSS of the child and of any descendant it
waited for), not the harness's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Measurement:
    """One timed child process."""

    wall_s: float
    peak_rss_mb: float
    returncode: int
    report: dict[str, Any] = field(default_factory=dict)  # the child's last JSON line, if any
    stderr_tail: str = ""


class ToolFailed(RuntimeError):
    """A measured child exited with a code the caller did not accept."""


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every measured tool gets: no telemetry, no buffered output."""
    env = dict(os.environ)
    # The tools are modules of this folder's package: importable whatever the child's cwd.
    repo = str(Path(__file__).resolve().parent.parent)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join(p for p in (repo, env.get("PYTHONPATH")) if p),
            "PYTHONUNBUFFERED": "1",
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "DLT_TELEMETRY": "false",
        }
    )
    # This sandbox sets PYTHONDONTWRITEBYTECODE=1, which makes every process compile each module
    # it imports from source (seconds per process); a user's machine caches bytecode.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra or {})
    return env


def warm_up(checkouts: tuple[Path, ...] = ()) -> float:
    """Compile the bytecode of everything the tools import, once, before anything is timed:
    this checkout's and, with their own interpreters, other checkouts' (`--before`)."""
    started = time.perf_counter()
    repo = Path(__file__).resolve().parent.parent
    site_packages = [p for p in sys.path if p.endswith("site-packages")]
    jobs = [
        (sys.executable, [repo / d for d in ("src", "transforms", "benchmarks")], site_packages)
    ]
    for checkout in checkouts:
        venv = checkout / ".venv"
        jobs.append(
            (
                str(venv / "bin" / "python"),
                [checkout / d for d in ("src", "transforms")],
                [str(p) for p in venv.glob("lib/python*/site-packages")],
            )
        )
    for python, folders, packages in jobs:
        subprocess.run(
            [python, "-m", "compileall", "-q", "-j", "0", *map(str, folders), *packages],
            env=child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    return time.perf_counter() - started


def _last_json_line(text: str) -> dict[str, Any]:
    # The child may print logs first; its report is the last line that parses as an object.
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    return {}


def run_measured(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    ok_codes: tuple[int, ...] = (0,),
    timeout_s: float | None = None,
) -> Measurement:
    """Run `argv`, wait for it with `wait4`, and return its wall time, peak RSS and JSON report."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env or child_env(), cwd=cwd)
        deadline = None if timeout_s is None else started + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG if deadline else 0)
            if pid:
                break
            if deadline and time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    measurement = Measurement(
        wall_s=wall,
        peak_rss_mb=usage.ru_maxrss / 1024.0,  # kilobytes on Linux
        returncode=proc.returncode,
        report=_last_json_line(stdout),
        stderr_tail=stderr[-2000:],
    )
    if proc.returncode not in ok_codes:
        tail = stderr[-2000:] or stdout[-2000:]
        raise ToolFailed(f"{' '.join(argv[:6])} ... exited {proc.returncode}:\n{tail}")
    return measurement


def python_module(module: str, *args: str) -> list[str]:
    """argv that runs `python -m module args` with the harness's own interpreter."""
    return [sys.executable, "-m", module, *args]


def console_script(name: str) -> str:
    """The path of a console script installed next to the harness's interpreter."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name
