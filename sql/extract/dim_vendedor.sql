-- dim_vendedor: every version of every seller; dwetl keeps the newest per id.
SELECT
    v.id             AS id_vendedor_origem,
    v.nome           AS nome,
    v.id_loja        AS id_loja_origem,
    v.data_admissao  AS data_admissao,
    v.atualizado_em  AS atualizado_em
FROM vendedores v
