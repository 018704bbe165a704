"""A source value that does not fit its declared type is a quarantined row (`TYPE_<table>_<column>`)
that keeps the value as the source wrote it; the rest of the entity loads (issue 21, items 1, 2
and 11). On a server source, whose columns hold only their own types, the odd values come the
way a foreign ERP sends them: a column of another type than the contract's."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from dwetl.core.paths import sql_root
from dwetl.run.runner import run

SERVERS = ("sqlite-duckdb", "postgresql-postgresql", "mysql-postgresql")


def _entity(summary: Any, name: str) -> Any:
    (result,) = [e for e in summary.entities if e.entity == name]
    return result


def _balanced(summary: Any) -> None:
    for result in summary.entities:
        if result.status != "failed":
            assert result.balance() == 0, result


def _rejects(etl: Any, entity: str) -> list[tuple[str, list[str], dict[str, Any]]]:
    rows = etl.dw(
        "SELECT source_key, reasons, row_json FROM ctl.etl_reject WHERE entity = %s "
        "ORDER BY reject_id",
        [entity],
    )
    return [(key, json.loads(reasons), json.loads(row)) for key, reasons, row in rows]


def _retype(etl: Any, table: str, column: str, sql_type: str) -> None:
    """A server source's column re-declared as another type (a foreign ERP's schema)."""
    if etl.source_kind != "sqlite":
        etl.src(f"ALTER TABLE {table} ALTER COLUMN {column} SET DATA TYPE {sql_type}")


@pytest.mark.pairs("sqlite-duckdb", "sqlite-postgresql")
def test_text_in_an_integer_header_column_rejects_its_items(etl: Any) -> None:
    """`vendas.id_cliente = 'xyz'` was read as customer 0 (a new placeholder, no reject): now
    every item (and discount) of that order is rejected with the header column's reason,
    keeping 'xyz', and nothing else changes."""
    etl.sample(1000, 4)
    etl.src("UPDATE vendas SET id_cliente = 'xyz' WHERE id = 4")
    etl.init()

    summary = etl.run("all")

    _balanced(summary)
    (items,) = etl.src("SELECT COUNT(*) FROM venda_itens WHERE id_venda = 4")[0]
    (discounts,) = etl.src("SELECT COUNT(*) FROM venda_descontos WHERE id_venda = 4")[0]
    vendas = _entity(summary, "fact_vendas")
    assert items > 0 and vendas.status == "success"
    assert vendas.reject_reasons == {"TYPE_fact_vendas_id_cliente": items}
    rejected = _rejects(etl, "fact_vendas")
    assert {row["id_cliente"] for _, _, row in rejected} == {"xyz"}
    assert {row["id_venda_origem"] for _, _, row in rejected} == {4}
    assert all(key == str(row["id_item_origem"]) for key, _, row in rejected)
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas WHERE id_venda_origem = 4") == [(0,)]
    (total,) = etl.src("SELECT COUNT(*) FROM venda_itens")[0]
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas") == [(total - items,)]
    assert etl.dw("SELECT COUNT(*) FROM dw.dim_cliente WHERE id_cliente_origem = 0") == [(0,)]
    descontos = _entity(summary, "fact_descontos")
    if discounts:
        assert descontos.reject_reasons == {"TYPE_fact_descontos_id_cliente": discounts}
    assert summary.entities and all(e.status != "failed" for e in summary.entities)


@pytest.mark.pairs("sqlite-duckdb")
def test_text_in_the_batch_key_rejects_that_item_only(etl: Any) -> None:
    """`venda_itens.id = 'abc'` (SQLite keeps it) failed the whole fact while its batches were
    planned (`int('abc')`, batched or not): now that item is rejected, keeping 'abc'."""
    etl.sample(900, 8)
    etl.src("UPDATE venda_itens SET id = 'abc' WHERE id = 7")
    etl.init()
    settings = dataclasses.replace(etl.settings, batch_rows=300)

    summary = run(settings, ["all"], max_reject_ratio=1.0)

    _balanced(summary)
    vendas = _entity(summary, "fact_vendas")
    assert vendas.status == "success" and vendas.batches > 1
    keyless = [(key, row) for key, reasons, row in _rejects(etl, "fact_vendas")
               if "TYPE_fact_vendas_id_item_origem" in reasons]  # fmt: skip
    assert [(key, row["id_item_origem"]) for key, row in keyless] == [("abc", "abc")]
    (items,) = etl.src("SELECT COUNT(*) FROM venda_itens")[0]
    rejected = vendas.reject_reasons
    assert rejected["TYPE_fact_vendas_id_item_origem"] == 1
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas") == [(items - vendas.rejected,)]


@pytest.mark.pairs(*SERVERS)
def test_a_fraction_in_an_integer_quantity_is_rejected_and_totals_add_up(etl: Any) -> None:
    """`quantidade + 0.5` on every tenth item was loaded as the integer below it (source total
    8,616, warehouse 8,366, `success`): now those items are rejected with their 17.5, a 17.0
    loads as 17, and the source's total is the warehouse's plus the rejected ones'."""
    etl.sample(600, 5)
    _retype(etl, "venda_itens", "quantidade", "DECIMAL(10, 2)")
    etl.src("UPDATE venda_itens SET quantidade = quantidade + 0.5 WHERE id % 10 = 0")
    etl.src("UPDATE venda_itens SET quantidade = quantidade + 0.0 WHERE id % 10 = 1")
    etl.init()
    settings = dataclasses.replace(etl.settings, batch_rows=300)  # in batches, on the way

    summary = run(settings, ["all"], max_reject_ratio=1.0)

    _balanced(summary)
    vendas = _entity(summary, "fact_vendas")
    assert vendas.batches > 1
    ((odd,),) = etl.src("SELECT COUNT(*) FROM venda_itens WHERE id % 10 = 0")
    assert vendas.reject_reasons == {"TYPE_fact_vendas_quantidade": odd}
    rejected = _rejects(etl, "fact_vendas")
    halves = [Decimal(row["quantidade"]) for _, _, row in rejected]
    assert all(h % 1 == Decimal("0.5") for h in halves)
    ((source_total,),) = etl.src("SELECT SUM(quantidade) FROM venda_itens")
    ((dw_total,),) = etl.dw("SELECT SUM(quantidade) FROM dw.fact_vendas")
    assert Decimal(str(source_total)) == Decimal(dw_total) + sum(halves)
    ((loaded,),) = etl.dw("SELECT COUNT(*) FROM dw.fact_vendas WHERE id_item_origem % 10 = 1")
    assert loaded > 0  # 17.0 is 17


@pytest.mark.pairs(*SERVERS)
def test_text_in_a_decimal_rejects_that_product_only(etl: Any) -> None:
    """'abc' in `preco_lista` failed every product (and then the facts); 17.505 would be
    rounded: both are rejected, 17.50 loads."""
    etl.sample(300, 6)
    _retype(etl, "produtos", "preco_lista", "VARCHAR(40)")
    etl.src("UPDATE produtos SET preco_lista = 'abc' WHERE id = 3")
    etl.src("UPDATE produtos SET preco_lista = '17.505' WHERE id = 4")
    etl.src("UPDATE produtos SET preco_lista = '17.50' WHERE id = 5")
    etl.init()

    summary = etl.run("dim_produto")

    _balanced(summary)
    result = _entity(summary, "dim_produto")
    assert result.status == "success"
    assert result.reject_reasons == {"TYPE_dim_produto_preco_lista": 2}
    rejected = sorted((k, r, row["preco_lista"]) for k, r, row in _rejects(etl, "dim_produto"))
    assert rejected == [
        ("3", ["TYPE_dim_produto_preco_lista"], "abc"),
        ("4", ["TYPE_dim_produto_preco_lista"], "17.505"),
    ]
    (products,) = etl.src("SELECT COUNT(DISTINCT id) FROM produtos")[0]
    assert etl.dw("SELECT COUNT(*) FROM dw.dim_produto WHERE sk_produto > 0") == [(products - 2,)]
    assert etl.dw("SELECT preco_lista FROM dw.dim_produto WHERE id_produto_origem = 5") == [
        (Decimal("17.50"),)
    ]


@pytest.mark.pairs(*SERVERS)
def test_impossible_dates_reject_their_rows_only(etl: Any) -> None:
    """A date that is no date ('31/02/2020' in text, MariaDB's zero date) failed its entity,
    and through the calendar's bounds every fact: now only its rows are rejected."""
    etl.sample(400, 7)
    if etl.source_kind == "mysql":  # MariaDB keeps zero dates in DATE and DATETIME columns
        bad_date, bad_stamp = "0000-00-00", "0000-00-00 00:00:00"
    else:
        _retype(etl, "lojas", "data_abertura", "VARCHAR(40)")
        _retype(etl, "vendas", "data_venda", "VARCHAR(40)")
        bad_date, bad_stamp = "31/02/2020", "0000-00-00 00:00:00"
    etl.src("UPDATE lojas SET data_abertura = ? WHERE id = 1", [bad_date])
    etl.src("UPDATE vendas SET data_venda = ? WHERE id = 2", [bad_stamp])
    etl.init()

    summary = etl.run("all")

    _balanced(summary)
    assert all(e.status != "failed" for e in summary.entities), summary.entities
    lojas = _rejects(etl, "dim_loja")
    assert [(k, r, row["data_abertura"]) for k, r, row in lojas] == [
        ("1", ["TYPE_dim_loja_data_abertura"], bad_date)
    ]
    (items,) = etl.src("SELECT COUNT(*) FROM venda_itens WHERE id_venda = 2")[0]
    vendas = _rejects(etl, "fact_vendas")
    assert len(vendas) == items > 0
    assert {(tuple(r), row["data_venda"]) for _, r, row in vendas} == {
        (("TYPE_fact_vendas_data_venda",), bad_stamp)
    }
    (total,) = etl.src("SELECT COUNT(*) FROM venda_itens")[0]
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas") == [(total - items,)]


@pytest.mark.pairs("sqlite-duckdb", "sqlite-postgresql", "mysql-postgresql")
def test_a_nul_in_a_name_is_rejected_on_every_warehouse(etl: Any) -> None:
    """DuckDB stored the NUL, PostgreSQL failed the whole entity: both reject the row now."""
    etl.sample(300, 8)
    if etl.source_kind == "mysql":
        etl.src("UPDATE clientes SET nome = CONCAT('Ana', CHAR(0), 'Maria') WHERE id = 5")
    else:
        etl.src("UPDATE clientes SET nome = 'Ana' || char(0) || 'Maria' WHERE id = 5")
    etl.init()

    summary = etl.run("dim_cliente")

    _balanced(summary)
    result = _entity(summary, "dim_cliente")
    assert result.status == "success"
    assert result.reject_reasons == {"TYPE_dim_cliente_nome": 1}
    ((key, reasons, row),) = _rejects(etl, "dim_cliente")
    assert (key, reasons, row["nome"]) == ("5", ["TYPE_dim_cliente_nome"], "Ana\x00Maria")
    (customers,) = etl.src("SELECT COUNT(DISTINCT id) FROM clientes")[0]
    assert etl.dw("SELECT COUNT(*) FROM dw.dim_cliente WHERE sk_cliente > 0") == [(customers - 1,)]


def test_names_read_as_integer_ids_are_rejected_not_folded_into_one(etl: Any) -> None:
    """An extract that sends customer names where the contract wants the integer id folded
    every customer into one row with key 0 (`success`): each is now a reject keeping its name,
    so the entity fails on the reject ratio, with nothing folded."""
    etl.sample(300, 9)
    folder = etl.folder / "erp"
    folder.mkdir()
    (folder / "dim_cliente.sql").write_text(
        "SELECT c.nome AS id_cliente_origem, c.nome, c.cpf, c.email, c.cidade, c.uf, "
        "c.data_cadastro, c.atualizado_em FROM clientes c WHERE c.id <> 1 "
        "UNION ALL SELECT 1, c.nome, c.cpf, c.email, c.cidade, c.uf, c.data_cadastro, "
        "c.atualizado_em FROM clientes c WHERE c.id = 1",
        encoding="utf-8",
    )
    etl.init()
    settings = dataclasses.replace(etl.settings, sql_dir=folder)

    summary = run(settings, ["dim_cliente"], max_reject_ratio=1.0)

    result = _entity(summary, "dim_cliente")
    (customers,) = etl.src("SELECT COUNT(*) FROM clientes WHERE id <> 1")[0]
    assert (result.folded, result.rejected, result.inserted) == (0, customers, 1)
    assert result.reject_reasons == {"TYPE_dim_cliente_id_cliente_origem": customers}
    names = dict(etl.src("SELECT id, nome FROM clientes"))
    keys = sorted(key for key, _, _ in _rejects(etl, "dim_cliente"))
    assert keys == sorted(names[i] for i in names if i != 1)


def test_a_broken_newest_version_is_not_hidden_by_an_older_one(etl: Any) -> None:
    """The newest version of a key decides: when it is broken the key is rejected (the older,
    valid version is folded, not loaded in its place); one whose watermark column is broken
    cannot be dated, and counts as the newest."""
    etl.sample(300, 10)
    etl.src(
        "INSERT INTO clientes SELECT id, nome, cpf, email, cidade, uf, '31/02/2020', "
        "'2099-01-01 00:00:00' FROM clientes WHERE id = 7"
    )
    etl.src(
        "INSERT INTO clientes SELECT id, nome, cpf, email, cidade, uf, data_cadastro, "
        "'ontem' FROM clientes WHERE id = 8"
    )
    etl.init()

    summary = etl.run("dim_cliente")

    _balanced(summary)
    result = _entity(summary, "dim_cliente")
    assert result.folded == 2
    assert result.reject_reasons == {
        "TYPE_dim_cliente_data_cadastro": 1,
        "TYPE_dim_cliente_atualizado_em": 1,
    }
    rejected = {key: row for key, _, row in _rejects(etl, "dim_cliente")}
    assert rejected["7"]["data_cadastro"] == "31/02/2020"
    assert rejected["8"]["atualizado_em"] == "ontem"
    assert etl.dw("SELECT COUNT(*) FROM dw.dim_cliente WHERE id_cliente_origem IN (7, 8)") == [(0,)]


@pytest.mark.pairs("postgresql-postgresql")
def test_postgresql_infinities_and_far_years_reject_their_rows_only(etl: Any) -> None:
    """PostgreSQL's 'infinity' in an item's stamp failed fact_vendas with "year 262142 is out
    of range"; '-infinity' in an order's sale time became a sale on day -262143 (an FK reject
    naming a made-up sk_data); and in a `timestamp with time zone` on São Paulo time, 'infinity'
    made Polars panic. Each now rejects its rows with the value as PostgreSQL spells it, and
    the next run reads them again, as any broken row."""
    etl.sample(400, 6)
    database = etl.source_url.rsplit("/", 1)[1]
    with psycopg.connect(etl.source_url, autocommit=True) as con:
        con.execute(
            "ALTER TABLE venda_descontos ALTER COLUMN atualizado_em TYPE timestamptz "
            "USING atualizado_em AT TIME ZONE 'UTC'"
        )
        con.execute(f"ALTER DATABASE {database} SET timezone = 'America/Sao_Paulo'")
        con.execute("UPDATE venda_itens SET atualizado_em = 'infinity' WHERE id = 3")
        con.execute("UPDATE vendas SET data_venda = '-infinity' WHERE id = 5")
        con.execute("UPDATE vendas SET data_venda = '20240-01-01' WHERE id = 6")
        ((discount,),) = con.execute("SELECT min(id) FROM venda_descontos").fetchall()
        con.execute(
            "UPDATE venda_descontos SET atualizado_em = 'infinity' WHERE id = %s", [discount]
        )
    etl.init()

    summary = etl.run("all")

    _balanced(summary)
    assert all(e.status != "failed" for e in summary.entities), summary.entities
    vendas = {key: (reasons, row) for key, reasons, row in _rejects(etl, "fact_vendas")}
    assert vendas["3"] == (["TYPE_fact_vendas_atualizado_em"], vendas["3"][1])
    assert vendas["3"][1]["atualizado_em"] == "infinity"
    (items,) = etl.src("SELECT COUNT(*) FROM venda_itens WHERE id_venda IN (5, 6)")[0]
    far = {k: row["data_venda"] for k, (r, row) in vendas.items() if "data_venda" in row}
    assert len(far) == items > 0
    assert {v if v == "-infinity" else v[:11] for v in far.values()} == {"-infinity", "+20240-01-0"}
    descontos = _rejects(etl, "fact_descontos")
    assert [row["atualizado_em"] for key, _, row in descontos if key == str(discount)] == [
        "infinity"
    ]

    again = etl.run("all")  # 'infinity' is after any watermark: read, and rejected, again
    assert all(e.status != "failed" for e in again.entities), again.entities
    assert _entity(again, "fact_vendas").rejected >= 1


@pytest.mark.pairs("mysql-postgresql")
def test_a_mariadb_bit_column_is_rejected_keeping_its_bytes_and_reads_once_cast(etl: Any) -> None:
    """A product's `ativo` kept as BIT(1) (bytes) failed dim_produto with Polars' 'casting
    from BinaryView to Int64 not supported'. Each row is now a TYPE reject showing the bytes;
    the extract that casts the column (as the reject's rule suggests) loads them."""
    etl.sample(300, 4)
    etl.src("ALTER TABLE produtos MODIFY ativo BIT(1) NULL")
    etl.init()

    summary = etl.run("dim_produto", max_reject_ratio=1.0)

    result = _entity(summary, "dim_produto")
    (products,) = etl.src("SELECT COUNT(*) FROM produtos WHERE ativo IS NOT NULL")[0]
    assert (
        result.status == "success" and result.reject_reasons["TYPE_dim_produto_ativo"] == products
    )
    shown = {row["ativo"] for _, _, row in _rejects(etl, "dim_produto")}
    assert shown <= {"0x00", "0x01"} and shown

    folder = etl.folder / "erp"
    folder.mkdir()
    shipped = (sql_root() / "extract" / "dim_produto.sql").read_text(encoding="utf-8")
    assert "p.ativo" in shipped
    (folder / "dim_produto.sql").write_text(
        shipped.replace("p.ativo", "CAST(p.ativo AS UNSIGNED)", 1), encoding="utf-8"
    )
    settings = dataclasses.replace(etl.settings, sql_dir=folder)
    (fixed,) = run(settings, ["dim_produto"], full=True).entities
    assert "TYPE_dim_produto_ativo" not in fixed.reject_reasons, fixed.reject_reasons
