-- fact_descontos, part 3 of 3: the lines of the discounts of part 1 (their product), keyed as
-- in fact_vendas.itens.sql. :since: as in part 1.
SELECT
    l.order_no * 1000 + l.line_no   AS id_item_origem,
    l.product_id                    AS id_produto,
    datetime(l.updated_at)          AS atualizado_em
FROM order_lines l
WHERE l.promo_id IS NOT NULL AND l.line_no BETWEEN 1 AND 999
  AND (:since IS NULL
       OR datetime(l.updated_at) > :since
       OR l.order_no IN (SELECT o.order_no FROM orders o WHERE datetime(o.updated_at) > :since))
