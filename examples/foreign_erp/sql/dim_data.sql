-- dim_data: one row, the span the calendar must cover: the first and last order, the first
-- and last month (yyyymm) with a target. atualizado_em: the newest change of either table, so
-- the calendar is rebuilt only when one changed. Targets outside the warehouse's years
-- (CK_FACT_METAS_ano: 2000-2100) are left out, as the shipped extract does.
SELECT
    (SELECT MIN(datetime(o.ordered_at)) FROM orders o)   AS data_venda_min,
    (SELECT MAX(datetime(o.ordered_at)) FROM orders o)   AS data_venda_max,
    (SELECT MIN(t.year * 100 + t.month) FROM targets t
     WHERE t.year BETWEEN 2000 AND 2100 AND t.month BETWEEN 1 AND 12)  AS ano_mes_min,
    (SELECT MAX(t.year * 100 + t.month) FROM targets t
     WHERE t.year BETWEEN 2000 AND 2100 AND t.month BETWEEN 1 AND 12)  AS ano_mes_max,
    (SELECT MAX(datetime(x.updated_at))
     FROM (SELECT updated_at FROM orders UNION ALL SELECT updated_at FROM targets) x)
                                                         AS atualizado_em
