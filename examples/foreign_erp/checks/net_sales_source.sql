-- Net sales per month in the source, in cents: quantity x unit price - discount, every line.
SELECT
    substr(datetime(o.ordered_at), 1, 7)                  AS month,
    COUNT(*)                                              AS lines,
    SUM(l.qty * l.unit_price_cents - l.discount_cents)    AS net_cents
FROM order_lines l
JOIN orders o ON o.order_no = l.order_no
GROUP BY 1
ORDER BY 1;
