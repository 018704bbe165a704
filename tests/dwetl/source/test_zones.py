"""A `timestamp with time zone` read from a PostgreSQL session on another zone than UTC.

PostgreSQL compares the incremental bound, a naive literal, with such a column in its session's
zone, and reads its clock there. Read as UTC, on São Paulo time, the bound was compared 3 hours
late: a change stamped in between was never read, the run saying success. dwetl reads the
column as the session zone's wall time; where the session's zone has no name dwetl can convert
to, it reads UTC and every run says so, once per file.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from dwetl.source import zones

pytestmark = pytest.mark.pairs("postgresql-postgresql")

ZONED = ("venda_itens.atualizado_em", "vendas.atualizado_em", "vendas.data_venda")


def test_zone_names_that_are_utc_all_year():
    assert [zones.is_utc(z) for z in ("UTC", "Etc/UTC", "GMT", "Etc/GMT", "Zulu")] == [True] * 5
    # Lisbon and London are on UTC in winter only; an unknown name is not UTC
    names = ("Europe/Lisbon", "Europe/London", "America/Sao_Paulo", "Asia/Tokyo", "Mars/Base")
    assert [zones.is_utc(z) for z in names] == [False] * 5


def _zoned_source(etl, zone: str) -> str:
    """The sample's order stamps and sale times as `timestamp with time zone` (their values
    taken as UTC), the source database's sessions on `zone`; returns the database's name."""
    database = etl.source_url.rsplit("/", 1)[1]
    with psycopg.connect(etl.source_url, autocommit=True) as con:
        for table_column in ZONED:
            table, column = table_column.split(".")
            con.execute(
                f"ALTER TABLE {table} ALTER COLUMN {column} TYPE timestamptz "
                f"USING {column} AT TIME ZONE 'UTC'"
            )
        con.execute(f"ALTER DATABASE {database} SET timezone = '{zone}'")
    return database


def _restamp_first_item(etl, wall_time: datetime, zone: str) -> int:
    """The first order item changed, stamped `wall_time` of `zone`; returns its id."""
    with psycopg.connect(etl.source_url, autocommit=True) as con:
        ((item,),) = con.execute(
            "UPDATE venda_itens SET quantidade = quantidade + 1, "
            "atualizado_em = %s::timestamp AT TIME ZONE %s "
            "WHERE id = (SELECT min(id) FROM venda_itens) RETURNING id",
            [wall_time, zone],
        ).fetchall()
    return int(item)


def _watermark(etl) -> datetime:
    ((watermark,),) = etl.dw(
        "SELECT watermark_value FROM ctl.etl_control WHERE entity = 'fact_vendas'"
    )
    return watermark


def test_a_change_stamped_after_the_watermark_is_read_on_the_session_zone(etl, caplog):
    etl.sample(300, 4, 0.0)
    etl.init()
    _zoned_source(etl, "America/Sao_Paulo")
    with caplog.at_level(logging.WARNING, logger=zones.__name__):
        assert etl.run("all").status == "success"
    assert [r for r in caplog.records if r.name == zones.__name__] == []

    # the warehouse holds São Paulo's wall time, as the source's own clock reads it
    with psycopg.connect(etl.source_url) as con:
        local: dict[int, datetime] = dict(
            con.execute(
                "SELECT id, (atualizado_em AT TIME ZONE 'America/Sao_Paulo') FROM venda_itens"
            ).fetchall()
        )
    loaded = dict(etl.dw("SELECT id_item_origem, atualizado_em FROM dw.fact_vendas"))
    assert loaded and all(loaded[k] == local[k] for k in loaded)

    # a change an hour after the watermark (a late commit, a back-dated change): read
    item = _restamp_first_item(etl, _watermark(etl) + timedelta(hours=1), "America/Sao_Paulo")
    again = etl.run("fact_vendas")

    assert sum(e.updated for e in again.entities) == 1
    query = f"SELECT quantidade FROM dw.fact_vendas WHERE id_item_origem = {item}"
    ((quantidade,),) = etl.dw(query)
    with psycopg.connect(etl.source_url) as con:
        ((expected,),) = con.execute(
            "SELECT quantidade FROM venda_itens WHERE id = %s", [item]
        ).fetchall()
    assert quantidade == expected


def test_a_session_zone_without_a_name_is_read_as_utc_and_said(etl, caplog):
    etl.sample(300, 4, 0.0)
    etl.init()
    _zoned_source(etl, "<-03>+03")  # a POSIX zone: 3 h behind UTC, no IANA name

    with caplog.at_level(logging.WARNING, logger=zones.__name__):
        assert etl.run("all").status == "success"
        assert etl.run("fact_vendas").status == "success"

    warnings = [r.getMessage() for r in caplog.records if r.name == zones.__name__]
    files = [Path(w.split(": ")[0]).name for w in warnings]
    # once per file whose watermark column is zoned, naming the zone and the fix, however many runs
    assert sorted(files) == sorted(set(files))
    assert {"fact_vendas.itens.sql", "fact_vendas.vendas.sql"} <= set(files)
    assert all("TimeZone '<-03>+03' names no zone" in w for w in warnings)
    assert all("ALTER ROLE postgres SET timezone = 'UTC'" in w for w in warnings)
    with psycopg.connect(etl.source_url) as con:
        utc: dict[int, datetime] = dict(
            con.execute("SELECT id, (atualizado_em AT TIME ZONE 'UTC') FROM venda_itens").fetchall()
        )
    loaded = dict(etl.dw("SELECT id_item_origem, atualizado_em FROM dw.fact_vendas"))
    assert loaded and all(loaded[k] == utc[k] for k in loaded)
