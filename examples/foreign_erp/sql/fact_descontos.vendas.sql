-- fact_descontos, part 2 of 3: the orders of the discounts of part 1 (date, customer, store).
-- :since: an order is read when it or one of its lines changed.
SELECT
    o.order_no               AS id_venda_origem,
    datetime(o.ordered_at)   AS data_venda,
    o.customer_id            AS id_cliente,
    o.store_no               AS id_loja,
    datetime(o.updated_at)   AS atualizado_em
FROM orders o
WHERE o.order_no IN (SELECT l.order_no FROM order_lines l WHERE l.promo_id IS NOT NULL)
  AND (:since IS NULL
       OR datetime(o.updated_at) > :since
       OR o.order_no IN (SELECT l.order_no FROM order_lines l WHERE datetime(l.updated_at) > :since))
