"""Two `dwetl` processes on one DuckDB warehouse (real processes, the console script). DuckDB
lets one process at a time open the file, so a run holds the file's lock (`<file>.lock`, with
its run id, pid and the entity it loads) from before it opens the file until it closes it: a
second run waits for it, or gives up after the lock timeout naming the holder; a command that
only reads says at once that a run is in progress. A run held in the middle of an entity by
the fault hook (`DWETL_FAIL_AT=merge:<entity>:hold=<file>`, until the test removes the file)
makes them overlap. The machine may be slow (other processes): what proves that a command did
not wait for the run is that the run is still held when the command has answered."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import duckdb
from dwetl_processes import finish, start

from dwetl.warehouse.duckdb_lock import holder, lock_path


def dwetl(etl: Any, *args: str, **env: str) -> tuple[int, str, str]:
    """`dwetl <args>` to its end: exit code, stdout, stderr."""
    return finish(start(etl, *args, **env))


def loading(etl: Any, entity: str, timeout: float = 120) -> dict[str, Any]:
    """The lock record of the run that holds the warehouse, once it loads `entity`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = holder(etl.dw_path)
        if record is not None and record.get("loading") == entity:
            return record
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for a run to load {entity}")


def leftovers(etl: Any) -> list[str]:
    """Lock files beside the warehouse."""
    return sorted(p.name for p in etl.dw_path.parent.iterdir() if p.name.endswith(".lock"))


def test_a_second_run_waits_for_the_first_then_runs_after_it(etl: Any) -> None:
    etl.sample(500, 31, 0.0)
    etl.init()
    assert leftovers(etl) == []
    gate = etl.folder / "gate"
    gate.touch()
    first = start(etl, "run", "--entity", "dim_loja", "--json", DWETL_FAIL_AT=f"merge:hold={gate}")
    record = loading(etl, "dim_loja")
    assert record["pid"] == first.pid and record["run_id"] == 2  # run 1 was init
    assert leftovers(etl) == ["dw.duckdb.lock"]  # one lock per warehouse, not one per entity

    second = start(etl, "run", "--entity", "dim_loja", "--json")
    time.sleep(3)  # the second starts and waits
    assert second.poll() is None
    gate.unlink()
    code, out, err = finish(first)
    assert code == 0, (out, err)
    (loaded,) = json.loads(out)["entities"]
    code, out, err = finish(second)
    assert code == 0, (out, err)
    assert "Could not set lock" not in err and "Traceback" not in err
    summary = json.loads(out)
    (again,) = summary["entities"]
    # the second ran after the first had committed: nothing was left for it to write
    assert loaded["inserted"] > 0
    assert (again["status"], again["inserted"], again["updated"]) == ("success", 0, 0)
    assert summary["run_id"] == 3
    assert etl.dw("SELECT run_id, status FROM ctl.etl_run WHERE command = 'run' ORDER BY 1") == [
        (2, "success"),
        (3, "success"),
    ]
    assert leftovers(etl) == []  # removed when free


def test_a_second_run_gives_up_naming_the_holder_and_readers_answer_at_once(etl: Any) -> None:
    etl.sample(500, 32, 0.0)
    etl.init()
    gate = etl.folder / "gate"
    gate.touch()
    first = start(etl, "run", "--entity", "dim_loja", DWETL_FAIL_AT=f"merge:dim_loja:hold={gate}")
    record = loading(etl, "dim_loja")
    holder_text = f"run {record['run_id']}, pid {first.pid} on "

    code, out, err = dwetl(etl, "run", "--entity", "all", DWETL_LOCK_TIMEOUT_SECONDS="0.5")
    assert code == 1, (out, err)
    assert first.poll() is None
    assert err.count("\n") == 1 and "Traceback" not in err and "Could not set lock" not in err
    assert err.startswith(f"error: warehouse {etl.dw_path} is being loaded by another dwetl (")
    assert holder_text in err and f"since {record['since']}, loading dim_loja" in err
    assert err.rstrip().endswith("gave up after waiting 0.5 s")

    for command in (["status"], ["status", "--json"], ["history"], ["rejects"], ["check"]):
        code, out, err = dwetl(etl, *command)
        assert first.poll() is None  # it answered while the run was held
        assert code == 1, (command, out, err)
        assert err.count("\n") == 1 and "Traceback" not in err, (command, err)
        assert err.startswith(f"error: warehouse {etl.dw_path} is in use: a dwetl run is in ")
        assert holder_text in err and "loading dim_loja" in err, (command, err)

    gate.unlink()
    code, out, err = finish(first)
    assert code == 0, (out, err)
    assert leftovers(etl) == []
    code, out, err = dwetl(etl, "status", "--json")
    assert code == 0, (out, err)
    statuses = {e["entity"]: e["last_status"] for e in json.loads(out)["entities"]}
    assert statuses["dim_loja"] == "success"


def test_a_killed_runs_lock_is_taken_over(etl: Any) -> None:
    etl.sample(300, 33, 0.0)
    etl.init()
    code, out, err = dwetl(etl, "run", "--entity", "dim_loja", DWETL_FAIL_AT="commit:kill")
    assert code == -9, (out, err)
    # the killed process's flock went with it; its file, stale, is left behind
    assert leftovers(etl) == ["dw.duckdb.lock"]
    code, out, err = dwetl(etl, "run", "--entity", "dim_loja", "--json")
    assert code == 0, (out, err)
    assert json.loads(out)["entities"][0]["inserted"] > 0
    assert leftovers(etl) == []


def test_a_warehouse_open_in_another_program_is_named_at_once(etl: Any) -> None:
    etl.sample(300, 34, 0.0)
    etl.init()
    with duckdb.connect(str(etl.dw_path)):
        code, out, err = dwetl(etl, "status")
    assert code == 1, (out, err)
    assert err.count("\n") == 1, err
    assert f"warehouse {etl.dw_path} is open in another program (" in err
    assert f"pid {os.getpid()}); DuckDB lets one process open the file at a time" in err
    assert not lock_path(etl.dw_path).exists()
