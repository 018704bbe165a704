"""A row dated in the future never moves the watermark past the source's own clock: later
changes are still read, and the future rows are counted (summary, --json, run log, status)."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dwetl.cli.status import warehouse_status
from dwetl.core.errors import UsageError
from dwetl.core.paths import ddl_root
from dwetl.ops.check import check_warehouse
from dwetl.ops.init import run_init
from dwetl.run.runner import run
from dwetl.source.dialects import source_dialect
from dwetl.warehouse import open_warehouse

FUTURE = "9999-12-31 00:00:00"


def source_clock(etl: Any) -> datetime:
    """The source's clock as dwetl reads it (what a row written now by the source is dated)."""
    url = etl.settings.source
    return source_dialect(url.scheme).clock(url)


def watermark(etl: Any, entity: str) -> datetime:
    ((value,),) = etl.dw("SELECT watermark_value FROM ctl.etl_control WHERE entity = %s", [entity])
    return value


@pytest.mark.pairs("sqlite-duckdb", "postgresql-postgresql", "mysql-postgresql")
def test_a_future_dated_row_does_not_hide_a_later_change(etl: Any) -> None:
    etl.sample(300, 5, 0.0)
    etl.init()
    assert etl.run("dim_cliente").status == "success"
    (future_id,), (changed_id,) = etl.src("SELECT id FROM clientes ORDER BY id LIMIT 2")
    etl.src(
        "UPDATE clientes SET email = 'futuro@exemplo.com.br', atualizado_em = ? WHERE id = ?",
        [FUTURE, future_id],
    )

    (second,) = etl.run("dim_cliente").entities
    assert (second.updated, second.future) == (1, 1)
    assert watermark(etl, "dim_cliente") <= source_clock(etl)  # not 9999-12-31

    # an ordinary change, stamped by the source's clock after that run
    stamp = source_clock(etl).strftime("%Y-%m-%d %H:%M:%S.%f")
    etl.src(
        "UPDATE clientes SET email = 'depois@exemplo.com.br', atualizado_em = ? WHERE id = ?",
        [stamp, changed_id],
    )
    summary = etl.run("dim_cliente")
    (third,) = summary.entities
    assert third.status == "success"
    assert (third.updated, third.future) == (1, 1)  # the future row is read again, unchanged
    assert third.unchanged >= 1 and third.balance() == 0
    emails = etl.dw(
        "SELECT id_cliente_origem, email FROM dw.dim_cliente WHERE id_cliente_origem IN (%s, %s)",
        [future_id, changed_id],
    )
    assert sorted(emails) == [
        (future_id, "futuro@exemplo.com.br"),
        (changed_id, "depois@exemplo.com.br"),
    ]
    assert watermark(etl, "dim_cliente") <= source_clock(etl)

    as_json = summary.to_dict()["entities"][0]
    assert as_json["future"] == 1 and as_json["source_clock"] is not None
    assert as_json["watermark_to"] <= as_json["source_clock"]
    logged = etl.dw(
        "SELECT future FROM ctl.etl_run_entity WHERE run_id = %s AND entity = 'dim_cliente'",
        [summary.run_id],
    )
    assert logged == [(1,)]
    status = {item["entity"]: item for item in warehouse_status(etl.settings)["entities"]}
    assert status["dim_cliente"]["future"] == 1


@pytest.mark.pairs("postgresql-postgresql")
def test_a_postgresql_source_is_compared_by_its_own_wall_clock(etl: Any) -> None:
    import psycopg

    etl.sample(300, 5, 0.0)
    etl.init()
    assert etl.run("dim_cliente").status == "success"
    # the ERP's database runs 5 h behind UTC: now() stores its wall clock in a timestamp column
    name = etl.settings.source.database
    with psycopg.connect(etl.settings.dw.raw, autocommit=True) as con:
        con.execute(f"ALTER DATABASE {name} SET timezone = 'Etc/GMT+5'")
    utc = datetime.now(UTC).replace(tzinfo=None)
    assert abs(utc - source_clock(etl) - timedelta(hours=5)) < timedelta(minutes=5)
    ((first,),) = etl.src("SELECT id FROM clientes ORDER BY id LIMIT 1")
    # a row stamped in UTC is 5 h ahead of that clock: in the future for this source
    etl.src("UPDATE clientes SET atualizado_em = ? WHERE id = ?", [utc.isoformat(" "), first])

    (cliente,) = etl.run("dim_cliente").entities
    assert (cliente.updated, cliente.future) == (1, 1)
    assert watermark(etl, "dim_cliente") < utc - timedelta(hours=4)


def test_a_batched_first_load_caps_the_watermark_too(etl: Any) -> None:
    etl.sample(1000, 6, 0.0)
    etl.init()
    (future_item,), (changed_item,) = etl.src("SELECT id FROM venda_itens ORDER BY id LIMIT 2")
    etl.src("UPDATE venda_itens SET atualizado_em = ? WHERE id = ?", [FUTURE, future_item])
    batched = dataclasses.replace(etl.settings, batch_rows=200)

    first = {e.entity: e for e in run(batched, ["all"]).entities}
    facts = first["fact_vendas"]
    assert facts.batches > 1 and facts.future == 1
    assert watermark(etl, "fact_vendas") <= source_clock(etl)

    stamp = source_clock(etl).strftime("%Y-%m-%d %H:%M:%S.%f")
    etl.src(
        "UPDATE venda_itens SET quantidade = quantidade + 1, atualizado_em = ? WHERE id = ?",
        [stamp, changed_item],
    )
    second = {e.entity: e for e in run(batched, ["fact_vendas"]).entities}
    assert (second["fact_vendas"].updated, second["fact_vendas"].future) == (1, 1)
    ((source_qty,),) = etl.src("SELECT quantidade FROM venda_itens WHERE id = ?", [changed_item])
    loaded = etl.dw(
        "SELECT quantidade FROM dw.fact_vendas WHERE id_item_origem = %s", [changed_item]
    )
    assert loaded == [(source_qty,)]


def test_a_watermark_stored_past_the_clock_comes_back_to_it(etl: Any) -> None:
    etl.sample(300, 5, 0.0)
    etl.init()
    etl.run("dim_loja")
    etl.dw_execute(
        f"UPDATE ctl.etl_control SET watermark_value = '{FUTURE}' WHERE entity = 'dim_loja'"
    )

    (loja,) = etl.run("dim_loja").entities
    assert loja.status == "success" and loja.watermark_to is not None
    assert watermark(etl, "dim_loja") == loja.source_clock <= source_clock(etl)


def test_a_warehouse_initialised_before_the_counts_gets_them_and_still_checks(
    tmp_path: Path, etl: Any
) -> None:
    older = tmp_path / "ddl_before"
    older.mkdir()
    for script in sorted(ddl_root().glob("00[1-4]_*.sql")):
        shutil.copy(script, older)
    etl.sample(300, 5, 0.0)
    before = dataclasses.replace(etl.settings, ddl_dir=older)
    assert run_init(before).ok
    with pytest.raises(UsageError, match=r"ctl\.etl_run_entity\.future.* run `dwetl init`"):
        run(before, ["dim_loja"])
    etl.dw_execute(  # a run-log row written before the columns existed
        "INSERT INTO ctl.etl_run_entity (run_id, entity, status, started_at) "
        "VALUES (1, 'dim_loja', 'success', TIMESTAMP '2026-01-01 00:00:00')"
    )

    assert run_init(etl.settings).ok  # applies the new script to that warehouse
    with open_warehouse(etl.settings.dw, etl.settings) as wh:
        report = check_warehouse(wh, etl.settings)
        assert report.ok, report.problems
        assert wh.fetchall("SELECT future, ties FROM ctl.etl_run_entity") == [(0, 0)]
    assert etl.run("dim_loja").status == "success"
    assert run_init(etl.settings).ok  # and again: nothing left to apply


def test_a_broken_row_read_again_alone_does_not_fail_its_entity(etl: Any) -> None:
    """A broken row dated in the future is read by every run until its time comes; a run that
    reads it and nothing else rejects 1 of 1 rows, but its key is already quarantined: a re-read,
    not a mass rejection, so the entity loads (and its facts are not skipped)."""
    etl.sample(300, 5, 0.0)
    etl.init()
    assert etl.run("dim_cliente").status == "success"
    (broken_id,), *_ = etl.src("SELECT id FROM clientes ORDER BY id LIMIT 1")
    etl.src("UPDATE clientes SET nome = NULL, atualizado_em = ? WHERE id = ?", [FUTURE, broken_id])

    (first,) = etl.run("dim_cliente").entities  # the new reject: 1 of 1 rows, a mass rejection
    assert first.status == "failed" and "max-reject-ratio" in (first.error or "")
    etl.run("dim_cliente", max_reject_ratio=1.0)  # accepted once: the key is quarantined

    (again,) = etl.run("dim_cliente").entities
    assert (again.status, again.extracted, again.rejected, again.future) == ("success", 1, 1, 1)
    assert etl.dw(
        "SELECT COUNT(*) FROM ctl.etl_reject WHERE entity = 'dim_cliente' "
        "AND resolved_run_id IS NULL AND applied"
    ) == [(1,)]
