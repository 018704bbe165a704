-- dim_loja: every version of every store; dwetl keeps the newest per id.
SELECT
    l.id             AS id_loja_origem,
    l.nome           AS nome,
    l.cidade         AS cidade,
    l.uf             AS uf,
    l.regiao         AS regiao,
    l.data_abertura  AS data_abertura,
    l.atualizado_em  AS atualizado_em
FROM lojas l
