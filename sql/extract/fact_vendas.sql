-- fact_vendas (grain: order item): every version of every item, with the newest version of
-- its order header. atualizado_em is the later of the item's and the header's, so a changed
-- header re-sends its items. An item whose header is missing comes with NULL header columns
-- (validation rejects it: nothing is lost silently).
SELECT
    i.id              AS id_item_origem,
    i.id_venda        AS id_venda_origem,
    v.data_venda      AS data_venda,
    v.id_cliente      AS id_cliente,
    i.id_produto      AS id_produto,
    v.id_loja         AS id_loja,
    v.id_vendedor     AS id_vendedor,
    v.canal           AS canal,
    i.quantidade      AS quantidade,
    i.preco_unitario  AS preco_unitario,
    i.valor_desconto  AS valor_desconto,
    CASE
        WHEN v.atualizado_em IS NULL OR i.atualizado_em >= v.atualizado_em THEN i.atualizado_em
        ELSE v.atualizado_em
    END               AS atualizado_em
FROM venda_itens i
LEFT JOIN (
    SELECT h.id, h.data_venda, h.id_cliente, h.id_loja, h.id_vendedor, h.canal, h.atualizado_em,
           ROW_NUMBER() OVER (PARTITION BY h.id ORDER BY h.atualizado_em DESC) AS versao
    FROM vendas h
) v ON v.id = i.id_venda AND v.versao = 1
