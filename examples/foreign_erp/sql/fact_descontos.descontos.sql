-- fact_descontos, part 1 of 3 (grain: a promotion applied to an order line). A line carries at
-- most one promotion, so the line's id (as in fact_vendas.itens.sql) is the discount's id too.
-- A discount without a promotion (a manual one) is in fact_vendas, not here: the warehouse's
-- discount fact needs the promotion (dim_desconto).
-- :since: as in fact_vendas.itens.sql.
SELECT
    l.order_no * 1000 + l.line_no   AS id_venda_desconto_origem,
    l.order_no                      AS id_venda_origem,
    l.order_no * 1000 + l.line_no   AS id_item_origem,
    l.promo_id                      AS id_desconto,
    l.discount_cents / 100.0        AS valor_desconto,
    datetime(l.updated_at)          AS atualizado_em
FROM order_lines l
WHERE l.promo_id IS NOT NULL AND l.discount_cents > 0 AND l.line_no BETWEEN 1 AND 999
  AND (:since IS NULL
       OR datetime(l.updated_at) > :since
       OR l.order_no IN (SELECT o.order_no FROM orders o WHERE datetime(o.updated_at) > :since))
