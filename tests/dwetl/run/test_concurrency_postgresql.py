"""Two `dwetl run`s against one PostgreSQL warehouse (real processes, the console script): an
advisory lock per entity lets exactly one load it at a time; the other waits, or gives up after
the lock timeout naming the entity and the run that holds it. A connection killed in the middle
of a load fails the entity with nothing of it committed, and the next run completes it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
import psycopg
import pytest
from dwetl_processes import finish, start

from dwetl.entities.registry import all_entities
from dwetl.warehouse.postgresql import lock_key

pytestmark = pytest.mark.pairs("sqlite-postgresql")

TABLES = [s.target_table for s in all_entities()]


def wait_for(condition: Callable[[], object], what: str, timeout: float = 120) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def dw_session(etl) -> Iterator[psycopg.Connection]:
    """A connection of the test's own to the warehouse (autocommit)."""
    with psycopg.connect(etl.dw_url, autocommit=True) as con:
        yield con


def blocked_writing(etl, table: str) -> int | None:
    """The backend pid of a session whose MERGE / upsert / COPY (a first load) into `table`
    waits on a lock (seen from a fresh session: one inside a transaction keeps its first view of
    pg_stat_activity)."""
    schema, name = table.split(".")
    with dw_session(etl) as con:
        row = con.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND (query ILIKE %s OR query ILIKE %s OR query ILIKE %s)",
            [f"MERGE INTO {table} %", f"INSERT INTO {table} AS t %", f'COPY "{schema}"."{name}" %'],
        ).fetchone()
    return row[0] if row else None


def snapshot(etl) -> dict[str, pl.DataFrame]:
    out = {}
    for table in TABLES:
        frame = etl.dw_frame(f"SELECT * FROM {table}").drop("id_execucao")
        out[table] = frame.sort(frame.columns)
    return out


def test_two_concurrent_runs_load_each_entity_once(etl, new_etl):
    etl.sample(2000, 21, 0.0)
    etl.init()
    keys = [lock_key(s.name) for s in all_entities()]
    with dw_session(etl) as gate:
        # hold every entity's lock so that both runs start, then race for each entity
        for key in keys:
            gate.execute("SELECT pg_advisory_lock(%s)", [key])
        # in batches: the run that gets fact_vendas first loads it straight into the empty
        # target, holding its dimensions' locks until it commits
        runs = [start(etl, "run", "--json", DWETL_BATCH_ROWS="300") for _ in range(2)]
        wait_for(
            lambda: (
                (
                    gate.execute(
                        "SELECT COUNT(*) FROM ctl.etl_run WHERE status = 'running'"
                    ).fetchone()
                    or (0,)
                )[0]
                == 2
            ),
            "both runs to start",
        )
        for key in keys:
            gate.execute("SELECT pg_advisory_unlock(%s)", [key])
    results = [finish(p) for p in runs]
    assert [code for code, _, _ in results] == [0, 0], results
    summaries = [json.loads(out) for _, out, _ in results]

    by_entity: dict[str, list[dict[str, Any]]] = {}
    for summary in summaries:
        for entity in summary["entities"]:
            by_entity.setdefault(entity["entity"], []).append(entity)
    assert {e["batches"] for e in by_entity["fact_vendas"]} == {7}
    for name, pair in by_entity.items():
        # one run loaded the entity; the other, after waiting, found nothing left to do
        written = sorted(e["inserted"] + e["updated"] for e in pair)
        assert written[0] == 0 and written[1] > 0, (name, pair)
    for table in TABLES:
        (runs_in_table,), *_ = etl.dw(
            f"SELECT COUNT(DISTINCT id_execucao) FROM {table} WHERE id_execucao > 0"
        )
        assert runs_in_table == 1, table

    single = new_etl("single")
    single.use_source_of(etl)
    single.init()
    assert single.run("all").status == "success"
    mine, theirs = snapshot(etl), snapshot(single)
    for table in TABLES:
        assert mine[table].height == theirs[table].height > 1, table
        assert mine[table].equals(theirs[table]), table


def test_second_run_gives_up_after_the_lock_timeout_naming_entity_and_run(etl):
    etl.sample(500, 22, 0.0)
    etl.init()
    with dw_session(etl) as blocker:
        blocker.execute("BEGIN")
        # holds the first run in its load (a first load: its COPY, once the keys it would
        # defer could not be locked within 2 s)
        blocker.execute("LOCK TABLE dw.dim_loja IN SHARE MODE")
        first = start(etl, "run", "--entity", "dim_loja", "--json")
        wait_for(lambda: blocked_writing(etl, "dw.dim_loja"), "the first run's load")
        ((first_run,),) = etl.dw("SELECT run_id FROM ctl.etl_run WHERE status = 'running'")

        code, out, err = finish(
            start(etl, "run", "--entity", "dim_loja", DWETL_LOCK_TIMEOUT_SECONDS="0.5")
        )
        blocker.execute("ROLLBACK")
    assert code == 1, (out, err)
    message = (
        f"entity dim_loja is being loaded by another dwetl (dwetl run {first_run} pid {first.pid}"
    )
    assert message in out + err
    assert "gave up after waiting 0.5 s" in out + err
    assert "Traceback" not in out + err

    code, out, err = finish(first)
    assert code == 0, (out, err)
    (loaded,), *_ = etl.dw("SELECT COUNT(*) FROM dw.dim_loja WHERE sk_loja <> -1")
    assert loaded == json.loads(out)["entities"][0]["inserted"] > 0


def test_connection_killed_in_the_load_commits_nothing_and_the_next_run_completes(etl):
    etl.sample(500, 23, 0.0)
    etl.init()
    with dw_session(etl) as blocker:
        blocker.execute("BEGIN")
        blocker.execute("LOCK TABLE dw.dim_cliente IN SHARE MODE")
        victim = start(etl, "run", "--entity", "dim_cliente")
        pid = wait_for(lambda: blocked_writing(etl, "dw.dim_cliente"), "the load")
        with dw_session(etl) as killer:
            assert killer.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
        blocker.execute("ROLLBACK")
    code, out, err = finish(victim)

    assert code == 1, (out, err)
    assert "Traceback" not in err, err
    assert "dim_cliente" in out + err
    # the run carried on over a new connection and recorded the failure
    ((status, error),) = etl.dw(
        "SELECT status, error FROM ctl.etl_run_entity WHERE entity = 'dim_cliente'"
    )
    assert status == "failed" and "terminating connection" in error
    assert etl.dw("SELECT status FROM ctl.etl_run WHERE command = 'run'") == [("failed",)]
    assert etl.dw("SELECT COUNT(*) FROM dw.dim_cliente WHERE sk_cliente <> -1") == [(0,)]
    assert etl.dw("SELECT watermark_value FROM ctl.etl_control WHERE entity = 'dim_cliente'") == [
        (None,)
    ]
    assert etl.dw("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'stg'") == [
        (0,)
    ]

    again = etl.run("dim_cliente")
    (result,) = again.entities
    assert (result.status, result.updated) == ("success", 0)
    (distinct,), *_ = etl.src("SELECT COUNT(DISTINCT id) FROM clientes")
    assert result.inserted == distinct
    assert etl.dw("SELECT COUNT(*) FROM dw.dim_cliente WHERE sk_cliente <> -1") == [(distinct,)]
