"""Incremental fact loads read only what changed, and exactly what the change implies, on every
kind of source: a changed order header re-sends its items and discounts with the new header
values; a changed item comes with its order's newest header; an item without a header is
rejected, never dropped; every row is accounted for."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

SOURCES = ("sqlite-duckdb", "postgresql-postgresql", "mysql-postgresql")
CANAIS = ("Televendas", "Aplicativo")
TS_FORMAT = "%Y-%m-%d %H:%M:%S"


def _stamp(etl: Any) -> str:
    """A moment after every source row, as the source's text."""
    return max(etl.later(t) for t in ("vendas", "venda_itens", "venda_descontos"))


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def _new_header_version(etl: Any, venda: int, stamp: str, **values: object) -> None:
    """A newer version of order `venda`'s header (the ERP keeps the old one), with `values`."""
    columns = ["id_cliente", "id_loja", "id_vendedor", "data_venda", "canal"]
    select = ", ".join("?" if c in values else c for c in columns)
    etl.src(
        f"INSERT INTO vendas (id, {', '.join(columns)}, atualizado_em) "
        f"SELECT id, {select}, ? FROM vendas WHERE id = ? ORDER BY atualizado_em DESC LIMIT 1",
        [*(values[c] for c in columns if c in values), stamp, venda],
    )


def _accounted(etl: Any, run_id: int) -> dict[str, int]:
    """Rows extracted per entity of a run, after checking each adds up in the run log."""
    rows = etl.dw(
        "SELECT entity, extracted, inserted, updated, unchanged, rejected, folded "
        "FROM ctl.etl_run_entity WHERE run_id = %s",
        [run_id],
    )
    for entity, extracted, ins, upd, unch, rej, folded in rows:
        assert extracted == ins + upd + unch + rej + folded, entity
    return {entity: extracted for entity, extracted, *_ in rows}


def _sk(etl: Any, dimension: str, key: int) -> int:
    entity = dimension.removeprefix("dim_")
    (sk,), *_ = etl.dw(
        f"SELECT sk_{entity} FROM dw.{dimension} WHERE id_{entity}_origem = %s", [key]
    )
    return int(sk)


@pytest.mark.pairs(*SOURCES)
def test_a_changed_header_resends_its_items_and_discounts(etl):
    etl.sample(1000, 4, 0.0)
    etl.init()
    assert etl.run("all").status == "success"
    (venda, itens), *_ = etl.src(
        "SELECT i.id_venda, COUNT(DISTINCT i.id) FROM venda_itens i "
        "WHERE i.id_venda IN (SELECT id_venda FROM venda_descontos WHERE id_item IS NOT NULL) "
        "GROUP BY i.id_venda HAVING COUNT(DISTINCT i.id) >= 2 ORDER BY i.id_venda LIMIT 1"
    )
    (canal,), *_ = etl.dw(
        "SELECT MIN(canal) FROM dw.fact_vendas WHERE id_venda_origem = %s", [venda]
    )
    novo_canal = next(c for c in CANAIS if c != canal)
    (cliente,), *_ = etl.src(
        "SELECT MIN(id) FROM clientes WHERE id NOT IN "
        "(SELECT id_cliente FROM vendas WHERE id = ? AND id_cliente IS NOT NULL)",
        [venda],
    )
    produtos = "SELECT id_venda_desconto_origem, sk_produto FROM dw.fact_descontos WHERE "
    before = etl.dw(produtos + "id_venda_origem = %s ORDER BY 1", [venda])
    stamp = _stamp(etl)
    _new_header_version(etl, venda, stamp, canal=novo_canal, id_cliente=cliente)

    second = etl.run("all")

    assert second.status == "success", second.to_dict()
    extracted = _accounted(etl, second.run_id)
    sk_cliente = _sk(etl, "dim_cliente", cliente)
    vendas = etl.dw(
        "SELECT canal, sk_cliente, atualizado_em, id_execucao FROM dw.fact_vendas "
        "WHERE id_venda_origem = %s",
        [venda],
    )
    assert len(vendas) == itens
    assert set(vendas) == {(novo_canal, sk_cliente, _at(stamp), second.run_id)}
    descontos = etl.dw(
        "SELECT DISTINCT sk_cliente, atualizado_em, id_execucao FROM dw.fact_descontos "
        "WHERE id_venda_origem = %s",
        [venda],
    )
    assert descontos == [(sk_cliente, _at(stamp), second.run_id)]
    # re-sent with their items' products (an item discount's product is not the unknown one)
    assert etl.dw(produtos + "id_venda_origem = %s ORDER BY 1", [venda]) == before
    assert any(sk > 0 for _, sk in before)
    # only the order's rows (and the few the watermark overlap re-reads) were read again
    (total,), *_ = etl.src("SELECT COUNT(*) FROM venda_itens")
    assert itens <= extracted["fact_vendas"] < total // 10


@pytest.mark.pairs(*SOURCES)
def test_a_changed_item_comes_with_its_orders_newest_header(etl):
    etl.sample(1000, 5, 0.0)
    (item, venda, produto), *_ = etl.src(
        "SELECT d.id_item, d.id_venda, i.id_produto FROM venda_descontos d "
        "JOIN venda_itens i ON i.id = d.id_item ORDER BY d.id LIMIT 1"
    )
    # the order got a newer header before the first load (a second after its old one, long
    # before the watermark): its newest header is the one that counts
    (canal, at), *_ = etl.src(
        "SELECT canal, atualizado_em FROM vendas WHERE id = ? ORDER BY atualizado_em DESC",
        [venda],
    )
    moment = (at if isinstance(at, datetime) else _at(at)) + timedelta(seconds=1)
    assert moment < _at(_stamp(etl)) - timedelta(days=2)
    novo_canal = next(c for c in CANAIS if c != canal)
    _new_header_version(etl, venda, moment.strftime(TS_FORMAT), canal=novo_canal)
    etl.init()
    assert etl.run("all").status == "success"
    (outro,), *_ = etl.src("SELECT MIN(id) FROM produtos WHERE id <> ?", [produto])
    stamp = _stamp(etl)
    etl.src(
        "INSERT INTO venda_itens (id, id_venda, id_produto, quantidade, preco_unitario, "
        "valor_desconto, atualizado_em) "
        "SELECT id, id_venda, ?, quantidade + 1, preco_unitario, valor_desconto, ? "
        "FROM venda_itens WHERE id = ? ORDER BY atualizado_em DESC LIMIT 1",
        [outro, stamp, item],
    )

    second = etl.run("all")

    assert second.status == "success", second.to_dict()
    _accounted(etl, second.run_id)
    sk_produto = _sk(etl, "dim_produto", outro)
    (row,) = etl.dw(
        "SELECT canal, sk_produto, atualizado_em, id_execucao FROM dw.fact_vendas "
        "WHERE id_item_origem = %s",
        [item],
    )
    assert row == (novo_canal, sk_produto, _at(stamp), second.run_id)
    descontos = etl.dw(
        "SELECT DISTINCT sk_produto, atualizado_em FROM dw.fact_descontos "
        "WHERE id_item_origem = %s",
        [item],
    )
    assert descontos == [(sk_produto, _at(stamp))]


@pytest.mark.pairs(*SOURCES)
def test_an_item_without_header_is_rejected_not_dropped(etl):
    etl.sample(1000, 6, 0.0)
    etl.init()
    assert etl.run("all").status == "success"
    (novo,), *_ = etl.src("SELECT MAX(id) + 1 FROM venda_itens")
    (produto,), *_ = etl.src("SELECT MIN(id) FROM produtos")
    etl.src(
        "INSERT INTO venda_itens (id, id_venda, id_produto, quantidade, preco_unitario, "
        "valor_desconto, atualizado_em) VALUES (?, 987654321, ?, 1, 10.00, 0, ?)",
        [novo, produto, _stamp(etl)],
    )

    second = etl.run("all", max_reject_ratio=1.0)

    assert second.status == "success" and second.quarantined > 0, second.to_dict()
    _accounted(etl, second.run_id)
    fact = next(e for e in second.entities if e.entity == "fact_vendas")
    assert fact.rejected == 1
    assert etl.dw("SELECT COUNT(*) FROM dw.fact_vendas WHERE id_item_origem = %s", [novo]) == [(0,)]
    rejects = etl.dw(
        "SELECT source_key FROM ctl.etl_reject WHERE entity = 'fact_vendas' AND run_id = %s",
        [second.run_id],
    )
    assert rejects == [(str(novo),)]
