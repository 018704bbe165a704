-- dim_desconto: promotions. Kind and method spelled as the warehouse's domains; this ERP's
-- promotions apply to order lines only ('Item'). A percentage stays a number of percent
-- (10 = 10 %), an amount is in cents; both as REAL, so the column has one type.
SELECT
    p.promo_id               AS id_desconto_origem,
    p.code                   AS codigo,
    p.title                  AS descricao,
    CASE p.kind
        WHEN 'coupon'    THEN 'Cupom'
        WHEN 'automatic' THEN 'Promoção Automática'
        WHEN 'loyalty'   THEN 'Programa de Fidelidade'
        ELSE p.kind
    END                      AS tipo_desconto,
    CASE p.method
        WHEN 'percent' THEN 'Percentual'
        WHEN 'amount'  THEN 'Valor Fixo'
        ELSE p.method
    END                      AS metodo_desconto,
    'Item'                   AS aplica_em,
    CASE p.method
        WHEN 'amount' THEN p.amount / 100.0
        ELSE p.amount * 1.0
    END                      AS valor,
    p.starts_on              AS inicio_vigencia,
    p.ends_on                AS fim_vigencia,
    datetime(p.updated_at)   AS atualizado_em
FROM promotions p
