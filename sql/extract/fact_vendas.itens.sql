-- fact_vendas, part 1 of 2 (grain: order item): every version of the items to load. dwetl
-- joins each to the newest version of its order header (fact_vendas.vendas.sql) in Polars
-- (transforms/fact_vendas.py, combine): atualizado_em is then the later of the two.
--
-- :since is the incremental bound dwetl fills in: the stored watermark minus the overlap, as a
-- timestamp literal, or NULL on a first or --full run. The first SELECT reads every item on a
-- full run (and nothing otherwise); the second, on an incremental run, the items that changed
-- and those whose order header changed (re-sent with the new header values). Two SELECTs, not
-- one WHERE, so that each run gets its best plan: a plain scan, or the indexes on
-- atualizado_em and id_venda.
SELECT
    i.id              AS id_item_origem,
    i.id_venda        AS id_venda_origem,
    i.id_produto      AS id_produto,
    i.quantidade      AS quantidade,
    i.preco_unitario  AS preco_unitario,
    i.valor_desconto  AS valor_desconto,
    i.atualizado_em   AS atualizado_em
FROM venda_itens i
WHERE :since IS NULL
UNION ALL
SELECT
    i.id, i.id_venda, i.id_produto, i.quantidade, i.preco_unitario, i.valor_desconto,
    i.atualizado_em
FROM venda_itens i
WHERE :since IS NOT NULL AND (
    i.atualizado_em > :since
    OR i.id_venda IN (SELECT h.id FROM vendas h WHERE h.atualizado_em > :since)
)
