"""Ctrl-C (SIGINT) and a scheduler's stop (SIGTERM) on a real `dwetl run` process: the entity in
progress rolls back, the run is recorded as failed with the signal and where it stopped, stderr
has one line, the exit is 128 + the signal's number, and the next run loads what the stopped
one did not, as a run never stopped would have. The run is held in the middle of `fact_vendas`
by the fault hook (`DWETL_FAIL_AT=<point>:fact_vendas:hold=<file>`, which writes `<file>.held`
once there) so that the signal lands where the test says."""

from __future__ import annotations

import json
import signal
import threading
import time
from typing import Any

import pytest
from dwetl_processes import run_held_at, start

from benchmarks.databases import Database, warehouse_checksums
from dwetl.core.urls import parse_url
from dwetl.run.stop import StopRequest

DIMENSIONS = ("dim_data", "dim_cliente", "dim_produto", "dim_loja", "dim_vendedor", "dim_desconto")


def checksums(etl: Any) -> dict[str, dict[str, Any]]:
    url = etl.dw_url
    if etl.dw_kind == "duckdb":
        return warehouse_checksums(
            Database("duckdb", url, path=parse_url(url, setting="test").path)
        )
    return warehouse_checksums(Database("postgresql", url, name=url.rsplit("/", 1)[-1]))


def statuses(etl: Any, run_id: int) -> dict[str, str]:
    rows = etl.dw("SELECT entity, status FROM ctl.etl_run_entity WHERE run_id = %s", [run_id])
    return dict(rows)


def loaded_once(etl: Any, new_etl: Any) -> dict[str, dict[str, Any]]:
    """The warehouse a run never stopped loads from `etl`'s source."""
    other = new_etl("once")
    other.use_source_of(etl)
    other.init()
    other.run("all", max_reject_ratio=0.5)
    return checksums(other)


@pytest.mark.pairs("sqlite-duckdb", "sqlite-postgresql")
def test_a_stop_rolls_back_the_entity_in_progress_at_its_commit(etl: Any, new_etl: Any) -> None:
    etl.sample(900, 61, 0.02)
    etl.init()
    run, gate = run_held_at(etl, "merge:fact_vendas", "--json", "--max-reject-ratio", "0.5")

    run.send_signal(signal.SIGTERM)
    time.sleep(1)
    # the first signal asks: the step under way (here, the hold) is not broken into
    assert run.poll() is None
    gate.unlink()
    out, err = run.communicate(timeout=120)

    assert run.returncode == 128 + signal.SIGTERM, (out, err)
    message = (
        "error: interrupted by SIGTERM: the run stopped at fact_vendas (nothing of it "
        "committed); run again to go on"
    )
    assert err.splitlines()[-1] == message and "Traceback" not in err
    summary = json.loads(out)
    assert summary["status"] == "failed" and summary["error"] == message.removeprefix("error: ")
    assert [(e["entity"], e["status"]) for e in summary["entities"]] == [
        *((name, "success") for name in DIMENSIONS),
        ("fact_vendas", "failed"),
    ]
    run_id = summary["run_id"]
    assert etl.dw("SELECT status, error FROM ctl.etl_run WHERE run_id = %s", [run_id]) == [
        ("failed", message.removeprefix("error: "))
    ]
    # the facts after it did not run; fact_vendas committed nothing
    assert statuses(etl, run_id) == {
        **dict.fromkeys(DIMENSIONS, "success"),
        "fact_vendas": "failed",
    }
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas WHERE id_item_origem <> -1") == [(0,)]
    assert etl.dw("SELECT watermark_value FROM ctl.etl_control WHERE entity = 'fact_vendas'") == [
        (None,)
    ]

    again = start(etl, "run", "--json", "--max-reject-ratio", "0.5")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, (out, err)
    assert checksums(etl) == loaded_once(etl, new_etl)


@pytest.mark.pairs("sqlite-duckdb", "sqlite-postgresql")
def test_a_second_signal_stops_at_once(etl: Any) -> None:
    etl.sample(900, 62, 0.02)
    etl.init()
    run, _gate = run_held_at(etl, "merge:fact_vendas", "--max-reject-ratio", "0.5")

    run.send_signal(signal.SIGINT)
    time.sleep(0.5)
    run.send_signal(signal.SIGINT)
    # the gate stays: the second signal does not wait for the step to end
    out, err = run.communicate(timeout=60)

    assert run.returncode == 128 + signal.SIGINT, (out, err)
    assert err.splitlines()[-1] == (
        "error: interrupted by SIGINT: the run stopped at fact_vendas (nothing of it "
        "committed); run again to go on"
    )
    assert "Traceback" not in err
    assert etl.dw("SELECT status FROM ctl.etl_run WHERE command = 'run'") == [("failed",)]
    (run_id,), *_ = etl.dw("SELECT MAX(run_id) FROM ctl.etl_run")
    assert statuses(etl, run_id)["fact_vendas"] == "failed"
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas WHERE id_item_origem <> -1") == [(0,)]


@pytest.mark.pairs("sqlite-duckdb")
def test_a_stop_between_entities_keeps_the_one_committed(etl: Any) -> None:
    etl.sample(600, 63, 0.0)
    etl.init()
    run, gate = run_held_at(etl, "committed:dim_desconto")

    run.send_signal(signal.SIGINT)
    gate.unlink()
    out, err = run.communicate(timeout=60)

    assert run.returncode == 130, (out, err)
    assert err.splitlines()[-1] == (
        "error: interrupted by SIGINT: the run stopped before fact_vendas; run again to go on"
    )
    (run_id,), *_ = etl.dw("SELECT MAX(run_id) FROM ctl.etl_run")
    assert statuses(etl, run_id) == dict.fromkeys(DIMENSIONS, "success")
    assert etl.dw("SELECT COUNT(*) FROM dw.dim_desconto WHERE id_desconto_origem <> -2") != [(0,)]


@pytest.mark.pairs("sqlite-duckdb")
def test_a_stop_between_batches_leaves_no_staging(etl: Any) -> None:
    etl.sample(1200, 64, 0.0)
    etl.init()
    run, gate = run_held_at(etl, "batch2:fact_vendas", "--batch-rows", "300")

    run.send_signal(signal.SIGTERM)
    gate.unlink()
    out, err = run.communicate(timeout=60)

    assert run.returncode == 143, (out, err)
    assert "the run stopped at fact_vendas (nothing of it committed)" in err
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas WHERE id_item_origem <> -1") == [(0,)]
    assert (
        etl.dw(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables "
            "WHERE table_schema = 'stg' OR table_name LIKE '%loading%'"
        )
        == []
    )


@pytest.mark.pairs("sqlite-duckdb")
def test_a_run_waiting_for_the_warehouse_stops_at_once(etl: Any) -> None:
    etl.sample(500, 66, 0.0)
    etl.init()
    first, gate = run_held_at(etl, "merge:dim_loja", "--entity", "dim_loja")
    waiting = start(etl, "run")
    time.sleep(3)  # it waits for the first run's lock
    assert waiting.poll() is None

    waiting.send_signal(signal.SIGTERM)
    out, err = waiting.communicate(timeout=30)

    assert first.poll() is None  # still held: the second did not wait for it
    assert waiting.returncode == 143, (out, err)
    assert err.splitlines()[-1] == (
        "error: interrupted by SIGTERM: the run stopped before any entity"
    )
    gate.unlink()
    assert first.wait(timeout=60) == 0


@pytest.mark.pairs("sqlite-postgresql")
def test_a_run_waiting_for_an_entity_lock_stops_without_it(etl: Any) -> None:
    etl.sample(500, 66, 0.0)
    etl.init()
    first, gate = run_held_at(etl, "merge:dim_loja", "--entity", "dim_loja")
    # both runs connect (a server serves both); the second waits for dim_loja's lock
    waiting = start(etl, "run", "--entity", "dim_loja", DWETL_LOCK_TIMEOUT_SECONDS="600")
    time.sleep(3)
    assert waiting.poll() is None

    waiting.send_signal(signal.SIGTERM)
    out, err = waiting.communicate(timeout=30)

    assert first.poll() is None  # still held: the second did not wait for its lock
    assert waiting.returncode == 143, (out, err)
    assert err.splitlines()[-1] == (
        "error: interrupted by SIGTERM: the run stopped at dim_loja (nothing of it committed); "
        "run again to go on"
    )
    gate.unlink()
    assert first.wait(timeout=60) == 0


def test_an_error_raised_after_the_commit_leaves_the_entity_loaded(etl: Any, dwetl: Any) -> None:
    etl.sample(500, 65, 0.0)
    etl.init()

    done = dwetl(
        "run", "--entity", "dim_loja", "--json", cwd=etl.folder,
        env={**etl.env, "DWETL_FAIL_AT": "committed:dim_loja"},
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert "dim_loja: error after its commit, its rows are loaded" in done.stderr
    (loja,) = json.loads(done.stdout)["entities"]
    assert loja["status"] == "success" and loja["inserted"] > 0
    assert etl.dw("SELECT status FROM ctl.etl_run_entity WHERE entity = 'dim_loja'") == [
        ("success",)
    ]


def test_the_handlers_are_the_run_s_only_while_it_runs() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    early = StopRequest()
    with early.on_signals(), pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGTERM)  # not loading yet: it breaks in, and is known
    assert early.exit_code == 143

    stop = StopRequest()
    with stop.on_signals():
        with stop.armed():
            signal.raise_signal(signal.SIGTERM)  # asks: nothing raised here
            assert stop.requested and stop.exit_code == 143
            with pytest.raises(KeyboardInterrupt):
                signal.raise_signal(signal.SIGINT)  # the second: at once
        signal.raise_signal(signal.SIGINT)  # the run records how it ended: it waits for that
        assert stop.signal_name == "SIGTERM"
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before

    # outside the main thread there is no handler to install: Python's own handling stays
    elsewhere = StopRequest()
    failed: list[BaseException] = []

    def enter() -> None:
        try:
            with elsewhere.on_signals():
                pass
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=enter)
    thread.start()
    thread.join()
    assert failed == [] and not elsewhere.requested
