-- dim_produto: every version of every product; dwetl keeps the newest per id.
SELECT
    p.id             AS id_produto_origem,
    p.nome           AS nome,
    p.categoria      AS categoria,
    p.marca          AS marca,
    p.preco_lista    AS preco_lista,
    p.ativo          AS ativo,
    p.atualizado_em  AS atualizado_em
FROM produtos p
