"""Late-arriving dimension: a fact loaded before its customer gets an inferred member; when the
customer arrives, the same sk_cliente carries the real attributes and inferido is false."""

from __future__ import annotations

LATE = 9_000_001
NEW = 9_000_002


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


def test_an_incremental_run_numbers_new_customers_after_the_highest_sk(etl):
    # An incremental run reads the key maps of only the keys it looks up (`lookups.key_map`): a
    # new customer and a late one's placeholder must still be numbered after every existing
    # customer, and a sale without a customer must still find the unknown member.
    etl.sample(500, 6, 0.0)
    etl.init()
    assert etl.run("all").status == "success"
    (top,), *_ = etl.dw("SELECT MAX(sk_cliente) FROM dw.dim_cliente")
    late, anonymous = etl.src("SELECT id FROM vendas ORDER BY id LIMIT 2")
    later = "2099-01-01 00:00:00"  # after every row of the sample: past every watermark
    etl.src(
        "INSERT INTO clientes (id, nome, cpf, email, cidade, uf, data_cadastro, atualizado_em) "
        "VALUES (?, 'Joana Conceição', '12345678901', 'joana@exemplo.com.br', 'Recife', 'PE', "
        "'2024-02-03', ?)",
        [NEW, later],
    )
    etl.src(
        "UPDATE vendas SET id_cliente = ?, atualizado_em = ? WHERE id = ?", [LATE, later, late[0]]
    )
    etl.src(
        "UPDATE vendas SET id_cliente = NULL, atualizado_em = ? WHERE id = ?",
        [later, anonymous[0]],
    )

    second = etl.run("all")

    assert second.status == "success", second.to_dict()
    clientes = next(e for e in second.entities if e.entity == "dim_cliente")
    vendas = next(e for e in second.entities if e.entity == "fact_vendas")
    assert (clientes.inserted, clientes.updated) == (1, 0)
    assert (vendas.inferred, vendas.rejected, vendas.inserted) == (1, 0, 0)
    assert vendas.updated >= 2
    skus = dict(
        etl.dw(
            "SELECT id_cliente_origem, sk_cliente FROM dw.dim_cliente "
            "WHERE id_cliente_origem IN (%s, %s)",
            [NEW, LATE],
        )
    )
    assert skus == {NEW: top + 1, LATE: top + 2}
    assert etl.dw(
        "SELECT DISTINCT sk_cliente FROM dw.fact_vendas WHERE id_venda_origem = %s", late
    ) == [(top + 2,)]
    assert etl.dw(
        "SELECT DISTINCT sk_cliente FROM dw.fact_vendas WHERE id_venda_origem = %s", anonymous
    ) == [(-1,)]
