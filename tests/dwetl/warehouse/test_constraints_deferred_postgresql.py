"""PostgreSQLWarehouse.constraints_deferred on the real warehouse DDL: a table's foreign keys (and,
for an empty table, its other keys and indexes) are dropped for the block and come back exactly
as the catalog had them; a failure inside the block rolls back with them in place; a role that
does not own the table, or locks not granted in time, leave them in place and say why."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

import polars as pl
import psycopg
import pytest

from dwetl.core.config import load_settings
from dwetl.ops.check import check_warehouse
from dwetl.warehouse import open_warehouse

pytestmark = pytest.mark.pairs("sqlite-postgresql")

CONSTRAINTS = (
    "SELECT conname, oid::bigint, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE conrelid = %s::regclass ORDER BY conname"
)
INDEXES = (
    "SELECT i.relname, i.oid::bigint, pg_get_indexdef(i.oid) FROM pg_index x "
    "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass ORDER BY 1"
)
#: a row of fact_metas on the unknown members (valid under every constraint)
META = pl.DataFrame(
    {
        "id_meta_origem": [-1], "ano": [2000], "mes": [1], "sk_data": [-1], "sk_loja": [-1],
        "sk_vendedor": [-1], "valor_meta": [1.5], "atualizado_em": [datetime(2000, 1, 1)],
        "id_execucao": [1],
    }
)  # fmt: skip


def catalog(wh, table: str) -> dict[str, tuple[int, str]]:
    """Constraints and indexes of `table`: name -> (oid, definition)."""
    rows = wh.fetchall(CONSTRAINTS, [table]) + wh.fetchall(INDEXES, [table])
    return {name: (oid, definition) for name, oid, definition in rows}


def definitions(entries: dict[str, tuple[int, str]]) -> dict[str, str]:
    return {name: definition for name, (_, definition) in entries.items()}


@pytest.fixture
def wh(etl):
    etl.init()
    with open_warehouse(etl.settings.dw, etl.settings) as warehouse:
        yield warehouse


def test_keys_and_indexes_come_back_as_they_were(wh, etl):
    # an index a DBA added (partial: its definition has more than columns to keep)
    wh.execute("CREATE INDEX ix_fact_vendas_loja ON dw.fact_vendas (sk_loja) WHERE quantidade > 1")
    before = catalog(wh, "dw.fact_vendas")
    assert {"fk_fact_vendas_cliente", "pk_fact_vendas", "ix_fact_vendas_loja"} <= set(before)

    with wh.transaction(), wh.constraints_deferred("dw.fact_vendas", empty=True) as deferred:
        assert deferred is True
        during = catalog(wh, "dw.fact_vendas")
        # left: the CHECKs (evaluated per row anyway); gone: keys, foreign keys, indexes
        assert during and all(d.startswith("CHECK") for _, d in during.values()), during

    after = catalog(wh, "dw.fact_vendas")
    assert definitions(after) == definitions(before)
    for name in ("fk_fact_vendas_cliente", "pk_fact_vendas", "ix_fact_vendas_loja"):
        assert after[name][0] != before[name][0], name  # re-created, not left alone
    wh.execute("DROP INDEX dw.ix_fact_vendas_loja")
    assert check_warehouse(wh, etl.settings).problems == []


def test_a_non_empty_table_keeps_its_keys_and_indexes(wh):
    before = catalog(wh, "dw.fact_metas")
    with wh.transaction(), wh.constraints_deferred("dw.fact_metas", empty=False) as deferred:
        assert deferred is True
        during = catalog(wh, "dw.fact_metas")
        assert {"pk_fact_metas", "uq_fact_metas_grao"} <= set(during)
        assert not any(d.startswith("FOREIGN KEY") for _, d in during.values())
    after = catalog(wh, "dw.fact_metas")
    assert definitions(after) == definitions(before)
    assert after["pk_fact_metas"] == before["pk_fact_metas"]


def test_a_failure_inside_the_block_rolls_back_with_the_keys_in_place(wh):
    before = catalog(wh, "dw.fact_metas")
    with (
        pytest.raises(RuntimeError, match="mid-load"),
        wh.transaction(),
        wh.constraints_deferred("dw.fact_metas", empty=True),
    ):
        wh.load_arrow("dw.fact_metas", META.to_arrow())
        raise RuntimeError("mid-load")
    assert catalog(wh, "dw.fact_metas") == before  # the very same objects: the drop rolled back
    assert wh.fetchall("SELECT COUNT(*) FROM dw.fact_metas") == [(0,)]


def test_a_role_that_does_not_own_the_table_loads_with_the_keys_in_place(wh, etl, caplog):
    role = f"loader_{secrets.token_hex(3)}"
    for statement in (  # docs/configuration.md's loader: no ALTER, no DROP
        f"CREATE ROLE {role} LOGIN",
        f"GRANT USAGE ON SCHEMA dw, ctl TO {role}",
        f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA dw, ctl TO {role}",
    ):
        wh.execute(statement)
    before = catalog(wh, "dw.fact_metas")
    settings = load_settings(
        dw=etl.dw_url.replace("postgresql://postgres@", f"postgresql://{role}@"),
        cwd=etl.folder,
        env={},
    )
    try:
        with (
            open_warehouse(settings.dw, settings) as loader,
            caplog.at_level(logging.INFO, logger="dwetl.warehouse.postgresql"),
        ):
            for table in ("dw.fact_metas", "dw.fact_vendas"):
                with loader.transaction(), loader.constraints_deferred(table, empty=True) as d:
                    assert d is False
                    if table == "dw.fact_metas":
                        loader.load_arrow(table, META.to_arrow())
    finally:
        wh.execute(f"DROP OWNED BY {role}")
        wh.execute(f"DROP ROLE {role}")
    told = [r.getMessage() for r in caplog.records if "does not own" in r.getMessage()]
    assert len(told) == 1, told  # once per connection, not per table
    assert "dw.fact_metas" in told[0] and "owner postgres" in told[0]
    assert all(r.levelno == logging.INFO for r in caplog.records if "does not own" in r.message)
    assert catalog(wh, "dw.fact_metas") == before
    assert wh.fetchall("SELECT id_meta_origem FROM dw.fact_metas") == [(-1,)]


def test_keys_whose_locks_a_reader_holds_stay_in_place(wh, etl, caplog):
    before = catalog(wh, "dw.fact_metas")
    with psycopg.connect(etl.dw_url, autocommit=True) as reader:
        reader.execute("BEGIN")
        # a long report reading a dimension that fact_metas references (its second, in the
        # order the keys are dropped: the first one's drop must be undone too)
        reader.execute("LOCK TABLE dw.dim_loja IN ACCESS SHARE MODE")
        (lock_timeout,), *_ = wh.fetchall("SHOW lock_timeout")
        with caplog.at_level(logging.INFO, logger="dwetl.warehouse.postgresql"), wh.transaction():
            with wh.constraints_deferred("dw.fact_metas", empty=True) as deferred:
                assert deferred is False
                assert catalog(wh, "dw.fact_metas") == before
                wh.load_arrow("dw.fact_metas", META.to_arrow())
            # the drop's short lock wait does not linger in the transaction
            assert wh.fetchall("SHOW lock_timeout") == [(lock_timeout,)]
        reader.execute("ROLLBACK")
    assert any("not granted" in r.getMessage() for r in caplog.records)
    assert catalog(wh, "dw.fact_metas") == before
    assert wh.fetchall("SELECT COUNT(*) FROM dw.fact_metas") == [(1,)]


def test_outside_a_transaction_it_refuses(wh):
    with (
        pytest.raises(RuntimeError, match="transaction"),
        wh.constraints_deferred("dw.fact_metas", empty=True),
    ):
        pass
