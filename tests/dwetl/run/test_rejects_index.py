"""Every statement a run sends to the quarantine can find an entity's open rejects by key
(sql/ddl/009_open_reject_index.sql): without the index each one scans every reject ever kept,
which made a PostgreSQL run after 50,000 changed items spend 0.7 of its 2.9 s there. The
question every run asks per entity, whether it has blocked rows, is answered by their own index
(010_blocked_reject_index.sql), not by reading all of its open rejects. A warehouse made by an
earlier dwetl gets the indexes from `dwetl init`; DuckDB, which has no partial index, applies the
scripts without them."""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace

import pytest

from dwetl.core.paths import ddl_root
from dwetl.core.queries import named_queries
from dwetl.ops.init import run_init
from dwetl.run import rejects
from dwetl.warehouse import open_warehouse
from dwetl.warehouse.ddl import list_scripts

SCRIPT = "009_open_reject_index.sql"
INDEX = "ix_etl_reject_open"
BLOCKED_SCRIPT = "010_blocked_reject_index.sql"
BLOCKED_INDEX = "ix_etl_reject_blocked"
OPEN_AGAIN = (
    "SELECT reject_id FROM ctl.etl_reject WHERE resolved_run_id IS NULL AND times_seen >= 2"
)


def _control(name: str) -> str:
    return named_queries("run/control.sql")[name]


def _statements() -> dict[str, tuple[str, list[object]]]:
    """The run's statements on `ctl.etl_reject` that look rejects up by entity and key, with
    parameters (staged rejects in stg.r_1, loaded keys in stg.f_1)."""
    seen, texts, insert = rejects.upsert_sql("stg.r_1")
    return {
        "reject_state": (_control("reject_state"), ["dim_loja", 2] * 2),
        "open_reject_keys": (_control("open_reject_keys"), ["dim_loja"]),
        "open_reject_of_entity": (_control("open_reject_of_entity"), ["dim_loja"]),
        "close_blocked": (_control("close_blocked"), [2, "2026-12-07", "dim_loja", 2]),
        "fold a re-read reject": (seen, []),
        "restate its reasons and row": (texts, []),
        "add a new reject": (insert, []),
        "resolve": (
            rejects.resolve_sql("stg.f_1", ("id_loja_origem",)),
            [2, "2026-12-07", "dim_loja", 2],
        ),
    }


class _Undo(Exception):
    """Raised to roll back what a check created."""


def _plans(wh, statements: dict[str, tuple[str, list[object]]]) -> dict[str, str]:
    """The plan of each statement, with sequential scans priced out."""
    plans = {}
    with pytest.raises(_Undo), wh.transaction():
        wh.fetchall("SELECT set_config('enable_seqscan', 'off', true)")
        wh.execute("CREATE TABLE stg.r_1 AS SELECT * FROM ctl.etl_reject WHERE FALSE")
        wh.execute("CREATE TABLE stg.f_1 AS SELECT id_loja_origem FROM dw.dim_loja WHERE FALSE")
        for name, (sql, params) in statements.items():
            plans[name] = "\n".join(str(row[0]) for row in wh.fetchall("EXPLAIN " + sql, params))
        raise _Undo
    return plans


def _plans_of(wh, statements: dict[str, tuple[str, list[object]]]) -> dict[str, str]:
    """The plan of each statement as PostgreSQL would run it, in the caller's transaction."""
    return {
        name: "\n".join(str(row[0]) for row in wh.fetchall("EXPLAIN " + sql, params))
        for name, (sql, params) in statements.items()
    }


def _plans_without_index(wh) -> list[str]:
    """The statements whose plan uses neither index (009's, 010's)."""
    return [
        f"{name}:\n{plan}"
        for name, plan in _plans(wh, _statements()).items()
        if INDEX not in plan.lower() and BLOCKED_INDEX not in plan.lower()
    ]


def _copy_scripts_before(script: str, folder) -> None:
    """The shipped DDL as an earlier dwetl had it: the scripts before `script`."""
    for shipped in list_scripts(ddl_root()):
        if shipped.name < script:
            shutil.copy(shipped.path, folder / shipped.name)


@pytest.mark.pairs("sqlite-postgresql")
def test_an_upgraded_warehouse_finds_open_rejects_by_key(etl, tmp_path, caplog):
    earlier = tmp_path / "ddl-008"
    earlier.mkdir()
    _copy_scripts_before(SCRIPT, earlier)
    etl.sample(300, 1, 0.05)
    assert run_init(replace(etl.settings, ddl_dir=earlier)).ok
    with open_warehouse(etl.settings.dw, etl.settings) as wh:
        before = _plans_without_index(wh)
    assert len(before) == len(_statements())  # no index yet: every statement scans
    with caplog.at_level(logging.WARNING, logger="dwetl"):
        assert etl.run(max_reject_ratio=1.0).status == "success"  # it runs, and says so
    assert f"the warehouse lacks {SCRIPT}, {BLOCKED_SCRIPT} of the DDL" in caplog.text

    assert run_init(etl.settings).ok  # what `dwetl init` does on an earlier dwetl's warehouse
    with open_warehouse(etl.settings.dw, etl.settings) as wh:
        assert _plans_without_index(wh) == []
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dwetl"):
        for _ in range(2):  # the second run folds the rows it reads broken again into rejects
            assert etl.run(full=True, max_reject_ratio=1.0).status == "success"
    assert etl.dw(OPEN_AGAIN) != []
    assert "the warehouse lacks" not in caplog.text


@pytest.mark.pairs("sqlite-duckdb")
def test_duckdb_applies_the_script_without_an_index(etl):
    etl.sample(300, 1, 0.05)
    assert run_init(etl.settings).ok
    assert etl.dw("SELECT COUNT(*) FROM ctl.schema_version WHERE script = %s", [SCRIPT]) == [(1,)]
    assert etl.dw("SELECT index_name FROM duckdb_indexes() WHERE table_name = 'etl_reject'") == []
    for _ in range(2):  # the second run folds the rows it reads broken again into their rejects
        assert etl.run(full=True, max_reject_ratio=1.0).status == "success"
    assert etl.dw(OPEN_AGAIN) != []


@pytest.mark.pairs("sqlite-postgresql")
def test_whether_an_entity_has_blocked_rows_is_answered_by_their_index(etl, tmp_path):
    earlier = tmp_path / "ddl-009"
    earlier.mkdir()
    _copy_scripts_before(BLOCKED_SCRIPT, earlier)
    etl.sample(300, 1, 0.05)
    assert run_init(replace(etl.settings, ddl_dir=earlier)).ok
    assert etl.run(max_reject_ratio=1.0).status == "success"  # open rejects, none blocked
    blocked = {"blocked": (_control("reject_state"), ["fact_vendas", 99] * 2)}
    with open_warehouse(etl.settings.dw, etl.settings) as wh:
        assert wh.fetchall(*blocked["blocked"]) == [(False, True)]
        before = _plans(wh, blocked)["blocked"].lower()
    # 009's index alone: the blocked rows are looked for among all the entity's open rejects
    assert BLOCKED_INDEX not in before

    assert run_init(etl.settings).ok
    with open_warehouse(etl.settings.dw, etl.settings) as wh:
        assert wh.fetchall(*blocked["blocked"]) == [(False, True)]
        after = _plans(wh, blocked)["blocked"].lower()
    assert BLOCKED_INDEX in after, after


def _analyzed(etl) -> bool:
    """Whether PostgreSQL has statistics of the quarantine (it never analyzed it: -1 tuples)."""
    ((tuples,),) = etl.dw("SELECT reltuples FROM pg_class WHERE oid = 'ctl.etl_reject'::regclass")
    return tuples >= 0


@pytest.mark.pairs("sqlite-postgresql")
def test_an_entity_that_rejects_many_rows_leaves_the_quarantine_analyzed(etl, monkeypatch):
    from dwetl.run import entity

    etl.sample(300, 1, 0.05)
    etl.init()
    monkeypatch.setattr(entity, "REFRESH_REJECT_STATISTICS_FROM", 1_000_000)
    assert etl.run(max_reject_ratio=1.0).status == "success"
    assert not _analyzed(etl)  # few rejects: left to autovacuum (off on this server, or not)

    monkeypatch.setattr(entity, "REFRESH_REJECT_STATISTICS_FROM", 2)
    run = etl.run(full=True, max_reject_ratio=1.0)
    assert run.status == "success" and max(e.rejected for e in run.entities) >= 2
    assert _analyzed(etl)


@pytest.mark.pairs("sqlite-postgresql")
def test_a_few_loaded_keys_find_their_open_rejects_by_index_once_analyzed(etl):
    """The resolving UPDATE of a run that loaded a few keys probes the index with the keys, in
    a quarantine of 30,000 open rejects of the entity; planned before statistics (a table
    PostgreSQL never analyzed), it read all of them."""
    etl.sample(300, 1, 0.05)
    etl.init()
    assert etl.run("dim_loja", max_reject_ratio=1.0).status == "success"
    _execute(
        etl,
        "INSERT INTO ctl.etl_reject (reject_id, run_id, entity, source_key, reasons, row_json, "
        "rejected_at, first_run_id, times_seen, applied) SELECT 1000000 + g, MIN(r.run_id), "
        "'fact_vendas', g::text, '[]', '{}', now(), MIN(r.run_id), 1, TRUE "
        "FROM generate_series(1, 30000) g, ctl.etl_run r GROUP BY g",
    )

    def plan(*, by_key: bool = True) -> str:
        resolve = rejects.resolve_sql("stg.f_1", ("id_item_origem",), by_key=by_key)
        statement = {"resolve": (resolve, [2, "2026-12-07", "fact_vendas", 2])}
        found = ""
        with (
            open_warehouse(etl.settings.dw, etl.settings) as wh,
            pytest.raises(_Undo),
            wh.transaction(),
        ):
            wh.execute("CREATE TABLE stg.f_1 AS SELECT 7::BIGINT AS id_item_origem")
            with wh.without_nested_loops():  # as the join form runs
                found = _plans_of(wh, statement)["resolve"]
            raise _Undo
        return found

    assert "source_key" not in _index_condition(plan())  # no statistics: by entity alone
    _execute(etl, "ANALYZE ctl.etl_reject")
    assert "source_key" in _index_condition(plan()), plan()
    # the join, kept for many loaded keys, reads every open reject of the entity
    assert "source_key" not in _index_condition(plan(by_key=False))


def _execute(etl, sql: str) -> None:
    with open_warehouse(etl.settings.dw, etl.settings) as wh:
        wh.execute(sql)


def _index_condition(plan: str) -> str:
    return "\n".join(line for line in plan.splitlines() if "Index Cond" in line)
