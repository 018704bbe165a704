-- dim_desconto: every version of every discount rule; dwetl keeps the newest per id.
SELECT
    d.id               AS id_desconto_origem,
    d.codigo           AS codigo,
    d.descricao        AS descricao,
    d.tipo_desconto    AS tipo_desconto,
    d.metodo_desconto  AS metodo_desconto,
    d.aplica_em        AS aplica_em,
    d.valor            AS valor,
    d.inicio_vigencia  AS inicio_vigencia,
    d.fim_vigencia     AS fim_vigencia,
    d.atualizado_em    AS atualizado_em
FROM descontos d
