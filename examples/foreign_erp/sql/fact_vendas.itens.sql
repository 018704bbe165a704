-- fact_vendas, part 1 of 2 (grain: order line). The ERP keys a line by (order_no, line_no);
-- the warehouse wants one BIGINT: order_no * 1000 + line_no. That is deterministic (the same
-- line gets the same id on every run, so an update merges into its row), unique while
-- line_no is 1..999, and reversible (order_no = id / 1000, line_no = id % 1000). A line
-- numbered outside 1..999 gets no id and is quarantined, instead of colliding with another.
-- :since: a line is read when it or its order changed (dwetl binds NULL on a full run).
SELECT
    CASE WHEN l.line_no BETWEEN 1 AND 999
         THEN l.order_no * 1000 + l.line_no END   AS id_item_origem,
    l.order_no                                   AS id_venda_origem,
    l.product_id                                 AS id_produto,
    l.qty                                        AS quantidade,
    l.unit_price_cents / 100.0                   AS preco_unitario,
    l.discount_cents / 100.0                     AS valor_desconto,
    datetime(l.updated_at)                       AS atualizado_em
FROM order_lines l
WHERE :since IS NULL
   OR datetime(l.updated_at) > :since
   OR l.order_no IN (SELECT o.order_no FROM orders o WHERE datetime(o.updated_at) > :since)
