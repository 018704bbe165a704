-- Net sales per month in the warehouse, in cents. Every source line is either loaded
-- (dw.fact_vendas) or quarantined (an open reject of fact_vendas in ctl.etl_reject, whose
-- row_json holds the row as dwetl computed it), so both count.
WITH lines AS (
    SELECT f.sk_data, f.valor_liquido
    FROM dw.fact_vendas f
    UNION ALL
    SELECT
        CAST(json_extract_string(r.row_json, '$.sk_data') AS INTEGER),
        CAST(json_extract_string(r.row_json, '$.valor_liquido') AS DECIMAL(14, 2))
    FROM ctl.etl_reject r
    WHERE r.entity = 'fact_vendas' AND r.resolved_run_id IS NULL AND r.applied
)
SELECT
    printf('%04d-%02d', sk_data // 10000, sk_data // 100 % 100)   AS month,
    COUNT(*)                                                      AS lines,
    CAST(SUM(valor_liquido) * 100 AS BIGINT)                      AS net_cents
FROM lines
GROUP BY 1
ORDER BY 1;
