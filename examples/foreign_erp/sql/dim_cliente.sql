-- dim_cliente: customers. dwetl keeps the CPF's digits (tax_id is typed with dots and dash).
SELECT
    c.customer_id            AS id_cliente_origem,
    c.full_name              AS nome,
    c.tax_id                 AS cpf,
    c.email                  AS email,
    c.city                   AS cidade,
    c.state                  AS uf,
    date(c.created_at)       AS data_cadastro,
    datetime(c.updated_at)   AS atualizado_em
FROM customers c
