-- fact_descontos, part 1 of 3 (grain: a discount applied to an order, or to one of its items):
-- every version of the discounts to load. dwetl joins each to the newest version of its order
-- (date, customer, store: fact_descontos.vendas.sql) and, for an item discount, of its item
-- (product: fact_descontos.itens.sql) in Polars (transforms/fact_descontos.py, combine);
-- atualizado_em is then the latest of the three rows'.
--
-- :since is the incremental bound dwetl fills in: the stored watermark minus the overlap, as a
-- timestamp literal, or NULL on a first or --full run. The first SELECT reads every discount
-- on a full run (and nothing otherwise); the second, on an incremental run, the discounts that
-- changed or whose order or item changed. Two SELECTs, not one WHERE, so that each run gets
-- its best plan: a plain scan, or the indexes on atualizado_em, id_venda and id_item.
SELECT
    d.id             AS id_venda_desconto_origem,
    d.id_venda       AS id_venda_origem,
    d.id_item        AS id_item_origem,
    d.id_desconto    AS id_desconto,
    d.valor          AS valor_desconto,
    d.atualizado_em  AS atualizado_em
FROM venda_descontos d
WHERE :since IS NULL
UNION ALL
SELECT d.id, d.id_venda, d.id_item, d.id_desconto, d.valor, d.atualizado_em
FROM venda_descontos d
WHERE :since IS NOT NULL AND (
    d.atualizado_em > :since
    OR d.id_venda IN (SELECT h.id FROM vendas h WHERE h.atualizado_em > :since)
    OR d.id_item IN (SELECT i.id FROM venda_itens i WHERE i.atualizado_em > :since)
)
