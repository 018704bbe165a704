-- fact_descontos, part 3 of 3: versions of the items the discounts of part 1 name; dwetl keeps
-- the newest version of each. Only items some discount names are read.
--
-- :since: as in fact_descontos.descontos.sql (NULL on a full run). A changed item is read;
-- so are all versions of the item of a discount read for its own or its order's change. Two
-- SELECTs, as in fact_vendas.itens.sql: a full run's plain scan, and an incremental one that
-- each index answers (one OR of subqueries on every discount would scan them all).
SELECT
    i.id             AS id_item_origem,
    i.id_produto     AS id_produto,
    i.atualizado_em  AS atualizado_em
FROM venda_itens i
WHERE :since IS NULL AND i.id IN (SELECT d.id_item FROM venda_descontos d)
UNION ALL
SELECT i.id, i.id_produto, i.atualizado_em
FROM venda_itens i
WHERE :since IS NOT NULL AND (
    i.atualizado_em > :since
    OR i.id IN (SELECT d.id_item FROM venda_descontos d WHERE d.atualizado_em > :since)
    OR i.id IN (
        SELECT d.id_item
        FROM venda_descontos d
        WHERE d.id_venda IN (SELECT h.id FROM vendas h WHERE h.atualizado_em > :since)
    )
)
