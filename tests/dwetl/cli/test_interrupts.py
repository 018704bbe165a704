"""Ctrl-C (SIGINT) or a scheduler's stop (SIGTERM) on a `dwetl` command other than `run` (which
stops at a safe point of its own: tests/dwetl/run/test_stop_signal.py): one line naming the
signal and the command, exit 128 + the signal's number, no traceback, and running the command
again does what it would have done."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from dwetl_processes import DWETL, finish, run_held_at, start

from dwetl.cli.interrupts import CommandInterrupt


@pytest.mark.pairs("sqlite-duckdb")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_an_init_waiting_for_the_warehouse(etl: Any, signum: int) -> None:
    etl.sample(500, 65, 0.0)
    etl.init()
    first, gate = run_held_at(etl, "merge:dim_loja", "--entity", "dim_loja")
    waiting = start(etl, "init")
    time.sleep(3)  # it waits for the held run's hold on the DuckDB file
    assert waiting.poll() is None

    waiting.send_signal(signum)
    code, _, err = finish(waiting)

    name = signal.Signals(signum).name
    assert code == 128 + signum, err
    assert "Traceback" not in err
    assert err.splitlines()[-1] == (
        f"error: interrupted by {name}: dwetl init stopped before it finished, what it had not "
        "committed rolled back; run it again"
    )
    gate.unlink()
    assert first.wait(timeout=60) == 0
    assert finish(start(etl, "init"))[0] == 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_the_sample_is_written_says_the_source_is_incomplete(
    tmp_path: Path, signum: int
) -> None:
    # SQLite's ADBC driver cannot cancel an ingest: Ctrl-C there was a NotSupportedError traceback
    source = tmp_path / "oltp.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DWETL_")}
    env["DWETL_SOURCE_URL"] = f"sqlite:///{source}"

    def sample(rows: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(DWETL), "sample", "--rows", str(rows)], cwd=tmp_path, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip

    writing = sample(2_000_000)
    deadline = time.monotonic() + 120
    while not source.exists() or source.stat().st_size < 8 << 20:  # its rows are going in
        assert writing.poll() is None, writing.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    writing.send_signal(signum)
    code, out, err = finish(writing)

    assert code == 128 + signum, err
    assert "Traceback" not in err
    assert err.splitlines() == [
        f"error: interrupted by {signal.Signals(signum).name}: dwetl sample stopped before it "
        "finished, the source it was writing is incomplete; run it again, which writes it anew"
    ]
    again, out, err = finish(sample(3_000))
    assert again == 0, err
    assert "sample: wrote" in out


def test_a_signal_ends_what_it_lands_in_and_is_remembered() -> None:
    interrupt = CommandInterrupt()
    with interrupt.on_signals(), pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
    assert interrupt.requested and interrupt.exit_code == 143
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
