-- fact_descontos, part 2 of 3: versions of the orders the discounts of part 1 name; dwetl keeps
-- the newest version of each. Only orders some discount names are read.
--
-- :since: as in fact_descontos.descontos.sql (NULL on a full run). A changed order is read;
-- so are all versions of the order of a discount read for its own or its item's change. Two
-- SELECTs, as in fact_descontos.itens.sql, so that an incremental run reads by index.
SELECT
    h.id             AS id_venda_origem,
    h.data_venda     AS data_venda,
    h.id_cliente     AS id_cliente,
    h.id_loja        AS id_loja,
    h.atualizado_em  AS atualizado_em
FROM vendas h
WHERE :since IS NULL AND h.id IN (SELECT d.id_venda FROM venda_descontos d)
UNION ALL
SELECT h.id, h.data_venda, h.id_cliente, h.id_loja, h.atualizado_em
FROM vendas h
WHERE :since IS NOT NULL AND (
    h.atualizado_em > :since
    OR h.id IN (SELECT d.id_venda FROM venda_descontos d WHERE d.atualizado_em > :since)
    OR h.id IN (
        SELECT d.id_venda
        FROM venda_descontos d
        WHERE d.id_item IN (SELECT i.id FROM venda_itens i WHERE i.atualizado_em > :since)
    )
)
