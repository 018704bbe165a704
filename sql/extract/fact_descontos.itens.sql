-- fact_descontos, part 3 of 3: versions of the items the discounts of part 1 name; dwetl keeps
-- the newest version of each. Only items some discount names are read.
--
-- :since: as in fact_descontos.descontos.sql (NULL on a full run). A changed item is read;
-- so are all versions of the item of a discount read for its own or its order's change.
SELECT
    i.id             AS id_item_origem,
    i.id_produto     AS id_produto,
    i.atualizado_em  AS atualizado_em
FROM venda_itens i
WHERE i.atualizado_em > :since
   OR i.id IN (
       SELECT d.id_item
       FROM venda_descontos d
       WHERE :since IS NULL
          OR d.atualizado_em > :since
          OR d.id_venda IN (SELECT h.id FROM vendas h WHERE h.atualizado_em > :since)
   )
