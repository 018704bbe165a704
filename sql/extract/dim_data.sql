-- dim_data: the bounds the calendar must span, as one row: the sales' first and last dates and
-- the first and last month (yyyymm) with a sales target. atualizado_em is the later of the two
-- tables' newest change, so the calendar is rebuilt only when either changed.
-- Targets outside CK_FACT_METAS_ano / _mes are left out: they are rejected, and must not
-- stretch the calendar over centuries. So are sales dated before 1900 or from 3000 on, and
-- what is no date at all but sorts first or last among them (MariaDB's zero date
-- '0000-00-00', text such as '31/02/2020' in a text column): those items are rejected (a
-- TYPE_ reason, or no calendar day), and the calendar of every other sale is built.
SELECT
    v.data_venda_min  AS data_venda_min,
    v.data_venda_max  AS data_venda_max,
    m.ano_mes_min     AS ano_mes_min,
    m.ano_mes_max     AS ano_mes_max,
    CASE
        WHEN m.atualizado_em IS NULL OR v.atualizado_em >= m.atualizado_em THEN v.atualizado_em
        ELSE m.atualizado_em
    END               AS atualizado_em
FROM (
    -- one scalar subquery per bound: each is then one look-up in an index (on data_venda, on
    -- atualizado_em), not a scan of every order header on every run
    SELECT (SELECT MIN(data_venda) FROM vendas
            WHERE data_venda >= '1900-01-01' AND data_venda < '3000-01-01') AS data_venda_min,
           (SELECT MAX(data_venda) FROM vendas
            WHERE data_venda >= '1900-01-01' AND data_venda < '3000-01-01') AS data_venda_max,
           (SELECT MAX(atualizado_em) FROM vendas)  AS atualizado_em
) v
CROSS JOIN (
    SELECT MIN(ano * 100 + mes) AS ano_mes_min,
           MAX(ano * 100 + mes) AS ano_mes_max,
           MAX(atualizado_em) AS atualizado_em
    FROM metas
    WHERE ano BETWEEN 2000 AND 2100 AND mes BETWEEN 1 AND 12
) m
