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
    update, insert = rejects.upsert_sql("stg.r_1")
    return {
        "reject_state": (_control("reject_state"), ["dim_loja", 2] * 2),
        "open_reject_keys": (_control("open_reject_keys"), ["dim_loja"]),
        "open_reject_of_entity": (_control("open_reject_of_entity"), ["dim_loja"]),
        "close_blocked": (_control("close_blocked"), [2, "2026-12-07", "dim_loja", 2]),
        "fold a re-read reject": (update, []),
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
