"""Late-arriving dimension: a fact loaded before its customer gets an inferred member; when the
customer arrives, the same sk_cliente carries the real attributes and inferido is false."""

from __future__ import annotations

LATE = 9_000_001


def test_fact_before_its_customer_then_the_customer_arrives(etl):
    etl.sample(500, 6, 0.0)
    (venda,), *_ = etl.src("SELECT MIN(id) FROM vendas")
    etl.src("UPDATE vendas SET id_cliente = ? WHERE id = ?", [LATE, venda])
    etl.init()

    first = etl.run("all")
    assert first.status == "success", first.to_dict()
    assert next(e for e in first.entities if e.entity == "fact_vendas").inferred >= 1
    (sk, nome, inferido, cidade), *_ = etl.dw(
        "SELECT sk_cliente, nome, inferido, cidade FROM dw.dim_cliente "
        "WHERE id_cliente_origem = %s",
        [LATE],
    )
    assert (nome, inferido, cidade) == ("Não informado", True, None)
    assert sk > 0
    facts = etl.dw(
        "SELECT DISTINCT sk_cliente FROM dw.fact_vendas WHERE id_venda_origem = %s", [venda]
    )
    assert facts == [(sk,)]

    (newest,), *_ = etl.src("SELECT MAX(atualizado_em) FROM clientes")
    etl.src(
        "INSERT INTO clientes (id, nome, cpf, email, cidade, uf, data_cadastro, atualizado_em) "
        "VALUES (?, 'Joana Conceição', '12345678901', 'joana@exemplo.com.br', 'Recife', 'PE', "
        "'2024-02-03', datetime(?, '+1 hour'))",
        [LATE, newest],
    )
    second = etl.run("all")

    assert second.status == "success", second.to_dict()
    cliente = next(e for e in second.entities if e.entity == "dim_cliente")
    assert (cliente.inserted, cliente.updated) == (0, 1)
    rows = etl.dw(
        "SELECT sk_cliente, nome, inferido, cidade, uf FROM dw.dim_cliente "
        "WHERE id_cliente_origem = %s",
        [LATE],
    )
    assert rows == [(sk, "Joana Conceição", False, "Recife", "PE")]
    facts = etl.dw(
        "SELECT DISTINCT sk_cliente FROM dw.fact_vendas WHERE id_venda_origem = %s", [venda]
    )
    assert facts == [(sk,)]
