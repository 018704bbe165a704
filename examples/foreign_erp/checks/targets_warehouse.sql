-- Sales targets per month in the warehouse (per store, spread from the regions'), in cents.
SELECT
    printf('%04d-%02d', m.ano, m.mes)        AS month,
    CAST(SUM(m.valor_meta) * 100 AS BIGINT)  AS target_cents
FROM dw.fact_metas m
GROUP BY 1
ORDER BY 1;
