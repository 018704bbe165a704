-- fact_metas (grain: year x month x store x seller): every version of every target;
-- id_vendedor NULL is the store's own target.
SELECT
    m.id             AS id_meta_origem,
    m.ano            AS ano,
    m.mes            AS mes,
    m.id_loja        AS id_loja,
    m.id_vendedor    AS id_vendedor,
    m.valor_meta     AS valor_meta,
    m.atualizado_em  AS atualizado_em
FROM metas m
