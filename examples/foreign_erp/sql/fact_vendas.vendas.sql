-- fact_vendas, part 2 of 2: the order headers of the lines of part 1 (dwetl joins them on
-- id_venda_origem). Channels spelled as the warehouse's (CK_FACT_VENDAS_canal). A walk-in
-- shopper (customer_id NULL) and a web order (employee_no NULL) go to the unknown member.
-- :since: an order is read when it or one of its lines changed.
SELECT
    o.order_no               AS id_venda_origem,
    datetime(o.ordered_at)   AS data_venda,
    o.customer_id            AS id_cliente,
    o.store_no               AS id_loja,
    o.employee_no            AS id_vendedor,
    CASE o.channel
        WHEN 'store' THEN 'Loja Física'
        WHEN 'web'   THEN 'E-commerce'
        WHEN 'app'   THEN 'Aplicativo'
        WHEN 'phone' THEN 'Televendas'
        ELSE o.channel
    END                      AS canal,
    datetime(o.updated_at)   AS atualizado_em
FROM orders o
WHERE :since IS NULL
   OR datetime(o.updated_at) > :since
   OR o.order_no IN (SELECT l.order_no FROM order_lines l WHERE datetime(l.updated_at) > :since)
