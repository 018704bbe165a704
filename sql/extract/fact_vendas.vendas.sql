-- fact_vendas, part 2 of 2: versions of the order headers the items of part 1 need; dwetl
-- keeps the newest version of each (transforms/fact_vendas.py, combine). An item whose header
-- is missing keeps NULL header columns (validation rejects it: nothing is lost silently).
--
-- :since: as in fact_vendas.itens.sql. A full run reads every header (first SELECT); an
-- incremental one the changed headers, and all versions of the header of a changed item, so
-- that its newest one is among them (second SELECT).
SELECT
    h.id              AS id_venda_origem,
    h.data_venda      AS data_venda,
    h.id_cliente      AS id_cliente,
    h.id_loja         AS id_loja,
    h.id_vendedor     AS id_vendedor,
    h.canal           AS canal,
    h.atualizado_em   AS atualizado_em
FROM vendas h
WHERE :since IS NULL
UNION ALL
SELECT h.id, h.data_venda, h.id_cliente, h.id_loja, h.id_vendedor, h.canal, h.atualizado_em
FROM vendas h
WHERE :since IS NOT NULL AND (
    h.atualizado_em > :since
    OR h.id IN (SELECT i.id_venda FROM venda_itens i WHERE i.atualizado_em > :since)
)
