-- The ERP's users fix the two rows the warehouse quarantined (docs/extract.md, step 8): the
-- garden kit gets a category the warehouse knows, and the manual discount typed in reais
-- instead of cents is corrected. Each fix moves updated_at, so the next run reads it.
UPDATE products
SET category = 'Camping', updated_at = '2025-04-01T09:00:00'
WHERE product_id = 20;

UPDATE order_lines
SET discount_cents = 999, updated_at = '2025-04-01T09:05:00'
WHERE order_no = 5019 AND line_no = 2;
