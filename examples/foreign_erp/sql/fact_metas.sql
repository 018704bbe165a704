-- fact_metas (grain: store x month; the ERP's: region x month). Each region's target is
-- spread over the region's stores in whole cents: every store gets amount / n (integer
-- division), and the first amount % n stores by store_no one cent more, so the stores' targets
-- add up to the region's exactly. The result is deterministic: the same source, the same rows.
-- id_meta_origem: (year, month, store_no) as one BIGINT, yyyymm * 10000 + store_no
-- (store_no < 10000). id_vendedor NULL: the store's own target.
-- atualizado_em: the later of the target's change and the newest change among the region's
-- stores, so that a store joining a region re-spreads that region's targets.
WITH region_stores AS (
    SELECT
        s.store_no,
        s.region_code,
        ROW_NUMBER() OVER (PARTITION BY s.region_code ORDER BY s.store_no)  AS k,
        COUNT(*) OVER (PARTITION BY s.region_code)                          AS n,
        MAX(datetime(s.updated_at)) OVER (PARTITION BY s.region_code)       AS stores_changed
    FROM stores s
),
spread AS (
    SELECT
        t.year,
        t.month,
        r.store_no,
        t.amount_cents / r.n
            + CASE WHEN r.k <= t.amount_cents % r.n THEN 1 ELSE 0 END      AS cents,
        MAX(datetime(t.updated_at), r.stores_changed)                      AS changed
    FROM targets t
    JOIN region_stores r ON r.region_code = t.region_code
)
SELECT
    (year * 100 + month) * 10000 + store_no   AS id_meta_origem,
    year                                      AS ano,
    month                                     AS mes,
    store_no                                  AS id_loja,
    CAST(NULL AS INTEGER)                     AS id_vendedor,
    cents / 100.0                             AS valor_meta,
    changed                                   AS atualizado_em
FROM spread
