-- dim_produto: products. The ERP's English categories mapped to the warehouse's
-- (CK_DIM_PRODUTO_categoria); one it has no equivalent for is passed as it is, so that the
-- row is quarantined with its value rather than filed under a wrong category.
-- Money is kept in cents: / 100.0, never / 100 (integer division in SQLite drops the cents).
SELECT
    p.product_id                  AS id_produto_origem,
    p.description                 AS nome,
    CASE p.category
        WHEN 'Footwear'    THEN 'Calçados'
        WHEN 'Apparel'     THEN 'Vestuário'
        WHEN 'Camping'     THEN 'Esporte e Lazer'
        WHEN 'Electronics' THEN 'Eletrônicos'
        WHEN 'Tools'       THEN 'Ferramentas'
        WHEN 'Food'        THEN 'Alimentos'
        ELSE p.category
    END                           AS categoria,
    p.brand                       AS marca,
    p.list_price_cents / 100.0    AS preco_lista,
    1 - p.discontinued            AS ativo,
    datetime(p.updated_at)        AS atualizado_em
FROM products p
