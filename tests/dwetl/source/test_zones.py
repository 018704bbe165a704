"""A `timestamp with time zone` stamp read from a PostgreSQL session that is not on UTC: an
incremental run compares its bound in the session's zone while dwetl keeps the watermark in UTC,
and rows stamped in between are never read. Every run says so, once per file, until dwetl's
login is put on UTC; then the same change is read."""

from __future__ import annotations

import logging
from pathlib import Path

import psycopg
import pytest

from dwetl.source import zones

pytestmark = pytest.mark.pairs("postgresql-postgresql")


def test_zone_names_that_are_utc_all_year():
    assert [zones.is_utc(z) for z in ("UTC", "Etc/UTC", "GMT", "Etc/GMT", "Zulu")] == [True] * 5
    # Lisbon and London are on UTC in winter only; an unknown name is not UTC
    names = ("Europe/Lisbon", "Europe/London", "America/Sao_Paulo", "Asia/Tokyo", "Mars/Base")
    assert [zones.is_utc(z) for z in names] == [False] * 5


def test_a_run_warns_of_zoned_stamps_read_off_utc_and_reads_them_on_utc(etl, caplog):
    etl.sample(300, 4, 0.0)
    etl.init()
    database = etl.source_url.rsplit("/", 1)[1]
    with psycopg.connect(etl.source_url, autocommit=True) as con:
        for source_table in ("venda_itens", "vendas"):
            con.execute(
                f"ALTER TABLE {source_table} ALTER COLUMN atualizado_em TYPE timestamptz "
                "USING atualizado_em AT TIME ZONE 'UTC'"
            )
        con.execute(f"ALTER DATABASE {database} SET timezone = 'America/Sao_Paulo'")
    with caplog.at_level(logging.WARNING, logger="dwetl.source.zones"):
        assert etl.run("all").status == "success"

    warnings = [r.getMessage() for r in caplog.records if r.name == zones.__name__]
    # once per file whose stamps are zoned, naming the zone and the fix
    files = [Path(w.split(": ")[0]).name for w in warnings]
    assert sorted(files) == sorted(set(files))
    assert {"fact_vendas.itens.sql", "fact_vendas.vendas.sql"} <= set(files)
    assert all("TimeZone is America/Sao_Paulo" in w for w in warnings)
    assert all("ALTER ROLE postgres SET timezone = 'UTC'" in w for w in warnings)
    ((watermark,),) = etl.dw(
        "SELECT watermark_value FROM ctl.etl_control WHERE entity = 'fact_vendas'"
    )
    # an item changed an hour after the watermark (UTC), as a late-committing ERP writes it
    with psycopg.connect(etl.source_url, autocommit=True) as con:
        con.execute(
            "UPDATE venda_itens SET quantidade = quantidade + 1, "
            "atualizado_em = (%s::timestamp + interval '1 hour') AT TIME ZONE 'UTC' "
            "WHERE id = (SELECT min(id) FROM venda_itens)",
            [watermark],
        )
    missed = etl.run("fact_vendas")

    # what the warning is about: the change is not read while the session is off UTC
    assert missed.status == "success"
    assert sum(e.updated for e in missed.entities) == 0

    with psycopg.connect(etl.source_url, autocommit=True) as con:
        con.execute(f"ALTER ROLE postgres IN DATABASE {database} SET timezone = 'UTC'")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dwetl.source.zones"):
        read = etl.run("fact_vendas")

    assert [r for r in caplog.records if r.name == zones.__name__] == []
    assert sum(e.updated for e in read.entities) == 1
