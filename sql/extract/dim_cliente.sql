-- dim_cliente: every version of every customer; dwetl keeps the newest per id.
SELECT
    c.id             AS id_cliente_origem,
    c.nome           AS nome,
    c.cpf            AS cpf,
    c.email          AS email,
    c.cidade         AS cidade,
    c.uf             AS uf,
    c.data_cadastro  AS data_cadastro,
    c.atualizado_em  AS atualizado_em
FROM clientes c
